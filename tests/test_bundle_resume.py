"""A killed `scan --bundle` resumes: the same command finds its work catalogue beside the
bundle and ends with the bundle an uninterrupted scan writes, leaving no folder behind.

The scan is killed (SIGKILL) at points it signals itself, never after a delay: a launcher
holds it at an event of its scan (`Tuning.on_event`: a walk transaction stored, the
identification starting, the bundle about to be written), prints a marker and waits; the
test kills it on the marker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from catalogue.bundle import work_dir
from tests.conftest import REPO
from tests.test_bundle_untrusted import meta_of

LAUNCHER = """
import os, sys
import catalogue.cli
from catalogue.scan import Tuning, tuned

point = os.environ["KILL_POINT"]
stored = []

def pause():
    print(point, flush=True)
    sys.stdin.read()  # until killed

def on_event(name):
    stored.extend([name] if name == "walk-stored" else [])
    if (point == "parcours" and name == "walk-stored" and len(stored) == 2) \
            or (point == "identification" and name == "identify") \
            or (point == "export" and name == "bundle-export"):
        pause()

sys.argv[0] = "catalogue"
with tuned(Tuning(walk_commit_rows=200, on_event=on_event)):  # many walk transactions on a small tree
    catalogue.cli.main()
"""


def _tree(root):
    for d in range(8):
        folder = root / f"Service {d}" / "Activité"
        folder.mkdir(parents=True)
        for f in range(100):
            (folder / f"doc-{f:03d}.txt").write_bytes(f"service {d} document {f}\n".encode() * (1 + f % 5))
        (folder / "copie.txt").write_bytes(b"identique\n" * 50)
    return root


def _killed_at(point: str, root, bundle) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), KILL_POINT=point)
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, "scan", str(root), "--commune", "99004",
                             "--bundle", str(bundle), "--quiet", "--jobs", "1"],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        marker = proc.stdout.readline().strip()
        assert marker == point, proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()
        proc.stderr.close()


def _rows(bundle) -> list[dict]:
    # file_id may differ after a resume, reused after a rescan: everything else is equal.
    return pq.read_table(bundle).drop_columns(["file_id", "reused"]).sort_by("path").to_pylist()


def _totals(bundle) -> tuple:
    scan = meta_of(bundle)["scan"]
    return scan["entries"], scan["files"], scan["bytes"], scan["errors"], scan["status"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tree and the bundle of an uninterrupted scan of it."""
    from click.testing import CliRunner

    from catalogue.cli import main

    base = tmp_path_factory.mktemp("reference")
    root = _tree(base / "partage")
    bundle = base / "reference.parquet"
    result = CliRunner().invoke(main, ["scan", str(root), "--commune", "99004", "--bundle", str(bundle),
                                       "--quiet", "--jobs", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root, bundle


@pytest.mark.parametrize("point, resumed", [("parcours", True), ("identification", True), ("export", False)])
def test_killed_bundle_scan_resumes_to_the_same_bundle(reference, tmp_path, cli, point, resumed):
    root, expected = reference
    bundle = tmp_path / "99004.parquet"
    _killed_at(point, root, bundle)
    assert not bundle.exists()
    assert (work_dir(bundle) / "scan.duckdb").is_file()  # kept for the next run

    result = cli("scan", root, "--commune", "99004", "--bundle", bundle, "--quiet", "--jobs", "1")
    assert result.exit_code == 0, result.output
    # Killed during the scan: the same scan goes on. Killed while writing the bundle (the
    # scan was complete): a new scan, which reads again only what changed (nothing).
    assert ("(reprise du scan interrompu)" in result.output) == resumed
    assert _rows(bundle) == _rows(expected)
    assert _totals(bundle) == _totals(expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["99004.parquet"]  # no work folder, no partial file


def test_recommencer_starts_the_bundle_scan_afresh(reference, tmp_path, cli):
    root, expected = reference
    bundle = tmp_path / "99004.parquet"
    _killed_at("parcours", root, bundle)
    result = cli("scan", root, "--commune", "99004", "--bundle", bundle, "--quiet", "--recommencer")
    assert result.exit_code == 0, result.output
    assert "reprise" not in result.output
    assert _rows(bundle) == _rows(expected)
    assert not work_dir(bundle).exists()


def test_work_folder_name_taken_by_a_file(tmp_path, cli):
    root = _tree(tmp_path / "partage")
    bundle = tmp_path / "lot.parquet"
    work_dir(bundle).write_text("autre chose")
    result = cli("scan", root, "--commune", "99004", "--bundle", bundle, "--quiet")
    assert result.exit_code == 1
    assert result.output == (f"Erreur : {work_dir(bundle)} existe et n'est pas un dossier : "
                             f"déplacez-le pour écrire le lot {bundle}.\n")


def test_reprendre_without_an_interrupted_bundle_scan(tmp_path, cli):
    """--reprendre with --bundle resumes like a catalogue scan, and refuses when there is
    nothing to resume, leaving no work folder."""
    root = tmp_path / "partage"
    root.mkdir()
    (root / "a.txt").write_text("a")
    bundle = tmp_path / "lot.parquet"
    result = cli("scan", root, "--commune", "99001", "--bundle", bundle, "--reprendre", "--quiet")
    assert result.exit_code == 1
    assert "Aucun scan interrompu à reprendre pour le lot" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partage"]
