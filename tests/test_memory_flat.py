"""Peak memory of a scan does not grow with the number of files (slow: run with
`make test-all` or `pytest -m slow`; the benchmark measures it at 1,000,000 files)."""

from __future__ import annotations

import os
import subprocess

import pytest

from bench.gen_tree import generate
from tests.conftest import catalogue_cmd


def _peak_rss_mb(cmd: list[str]) -> float:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read().decode(errors="replace")
    return usage.ru_maxrss / 1024


@pytest.mark.slow
def test_peak_memory_is_flat_as_the_tree_grows(tmp_path):
    peaks = {}
    for files in (20_000, 200_000):
        tree = tmp_path / f"arbre-{files}"
        generate(tree, files)
        peaks[files] = _peak_rss_mb(catalogue_cmd() + [
            "scan", str(tree), "--commune", "M1", "--db", str(tmp_path / f"{files}.duckdb"), "--quiet",
            "--sans-identification"])
    # Ten times the files: the batches, pages and DuckDB's capped buffer pool stay the
    # same size; what grows is per-directory state and DuckDB's metadata.
    assert peaks[200_000] < peaks[20_000] * 1.6, peaks
