"""Duplicate groups equal a brute-force reference (full hash of every file)."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from collections import defaultdict

import pytest
import xxhash

from catalogue.scan import Tuning, run_scan, tuned
from scanners.parallel import ProcessPool
from tests.helpers import REPO, query


def _make_tree(root, seed=7):
    rng = random.Random(seed)
    root.mkdir()
    contents = [rng.randbytes(rng.choice([1, 10, 4096, 8192, 8193, 20000, 100_000])) for _ in range(60)]
    # Same size, same head and tail, different middle: only a full hash tells them apart.
    base = rng.randbytes(50_000)
    contents.append(base)
    contents.append(base[:25_000] + b"X" + base[25_001:])
    # Same size, different content.
    contents += [rng.randbytes(3000) for _ in range(5)]
    paths = []
    for i in range(400):
        data = rng.choice(contents)
        folder = root / f"dossier{rng.randint(0, 9)}" / f"sous{rng.randint(0, 3)}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"f{i}.bin"
        path.write_bytes(data)
        paths.append(path)
    # Hard links are one copy, not duplicates of each other.
    for i, src in enumerate(rng.sample(paths, 20)):
        os.link(src, root / f"lien{i}.bin")
    os.link(paths[0], root / "lien-double.bin")
    # Empty files are never duplicates.
    for i in range(5):
        (root / f"vide{i}.txt").touch()
    return root


def _reference(root):
    by_hash = defaultdict(set)
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if st.st_size == 0:
                continue
            with open(p, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            by_hash[digest].add((os.path.relpath(p, root), (st.st_dev, st.st_ino)))
    groups = set()
    for members in by_hash.values():
        if len({inode for _, inode in members}) > 1:
            groups.add(frozenset(path for path, _ in members))
    return groups


def test_duplicate_groups_equal_brute_force(tmp_path, cli):
    root = _make_tree(tmp_path / "arbre")
    expected = _reference(root)
    db = tmp_path / "c.duckdb"
    assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet", "--jobs", "2").exit_code == 0
    members = defaultdict(set)
    for h, path in query(db, "SELECT hash, path FROM duplicate_files"):
        members[h].add(path)
    assert {frozenset(v) for v in members.values()} == expected
    # A stored hash is the xxh3-128 of the whole content, in hex, whether the file was read
    # whole at the first pass (up to 64 KiB) or hashed again in full: an incremental rescan
    # compares new hashes with kept ones.
    stored = query(db, "SELECT path, hash FROM files WHERE hash IS NOT NULL")
    assert {len((root / p).read_bytes()) > 64 * 1024 for p, _ in stored} == {True, False}
    for path, digest in stored:
        assert digest == xxhash.xxh3_128_hexdigest((root / path).read_bytes()), path
    # Wasted bytes: (distinct inodes - 1) × size per group.
    waste = query(db, "SELECT sum(wasted_bytes) FROM duplicates")[0][0]
    ref_waste = 0
    for group in expected:
        inodes = {(os.lstat(root / p).st_dev, os.lstat(root / p).st_ino) for p in group}
        ref_waste += (len(inodes) - 1) * os.lstat(root / next(iter(group))).st_size
    assert waste == ref_waste
    # Every redundant copy is a déchet, and exactly one copy per group is kept.
    kept = query(db, "SELECT count(*) FROM duplicate_files WHERE NOT redundant")[0][0]
    assert kept >= len(expected)
    redundant_inodes = query(db, "SELECT count(DISTINCT (device, inode)) FROM duplicate_files WHERE redundant")[0][0]
    assert redundant_inodes == sum(len({(os.lstat(root / p).st_ino) for p in g}) - 1 for g in expected)
    assert query(db, "SELECT count(*) FROM dechets WHERE rule_id = 'VIDE-FICHIER'") == [(5,)]


def test_only_colliding_files_are_fully_hashed(tmp_path, cli):
    root = tmp_path / "arbre"
    root.mkdir()
    (root / "seul.bin").write_bytes(b"a" * 10_000)
    (root / "autre-taille.bin").write_bytes(b"a" * 10_001)
    # Above WHOLE_BYTES (read whole at the first pass), differing only in the middle.
    base = bytes(range(256)) * 400
    (root / "x.bin").write_bytes(base)
    (root / "y.bin").write_bytes(base[:50_000] + b"Z" + base[50_001:])
    db = tmp_path / "c.duckdb"
    assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet").exit_code == 0
    rows = dict(query(db, "SELECT name, hash FROM files"))
    # Unique sizes are never read for hashing; same head+tail collided and got a full hash.
    assert rows["seul.bin"] is None and rows["autre-taille.bin"] is None
    assert rows["x.bin"] and rows["y.bin"] and rows["x.bin"] != rows["y.bin"]
    assert query(db, "SELECT count(*) FROM duplicates") == [(0,)]


def test_worker_processes_find_the_same_groups(tmp_path, cli):
    # Large scans hash their many small candidates in worker processes: same groups.
    root = _make_tree(tmp_path / "arbre", seed=11)
    db = tmp_path / "c.duckdb"
    # Processes from the first candidate on; many tasks per page, packed.
    with tuned(Tuning(process_min_files=0, chunk_files=7)):
        result = cli("scan", root, "--commune", "99001", "--db", db, "--quiet", "--lectures", "2",
                     "--sans-identification")
    assert result.exit_code == 0, result.output
    members = defaultdict(set)
    for h, path in query(db, "SELECT hash, path FROM duplicate_files"):
        members[h].add(path)
    assert {frozenset(v) for v in members.values()} == _reference(root)


def test_a_file_gone_before_hashing_gets_its_own_error(tmp_path):
    """Errors come back from the hash tasks as positions in a task: each must land on its
    own file, whichever task and page it was in."""
    root = tmp_path / "arbre"
    root.mkdir()
    for i in range(25):
        (root / f"f{i:02d}.bin").write_bytes(b"%05d" % i)  # all the same size: all candidates
    gone = {"f04.bin", "f13.bin", "f22.bin"}

    def after_the_walk(event: str) -> None:
        if event == "hash":
            for name in gone:
                (root / name).unlink()

    db = tmp_path / "c.duckdb"
    # Tasks of 3 files, pages of 10: the errors fall in several tasks and pages.
    run_scan(str(root), "C1", db=str(db), quiet=True, identify=False,
             tuning=Tuning(chunk_files=3, page_rows=10, on_event=after_the_walk))
    rows = query(db, "SELECT name, error, hash FROM files WHERE kind = 'file' ORDER BY name")
    assert {name for name, error, _ in rows if error} == gone
    assert all(error == "disparu pendant le scan" and digest is None for name, error, digest in rows if name in gone)
    # The others differ: read, not in any group.
    assert query(db, "SELECT count(*) FROM duplicates") == [(0,)]


def test_a_file_changed_after_hashing_leaves_its_group(tmp_path, cli):
    # Duplicates are searched before identification; a file changed in between is caught
    # by identification and must not stay in a group under its old content's hash.
    root = tmp_path / "arbre"
    root.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (root / name).write_text("même contenu\n" * 100)

    def change_before_identification(event: str) -> None:
        if event == "identify":
            with open(root / "c.txt", "a") as fh:
                fh.write("ajout\n")

    db = tmp_path / "c.duckdb"
    with tuned(Tuning(on_event=change_before_identification)):
        result = cli("scan", root, "--commune", "99001", "--db", db, "--quiet")
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT name, error, hash IS NULL FROM files WHERE name = 'c.txt'") == [
        ("c.txt", "modifié pendant le scan", True)]
    assert sorted(query(db, "SELECT path FROM duplicate_files")) == [("a.txt",), ("b.txt",)]


UNGUARDED_SCRIPT = """
import sys
with open(sys.argv[3], "a") as fh:
    fh.write("run\\n")
from catalogue.scan import Tuning, run_scan
s = run_scan(sys.argv[1], "C1", db=sys.argv[2], quiet=True, readers=2, identify=False,
             tuning=Tuning(process_min_files=0))
print(s.duplicate_groups)
"""


def test_a_script_without_main_guard_runs_once(tmp_path):
    """Worker processes do not run the user's script again (no `if __name__ == "__main__"`)."""
    root = _make_tree(tmp_path / "arbre", seed=12)
    script = tmp_path / "mon_scan.py"
    script.write_text(UNGUARDED_SCRIPT)
    runs = tmp_path / "runs.txt"
    proc = subprocess.run([sys.executable, str(script), str(root), str(tmp_path / "c.duckdb"), str(runs)],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr
    assert runs.read_text() == "run\n"
    assert int(proc.stdout.strip()) == len(_reference(root))


def test_process_pool_runs_in_other_processes():
    with ProcessPool(2) as pool:
        pids = {pool.submit(os.getpid).result() for _ in range(8)}
    assert pids and os.getpid() not in pids


def test_ctrl_c_while_workers_start_interrupts(monkeypatch):
    # A Ctrl-C that lands while the worker processes start must stop the scan, not make it
    # fall back to threads and carry on (seen in test_ctrl_c_marks_scan_interrupted).
    import multiprocessing.pool

    def interrupted(self, timeout=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(multiprocessing.pool.ApplyResult, "get", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ProcessPool(2)


def test_summary_counts_only_its_communes_groups(tmp_path, cli):
    """Two communes in one catalogue sharing a content: the second scan's summary gives its
    own groups, not those of the first commune that hold the same hash."""
    x, y = os.urandom(100_000), os.urandom(200_000)
    a, b = tmp_path / "a", tmp_path / "b"
    for root, contents in ((a, {"x1": x, "x2": x, "y1": y, "y2": y}), (b, {"x1": x, "x2": x})):
        root.mkdir()
        for name, data in contents.items():
            (root / name).write_bytes(data)
    db = tmp_path / "c.duckdb"
    assert cli("scan", a, "--commune", "99001", "--db", db, "--quiet").exit_code == 0
    result = cli("scan", b, "--commune", "99002", "--db", db, "--quiet", "--sans-identification")
    assert result.exit_code == 0, result.output
    assert "  Doublons : 1 groupe, volume récupérable : 100,0 Ko" in result.output.splitlines()
