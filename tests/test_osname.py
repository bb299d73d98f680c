"""The scan's threads and worker processes carry names the system shows (`top -H`, `ps -L`,
/proc): the bench splits the scan's CPU time by them (bench/measure.py)."""

from __future__ import annotations

import os
import threading

from catalogue.scan import run_scan
from catalogue.scan.options import Tuning
from scanners.osname import name_thread
from scanners.parallel import ProcessPool


def _comm(tid: int | None = None) -> str:
    path = "/proc/self/comm" if tid is None else f"/proc/self/task/{tid}/comm"
    with open(path, encoding="ascii", errors="replace") as fh:
        return fh.read().strip()


def _thread_names() -> set[str]:
    return {_comm(int(tid)) for tid in os.listdir("/proc/self/task")}


def test_a_thread_names_itself_and_only_itself():
    seen: list[str] = []

    def job() -> None:
        name_thread("un-nom-bien-plus-long-que-quinze")
        seen.append(_comm(threading.get_native_id()))

    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    assert seen == ["un-nom-bien-plu"]  # the kernel keeps 15 bytes
    assert _comm(threading.get_native_id()) != "un-nom-bien-plu"


def test_worker_processes_carry_their_pools_name():
    with ProcessPool(2, name="empreintes") as pool:
        names = {pool.submit(_comm).result() for _ in range(4)}
    assert names == {"empreintes"}


def test_a_scans_threads_are_named_for_their_job(tmp_path):
    root = tmp_path / "arbre"
    for i in range(30):
        (root / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"d{i % 3}" / f"f{i}.txt").write_text(f"contenu {i % 10}\n" * 50)
    seen: dict[str, set[str]] = {}

    def on_event(name: str) -> None:
        if name == "walk-stored":
            seen.setdefault("writer", set()).add(_comm(threading.get_native_id()))
        elif name == "identify-stored":
            seen["during identification"] = _thread_names()

    run_scan(str(root), "C1", db=str(tmp_path / "c.duckdb"), quiet=True, tuning=Tuning(on_event=on_event))
    assert seen["writer"] == {"ecriture-duckdb"}
    assert "identification" in seen["during identification"]
