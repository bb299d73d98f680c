"""Resumable scans: a scanner killed with SIGKILL mid-way is resumed by the next scan of
the same root, without relisting finished directories, and ends equal to an
uninterrupted scan. Kills and Ctrl-C land where the scan signals it is, never after a delay."""

from __future__ import annotations

import pytest

from catalogue.scan import ScanInterrupted, Tuning, run_scan
from tests.helpers import held_scan, kill, query

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


@pytest.mark.parametrize("event", ["walk-stored", "identify-stored"])
def test_killed_scan_resumes_to_the_same_result(tmp_path, event):
    """kill -9 after the second walk transaction (some directories stored, not all), or
    after the second batch of identification results (walk and duplicates done)."""
    root = _tree(tmp_path / "partage")
    db = tmp_path / "c.duckdb"
    # Transactions of 500 entries and batches of 2,000 files (not 122,880 and 20,000):
    # several of them on this small tree.
    proc = held_scan("scan", root, "--commune", "99701", "--db", db, "--quiet", "--jobs", "1",
                     event=event, count=2, walk_commit_rows=500, page_rows=2000, update_rows=2000)
    kill(proc)
    killed = query(db, "SELECT scan_id, status, (SELECT count(*) FROM files) FROM scans")
    assert len(killed) == 1 and killed[0][1] == "running" and 0 < killed[0][2]
    resumed = run_scan(str(root), "99701", db=str(db), quiet=True, resume_only=True)
    assert resumed.resumed and resumed.scan_id == killed[0][0]
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
    assert query(db, "SELECT count(*) = count(DISTINCT path) FROM files WHERE scan_id = ?",
                 [first.scan_id]) == [(True,)]


def test_interrupted_find_walk_resumes_to_the_same_result(tmp_path):
    """Ctrl-C in the middle of GNU find's walk (post-order): the Python walk resumes
    from the directories find completed and the result equals an uninterrupted scan."""
    root = _tree(tmp_path / "partage", dirs=12, files=20)
    db = tmp_path / "c.duckdb"
    stored = []

    def ctrl_c_after_five(event: str) -> None:
        if event == "walk-stored":
            stored.append(event)
            if len(stored) == 5:
                raise KeyboardInterrupt

    # Four find processes share the twelve folders (a batch each at least); transactions of
    # 20 entries: each batch in its own.
    with pytest.raises(ScanInterrupted):
        run_scan(str(root), "99704", db=str(db), quiet=True, walker="find", listers=4,
                 tuning=Tuning(walk_commit_rows=20, on_event=ctrl_c_after_five))
    partial = query(db, "SELECT count(*), (SELECT count(*) FROM scan_dirs_done) FROM files")[0]
    assert 0 < partial[0] < 12 * 23 + 12 and partial[1] > 0  # some directories finished, not all
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
