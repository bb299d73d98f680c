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
