"""Grid validation as data (grids/problems.py): every problem of every workbook is
collected before anything is stored, each one a `Problem` with sheet, cell, row and
column, and the CLI prints the same problems as French lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from grids import spec
from grids.importer import import_grids
from grids.problems import GridValidationError, Problem
from tests import test_grid as grid_tests
from tests.conftest import query

# The scanned catalogue of tests/test_grid.py, shared rather than scanned again.
grid_db_template = grid_tests.grid_db_template
db = grid_tests.db

HEAD = ("Erreur : {n} : rien n'a été importé (corrigez la grille, ou utilisez --partiel pour "
        "importer les lignes valides).")


def _cells(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    ws = load_workbook(path)[spec.SHEET_GRID]
    return grid_tests.columns(ws), grid_tests.rows_by_location(ws)


def test_several_problems_are_reported_at_once_as_problems_and_as_french_lines(cli, db, tmp_path):
    path = grid_tests.filled_grid(cli, db, tmp_path, {
        "Urbanisme/Permis de construire": {"signature": "Peut-être", "dua_annees": "dix", "typologie": "Autre"},
        "Finances/Budgets": {"hebergement": None, "date_saisie": "31/02/2026", "application": None},
    })
    col, rows = _cells(path)
    permis, budgets = rows["Urbanisme/Permis de construire"], rows["Finances/Budgets"]

    def problem(key: str, row: int, message: str) -> Problem:
        return Problem(spec.SHEET_GRID, f"{get_column_letter(col[key])}{row}", row, key, message, path.name)

    # In sheet order (the budgets row comes first), then in the order of the checks.
    expected = [
        problem("date_saisie", budgets, "« 31/02/2026 » n'est pas une date (jj/mm/aaaa)"),
        problem("hebergement", budgets, "valeur obligatoire manquante (Hébergement)"),
        problem("application", budgets, "indiquez le nom de l'application métier"),
        problem("signature", permis, "« Peut-être » n'est pas une valeur autorisée (Oui, Non, Ne sait pas)"),
        problem("dua_annees", permis, "« dix » n'est pas un nombre entier d'années"),
        problem("typologie_autre", permis, "précisez la typologie (vous avez choisi « Autre »)"),
    ]
    assert budgets < permis
    with pytest.raises(GridValidationError) as caught:
        import_grids(str(db), [str(path)])
    assert caught.value.problems == expected

    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == HEAD.format(n="6 problèmes")
    assert lines[1:] == [str(p) for p in caught.value.problems]
    cell = f"{spec.SHEET_GRID}!{get_column_letter(col['signature'])}{permis}"
    assert f"{cell} : « Peut-être » n'est pas une valeur autorisée (Oui, Non, Ne sait pas)" in lines
    assert query(db, "SELECT count(*) FROM qualifications") == [(0,)]


def test_problems_of_several_files_name_their_file(cli, db, tmp_path):
    (tmp_path / "a").mkdir()
    first = grid_tests.filled_grid(cli, db, tmp_path / "a", {"Finances/Budgets": {"valeur_juridique": "Énorme"}})
    (tmp_path / "b").mkdir()
    second = grid_tests.filled_grid(cli, db, tmp_path / "b", {"Finances/Budgets": {"priorite": "Urgente"}})
    second = second.rename(second.with_name("grille-bis.xlsx"))
    col, rows = _cells(first)
    budgets = rows["Finances/Budgets"]
    with pytest.raises(GridValidationError) as caught:
        import_grids(str(db), [str(first), str(second)])
    assert [(p.file, p.column, p.cell) for p in caught.value.problems] == [
        ("grille-remplie.xlsx", "valeur_juridique", f"{get_column_letter(col['valeur_juridique'])}{budgets}"),
        ("grille-bis.xlsx", "priorite", f"{get_column_letter(col['priorite'])}{budgets}"),
    ]
    result = cli("grid", "import", first, second, "--db", db)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        HEAD.format(n="2 problèmes"),
        f"grille-remplie.xlsx — {spec.SHEET_GRID}!{get_column_letter(col['valeur_juridique'])}{budgets} : "
        "« Énorme » n'est pas une valeur autorisée (Forte, Moyenne, Faible, Aucune)",
        f"grille-bis.xlsx — {spec.SHEET_GRID}!{get_column_letter(col['priorite'])}{budgets} : "
        "« Urgente » n'est pas une valeur autorisée (Haute, Moyenne, Basse)",
    ]


def test_a_missing_required_column_is_a_problem_of_its_header_row(cli, db, tmp_path):
    path = grid_tests.filled_grid(cli, db, tmp_path)
    wb = load_workbook(path)
    ws = wb[spec.SHEET_GRID]
    ws.delete_cols(grid_tests.columns(ws)["hebergement"])
    wb.save(path)
    with pytest.raises(GridValidationError) as caught:
        import_grids(str(db), [str(path)])
    assert caught.value.problems == [Problem(spec.SHEET_GRID, None, 1, "hebergement",
                                             "colonne obligatoire « Hébergement » absente", path.name)]
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 1
    assert result.output.splitlines() == [HEAD.format(n="1 problème"),
                                          f"{spec.SHEET_GRID}, ligne 1 : colonne obligatoire « Hébergement » absente"]
