"""Peak memory of a scan does not grow with the number of files (slow: run with
`make test-all` or `pytest -m slow`; the benchmark measures it at 1,000,000 files)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.gen_tree import generate
from tests.helpers import catalogue_cmd


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
            "scan", str(tree), "--commune", "99001", "--db", str(tmp_path / f"{files}.duckdb"), "--quiet",
            "--sans-identification"])
    # Ten times the files: the batches, pages and DuckDB's capped buffer pool stay the
    # same size; what grows is per-directory state and DuckDB's metadata.
    assert peaks[200_000] < peaks[20_000] * 1.6, peaks


LEAN_SCRIPT = """
import sys
from catalogue.scan import run_scan
s = run_scan(sys.argv[1], "M2", db=sys.argv[2], quiet=True)
print(s.files, "pandas" in sys.modules)
import pandas  # still importable once the scan is over
"""


def test_a_scan_leaves_pandas_out(tmp_path):
    """pyarrow and DuckDB would import pandas (48 MB) whenever it is installed."""
    pytest.importorskip("pandas")
    tree = tmp_path / "arbre"
    generate(tree, 300)
    proc = subprocess.run([sys.executable, "-c", LEAN_SCRIPT, str(tree),
                           str(tmp_path / "c.duckdb")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["300", "False"]


POOL_SCRIPT = """
import sys
import pyarrow as pa
from catalogue.scan import run_scan
run_scan(sys.argv[1], "99001", db=sys.argv[2], quiet=True)
print(pa.default_memory_pool().backend_name)
"""


@pytest.mark.parametrize("chosen", [None, "system"])
def test_a_scan_gives_arrow_memory_back(tmp_path, chosen):
    """Issue 21: Arrow's allocations go to jemalloc, which returns freed memory (mimalloc
    kept ~70 MiB more at 1M files); a pool the user chose stays."""
    try:
        import pyarrow as pa

        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("pyarrow built without jemalloc")
    tree = tmp_path / "arbre"
    generate(tree, 50)
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    proc = subprocess.run([sys.executable, "-c", POOL_SCRIPT, str(tree), str(tmp_path / "c.duckdb")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [chosen or "jemalloc"]
