"""Helpers shared by the tests: the catalogue read back, the real CLI in a child process
(with or without the rights that bypass file permissions), and a scan held at a point it
signals itself, for a test to kill or interrupt it there: never after a delay."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def catalogue_cmd() -> list[str]:
    return [sys.executable, "-m", "catalogue.cli"]


def unprivileged(cmd: list[str]) -> list[str]:
    """As root, drop the capabilities that bypass file permissions, so chmod 000 bites."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", "--"] + cmd
    return cmd


def can_drop_privileges() -> bool:
    if os.geteuid() != 0:
        return True
    if not shutil.which("setpriv"):
        return False
    probe = subprocess.run(unprivileged(["true"]), capture_output=True)
    return probe.returncode == 0


HELD_CLI = """
import json, sys
from catalogue.cli import main
from catalogue.scan import Tuning, tuned

event, count, settings = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
seen = []

def hold(name):
    if name == event:
        seen.append(name)
        if len(seen) == count:
            print(name, flush=True)
            sys.stdin.read()  # until the test kills or interrupts this process

sys.argv = ["catalogue"] + sys.argv[4:]
with tuned(Tuning(on_event=hold, **settings)):
    main()
"""


def held_scan(*args: object, event: str, count: int = 1, **tuning: object) -> subprocess.Popen:
    """`catalogue ARGS` in a child process, held at the COUNT-th EVENT its scan signals
    (`Tuning.on_event`: a phase that begins, a walk transaction or identification batch
    stored), its other Tuning fields from TUNING. Returned once held, for the test to kill
    (SIGKILL) or interrupt (SIGINT, a Ctrl-C) it; its pipes are the caller's to close
    (`communicate`)."""
    # A shell without job control starts background jobs with SIGINT ignored (a CI run with
    # `&`), and Python then never raises KeyboardInterrupt: the child gets Ctrl-C back.
    proc = subprocess.Popen([sys.executable, "-c", HELD_CLI, event, str(count), json.dumps(tuning),
                             *map(str, args)], env=dict(os.environ, PYTHONPATH=str(REPO)),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    marker = proc.stdout.readline().strip()
    if marker != event:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"le scan n'a pas signalé « {event} » n° {count} : {marker + out!r} {err[-2000:]}")
    return proc


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL a held scan and close its pipes."""
    proc.kill()
    proc.communicate()


def budget_share(tmp_path: Path) -> Path:
    """A small share: one budget, its copy (a duplicate) and a Thumbs.db (a déchet)."""
    root = tmp_path / "partage"
    (root / "Finances" / "Budgets").mkdir(parents=True)
    (root / "Finances" / "Budgets" / "bp2024.csv").write_text("a;b\n1;2\n")
    (root / "Finances" / "Budgets" / "Copie de bp2024.csv").write_text("a;b\n1;2\n")
    (root / "Thumbs.db").write_bytes(b"\x00" * 100)
    return root
