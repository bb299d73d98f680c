"""Hostile names through every report: `$` (matplotlib mathtext), formula starts in
CSV and XLSX annexes (opened by LibreOffice), bidi controls that reorder text."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from catalogue.cli import main
from grids import spec
from tests.test_grid import GOOD, columns, fill

DOLLAR_NOM = r"Saint-$Denis$ $\frac$"  # invalid mathtext: matplotlib raised on it
DOLLAR_DIR = r"Ser$\frac$vice"
FORMULA_NOM = '=HYPERLINK("http://x","y")'
FORMULA_DIRS = ["=1+1", "@SUM(A1)", "+cmd", "-2+3"]
RLO = "\u202e"
RLO_DIR = f"Permis{RLO}fdp.exe"  # shown as « Permisexe.pdf » when the override is obeyed
RLO_SERVICE = f"Courrier{RLO}gnp.exe"  # a first-level folder: a chart label
RLO_NOM = f"Ville{RLO}-sur-Mer"
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
OLD = 1_104_537_600  # 2005-01-01: DUAs counted from then are over
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ADDED_PLACE = '=HYPERLINK("http://x","ajout")'  # a référent's added row


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (OLD, OLD))


def _share(root: Path, tag: str) -> Path:
    _write(root / DOLLAR_DIR / "Act$ivite" / f"note-{tag}.txt", b"note\n")
    for i, name in enumerate(FORMULA_DIRS):
        _write(root / name / "Budgets" / f"piece-{tag}-{i}.txt", f"piece {i}\n".encode())
        _write(root / name / "Budgets" / f"~$piece-{i}.docx", b"tmp")  # a déchet in that folder
    _write(root / "Urbanisme" / RLO_DIR / f"permis-{tag}.txt", b"permis\n")
    _write(root / "Urbanisme" / RLO_DIR / f"permis-{tag} - Copie.txt", b"permis\n")  # a duplicate
    _write(root / RLO_SERVICE / "Arrivée" / f"lettre-{tag}.txt", b"lettre\n")
    return root


def _invoke(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict:
    """Two communes with hostile names, a grid answered with formula-like text and a
    dataset to eliminate, then every report and grid written (results kept, not asserted)."""
    base = tmp_path_factory.mktemp("hostile")
    db = base / "catalogue.duckdb"
    for code, nom in (("99301", DOLLAR_NOM), ("99302", FORMULA_NOM), ("99303", RLO_NOM)):
        result = _invoke("scan", _share(base / code, code), "--commune", code, "--nom", nom, "--db", db, "-q")
        assert result.exit_code == 0, result.output
    grid = base / "grille-99301.xlsx"
    assert _invoke("grid", "export", "--commune", "99301", "-o", grid, "--db", db).exit_code == 0
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    col = columns(ws)
    last = max(r for r in range(2, ws.max_row + 1) if ws.cell(r, col["dataset_id"]).value)
    fill(ws, last + 1, dict(GOOD, emplacement=ADDED_PLACE, volume_annuel_go=2, volume_stock_go=1))
    for r in range(2, last + 1):
        place = str(ws.cell(r, col["emplacement"]).value or "")
        if place.endswith("=1+1/Budgets"):  # FIN-PJ: destruction 10 years after 2005, due now
            fill(ws, r, dict(GOOD, service="=2+2", typologie="Mandats et titres (pièces comptables)",
                             activite="@SUM(A1)", donnees_personnelles="Non", commentaire="-1+1"))
        elif place.endswith("+cmd/Budgets"):
            fill(ws, r, dict(GOOD, service="+cmd|' /C calc'!A0"))
    wb.save(grid)
    imported = _invoke("grid", "import", grid, "--db", db)
    assert imported.exit_code == 0, imported.output
    out = base / "out"
    reports = {args: _invoke("report", *args, "-o", out, "--db", db)
               for args in (("--commune", "99301"), ("--commune", "99302"), ("--territoire",))}
    grids = base / "grilles"
    exports = {code: _invoke("grid", "export", "--commune", code, "-o", grids / f"grille-{code}.xlsx", "--db", db)
               for code in ("99301", "99302")}
    return {"db": db, "out": out, "reports": reports, "grids": grids, "exports": exports}


def _pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_dollar_names_make_reports_not_tracebacks(hostile):
    for args, result in hostile["reports"].items():
        assert result.exit_code == 0 and result.exception is None, (args, result.output)
    out = hostile["out"]
    commune_html = (out / "rapport-99301.html").read_text(encoding="utf-8")
    territory_html = (out / "synthese-territoriale.html").read_text(encoding="utf-8")
    # The names are printed as typed in the charts (SVG text), not as formulas.
    svg_texts = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", commune_html))
    assert DOLLAR_DIR in svg_texts
    assert f"{DOLLAR_NOM} (99301)" in " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", territory_html))
    assert DOLLAR_NOM in _pdftotext(out / "synthese-territoriale.pdf")
    assert DOLLAR_DIR in _pdftotext(out / "rapport-99301.pdf")


def _csv_cells(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return [cell for row in csv.reader(fh, delimiter=";") for cell in row]


def _formula_like(text: str) -> bool:
    """Text a spreadsheet would evaluate (a plain number such as -12 is just a number)."""
    return text.startswith(FORMULA_STARTS) and not re.fullmatch(r"-?\d+([.,]\d+)?", text)


def _annexes(hostile) -> tuple[list[Path], list[Path]]:
    out, grids = hostile["out"], hostile["grids"]
    for result in list(hostile["reports"].values()) + list(hostile["exports"].values()):
        assert result.exit_code == 0, result.output
    csvs = sorted(out.glob("*.csv"))
    xlsxs = sorted(out.glob("*.xlsx")) + sorted(grids.glob("*.xlsx"))
    assert len(csvs) >= 3 and len(xlsxs) >= 4
    return csvs, xlsxs


def test_no_csv_cell_starts_a_formula(hostile):
    csvs, _ = _annexes(hostile)
    seen = set()
    for path in csvs:
        for cell in _csv_cells(path):
            assert not _formula_like(cell), (path.name, cell)
            seen.add(cell)
    # The hostile texts are all there, as text.
    assert "'" + FORMULA_NOM in seen and "'" + ADDED_PLACE in seen


def test_no_xlsx_cell_is_or_becomes_a_formula(hostile):
    _, xlsxs = _annexes(hostile)
    seen = set()
    for path in xlsxs:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/sheet"):
                    assert not re.search(rb"<f[ >]", z.read(name)), (path.name, name)
        for ws in load_workbook(path).worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.name, ws.title, cell.coordinate)
                    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                        # Kept as text even when someone edits the cell.
                        assert cell.quotePrefix, (path.name, ws.title, cell.coordinate, cell.value)
                        seen.add(cell.value)
    assert {FORMULA_NOM, "=2+2", "@SUM(A1)", "-1+1", ADDED_PLACE} <= seen


def _libreoffice_cells(csv_path: Path, tmp_path: Path) -> list:
    """The CSV opened by LibreOffice Calc with formula evaluation on, saved as xlsx."""
    if not shutil.which("soffice"):
        pytest.skip("LibreOffice absent : « make test » l'installe (paquet Debian libreoffice-calc-nogui).")
    # 59 = « ; », 34 = « " », 76 = UTF-8, from line 1; token 13 = evaluate formulas.
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--infilter=CSV:59,34,76,1,,1036,false,true,false,false,false,-1,true",
                    "--convert-to", "xlsx", "--outdir", str(tmp_path), str(csv_path)],
                   check=True, capture_output=True, timeout=180)
    ws = load_workbook(tmp_path / f"{csv_path.stem}.xlsx").active
    return [cell for row in ws.iter_rows() for cell in row]


@pytest.mark.parametrize("name", ["synthese-territoriale.csv", "feuille-de-route-99301.csv"])
def test_libreoffice_evaluates_no_csv_cell(hostile, tmp_path, name):
    _annexes(hostile)
    cells = _libreoffice_cells(hostile["out"] / name, tmp_path)
    assert cells and all(c.data_type != "f" for c in cells), [c.value for c in cells if c.data_type == "f"]
    texts = " ".join(str(c.value) for c in cells)
    assert (FORMULA_NOM if name.startswith("synthese") else ADDED_PLACE) in texts


def test_bidi_controls_are_shown_not_obeyed(hostile):
    """U+202E and its kin would reverse the names around them: the reports show a marker."""
    for result in hostile["reports"].values():
        assert result.exit_code == 0, result.output
    out = hostile["out"]
    expected = {"rapport-99301": [RLO_DIR.replace(RLO, "[U+202E]"), RLO_SERVICE.replace(RLO, "[U+202E]")],
                "synthese-territoriale": [RLO_NOM.replace(RLO, "[U+202E]")]}
    for stem, names in expected.items():
        html = (out / f"{stem}.html").read_text(encoding="utf-8")
        text = _pdftotext(out / f"{stem}.pdf")
        assert not BIDI.search(html) and not BIDI.search(text), stem
        for name in names:
            assert name in html and name in text, (stem, name)
        svg_texts = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", html))
        assert names[-1] in svg_texts, stem  # the chart labels too
    # The annexes keep the names as they are: they are data, not display.
    assert RLO_DIR in (out / "jeux-de-donnees-99301.csv").read_text(encoding="utf-8-sig")
