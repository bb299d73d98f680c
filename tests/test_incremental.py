"""Incremental rescans: unchanged files (same size, mtime, inode) keep their
identification and hash without being read; changed and new files are read; the
result equals a scan from scratch."""

from __future__ import annotations

import os
import shutil

from catalogue.scan import run_scan
from tests.helpers import query


def _tree(root):
    (root / "A").mkdir(parents=True)
    (root / "B").mkdir()
    for i in range(20):
        (root / "A" / f"doc{i}.txt").write_bytes(f"document {i}\n".encode() * (50 + i))  # sizes all different
    # Above WHOLE_BYTES: hashed in two passes (head+tail, then whole).
    (root / "A" / "pareil-1.bin").write_bytes(b"x" * 100_000)
    (root / "B" / "pareil-2.bin").write_bytes(b"x" * 100_000)
    (root / "B" / "seul.bin").write_bytes(b"y" * 120_000)
    # Same size, different content: read once, found different, no hash kept.
    (root / "A" / "taille-1.csv").write_bytes(b"1" * 3000)
    (root / "B" / "taille-2.csv").write_bytes(b"2" * 3000)
    return root


def _result(db, scan_id):
    return sorted(query(db, "SELECT path, puid, format_name, mime, hash, ext_mismatch FROM files "
                            "WHERE scan_id = ? AND kind = 'file'", [scan_id]))


def test_rescan_reads_only_what_changed(tmp_path):
    root = _tree(tmp_path / "partage")
    db = tmp_path / "c.duckdb"
    first = run_scan(str(root), "99601", db=str(db), quiet=True)
    # The two « pareil »: head+tail, then whole; the two « taille »: read whole once.
    assert first.reused == 0 and first.identified == 25 and first.hash_reads == 6

    again = run_scan(str(root), "99601", db=str(db), quiet=True)
    assert again.reused == 25 and again.identified == 0 and again.hash_reads == 0
    assert _result(db, again.scan_id) == _result(db, first.scan_id)

    # One file changed, one new copy of the « pareil » pair, one new file.
    (root / "A" / "doc3.txt").write_bytes(b"modifie\n" * 10)
    shutil.copyfile(root / "B" / "pareil-2.bin", root / "A" / "pareil-3.bin")
    (root / "B" / "nouveau.csv").write_text("a;b\n1;2\n")
    third = run_scan(str(root), "99601", db=str(db), quiet=True)
    assert third.reused == 24 and third.identified == 3
    # The new copy is read (head+tail, then whole) and compared with the kept hashes of
    # the pair, which is not read again.
    assert third.hash_reads == 2
    assert query(db, "SELECT copies FROM duplicates WHERE size = 100000") == [(3,)]

    # Same result as a scan from scratch into another catalogue.
    fresh_db = tmp_path / "neuf.duckdb"
    fresh = run_scan(str(root), "99601", db=str(fresh_db), quiet=True)
    assert _result(db, third.scan_id) == _result(fresh_db, fresh.scan_id)


def test_touched_file_is_read_again(tmp_path):
    root = _tree(tmp_path / "partage")
    db = tmp_path / "c.duckdb"
    run_scan(str(root), "99602", db=str(db), quiet=True)
    st = os.stat(root / "A" / "doc1.txt")
    os.utime(root / "A" / "doc1.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    again = run_scan(str(root), "99602", db=str(db), quiet=True)
    assert again.reused == 24 and again.identified == 1


def test_after_a_scan_without_duplicates_the_rescan_reads_them(tmp_path):
    """A previous --sans-doublons scan settled nothing: unchanged files sharing a size are
    read, and the pair of copies is found."""
    root = _tree(tmp_path / "partage")
    db = tmp_path / "c.duckdb"
    first = run_scan(str(root), "99603", db=str(db), quiet=True, find_duplicates=False)
    assert first.hash_reads == 0
    again = run_scan(str(root), "99603", db=str(db), quiet=True)
    assert again.reused == 25 and again.hash_reads == 6
    assert query(db, "SELECT copies FROM duplicates WHERE size = 100000") == [(2,)]


def test_new_hard_link_to_a_kept_file_gets_its_hash(tmp_path):
    """A new link to an unchanged file has no hash to reuse (it is a new path): its inode
    is read again, and every link ends with the hash a scan from scratch gives."""
    root = _tree(tmp_path / "partage")
    db = tmp_path / "c.duckdb"
    run_scan(str(root), "99601", db=str(db), quiet=True)
    os.link(root / "A" / "pareil-1.bin", root / "B" / "lien-pareil-1.bin")
    again = run_scan(str(root), "99601", db=str(db), quiet=True)
    hashes = dict(query(db, "SELECT path, hash FROM files WHERE scan_id = ? AND name LIKE '%pareil%'",
                        [again.scan_id]))
    assert len(hashes) == 3 and None not in hashes.values() and len(set(hashes.values())) == 1
    fresh_db = tmp_path / "neuf.duckdb"
    fresh = run_scan(str(root), "99601", db=str(fresh_db), quiet=True)
    assert _result(db, again.scan_id) == _result(fresh_db, fresh.scan_id)
    assert query(db, "SELECT copies, entries FROM duplicates WHERE size = 100000") == [(2, 3)]
