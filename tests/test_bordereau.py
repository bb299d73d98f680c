"""The bordereau d'élimination (issue 20 part 3): a real catalogue whose pay slips are past
their DUA, qualified through a real grid; the XLSX's cells, its print settings, and the
text of the PDF LibreOffice prints from it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reports import bordereau
from tests.conftest import query
from tests.test_grid import GOOD, columns, fill, rows_by_location
from tests.test_grid_paper import convert, pdf_pages

COMMUNE = "99301"
PAY = "Ressources humaines/Paie"
BUDGETS = "Finances/Budgets"


def _file(path: Path, size: int, year: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stamp = dt.datetime(year, 6, 15).timestamp()
    os.utime(path, (stamp, stamp))


@pytest.fixture
def report(cli, tmp_path) -> dict:
    share = tmp_path / "partage"
    _file(share / "Ressources humaines" / "Paie" / "paie-2010-01.txt", 1_500_000, 2010)
    _file(share / "Ressources humaines" / "Paie" / "paie-2012-12.txt", 2_000_000, 2012)
    _file(share / "Finances" / "Budgets" / "BP-2011.csv", 250_000, 2011)
    _file(share / "Urbanisme" / "PLU" / "reglement.txt", 10_000, 2024)
    # Déchets of a few dozen octets: the déchets sheet must not show them as 0.
    _file(share / "Urbanisme" / "PLU" / "Thumbs.db", 40, 2024)
    _file(share / "Urbanisme" / "PLU" / "~$glement.docx", 162, 2024)
    db = tmp_path / "catalogue.duckdb"
    assert cli("scan", share, "--commune", COMMUNE, "--nom", "Saint-Archive", "--db", db).exit_code == 0
    grid = tmp_path / "grille.xlsx"
    assert cli("grid", "export", "--commune", COMMUNE, "-o", grid, "--db", db).exit_code == 0
    wb = load_workbook(grid)
    ws = wb["Recensement"]
    rows = rows_by_location(ws)
    pay = dict(GOOD, service="Ressources humaines", typologie="Bulletins de paie (doubles)", activite="Paie")
    # Budgets: the service keeps its own DUA (3 years from the close of the budget year, an
    # event the scan dates) and destroys them.
    budgets = dict(GOOD, service="Finances", typologie="Autre", typologie_autre="Budgets préparatoires",
                   activite="Préparation budgétaire", dua_annees=3, dua_depart="clôture de l'exercice",
                   sort_final="Destruction")
    fill(ws, rows[PAY], pay)
    fill(ws, rows[BUDGETS], budgets)
    assert "dua_annees" in columns(ws)
    wb.save(grid)
    result = cli("grid", "import", grid, "--db", db)
    assert result.exit_code == 0, result.output
    out = tmp_path / "rapport"
    from reports.render import report_commune

    report_commune(str(db), COMMUNE, out, pdf=False, this_year=2026)
    return {"db": db, "xlsx": out / f"bordereau-elimination-{COMMUNE}.xlsx", "tmp": tmp_path}


def _cells(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_bordereau_cells(report):
    wb = load_workbook(report["xlsx"])
    assert wb.sheetnames == [bordereau.SHEET, bordereau.SHEET_DECHETS]
    ws = wb[bordereau.SHEET]
    rows = _cells(ws)
    assert rows[0][0] == "Bordereau d'élimination d'archives publiques"
    assert "R212-14" in rows[2][0]
    heading = {r[1]: r[2] for r in rows[4:9]}
    assert heading == {"Collectivité :": f"Saint-Archive ({COMMUNE})",
                       "Services :": "Finances ; Ressources humaines", "Articles :": "2", "Volume total :": "3,8 Mo", "Dates extrêmes :": "2010–2012"}
    header = rows[bordereau.HEADER_ROW - 1]
    assert header == [h for h, _ in bordereau.COLUMNS]
    lines = {r[1]: dict(zip(header, r)) for r in rows[bordereau.HEADER_ROW:bordereau.HEADER_ROW + 2]}
    pay, budgets = lines["Ressources humaines"], lines["Finances"]
    source = query(report["db"], "SELECT source FROM referentiel WHERE code = 'RH-PAIE'")[0][0]
    assert pay["Typologie documentaire"] == "Bulletins de paie (doubles)"
    assert pay["Dates extrêmes"] == "2010–2012" and pay["Volume (Mo)"] == 3.5
    assert pay["DUA (années)"] == 5 and pay["Source de la DUA"] == source and pay[bordereau.ELIMINABLE] == 2018  # 5 years from the end of 2012: over on 31 Dec 2017, eliminable in 2018
    assert pay["Emplacement"].endswith(PAY) and pay["Identifiant"].startswith("FS-")
    assert budgets["Typologie documentaire"] == "Autre : Budgets préparatoires"
    assert budgets["Dates extrêmes"] == "2011" and budgets["Volume (Mo)"] == 0.25
    assert budgets["DUA (années)"] == 3 and budgets["Source de la DUA"] == bordereau.SERVICE_DUA
    # Both visa blocks, with room for a name, a date and a signature.
    flat = [c for r in rows for c in r if c]
    for label in (bordereau.PRODUCER_VISA, bordereau.ARCHIVES_VISA):
        assert flat.count(label) == 1
    assert flat.count("Signature :") == 2 and flat.count("Nom et qualité :") == 2 and flat.count("Date :") == 2
    # Readable widths, A4 landscape, one page wide, the table header on every page.
    assert [ws.column_dimensions[chr(65 + j)].width for j in range(len(header))] == [w for _, w in bordereau.COLUMNS]
    setup = ws.page_setup
    assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ("landscape", 9, 1, 0)
    assert ws.print_title_rows == f"${bordereau.HEADER_ROW}:${bordereau.HEADER_ROW}"
    dechets = _cells(wb[bordereau.SHEET_DECHETS])
    assert dechets[0][4] == "Volume (Ko)"
    volumes = {r[1]: r[4] for r in dechets[1:]}
    assert volumes["Cache de vignettes Windows (Thumbs.db)"] == 0.04
    assert volumes["Fichier propriétaire Microsoft Office (~$)"] == 0.162
    # The column says what the year is: the DUA ends on the 31 December before it.
    assert header[7] == "Année d'élimination possible" and "Fin de DUA" not in header


def test_bordereau_pdf_from_libreoffice(report):
    pdf = convert(report["xlsx"], "pdf", report["tmp"])
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    width, height = (float(x) for x in info.split("Page size:")[1].split("pts")[0].split(" x "))
    assert width > height  # landscape
    pages = pdf_pages(pdf)
    first = [p for p in pages if f"{bordereau.SHEET} — page" in p]
    assert len(first) == 1  # two datasets and the visas hold on one page
    text = first[0]
    # LibreOffice prints the small déchets volumes readably, never « 0.00 ».
    dechets = "\n".join(p for p in pages if f"{bordereau.SHEET_DECHETS} — page" in p)
    assert "0.04 " in dechets and "0.162" in dechets and " 0.00 " not in dechets
    for expected in ("Bordereau d'élimination d'archives publiques", f"Saint-Archive ({COMMUNE})",
                     "Bulletins de paie (doubles)", "2010–2012", "3.50", "Source de la DUA", bordereau.PRODUCER_VISA,
                     bordereau.ARCHIVES_VISA, "Signature :", "Nom et qualité :", "R212-14"):
        assert expected in text, expected
