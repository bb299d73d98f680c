"""The scan path loads neither pandas nor matplotlib (issue 21: a scan's memory budget
has no room for them; pandas alone is 48 MB resident)."""

from __future__ import annotations

import subprocess
import sys

from bench.gen_tree import generate

HEAVY = ("pandas", "matplotlib")

IMPORT_SCRIPT = """
import sys
from catalogue.scan import run_scan, scan_with
import catalogue.scan.pipeline
print(sorted(m for m in sys.modules if m.partition(".")[0] in {heavy!r}))
"""

CLI_SCRIPT = """
import sys
from catalogue.cli import main
try:
    main(["scan", sys.argv[1], "--commune", "99003", "--db", sys.argv[2], "--quiet"])
except SystemExit as exc:
    assert not exc.code, exc.code
print(sorted(m for m in sys.modules if m.partition(".")[0] in {heavy!r}))
"""


def _run(script: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", script.format(heavy=set(HEAVY)), *args],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_importing_the_scan_entry_point_loads_no_heavy_module():
    assert _run(IMPORT_SCRIPT) == "[]"


def test_a_whole_scan_from_the_command_line_loads_no_heavy_module(tmp_path):
    tree = tmp_path / "arbre"
    generate(tree, 200)
    assert _run(CLI_SCRIPT, str(tree), str(tmp_path / "c.duckdb")) == "[]"
