"""A full disk under the catalogue: one French line, exit 1, nothing lost, and the same
command resumes the scan once space is freed."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import catalogue_cmd, query


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs, grown later with a remount: a real ENOSPC from the kernel."""
    mnt = tmp_path / "disque"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("impossible de monter un tmpfs ici (il faut être root) : test du disque plein non joué")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _tree(root):
    for d in range(40):
        (root / f"d{d}").mkdir(parents=True)
        for f in range(400):
            (root / f"d{d}" / f"fichier-{f}.txt").write_text(str(d * 1000 + f))


def _rows(db):
    return query(db, "SELECT path, kind, size FROM files ORDER BY path")


def test_disk_full_then_resume(tmp_path, small_disk):
    root = tmp_path / "partage"
    _tree(root)
    db = small_disk / "c.duckdb"
    cmd = catalogue_cmd() + ["scan", str(root), "--commune", "99001", "--db", str(db), "--quiet",
                             "--sans-identification"]
    full = subprocess.run(cmd, capture_output=True, text=True)
    assert full.returncode == 1
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in full.stderr
    assert lines[0].startswith(f"Erreur : disque plein dans {small_disk} (")
    assert "libérez au moins 100,0 Mo puis relancez la même commande" in lines[0]

    subprocess.run(["mount", "-o", "remount,size=200m", str(small_disk)], check=True)
    resumed = subprocess.run(cmd, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "(reprise du scan interrompu)" in resumed.stdout
    assert query(db, "SELECT status, files FROM scans") == [("complete", 16_000)]

    reference = tmp_path / "ref.duckdb"
    subprocess.run(cmd[:-4] + ["--db", str(reference), "--quiet", "--sans-identification"], check=True)
    assert _rows(db) == _rows(reference)
