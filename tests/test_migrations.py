"""A catalogue made by any earlier schema version opens with this one, and loses nothing.

For each version k, a catalogue is built with the first k migrations only (as the tool of
that time left it), filled with a scan written with the columns of the first version,
then opened by `connect`, which applies the later migrations, reloads the rules and
recreates the views."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from catalogue.store import MIGRATIONS, connect

SCAN = ["1f0e8c3a-0000-4000-8000-000000000001", "99001", "filesystem", "/srv/partage", "serveur",
        datetime(2024, 3, 1, 9, 0), datetime(2024, 3, 1, 9, 5), "complete", "0.1.0", "siegfried", 2, ["*.iso"],
        4, 3, 300, 1, 0]
FILES = [
    # file_id, path, parent, name, extension, kind, size, mtime, depth, hash, error
    (1, "Urbanisme", "", "Urbanisme", None, "directory", None, datetime(2020, 1, 1), 1, None, None),
    (2, "Urbanisme/plu.pdf", "Urbanisme", "plu.pdf", "pdf", "file", 100, datetime(2019, 5, 2), 2, "aa", None),
    (3, "Urbanisme/plu copie.pdf", "Urbanisme", "plu copie.pdf", "pdf", "file", 100, datetime(2019, 5, 3), 2,
     "aa", None),
    (4, "Urbanisme/~$note.docx", "Urbanisme", "~$note.docx", "docx", "file", 100, datetime(2021, 1, 1), 2, None,
     "accès refusé"),
]


def _catalogue_of_version(path, k: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    for name, sql in MIGRATIONS[:k]:
        con.execute(sql)
        con.execute("INSERT INTO _migrations VALUES (?, now())", [name])
    con.execute("INSERT INTO communes VALUES ('99001', 'Saint-Aubin-des-Prés')")
    con.execute("""INSERT INTO scans (scan_uuid, commune, source, root, host, started_at, finished_at, status,
                                      tool_version, identifier, dataset_depth, excludes, entries, files, bytes,
                                      errors, excluded)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", SCAN)
    for row in FILES:
        con.execute("""INSERT INTO files (scan_id, commune, file_id, path, parent, name, extension, kind, size,
                                          mtime, depth, hash, error, device, inode)
                       VALUES (1, '99001', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 2049, ?)""", list(row) + [1000 + row[0]])
    con.close()


def _contents(con) -> tuple:
    return (
        con.execute("SELECT code, nom FROM communes").fetchall(),
        con.execute("""SELECT scan_uuid, commune, source, root, host, started_at, finished_at, status, tool_version,
                              identifier, dataset_depth, excludes, entries, files, bytes, errors, excluded
                       FROM scans""").fetchall(),
        con.execute("""SELECT file_id, path, parent, name, extension, kind, size, mtime, depth, hash, error
                       FROM files ORDER BY file_id""").fetchall(),
    )


@pytest.mark.parametrize("k", range(1, len(MIGRATIONS) + 1), ids=[name for name, _ in MIGRATIONS])
def test_every_version_upgrades_without_loss(tmp_path, k):
    path = tmp_path / "ancien.duckdb"
    _catalogue_of_version(path, k)
    con = connect(path)
    try:
        assert _contents(con) == ([("99001", "Saint-Aubin-des-Prés")], [tuple(SCAN)], FILES)
        assert [r[0] for r in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()] == \
            [name for name, _ in MIGRATIONS]
        # The views of this version work on the old rows.
        assert con.execute("SELECT copies, wasted_bytes FROM duplicates").fetchall() == [(2, 100)]
        assert con.execute("SELECT path, rule_id FROM dechets ORDER BY path").fetchall() == \
            [("Urbanisme/plu copie.pdf", "DOUBLON"), ("Urbanisme/~$note.docx", "TMP-OFFICE")]
        assert con.execute("SELECT sum(files) FROM volumes").fetchone()[0] is not None
        for view in ("formats", "datasets", "qualifications_current"):
            con.execute(f"SELECT count(*) FROM {view}").fetchone()
    finally:
        con.close()
    # Opening again changes nothing.
    con = connect(path)
    try:
        assert _contents(con)[2] == FILES
    finally:
        con.close()


def test_a_read_only_open_upgrades_an_old_catalogue_first(tmp_path):
    """`report` and `sql` open read-only: a catalogue of the first version is migrated
    before, so they read this version's columns (the grid's declared stock, the
    referential's start events); a DuckDB file that is not a catalogue is never written."""
    path = tmp_path / "ancien.duckdb"
    _catalogue_of_version(path, 1)
    con = connect(path, read_only=True)
    try:
        assert _contents(con) == ([("99001", "Saint-Aubin-des-Prés")], [tuple(SCAN)], FILES)
        assert len(con.execute("SELECT name FROM _migrations").fetchall()) == len(MIGRATIONS)
        con.execute("SELECT volume_stock_go FROM qualifications_current").fetchall()
    finally:
        con.close()
    other = tmp_path / "autre.duckdb"
    raw = duckdb.connect(str(other))
    raw.execute("CREATE TABLE t (x INTEGER)")
    raw.close()
    before = other.read_bytes()
    con = connect(other, read_only=True)
    con.close()
    assert other.read_bytes() == before
