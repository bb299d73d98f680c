"""`catalogue sql` cannot write: statements are refused by type (DuckDB's own parser), and
the connection can reach no file but the catalogue."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import query
from tests.helpers import budget_share


@pytest.fixture
def catalogue(tmp_path, cli):
    root = budget_share(tmp_path)
    db = tmp_path / "c.duckdb"
    assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet").exit_code == 0
    return db


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


ONLY_READS = "« catalogue sql » n'exécute que des lectures (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE)."


def test_attach_detach_bypass_is_refused(catalogue, tmp_path, cli):
    """The issue's bypass: a second database becomes the default, the catalogue is detached
    and attached again read-write, then written."""
    other = tmp_path / "autre.duckdb"
    before = digest(catalogue)
    sql = (f"ATTACH '{other}' AS o (READ_ONLY false); USE o; DETACH c; "
           f"ATTACH '{catalogue}' AS w (READ_ONLY false); DELETE FROM w.files WHERE kind = 'file'")
    result = cli("sql", sql, "--db", catalogue)
    assert result.exit_code == 1
    assert result.output == f"Erreur : Requête refusée : instruction ATTACH interdite ; {ONLY_READS}\n"
    assert digest(catalogue) == before
    assert query(catalogue, "SELECT count(*) FROM files WHERE kind = 'file'") == [(3,)]
    assert not other.exists()


@pytest.mark.parametrize("sql, kind", [
    ("COPY (SELECT * FROM files) TO '{out}' (FORMAT csv)", "COPY"),
    ("EXPORT DATABASE '{out}'", "EXPORT"),
    ("DETACH c", "DETACH"),
    ("INSTALL httpfs", "LOAD"),
    ("LOAD httpfs", "LOAD"),
    ("SET enable_external_access = true", "SET"),
    ("USE memory", "SET"),
    ("PRAGMA enable_checkpoint_on_shutdown", "PRAGMA"),
    ("CHECKPOINT", "CALL"),
    ("CREATE TEMP TABLE t AS SELECT 1", "CREATE"),
    ("DELETE FROM files", "DELETE"),
    ("UPDATE communes SET nom = 'x'", "UPDATE"),
    ("SELECT 1; DROP TABLE files", "DROP"),
    ("EXPLAIN ANALYZE SELECT 1", "EXPLAIN"),
])
def test_other_statements_are_refused_by_type(catalogue, tmp_path, cli, sql, kind):
    out = tmp_path / "sortie"
    before = digest(catalogue)
    result = cli("sql", sql.format(out=out), "--db", catalogue)
    assert result.exit_code == 1
    assert result.output == f"Erreur : Requête refusée : instruction {kind} interdite ; {ONLY_READS}\n"
    assert digest(catalogue) == before
    assert not out.exists()


def test_select_reaches_no_other_file(catalogue, tmp_path, cli):
    secret = tmp_path / "secret.csv"
    secret.write_text("mot de passe\nhunter2\n")
    result = cli("sql", f"SELECT * FROM read_csv('{secret}')", "--db", catalogue)
    assert result.exit_code == 1
    assert result.output.startswith("Erreur : Requête refusée : accès refusé (seul le catalogue peut être lu) ; "
                                    "détail de DuckDB : Permission Error: Cannot access file")
    assert "hunter2" not in result.output and len(result.output.splitlines()) == 1


def test_empty_query(catalogue, cli):
    result = cli("sql", "  ;  ", "--db", catalogue)
    assert result.exit_code == 1 and result.output == "Erreur : Requête vide.\n"


def test_reads_and_views_still_work(catalogue, cli):
    def rows(sql):
        result = cli("sql", sql, "--db", catalogue, "--format", "csv")
        assert result.exit_code == 0, result.output
        return result.output.splitlines()[1:]

    assert rows("SELECT count(*) FROM files") == ["5"]
    assert rows("WITH f AS (SELECT * FROM files) SELECT count(*) FROM f WHERE kind = 'file'") == ["3"]
    assert rows("FROM volumes SELECT files WHERE depth = 0") == ["3"]
    assert rows("SELECT count(*) FROM formats") != []
    assert rows("SELECT copies FROM duplicates") == ["2"]
    assert rows("SELECT rule_id FROM dechets ORDER BY rule_id") == ["BAK-COPIE-DE", "SYS-THUMBS"]
    assert rows("SELECT count(*) FROM datasets") == ["2"]
    assert rows("SELECT 1; SELECT 2") == ["2"]  # several reads: the last one is shown
    assert "files" in "\n".join(rows("SHOW TABLES"))
    assert rows("DESCRIBE communes") == ["code,VARCHAR,NO,PRI,,", "nom,VARCHAR,YES,,,"]
    assert len(rows("SUMMARIZE communes")) == 2
    assert rows("VALUES (42)") == ["42"]
