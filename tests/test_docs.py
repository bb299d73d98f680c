"""Docs stay true: every CLI command is in the README, every table and view in docs/schema.md."""

from __future__ import annotations

import re

from catalogue.cli import main
from catalogue.store import connect
from tests.conftest import REPO


def test_every_command_in_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name, command in main.commands.items():
        assert f"catalogue {name}" in readme or f"make {name}" in readme, name
        for sub in getattr(command, "commands", {}):
            assert f"catalogue {name} {sub}" in readme, f"{name} {sub}"


def test_every_table_view_and_column_documented(tmp_path):
    doc = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
    con = connect(tmp_path / "c.duckdb")
    objects = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_name NOT LIKE '\\_%' ESCAPE '\\'"
    ).fetchall()
    assert {"communes", "scans", "files", "volumes", "formats", "duplicates", "dechets", "datasets"} <= {o[0] for o in objects}
    for (name,) in objects:
        assert f"`{name}`" in doc, name
    for (column,) in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name IN ('files', 'scans', 'qualifications', 'grid_imports', 'referentiel')").fetchall():
        assert re.search(rf"`{column}`", doc), column
    con.close()
