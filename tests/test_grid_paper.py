"""The grid in LibreOffice and on paper (issue 20 part 2): the exported workbook is
printed to PDF by LibreOffice itself and its text read back with pdftotext."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from openpyxl import load_workbook

from grids import paper, spec
from grids.workbook import GUIDE_WIDTH, PRINTED_SPARE_ROWS, SPARE_ROWS, grid_pages_wide
from tests.test_grid import COMMUNE, db, export, grid_db_template

__all__ = ["db", "grid_db_template"]  # fixtures shared with test_grid.py


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.skip("LibreOffice absent : « make test » l'installe (paquet Debian libreoffice-calc-nogui).")
    return found


def convert(path: Path, fmt: str, tmp_path: Path) -> Path:
    """`path` converted by LibreOffice (private profile) into `fmt`; returns the new file."""
    out = tmp_path / f"lo-{fmt.split(':')[0]}"
    env = dict(os.environ, HOME=str(tmp_path))
    subprocess.run([soffice(), "--headless", "--convert-to", fmt, "--outdir", str(out), str(path)],
                   check=True, capture_output=True, timeout=300, env=env)
    return out / f"{path.stem}.{fmt.split(':')[0]}"


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page, as pdftotext reads it."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return text.split("\f")[:-1]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture
def big_db(tmp_path) -> Path:
    """A commune of 60 datasets: the grid runs over several pages down."""
    from catalogue.scan import run_scan

    share = tmp_path / "partage"
    for i in range(60):
        folder = share / f"Service {i // 10:02d}" / f"Activité {i:02d}"
        folder.mkdir(parents=True)
        (folder / "note.txt").write_text(f"note {i}\n")
    db = tmp_path / "grand.duckdb"
    run_scan(str(share), COMMUNE, nom="Grand-Essai", db=str(db), quiet=True)
    return db


def test_grid_prints_as_its_settings_say(cli, big_db, tmp_path):
    path = export(cli, big_db, tmp_path / "grille.xlsx")
    ws = load_workbook(path)[spec.SHEET_GRID]
    setup = ws.page_setup
    wide = grid_pages_wide()
    assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ("landscape", 9, wide, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == "$1:$1"
    assert ws.print_area == f"'{spec.SHEET_GRID}'!$A$1:${ws.cell(1, len(spec.COLUMNS)).column_letter}$" \
        f"{61 + PRINTED_SPARE_ROWS}"

    pages = pdf_pages(convert(path, "pdf", tmp_path))
    grid = [p for p in pages if f"{spec.SHEET_GRID} — page" in p]
    first_strip = [p for p in grid if "Identifiant" in p]
    # Every page down repeats the header; the sheet prints `wide` pages across, no more.
    tall = len(first_strip)
    assert tall >= 2 and len(grid) == wide * tall
    # Bounded: at the smallest scale the settings allow, a page holds at least 20 rows.
    assert tall <= math.ceil((60 + PRINTED_SPARE_ROWS) / 20)
    # No dataset lost between pages, none printed twice.
    ids = re.findall(r"FS-[0-9A-F]{12}", "".join(grid))
    assert len(ids) == len(set(ids)) == 60
    # Headers are never cut: every required column's star is printed, on every page down.
    assert sum(p.count("*") for p in grid) == tall * sum(1 for c in spec.COLUMNS if c.required)
    for title in ("Communicabilité", "électroniquement *", "estimé (Go)", "(années)"):
        assert all(title in "".join(grid[k * wide:(k + 1) * wide]) for k in range(tall)), title


def test_mode_d_emploi_readable_in_libreoffice(cli, db, tmp_path):
    path = export(cli, db, tmp_path / "grille.xlsx")
    guide = load_workbook(path)[spec.SHEET_GUIDE]
    assert guide.page_setup.orientation == "portrait" and guide.page_setup.fitToWidth == 1
    texts = [c.value for c in guide["A"] if c.value]
    for cell in guide["A"]:
        if cell.value:  # every row tall enough for its wrapped text: no line overlaps the next
            lines = paper.wrapped_lines(cell.value, GUIDE_WIDTH, cell.font.sz or 11, bool(cell.font.b))
            assert guide.row_dimensions[cell.row].height >= lines * 15 * (cell.font.sz or 11) / 11
    pages = [p for p in pdf_pages(convert(path, "pdf", tmp_path)) if f"{spec.SHEET_GUIDE} — page" in p]
    printed = flat(" ".join(pages))
    # Every paragraph printed whole: nothing cut at the right margin or hidden by the next row.
    for text in texts:
        assert flat(text) in printed, text


def test_prefilled_text_stays_in_its_cell_and_spare_rows_are_highlighted(cli, db, tmp_path):
    path = export(cli, db, tmp_path / "grille.xlsx")
    ws = load_workbook(path)[spec.SHEET_GRID]
    col = {c.key: i for i, c in enumerate(spec.COLUMNS, start=1)}
    last = ws.max_row - SPARE_ROWS
    for key in ("emplacement", "formats", "croissance"):
        cell = ws.cell(2, col[key])
        assert cell.alignment.wrap_text and ws.row_dimensions[2].height == paper.height_for(2)
    # Highlight rules run over the spare rows too, and light up once a row is started.
    letter = ws.cell(1, col["service"]).column_letter
    rules = {str(cf.sqref): [r.formula[0] for r in cf.rules] for cf in ws.conditional_formatting}
    assert rules[f"{letter}2:{letter}{last + SPARE_ROWS}"] == [
        f"AND(LEN(TRIM({letter}2))=0,COUNTA($A2:${ws.cell(1, len(spec.COLUMNS)).column_letter}2)>0)"]
    stock = ws.cell(1, col["volume_stock_go"]).column_letter
    assert "LEN(TRIM($A2))=0" in rules[f"{stock}2:{stock}{last + SPARE_ROWS}"][0]


def test_each_column_has_its_own_error_message(cli, db, tmp_path):
    ws = load_workbook(export(cli, db, tmp_path / "grille.xlsx"))[spec.SHEET_GRID]
    col = {c.key: ws.cell(1, i).column_letter for i, c in enumerate(spec.COLUMNS, start=1)}
    errors = {}
    for dv in ws.data_validations.dataValidation:
        letter = re.match(r"[A-Z]+", str(dv.sqref)).group()
        errors[letter] = dv.error
    assert errors[col["fichiers"]] == "Saisissez un nombre entier de fichiers."
    assert "années" in errors[col["dua_annees"]]
    assert "stock" in errors[col["volume_stock_go"]] and "flux annuel" in errors[col["volume_annuel_go"]]
    assert errors[col["hebergement"]] == "Hébergement : choisissez une valeur de la liste."
    assert not any("années" in errors[col[k]] for k in col if k != "dua_annees" and errors.get(col[k]))


@pytest.fixture
def wordy_db(tmp_path) -> Path:
    """Datasets whose pre-filled texts take several lines: three formats each, and one
    whose files span 25 years (a « Volume par année » longer than a row may hold)."""
    from catalogue.scan import run_scan

    share = tmp_path / "partage"
    for k in range(1, 5):
        folder = share / f"Service {k}" / f"Activité {k}"
        folder.mkdir(parents=True)
        (folder / "a.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n" + b"x" * (3000 * k))
        (folder / "b.xml").write_bytes(b'<?xml version="1.0"?>\n<r/>\n' + b" " * (5000 - 1000 * k))
        (folder / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(1500))
        (folder / "d.txt").write_text("bonjour\n")
    years = share / "Service 5" / "Archives"
    years.mkdir(parents=True)
    for year in range(2000, 2025):
        path = years / f"note-{year}.txt"
        path.write_text("x" * (100 * (year - 1990)))
        stamp = dt.datetime(year, 6, 15).timestamp()
        os.utime(path, (stamp, stamp))
    db = tmp_path / "bavard.duckdb"
    run_scan(str(share), COMMUNE, nom="Bavarde", db=str(db), quiet=True)
    return db


def _words(pdf: Path) -> list[list[tuple[float, float, str]]]:
    """Each page's words as (xMin, yMin, text), from pdftotext's bounding boxes."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = []
    for page in re.findall(r"<page .*?</page>", html, re.S):
        pages.append([(float(x), float(y), unescape(w)) for x, y, w in
                      re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', page)])
    return pages


def _column_band(words, first: str, after: str | None, following: str) -> tuple[float, float]:
    """The x range of the column whose header starts with the word FIRST (the first one
    right of the word AFTER when given), up to the header word FOLLOWING that starts the next (or the
    page's edge)."""
    header_y = min(y for _, y, _ in words)
    header = sorted((x, w) for x, y, w in words if y < header_y + 30)
    anchor = next(x for x, w in header if w == after) if after else 0.0
    start = next(x for x, w in header if w == first and x >= anchor)
    return start, next((x for x, w in header if w == following and x > start), float("inf"))


def test_prefilled_text_never_runs_over_the_next_row(cli, wordy_db, tmp_path):
    """Issue 19 review: in LibreOffice, the third line of « Principaux formats » printed
    inside the next dataset's row. Each row is as tall as its text, a longer text is cut
    with « … »; every word printed in those columns lies within its own row."""
    path = export(cli, wordy_db, tmp_path / "grille.xlsx")
    ws = load_workbook(path)[spec.SHEET_GRID]
    col = {c.key: i for i, c in enumerate(spec.COLUMNS, start=1)}
    texts = {ws.cell(r, 1).value: {k: ws.cell(r, col[k]).value for k in ("formats", "croissance")}
             for r in range(2, ws.max_row + 1) if str(ws.cell(r, 1).value or "").startswith("FS-")}
    assert len(texts) == 5 and all(t["formats"] for t in texts.values())
    assert sum(t["croissance"].endswith("…") for t in texts.values()) == 1  # 25 years do not fit
    pages = [p for p in _words(convert(path, "pdf", tmp_path)) if any(w.startswith("FS-") for _, _, w in p)]
    assert pages
    for words in pages:
        rows = sorted((y, w) for _, y, w in words if re.fullmatch(r"FS-[0-9A-F]{12}", w))
        bands = [(y - 2, rows[k + 1][0] - 2 if k + 1 < len(rows) else float("inf"), ident)
                 for k, (y, ident) in enumerate(rows)]
        for key, *header in (("formats", "Principaux", None, "Part"), ("croissance", "Volume", "signée", "Service")):
            left, right = _column_band(words, *header)
            for top, bottom, ident in bands:
                printed = [w for x, y, w in words if left - 1 <= x < right - 1 and top <= y < bottom]
                assert sorted(printed) == sorted(texts[ident][key].split()), (key, ident, printed)


def test_mode_d_emploi_prints_on_one_page(cli, db, tmp_path):
    path = export(cli, db, tmp_path / "grille.xlsx")
    guide = load_workbook(path)[spec.SHEET_GUIDE]
    assert (guide.page_setup.fitToWidth, guide.page_setup.fitToHeight) == (1, 1)
    pages = [p for p in pdf_pages(convert(path, "pdf", tmp_path)) if f"{spec.SHEET_GUIDE} — page" in p]
    assert len(pages) == 1 and f"{spec.SHEET_GUIDE} — page 1 / " in pages[0]
