"""Resumable scans: a scanner killed with SIGKILL mid-way is resumed by the next scan of
the same root, without relisting finished directories, and ends equal to an
uninterrupted scan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from catalogue.scan import run_scan
from tests.conftest import REPO, query

COLUMNS = "path, kind, size, mtime, puid, mime, hash, error"


def _tree(root, dirs=60, files=250):
    for d in range(dirs):
        folder = root / f"Service {d:02d}" / "Activité"
        folder.mkdir(parents=True)
        for f in range(files):
            (folder / f"doc-{f:03d}.txt").write_bytes(f"service {d} document {f}\n".encode() * (1 + f % 7))
        (folder / "copie.txt").write_bytes(b"identique\n" * 100)
    return root


def _rows(db, scan_id):
    return query(db, f"SELECT {COLUMNS} FROM files WHERE scan_id = ? ORDER BY path", [scan_id])


@pytest.mark.parametrize("delay", [0.8, 3.0])
def test_killed_scan_resumes_to_the_same_result(tmp_path, delay):
    root = _tree(tmp_path / "partage")
    db = tmp_path / "c.duckdb"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # Walk transactions of 500 entries (not a row group's 122,880): the kill lands between
    # many of them on this small tree.
    launcher = ("import sys, catalogue.scan, catalogue.cli; catalogue.scan.WALK_COMMIT_ROWS = 500; "
                "sys.argv[0] = 'catalogue'; catalogue.cli.main()")
    proc = subprocess.Popen([sys.executable, "-c", launcher, "scan", str(root), "--commune", "99701",
                             "--db", str(db), "--quiet", "--jobs", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Wait for the catalogue to exist, then kill -9 somewhere in the scan.
    for _ in range(200):
        if db.exists():
            break
        time.sleep(0.05)
    time.sleep(delay)
    if proc.poll() is not None:
        pytest.skip("le scan a fini avant d'être interrompu (machine trop rapide pour ce délai)")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = query(db, "SELECT scan_id, status, (SELECT count(*) FROM files) FROM scans")
    resumed = run_scan(str(root), "99701", db=str(db), quiet=True, resume_only=bool(killed))
    if killed:
        assert len(killed) == 1 and killed[0][1] == "running"
        assert resumed.resumed and resumed.scan_id == killed[0][0]
    else:
        # On a loaded machine the kill can land before the scan row is written: nothing
        # to resume, the next scan starts afresh and must still be complete and equal.
        assert not resumed.resumed
    assert query(db, "SELECT status FROM scans") == [("complete",)]
    # No entry twice, nothing missing: equal to an uninterrupted scan.
    assert query(db, "SELECT count(*) = count(DISTINCT path) FROM files") == [(True,)]
    reference_db = tmp_path / "ref.duckdb"
    reference = run_scan(str(root), "99701", db=str(reference_db), quiet=True)
    assert _rows(db, resumed.scan_id) == _rows(reference_db, reference.scan_id)
    assert query(db, "SELECT entries, files, bytes FROM scans") == \
        query(reference_db, "SELECT entries, files, bytes FROM scans")
    assert query(db, "SELECT count(*) FROM duplicates") == query(reference_db, "SELECT count(*) FROM duplicates")


@pytest.mark.parametrize("listers", [1, 8])
def test_finished_directories_are_not_listed_again(tmp_path, listers):
    """Resume after an interrupted walk: stored directories keep their rows (same ids),
    whether directories are listed one at a time or many in flight (network shares)."""
    from catalogue.store import connect

    root = _tree(tmp_path / "partage", dirs=5, files=10)
    db = tmp_path / "c.duckdb"
    # The Python walk's order (directories in name order) is what the deletion below assumes.
    first = run_scan(str(root), "99702", db=str(db), quiet=True, walker="python")
    # Simulate an interruption after the first two services: keep their rows only.
    con = connect(db)
    con.execute("UPDATE scans SET status = 'interrupted' WHERE scan_id = ?", [first.scan_id])
    con.execute("""DELETE FROM scan_dirs_done WHERE scan_id = ? AND path NOT IN
                   ('', 'Service 00', 'Service 00/Activité', 'Service 01', 'Service 01/Activité')""",
                [first.scan_id])
    con.execute("DELETE FROM files WHERE scan_id = ? AND path >= 'Service 02'", [first.scan_id])
    kept = con.execute("SELECT file_id, path FROM files WHERE scan_id = ? ORDER BY file_id",
                       [first.scan_id]).fetchall()
    con.close()
    resumed = run_scan(str(root), "99702", db=str(db), quiet=True, listers=listers)
    assert resumed.resumed and resumed.scan_id == first.scan_id
    after = query(db, "SELECT file_id, path FROM files WHERE scan_id = ? AND file_id <= ? ORDER BY file_id",
                  [first.scan_id, kept[-1][0]])
    assert after == kept  # untouched, not listed again
    assert query(db, "SELECT count(*) FROM files WHERE scan_id = ?", [first.scan_id])[0][0] == 5 * 12 + 5
    assert query(db, "SELECT count(*) = count(DISTINCT path) FROM files WHERE scan_id = ?", [first.scan_id]) == [(True,)]


def test_interrupted_find_walk_resumes_to_the_same_result(tmp_path, monkeypatch):
    """Ctrl-C in the middle of GNU find's walk (post-order): the Python walk resumes
    from the directories find completed and the result equals an uninterrupted scan."""
    import catalogue.scan as scan_module
    from catalogue.scan import ScanInterrupted
    from scanners import findwalk

    root = _tree(tmp_path / "partage", dirs=12, files=20)
    db = tmp_path / "c.duckdb"
    monkeypatch.setattr(findwalk, "READ_BYTES", 2000)  # many small batches
    monkeypatch.setattr(scan_module, "WALK_COMMIT_ROWS", 20)  # each in its own transaction
    insert = scan_module._insert_walk_batch
    calls = []

    def interrupted_after_five(*args):
        calls.append(1)
        if len(calls) > 5:
            raise KeyboardInterrupt
        insert(*args)

    monkeypatch.setattr(scan_module, "_insert_walk_batch", interrupted_after_five)
    with pytest.raises(ScanInterrupted):
        run_scan(str(root), "99704", db=str(db), quiet=True, walker="find")
    partial = query(db, "SELECT count(*), (SELECT count(*) FROM scan_dirs_done) FROM files")[0]
    assert 0 < partial[0] < 12 * 23 + 12 and partial[1] > 0  # some directories finished, not all
    monkeypatch.setattr(scan_module, "_insert_walk_batch", insert)
    resumed = run_scan(str(root), "99704", db=str(db), quiet=True, resume_only=True)
    assert resumed.resumed
    assert query(db, "SELECT count(*) = count(DISTINCT path) FROM files") == [(True,)]
    reference_db = tmp_path / "ref.duckdb"
    reference = run_scan(str(root), "99704", db=str(reference_db), quiet=True, walker="python")
    assert _rows(db, resumed.scan_id) == _rows(reference_db, reference.scan_id)
    assert query(db, "SELECT entries, files, bytes FROM scans") == \
        query(reference_db, "SELECT entries, files, bytes FROM scans")


def test_recommencer_starts_afresh(tmp_path, cli):
    root = _tree(tmp_path / "partage", dirs=2, files=3)
    db = tmp_path / "c.duckdb"
    first = run_scan(str(root), "99703", db=str(db), quiet=True)
    query_db = lambda sql: query(db, sql)  # noqa: E731
    from catalogue.store import connect

    con = connect(db)
    con.execute("UPDATE scans SET status = 'interrupted' WHERE scan_id = ?", [first.scan_id])
    con.close()
    result = cli("scan", root, "--commune", "99703", "--db", db, "--quiet", "--recommencer")
    assert result.exit_code == 0 and "(reprise" not in result.output
    assert query_db("SELECT scan_id, status FROM scans ORDER BY scan_id") == [(1, "abandoned"), (2, "complete")]


def test_reprendre_says_when_there_is_nothing_to_resume(tmp_path, cli):
    root = _tree(tmp_path / "partage", dirs=2, files=3)
    db = tmp_path / "c.duckdb"
    result = cli("scan", root, "--commune", "99702", "--db", db, "--quiet", "--reprendre")
    assert result.exit_code == 1
    assert "rien à reprendre" in result.output and result.output.count("\n") == 1
    assert query(db, "SELECT count(*) FROM scans") == [(0,)]
    both = cli("scan", root, "--commune", "99702", "--db", db, "--quiet", "--reprendre", "--recommencer")
    assert both.exit_code == 1 and "s'excluent" in both.output
