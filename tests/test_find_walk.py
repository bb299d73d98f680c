"""The GNU find walk (local disks) gives the same rows as the Python walk: odd names,
special files, dates before 1970, and, with permissions really enforced, unreadable
directories and entries that cannot be stat'ed (which find only names on stderr)."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest

from scanners.filesystem import WalkStats, walk
from scanners.findwalk import FindErrors, find_available, find_walk
from tests.helpers import REPO, can_drop_privileges, query, unprivileged

pytestmark = pytest.mark.skipif(not find_available(), reason="GNU find absent : parcours Python seul")


def _odd_tree(root):
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "new\nline.TXT").write_bytes(b"x")
    (root / "sp ace").mkdir()
    (root / "sp ace" / "Rapport final.v2.DOCX").write_bytes(b"y" * 5000)
    raw = os.fsencode(root)
    with open(raw + b"/bad\xff.Doc", "wb") as fh:
        fh.write(b"invalid utf-8 name")
    os.mkdir(raw + b"/d\xfe")
    with open(raw + b"/d\xfe/f.pdf", "wb") as fh:
        fh.write(b"%PDF-1.4\n")
    os.symlink("a/b", root / "lien")
    os.symlink(b"bad\xff.Doc", raw + b"/lien2")
    os.mkfifo(root / "fifo")
    (root / "<script>alert(1)<\\script>.html").write_text("<script>")
    (root / "=HYPERLINK(1).csv").write_text("q")
    for name in (".cache", "x.tar.gz", "noext.", "a.b c", "İSTANBUL.İŞ", "très.lon gue", "x.abcdefghijk"):
        (root / name).write_bytes(b"")
    old = root / "vieux.ODT"
    old.write_bytes(b"1959")
    os.utime(old, ns=(-315619199750000000, -315619199750000000))  # 1960, with a fraction
    return root


def _keyed(batches) -> dict:
    table = pa.Table.from_batches(list(batches))
    return {(r["path"], r["path_raw"]): r for r in table.drop(["file_id"]).to_pylist()}


@pytest.mark.parametrize("processes", [1, 3])
def test_same_rows_as_the_python_walk(tmp_path, processes):
    tree = _odd_tree(tmp_path / "partage")
    # Names find would take for options or operators if they were arguments.
    for name in ("-rf", "!", "(", "-delete"):
        (tree / name).mkdir()
        (tree / name / "f.txt").write_text(name)
    (tree / "-name").write_text("x")
    (tree / "saut\nde ligne").mkdir()
    root = os.fsencode(tree)
    py_stats, find_stats, errors = WalkStats(), WalkStats(), FindErrors()
    expected = _keyed(walk(root, stats=py_stats))
    got = _keyed(find_walk(root, processes=processes, stats=find_stats, errors=errors))
    assert errors.count == 0, errors.sample
    assert got == expected
    assert len(got) == 21 + 10
    ids = pa.Table.from_batches(list(find_walk(root, processes=processes)))["file_id"].to_pylist()
    assert sorted(ids) == list(range(1, len(got) + 1))
    assert got[("vieux.ODT", None)]["mtime"].year == 1960
    assert got[("x.tar.gz", None)]["extension"] == "gz"
    assert got[("İSTANBUL.İŞ", None)]["extension"] == "İş".lower()
    assert got[("lien2", None)]["link_target"] == "bad\\xff.Doc"
    assert (find_stats.entries, find_stats.files, find_stats.bytes, find_stats.by_kind) == \
        (py_stats.entries, py_stats.files, py_stats.bytes, py_stats.by_kind)
    # Every directory, and the root, is complete once the walk is over.
    assert sorted(find_stats.done_dirs) == sorted(py_stats.done_dirs)


SCAN = ("import sys; from catalogue.scan import run_scan; "
        "run_scan(sys.argv[1], 'C1', db=sys.argv[2], quiet=True, walker=sys.argv[3], "
        "identify=False, find_duplicates=False)")


@pytest.mark.skipif(not can_drop_privileges(),
                    reason="impossible de retirer les droits de contournement (root sans setpriv)")
def test_errors_find_only_reports_on_stderr_are_recorded(tmp_path):
    root = _odd_tree(tmp_path / "partage")
    (root / "ferme" / "sous").mkdir(parents=True)
    (root / "ferme" / "sous" / "cache.txt").write_text("secret")
    (root / "sans-x" / "sous").mkdir(parents=True)
    (root / "sans-x" / "liste.txt").write_text("nom visible, fiche illisible")
    (root / "a" / "b" / "profond.txt").write_text("ok")
    os.chmod(root / "ferme", 0)
    os.chmod(root / "sans-x", 0o444)  # listable, but its entries cannot be stat'ed
    rows = {}
    try:
        for walker in ("python", "find"):
            db = tmp_path / f"{walker}.duckdb"
            proc = subprocess.run(unprivileged([sys.executable, "-c", SCAN, str(root), str(db), walker]),
                                  capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
            assert proc.returncode == 0, proc.stderr
            rows[walker] = query(db, """SELECT path, path_raw, kind, size, mtime, owner, inode, error
                                        FROM files ORDER BY path, path_raw""")
            rows[walker + " scan"] = query(db, "SELECT status, entries, files, bytes, errors FROM scans")
            rows[walker + " done"] = query(db, "SELECT count(*) FROM scan_dirs_done")
    finally:
        os.chmod(root / "ferme", 0o755)
        os.chmod(root / "sans-x", 0o755)
    assert rows["find"] == rows["python"]
    assert rows["find scan"] == rows["python scan"]
    assert rows["find done"] == rows["python done"]
    errors = {path: (kind, error) for path, _, kind, _, _, _, _, error in rows["find"] if error}
    assert errors == {"ferme": ("directory", "accès refusé"),
                      "sans-x/liste.txt": ("other", "accès refusé"),
                      "sans-x/sous": ("other", "accès refusé")}
    assert "a/b/profond.txt" in {r[0] for r in rows["find"]}


def test_directory_access_times_are_kept(tmp_path):
    """Listing a directory updates its access time (relatime): neither walk may (DESIGN:
    preserve atime where the OS allows). As root, find works on a private read-only
    noatime view of the root; elsewhere the Python walk (O_NOATIME) is chosen."""
    from catalogue.scan import run_scan

    root = tmp_path / "partage"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.txt").write_text("x")
    old = 1_577_836_800  # 2020-01-01
    for d in (root / "a" / "b", root / "a", root):
        os.utime(d, (old, os.stat(d).st_mtime))
    summary = run_scan(str(root), "C1", db=str(tmp_path / "c.duckdb"), quiet=True, identify=False,
                       find_duplicates=False)
    assert {d: os.stat(d).st_atime for d in (root, root / "a", root / "a" / "b")} == \
        {d: old for d in (root, root / "a", root / "a" / "b")}
    if os.geteuid() == 0 and subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0:
        assert summary.walker == "find"
    assert query(tmp_path / "c.duckdb", "SELECT count(*) FROM files") == [(3,)]
