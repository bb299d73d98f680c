"""Template version 2 of the grid: the scan's signed share, pre-filled, and « Données
signées » proposed « Oui » where the scan found signatures; grids of version 1 still import."""

from __future__ import annotations

import duckdb
from openpyxl import load_workbook

from grids import spec
from tests.conftest import query
from tests.test_grid import COMMUNE, GOOD, columns, current, db, export, fill, grid_db_template, rows_by_location

__all__ = ["db", "grid_db_template"]  # fixtures shared with test_grid.py

PERMITS = "Urbanisme/Permis de construire"


def sign_permits(db) -> None:
    """As the signature stage leaves it: one of the two permits is a PAdES PDF."""
    con = duckdb.connect(str(db))
    try:
        con.execute("UPDATE files SET sig_kind = 'pades', sig_count = 1, signed = true, "
                    "sig_not_after = TIMESTAMP '2027-05-01 00:00:00', sig_signer = 'Jeanne Martin' "
                    "WHERE commune = ? AND name = 'PC-2024-001.txt'", [COMMUNE])
    finally:
        con.close()


def meta(wb) -> dict:
    return {r[0].value: r[1].value for r in wb[spec.SHEET_META].iter_rows()}


def test_signed_share_prefilled_and_signature_proposed(cli, db, tmp_path):
    sign_permits(db)
    wb = load_workbook(export(cli, db, tmp_path / "grille.xlsx"))
    assert meta(wb)["version_modele"] == spec.TEMPLATE_VERSION
    ws = wb[spec.SHEET_GRID]
    col, rows = columns(ws), rows_by_location(ws)
    assert ws.cell(1, col["part_signee"]).value == "Part signée (scan)"
    share = ws.cell(rows[PERMITS], col["part_signee"])
    assert share.value == 0.5 and share.number_format == "0.0%"  # two permits of equal size, one signed
    assert share.protection.locked  # read-only: it is the scan's measure
    proposed = ws.cell(rows[PERMITS], col["signature"])
    assert proposed.value == "Oui" and not proposed.protection.locked  # the référent may change it
    assert ws.cell(rows["Urbanisme/PLU"], col["part_signee"]).value == 0
    assert ws.cell(rows["Urbanisme/PLU"], col["signature"]).value is None


def test_untouched_proposal_is_not_a_started_row(cli, db, tmp_path):
    """The proposed « Oui » alone must not turn the row into a started one with missing values."""
    sign_permits(db)
    path = export(cli, db, tmp_path / "grille.xlsx")
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 0, result.output
    assert current(db, PERMITS, "signature") is None  # still to qualify


def test_referent_can_answer_otherwise(cli, db, tmp_path):
    sign_permits(db)
    wb = load_workbook(export(cli, db, tmp_path / "grille.xlsx"))
    ws = wb[spec.SHEET_GRID]
    fill(ws, rows_by_location(ws)[PERMITS], GOOD)  # GOOD answers « Non »
    wb.save(tmp_path / "remplie.xlsx")
    result = cli("grid", "import", tmp_path / "remplie.xlsx", "--db", db)
    assert result.exit_code == 0, result.output
    assert current(db, PERMITS, "signature") == "Non"
    # Re-exported, the référent's answer stands: the proposal only fills a blank or « Ne sait pas ».
    again = load_workbook(export(cli, db, tmp_path / "reexport.xlsx"))[spec.SHEET_GRID]
    assert again.cell(rows_by_location(again)[PERMITS], columns(again)["signature"]).value == "Non"


def test_ne_sait_pas_becomes_proposed_oui(cli, db, tmp_path):
    sign_permits(db)
    wb = load_workbook(export(cli, db, tmp_path / "grille.xlsx"))
    ws = wb[spec.SHEET_GRID]
    fill(ws, rows_by_location(ws)[PERMITS], dict(GOOD, signature="Ne sait pas"))
    wb.save(tmp_path / "remplie.xlsx")
    assert cli("grid", "import", tmp_path / "remplie.xlsx", "--db", db).exit_code == 0
    again = load_workbook(export(cli, db, tmp_path / "reexport.xlsx"))[spec.SHEET_GRID]
    assert again.cell(rows_by_location(again)[PERMITS], columns(again)["signature"]).value == "Oui"


def version_1_grid(cli, db, tmp_path):
    """A grid as template version 1 wrote it: no « Part signée (scan) » column, nothing
    proposed, « 1 » in the metadata (the column set of version 1 is version 2's minus one)."""
    wb = load_workbook(export(cli, db, tmp_path / "grille.xlsx"))
    ws = wb[spec.SHEET_GRID]
    ws.delete_cols(columns(ws)["part_signee"])
    signature = columns(ws)["signature"]
    for r in range(2, ws.max_row + 1):
        ws.cell(r, signature).value = None
    for row in wb[spec.SHEET_META].iter_rows():
        if row[0].value == "version_modele":
            row[1].value = "1"
    return wb


def test_version_1_grid_still_imports(cli, db, tmp_path):
    sign_permits(db)
    wb = version_1_grid(cli, db, tmp_path)
    ws = wb[spec.SHEET_GRID]
    assert "part_signee" not in columns(ws) and meta(wb)["version_modele"] == "1"
    fill(ws, rows_by_location(ws)[PERMITS], dict(GOOD, signature="Oui"))
    wb.save(tmp_path / "v1.xlsx")
    result = cli("grid", "import", tmp_path / "v1.xlsx", "--db", db)
    assert result.exit_code == 0, result.output
    assert current(db, PERMITS, "signature") == "Oui"
    assert query(db, "SELECT count(*) FROM qualifications_current WHERE commune = ?", [COMMUNE])[0][0] == 1
