"""Walking with many listings in flight (network shares): same rows as one at a time,
on a real tree with odd names, unreadable and excluded folders; and on a real FUSE
mount that answers every request after a delay, where the requests must overlap."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scanners.filesystem import walk
from scanners.mounts import default_listers, filesystem_type, is_network
from tests.helpers import REPO, catalogue_cmd, query, unprivileged


def _tree(root: Path, non_utf8: bool = True) -> Path:
    for i in range(12):
        for j in range(4):
            d = root / f"service-{i}" / f"activite-{j}"
            d.mkdir(parents=True)
            for k in range(5):
                (d / f"doc-{k}.txt").write_bytes(b"x" * (i * 100 + j * 10 + k))
    # SMB names are UTF-16 and fusepy decodes names as UTF-8: non-UTF-8 only on local trees.
    odd = root / "service-0" / (os.fsdecode(b"caf\xe9") if non_utf8 else "café")
    odd.mkdir()
    (odd / "ligne\nsuivante.txt").write_text("a")
    (root / "service-1" / "=HYPERLINK(1)").mkdir()
    (root / "exclu").mkdir()
    (root / "exclu" / "dedans.txt").write_text("b")
    os.symlink("service-0", root / "raccourci")
    return root


def _rows(root: Path, **kw) -> list:
    return [row for batch in walk(os.fsencode(root), **kw) for row in batch.to_pylist()]


def test_many_listers_give_the_same_rows_in_the_same_order(tmp_path):
    root = _tree(tmp_path / "partage")
    one = _rows(root, excludes=["exclu"])
    for listers in (2, 8, 32):
        assert _rows(root, excludes=["exclu"], listers=listers) == one
    assert not any(r["path"].startswith("exclu") for r in one)
    assert any(r["path_raw"] == b"service-0/caf\xe9/ligne\nsuivante.txt" for r in one)
    assert len(one) == 12 + 48 + 240 + 4


def test_unreadable_folder_with_many_listers(tmp_path, cli):
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("root sans setpriv : impossible de tester un dossier illisible")
    root = _tree(tmp_path / "partage")
    os.chmod(root / "service-3", 0)
    dbdir = tmp_path / "db"
    dbdir.mkdir()
    try:
        for listers in ("1", "8"):
            proc = subprocess.run(unprivileged(catalogue_cmd() + [
                "scan", str(root), "--commune", "99001", "--db", str(dbdir / f"{listers}.duckdb"),
                "--quiet", "--listages", listers, "--sans-identification"]), capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
    finally:
        os.chmod(root / "service-3", 0o755)
    sql = "SELECT path, kind, size, error, hash FROM files ORDER BY path"
    assert query(dbdir / "1.duckdb", sql) == query(dbdir / "8.duckdb", sql)
    assert ("service-3", "directory") == query(dbdir / "8.duckdb", "SELECT path, kind FROM files "
                                                                   "WHERE error = 'accès refusé'")[0]


def test_filesystem_type_and_network_defaults(tmp_path):
    assert filesystem_type(tmp_path) is not None
    for fstype in ("nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "fuse"):
        assert is_network(fstype)
    for fstype in ("ext4", "xfs", "btrfs", "tmpfs", "fuseblk", None):
        assert not is_network(fstype)
    local = min(os.cpu_count() or 1, 4)
    assert default_listers(tmp_path) == (32 if is_network(filesystem_type(tmp_path)) else local)


def _fuse_available() -> str | None:
    try:
        import fuse  # noqa: F401  (fusepy, loads libfuse)
    except (ImportError, OSError) as exc:
        return f"fusepy/libfuse indisponible : {exc}"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK) or not shutil.which("fusermount"):
        return "/dev/fuse ou fusermount indisponible"
    return None


@contextmanager
def _latency_mount(source: Path, mnt: Path, stats: Path) -> Iterator[Path]:
    """SOURCE behind a FUSE mount at MNT answering each request after 3 ms; at unmount the
    server writes to STATS how many requests were in flight at once at most."""
    mnt.mkdir()
    proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "latencyfs.py"), str(source), str(mnt),
                             "--ms", "3", "--stats", str(stats)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    if proc.stdout.readline().strip() != "monté":  # the server says when the mount is live
        proc.kill()
        _, err = proc.communicate()
        pytest.skip(f"montage FUSE impossible : {err[:200]}")
    try:
        yield mnt
    finally:
        subprocess.run(["fusermount", "-u", str(mnt)], check=False)
        proc.communicate(timeout=10)


def test_latency_bound_share_is_listed_concurrently(tmp_path, cli):
    why = _fuse_available()
    if why:
        pytest.skip(why)
    source = _tree(tmp_path / "source", non_utf8=False)
    results, stats = {}, {}
    for listers in ("1", "32"):
        with _latency_mount(source, tmp_path / f"partage-lent-{listers}", tmp_path / f"{listers}.json") as mnt:
            assert is_network(filesystem_type(mnt)) and default_listers(mnt) == 32
            db = tmp_path / f"{listers}.duckdb"
            result = cli("scan", mnt, "--commune", "99001", "--db", db, "--quiet", "--listages", listers,
                         "--sans-identification", "--sans-doublons")
            assert result.exit_code == 0, result.output
            results[listers] = query(db, "SELECT path, kind, size, mtime, inode FROM files ORDER BY path")
        stats[listers] = json.loads((tmp_path / f"{listers}.json").read_text())
    assert results["1"] == results["32"]
    # Same entries as the tree behind the mount (symlink to a folder not followed).
    assert len(results["1"]) == len(_rows(source))
    # Hundreds of round trips of 3 ms: one at a time they add up, in flight they overlap.
    # Counted by the server, not timed: the machine's speed does not matter.
    assert stats["1"]["max_in_flight"] == 1, stats
    assert stats["32"]["max_in_flight"] >= 4, stats
