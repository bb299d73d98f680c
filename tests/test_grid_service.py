"""`catalogue grid export --service NAME`: a grid of one service's rows, for a collective
session per sector; its answers import like any grid's, and the other rows stay as they were."""

from __future__ import annotations

from openpyxl import load_workbook

from grids import spec
from tests.conftest import query
from tests.test_grid import (
    COMMUNE,
    GOOD,
    INJECTION,
    columns,
    current,
    db,
    fill,
    filled_grid,
    grid_db_template,
    rows_by_location,
)

__all__ = ["db", "grid_db_template"]  # fixtures shared with test_grid.py


def places(ws) -> list[str]:
    col = columns(ws)
    return sorted(str(ws.cell(r, col["emplacement"]).value).split("/partage/", 1)[-1]
                  for r in range(2, ws.max_row + 1) if ws.cell(r, col["dataset_id"]).value)


def test_service_grid_holds_only_that_service_and_imports(cli, db, tmp_path):
    out = tmp_path / "urba.xlsx"
    result = cli("grid", "export", "--commune", COMMUNE, "--service", "urbanisme", "-o", out, "--db", db)
    assert result.exit_code == 0, result.output
    assert f"Grille écrite : {out} — 2 jeux de données (2 nouveaux" in result.output
    wb = load_workbook(out)
    ws = wb[spec.SHEET_GRID]
    assert places(ws) == ["Urbanisme/PLU", "Urbanisme/Permis de construire"]
    meta = {r[0]: r[1] for r in wb[spec.SHEET_META].iter_rows(values_only=True)}
    assert meta["service"] == "Urbanisme" and meta["commune"] == COMMUNE
    assert wb[spec.SHEET_GUIDE]["A1"].value.endswith("— service Urbanisme")

    fill(ws, rows_by_location(ws)["Urbanisme/PLU"], dict(GOOD, typologie="Autre", typologie_autre="PLU"))
    wb.save(out)
    result = cli("grid", "import", out, "--db", db)
    assert result.exit_code == 0, result.output
    assert current(db, "Urbanisme/PLU", "typologie_autre") == "PLU"
    assert query(db, "SELECT count(*) FROM qualifications_current")[0][0] == 1


def test_answered_service_wins_over_the_folder(cli, db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default file name lands in the current folder
    grid = filled_grid(cli, db, tmp_path, {"Finances/Budgets": {"service": "Comptabilité"}})
    assert cli("grid", "import", grid, "--db", db).exit_code == 0
    out = tmp_path / "compta.xlsx"
    assert cli("grid", "export", "--commune", COMMUNE, "--service", "COMPTABILITE", "-o", out, "--db", db).exit_code == 0
    ws = load_workbook(out)[spec.SHEET_GRID]
    assert places(ws) == ["Finances/Budgets"]
    assert ws.cell(2, columns(ws)["service"]).value == "Comptabilité"
    # Default file name: the commune and the service.
    result = cli("grid", "export", "--commune", COMMUNE, "--service", "Ressources humaines", "--db", db)
    assert result.exit_code == 0 and f"grille-{COMMUNE}-ressources-humaines.xlsx" in result.output
    assert (tmp_path / f"grille-{COMMUNE}-ressources-humaines.xlsx").is_file()


def test_unknown_service_is_refused_with_the_known_ones(cli, db, tmp_path):
    out = tmp_path / "voirie.xlsx"
    result = cli("grid", "export", "--commune", COMMUNE, "--service", "Voirie", "-o", out, "--db", db)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : Service « Voirie » inconnu pour la commune {COMMUNE} (services connus : "
                             f"{INJECTION} ; Finances ; Ressources humaines ; Urbanisme).\n")
    assert not out.exists()
