"""Scan modes: metadata only reads no content; a later full scan identifies everything."""

from __future__ import annotations

from catalogue.scan import run_scan
from tests.helpers import query


def test_metadata_only_then_full(tmp_path):
    root = tmp_path / "partage"
    (root / "A").mkdir(parents=True)
    (root / "A" / "a.txt").write_text("bonjour\n")
    (root / "A" / "b.txt").write_text("bonjour\n")
    db = tmp_path / "c.duckdb"
    quick = run_scan(str(root), "99801", db=str(db), quiet=True, identify=False, find_duplicates=False)
    assert quick.identified == 0 and quick.hash_reads == 0 and quick.files == 2
    assert query(db, "SELECT count(*) FROM files WHERE puid IS NOT NULL OR hash IS NOT NULL") == [(0,)]
    full = run_scan(str(root), "99801", db=str(db), quiet=True)
    # Nothing identified before: nothing reused, everything read now.
    assert full.reused == 0 and full.identified == 2
    assert query(db, "SELECT count(*) FROM duplicates") == [(1,)]
