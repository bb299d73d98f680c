"""Grid template version 3 (issue 19 part 5): the new columns, « Activité » and
« Environnement de production » required, declared volumes as bare numbers, and grids
written by the version 2 exporter still importing and moving into version 3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from grids import spec
from tests.conftest import REPO, query
from tests.test_grid import (
    COMMUNE,
    GOOD,
    columns,
    current,
    db,
    export,
    fill,
    filled_grid,
    grid_db_template,
    rows_by_location,
)

__all__ = ["db", "grid_db_template"]  # fixtures shared with test_grid.py

PERMITS = "Urbanisme/Permis de construire"
V3_ANSWERS = {"support": "Mixte papier et numérique", "communicabilite": "50 ans", "editeur": "Berger-Levrault",
              "editeur_version": "4.2", "export_possible": "Oui", "connecteur": "Pastell",
              "operateur_hebergement": "Service informatique mutualisé"}


def v2_grid(db: Path, out: Path) -> Path:
    """A grid written by the exporter of template version 2 itself: its spec and export
    modules, kept verbatim under tests/fixtures/grid_v2, run as the `grids` package."""
    package = out.parent / "v2code" / "grids"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name in ("spec.py", "export.py"):
        (package / name).write_bytes((REPO / "tests" / "fixtures" / "grid_v2" / name).read_bytes())
    env = dict(os.environ, PYTHONPATH=f"{package.parent}{os.pathsep}{REPO}")
    code = ("import sys; from grids.export import export_grid; from grids import spec; "
            "assert spec.TEMPLATE_VERSION == '2'; export_grid(sys.argv[1], sys.argv[2], sys.argv[3])")
    subprocess.run([sys.executable, "-c", code, str(db), COMMUNE, str(out)], check=True, env=env, cwd=out.parent)
    return out


def meta(wb) -> dict:
    return {r[0]: r[1] for r in wb[spec.SHEET_META].iter_rows(values_only=True)}


def test_version_2_grid_imports_and_reexport_moves_it_to_version_3(cli, db, tmp_path):
    wb = load_workbook(v2_grid(db, tmp_path / "v2.xlsx"))
    ws = wb[spec.SHEET_GRID]
    assert meta(wb)["version_modele"] == "2"
    headers = {spec.header_key(c.value) for c in ws[1] if c.value}
    assert spec.header_key("Support") not in headers and spec.header_key("Volume actuel estimé (Go)") not in headers
    # Under version 2, « Activité » and « Environnement » were optional: a row without them imports.
    answers = {k: v for k, v in GOOD.items() if k not in ("activite", "environnement")}
    fill(ws, rows_by_location(ws)[PERMITS], dict(answers, volume_annuel_go=1.5))
    wb.save(tmp_path / "v2-remplie.xlsx")
    result = cli("grid", "import", tmp_path / "v2-remplie.xlsx", "--db", db)
    assert result.exit_code == 0, result.output
    assert current(db, PERMITS, "typologie") == GOOD["typologie"] and current(db, PERMITS, "activite") is None
    assert query(db, "SELECT template_version FROM grid_imports") == [("2",)]

    again = load_workbook(export(cli, db, tmp_path / "v3.xlsx"))
    ws3 = again[spec.SHEET_GRID]
    assert meta(again)["version_modele"] == "3" == spec.TEMPLATE_VERSION
    assert [c.value for c in ws3[1]] == [c.title for c in spec.COLUMNS]
    col, row = columns(ws3), rows_by_location(ws3)[PERMITS]
    assert ws3.cell(row, col["typologie"]).value == GOOD["typologie"]
    assert ws3.cell(row, col["volume_annuel_go"]).value == 1.5
    assert ws3.cell(row, col["rempli_par"]).value == GOOD["rempli_par"]
    assert ws3.cell(row, col["activite"]).value is None  # now required: highlighted until answered
    # Re-imported as it is, the version 3 grid asks for what version 3 requires.
    result = cli("grid", "import", tmp_path / "v3.xlsx", "--db", db)
    assert result.exit_code == 1
    cell = f"{spec.SHEET_GRID}!{get_column_letter(col['activite'])}{row}"
    assert f"{cell} : valeur obligatoire manquante (Activité / processus)" in result.output
    assert "valeur obligatoire manquante (Environnement de production)" in result.output


def test_new_columns_round_trip(cli, db, tmp_path):
    path = filled_grid(cli, db, tmp_path, {PERMITS: V3_ANSWERS})
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 0, result.output
    for key, value in V3_ANSWERS.items():
        assert current(db, PERMITS, key) == value, key
    ws = load_workbook(export(cli, db, tmp_path / "again.xlsx"))[spec.SHEET_GRID]
    col, row = columns(ws), rows_by_location(ws)[PERMITS]
    assert {k: ws.cell(row, col[k]).value for k in V3_ANSWERS} == V3_ANSWERS
    assert "aucune modification" in cli("grid", "import", tmp_path / "again.xlsx", "--db", db).output


def test_headers_say_stock_and_flow_and_required_columns_are_starred():
    stock, flow = spec.BY_KEY["volume_stock_go"], spec.BY_KEY["volume_annuel_go"]
    assert stock.header == "Volume actuel estimé (Go)" and "stock" in stock.help and "chaque année" in flow.help
    assert "flux" in flow.help and "déjà accumulé" in flow.help
    assert spec.BY_KEY["activite"].title.endswith(" *") and spec.BY_KEY["environnement"].title.endswith(" *")
    assert spec.BY_KEY["communicabilite"].choices == ("Immédiate", "25 ans", "50 ans", "75 ans", "100 ans",
                                                      "120 ans", "À déterminer")
    assert "L213-2" in spec.BY_KEY["communicabilite"].help


def test_added_row_volumes_are_bare_positive_numbers(cli, db, tmp_path):
    path = filled_grid(cli, db, tmp_path)
    wb = load_workbook(path)
    ws = wb[spec.SHEET_GRID]
    col = columns(ws)
    last = max(rows_by_location(ws).values())
    fill(ws, last + 1, dict(GOOD, emplacement="Application d'état civil", volume_stock_go="2 Go",
                            volume_annuel_go="-1"))
    fill(ws, last + 2, dict(GOOD, emplacement="Clé USB du service", volume_annuel_go=0.5))
    wb.save(path)
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 1
    letter = {k: get_column_letter(col[k]) for k in ("volume_stock_go", "volume_annuel_go")}
    assert result.output.splitlines()[1:] == [
        f"{spec.SHEET_GRID}!{letter['volume_stock_go']}{last + 1} : « 2 Go » contient du texte ou une unité : "
        "écrivez le nombre seul (la colonne est en Go)",
        f"{spec.SHEET_GRID}!{letter['volume_annuel_go']}{last + 1} : « -1 » n'est pas un nombre positif",
        f"{spec.SHEET_GRID}!{letter['volume_stock_go']}{last + 2} : volume actuel estimé obligatoire sur une "
        "ligne ajoutée (aucun scan ne l'a mesuré ; 0 si les données commencent)",
    ]
    assert query(db, "SELECT count(*) FROM qualifications")[0][0] == 0

    ws.cell(last + 1, col["volume_stock_go"]).value = "2"
    ws.cell(last + 1, col["volume_annuel_go"]).value = 0.25
    ws.cell(last + 2, col["volume_stock_go"]).value = 0
    wb.save(path)
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT emplacement, volume_stock_go, volume_annuel_go FROM qualifications_current "
                     "WHERE ajout ORDER BY emplacement") == [
        ("Application d'état civil", 2.0, 0.25), ("Clé USB du service", 0.0, 0.5)]


def test_answers_stored_before_version_3_are_not_changed_by_its_empty_columns(cli, db, tmp_path, monkeypatch):
    """A catalogue upgraded with answers imported by the version 2 tool: importing the same
    grid again changes nothing (the new, empty columns do not alter the answer's hash)."""
    import hashlib
    import importlib.util
    import json

    import duckdb

    wb = load_workbook(v2_grid(db, tmp_path / "v2.xlsx"))
    fill(wb[spec.SHEET_GRID], rows_by_location(wb[spec.SHEET_GRID])[PERMITS], dict(GOOD, volume_annuel_go=1.5))
    wb.save(tmp_path / "v2-remplie.xlsx")
    assert cli("grid", "import", tmp_path / "v2-remplie.xlsx", "--db", db).exit_code == 0
    # The hash as the version 2 importer computed it: over the version 2 columns only.
    loaded = importlib.util.spec_from_file_location("spec_v2", REPO / "tests" / "fixtures" / "grid_v2" / "spec.py")
    spec_v2 = importlib.util.module_from_spec(loaded)
    monkeypatch.setitem(sys.modules, "spec_v2", spec_v2)  # its dataclasses look their module up
    loaded.loader.exec_module(spec_v2)
    keys = ["emplacement"] + spec_v2.FILL_KEYS + ["typologie_code", "dua_suggeree", "sort_suggere"]
    con = duckdb.connect(str(db))
    cur = con.execute("SELECT * FROM qualifications")
    stored = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    payload = {k: stored[k] for k in keys} | {"ajout": stored["ajout"]}
    old_hash = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    con.execute("UPDATE qualifications SET content_hash = ?", [old_hash])
    con.close()
    result = cli("grid", "import", tmp_path / "v2-remplie.xlsx", "--db", db)
    assert result.exit_code == 0 and "aucune modification" in result.output, result.output
    assert query(db, "SELECT count(*) FROM qualifications")[0][0] == 1
