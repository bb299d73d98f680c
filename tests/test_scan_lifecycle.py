"""The scan-row lifecycle every scan shares, on a real catalogue: one INSERT that accepts
only columns of `scans`, totals given or counted from `files`, and the tuning a scan uses."""

from __future__ import annotations

import pytest

from catalogue.scan import Tuning, tuned
from catalogue.scan.lifecycle import ScanCounts, begin_scan, finish_scan, insert_scan
from catalogue.scan.options import current_tuning
from catalogue.store import connect


def test_application_and_file_scans_share_one_lifecycle(tmp_path):
    con = connect(tmp_path / "c.duckdb")
    try:
        app = begin_scan(con, "99001", "Saint-Aubin", "database", "sqlite:///x", application="Paie")
        finish_scan(con, app, "complete", ScanCounts(entries=3, files=3, bytes=100, errors=1))
        files = begin_scan(con, "99001", None, "filesystem", "/partage", dataset_depth=3, excludes=["*.tmp"])
        con.execute("""INSERT INTO files (scan_id, file_id, commune, path, parent, name, kind, size, depth, error)
                       VALUES (?, 1, '99001', 'a', '', 'a', 'directory', NULL, 1, NULL),
                              (?, 2, '99001', 'a/b.txt', 'a', 'b.txt', 'file', 10, 2, NULL),
                              (?, 3, '99001', 'a/c.txt', 'a', 'c.txt', 'file', 5, 2, 'accès refusé')""",
                    [files] * 3)
        finish_scan(con, files, "interrupted", excluded=2)
        rows = con.execute("""SELECT source, status, entries, files, bytes, errors, excluded, dataset_depth, excludes,
                                     application, finished_at >= started_at FROM scans ORDER BY scan_id""").fetchall()
        assert rows == [("database", "complete", 3, 3, 100, 1, 0, 2, None, "Paie", True),
                        ("filesystem", "interrupted", 3, 2, 15, 1, 2, 3, ["*.tmp"], None, True)]
        assert con.execute("SELECT nom FROM communes").fetchall() == [("Saint-Aubin",)]
    finally:
        con.close()


def test_a_scan_row_takes_only_columns_of_scans(tmp_path):
    """Bundles bring their scan row from another server: a key that is not a column never
    reaches the SQL, and nothing is inserted."""
    con = connect(tmp_path / "c.duckdb")
    try:
        with pytest.raises(ValueError, match="not columns of scans"):
            insert_scan(con, {"scan_uuid": "u", "commune": "1", "source": "filesystem", "root": "/",
                              "started_at": "2024-01-01", "status": "complete",
                              'status") VALUES (1); DROP TABLE files; --': 1})
        assert con.execute("SELECT count(*) FROM scans").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM files").fetchall() == [(0,)]
    finally:
        con.close()


def test_tuned_sets_the_default_tuning_for_a_block_only():
    assert current_tuning() == Tuning()
    mine = Tuning(walk_commit_rows=7)
    with tuned(mine):
        assert current_tuning() is mine
        with tuned(Tuning(page_rows=3)):
            assert current_tuning().page_rows == 3
        assert current_tuning() is mine
    assert current_tuning() == Tuning()
