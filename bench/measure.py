"""Measuring a command for the benchmarks: wall and CPU time, peak RSS of its largest
process, peak PSS of its whole process tree (/proc); and keeping a tree's contents in the
page cache between commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path


def _descendants(pid: int) -> list[int]:
    """PID and all its descendants now (Linux /proc)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rpartition(b")")[2].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def _tree_sample(pid: int) -> dict[int, tuple[str, int, int]]:
    """PID and its descendants now: {pid: (name, PSS in KiB, CPU ticks)}. PSS counts each
    page shared between them (libraries, the fork server's) once in all, unlike summed RSS.
    The name is the process's `comm` (siegfried's process names itself so)."""
    out = {}
    for p in _descendants(pid):
        try:
            with open(f"/proc/{p}/stat", "rb") as fh:
                head, _, rest = fh.read().rpartition(b")")
                fields = rest.split()
            pss = 0
            with open(f"/proc/{p}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Pss:"):
                        pss = int(line.split()[1])
                        break
        except OSError:
            continue  # ended meanwhile
        name = head.partition(b"(")[2].decode(errors="replace")
        out[p] = (name, pss, int(fields[11]) + int(fields[12]))  # utime, stime
    return out


def content_sample(tree: Path, count: int = 2000) -> list[str]:
    """A fixed random sample of the tree's files, to check that their contents are cached.

    Drawn while walking (reservoir sampling): a list of every path would grow this process
    by hundreds of MB, and a child's peak RSS (rusage) counts what it shared with this
    process between fork and exec."""
    import random

    rng = random.Random(0)
    sample: list[str] = []
    seen = 0
    for parent, _, names in os.walk(tree):
        for name in names:
            if name == ".complet":
                continue
            seen += 1
            if len(sample) < count:
                sample.append(os.path.join(parent, name))
            elif (j := rng.randrange(seen)) < count:
                sample[j] = os.path.join(parent, name)
    return sample


def resident_fraction(sample: list[str]) -> float | None:
    """Share of the sample's pages in the page cache (util-linux fincore), None without it."""
    if not sample or shutil.which("fincore") is None:
        return None
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "PAGES,SIZE", *sample],
                         capture_output=True, text=True).stdout
    page = os.sysconf("SC_PAGE_SIZE")
    resident = expected = 0
    for line in out.splitlines():
        pages, size = (int(x) for x in line.split())
        resident += pages
        expected += -(-size // page)
    return resident / expected if expected else 1.0


def warm_contents(tree: Path) -> None:
    measure(["find", str(tree), "-type", "f", "-exec", "cat", "{}", "+"])


def measure(cmd: list[str], stdout=subprocess.DEVNULL) -> dict:
    """Wall and CPU time, peak RSS of the largest process (rusage) and peak PSS of the
    process and its descendants together (sampled every 0.2 s: worker processes count too),
    with each one's share at that peak. CPU: the kernel's count for the process and the
    descendants it waited for, or the sum of every descendant's last sample when larger
    (siegfried's process is the fork server's child, not the scan's)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    # Drain stderr in a thread so that a talkative tool never blocks on a full pipe.
    err_chunks: list[bytes] = []
    drain = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    drain.start()
    # A waiting thread takes the exit time exactly; this one samples memory meanwhile.
    ended = threading.Event()
    result: dict = {}

    def wait() -> None:
        result["status"] = os.wait4(proc.pid, 0)
        result["wall"] = time.perf_counter() - start
        ended.set()

    threading.Thread(target=wait, daemon=True).start()
    tree_peak = 0
    at_peak: dict[str, int] = {}
    cpu_ticks: dict[int, int] = {}
    while not ended.wait(0.2):
        sample = _tree_sample(proc.pid)
        cpu_ticks.update({p: ticks for p, (_, _, ticks) in sample.items()})
        total = sum(pss for _, pss, _ in sample.values())
        if total > tree_peak:
            tree_peak = total
            at_peak = {}
            for p, (name, pss, _) in sample.items():
                role = "scan" if p == proc.pid else name
                at_peak[role] = at_peak.get(role, 0) + pss
    _, status, usage = result["status"]
    wall = result["wall"]
    drain.join()
    err = b"".join(err_chunks).decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} a échoué : {err[-500:]}")
    rss_mb = usage.ru_maxrss / 1024
    cpu = max(usage.ru_utime + usage.ru_stime, sum(cpu_ticks.values()) / os.sysconf("SC_CLK_TCK"))
    return {"wall": wall, "cpu": cpu, "rss_mb": rss_mb, "tree_mb": tree_peak / 1024,
            "at_peak_mb": {k: v / 1024 for k, v in at_peak.items()}, "stderr": err}


def fr(x: float) -> str:
    """A count in French: thousands separated by a space."""
    return f"{x:,.0f}".replace(",", " ")


def median_run(results: list[dict]) -> dict:
    """The run of median wall time (the lower of the two middle ones for an even count),
    with the highest memory peaks of all runs."""
    median = dict(sorted(results, key=lambda r: r["wall"])[(len(results) - 1) // 2])
    median["rss_mb"] = max(r["rss_mb"] for r in results)
    highest = max(results, key=lambda r: r["tree_mb"])
    median["tree_mb"], median["at_peak_mb"] = highest["tree_mb"], highest.get("at_peak_mb", {})
    return median
