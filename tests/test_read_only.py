"""The scan never modifies what it scans: contents and timestamps are identical after."""

from __future__ import annotations

import hashlib
import os


def _snapshot(root):
    snap = {}
    for dirpath, dirnames, names in os.walk(root):
        for name in dirnames + names:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            digest = None
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
            snap[p] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, digest)
    return snap


def test_scan_leaves_tree_untouched(demo_territory, tmp_path, cli):
    share = demo_territory / "partages" / "99003"
    before = _snapshot(share)
    db = tmp_path / "c.duckdb"
    result = cli("scan", share, "--commune", "99003", "--db", db, "--quiet")
    assert result.exit_code == 0, result.output
    assert _snapshot(share) == before
    # And nothing was written inside the scanned tree.
    assert not any(p.name.endswith((".duckdb", ".wal", ".parquet")) for p in share.rglob("*"))


def test_full_scan_keeps_access_times(demo_territory, tmp_path, cli):
    """Archivists date a file's last use by its access time: a full scan (walk, duplicates,
    identification by siegfried, which opens files itself) must leave every one as it was.
    As root this holds for every file; elsewhere O_NOATIME only covers the user's own files."""
    import shutil

    import pytest

    if os.geteuid() != 0:
        pytest.skip("nécessite root : sans lui, le noyau ne garde l'heure d'accès que des fichiers de l'utilisateur")
    share = tmp_path / "partage"
    shutil.copytree(demo_territory / "partages" / "99003", share, symlinks=True)
    old = 978_307_200  # 2001-01-01: older than any mtime, so relatime would update it on a read
    files = [p for p in share.rglob("*") if p.is_file() and not p.is_symlink()]
    for p in files:
        os.utime(p, ns=(old * 10**9, os.stat(p).st_mtime_ns))
    result = cli("scan", share, "--commune", "99003", "--db", tmp_path / "c.duckdb", "--quiet")
    assert result.exit_code == 0, result.output
    from tests.helpers import query

    identified = query(tmp_path / "c.duckdb", "SELECT count(*) FROM files WHERE puid IS NOT NULL")[0][0]
    assert identified > 100  # siegfried did read the files
    changed = [str(p) for p in files if os.stat(p).st_atime_ns != old * 10**9]
    assert changed == []
