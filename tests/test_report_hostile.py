"""Hostile names through every report: `$` (matplotlib mathtext), formula starts in
CSV and XLSX annexes (opened by LibreOffice), bidi controls that reorder text."""

from __future__ import annotations

import csv
import os
import re
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
OLD = 1_104_537_600  # 2005-01-01: DUAs counted from then are over
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
    return root


def _invoke(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict:
    """Two communes with hostile names, a grid answered with formula-like text and a
    dataset to eliminate, then every report and grid written (results kept, not asserted)."""
    base = tmp_path_factory.mktemp("hostile")
    db = base / "catalogue.duckdb"
    for code, nom in (("99301", DOLLAR_NOM), ("99302", FORMULA_NOM)):
        result = _invoke("scan", _share(base / code, code), "--commune", code, "--nom", nom, "--db", db, "-q")
        assert result.exit_code == 0, result.output
    grid = base / "grille-99301.xlsx"
    assert _invoke("grid", "export", "--commune", "99301", "-o", grid, "--db", db).exit_code == 0
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    col = columns(ws)
    for r in range(2, ws.max_row + 1):
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
