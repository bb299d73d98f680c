"""Measuring a command for the benchmarks: wall and CPU time, peak RSS of its largest
process, peak PSS of its whole process tree (/proc); and keeping a tree's contents in the
page cache between commands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple


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


def _stat_fields(path: str) -> tuple[str, list[bytes]]:
    """A /proc stat file: the name (comm) and the fields after it."""
    with open(path, "rb") as fh:
        head, _, rest = fh.read().rpartition(b")")
    return head.partition(b"(")[2].decode(errors="replace"), rest.split()


def _threads(pid: int) -> dict[int, tuple[str, int]]:
    """{thread id: (name, CPU ticks)} of one process: the scan names its threads
    (scanners/osname.py), so its CPU time splits by job."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            name, fields = _stat_fields(f"/proc/{pid}/task/{tid}/stat")
        except OSError:
            continue
        out[int(tid)] = (name, int(fields[11]) + int(fields[12]))
    return out


class Proc(NamedTuple):
    name: str
    pss: int       # KiB
    ticks: int     # CPU, user + system
    threads: dict[int, tuple[str, int]]
    parent: int
    waited: int    # CPU ticks of the children it waited for (the kernel adds them to it)


def _tree_sample(pid: int) -> dict[int, Proc]:
    """PID and its descendants now: {pid: Proc}. PSS
    counts each page shared between them (libraries, the fork server's) once in all,
    unlike summed RSS. The name is the process's `comm` (siegfried's process and the
    hashing workers name themselves so)."""
    out = {}
    for p in _descendants(pid):
        try:
            name, fields = _stat_fields(f"/proc/{p}/stat")
        except OSError:
            continue  # reaped meanwhile
        pss = 0
        try:  # a zombie (ended, not yet waited for) has no memory left to read: PSS 0, still listed
            with open(f"/proc/{p}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Pss:"):
                        pss = int(line.split()[1])
                        break
        except OSError:
            pass
        out[p] = Proc(name, pss, int(fields[11]) + int(fields[12]), _threads(p), int(fields[1]),
                      int(fields[13]) + int(fields[14]))  # utime, stime; cutime, cstime
    return out


# What a mapping of the scan process holds, by its file (none: anonymous memory).
_MAPPING_KINDS = (("_duckdb", "DuckDB (code)"), ("pyarrow", "Arrow (code)"),
                  ("magic.mgc", "base de signatures de libmagic (magic.mgc)"),
                  ("[heap]", "tas de glibc du fil principal (brk : allocations C et grands objets Python)"))
ANONYMOUS = "mémoire anonyme (DuckDB, Arrow, arènes de Python et de glibc, piles)"
_MAPPING_HEADER = re.compile(rb"^[0-9a-f]+-[0-9a-f]+ ")


def mapping_parts(pid: int) -> dict[str, int]:
    """PSS of one process by kind of mapping (/proc/PID/smaps), in KiB."""
    parts: dict[str, int] = defaultdict(int)
    kind = ANONYMOUS
    try:
        with open(f"/proc/{pid}/smaps", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    parts[kind] += int(line.split()[1])
                elif _MAPPING_HEADER.match(line):
                    fields = line.split(maxsplit=5)
                    name = fields[5].strip().decode(errors="replace") if len(fields) > 5 else ""
                    kind = next((label for key, label in _MAPPING_KINDS if key in name), None) or (
                        ANONYMOUS if not name or name.startswith(("[", "/dev/shm", "memfd:"))
                        else "autres bibliothèques (code)")
    except OSError:
        pass
    return dict(parts)


def cpu_by_job(procs: dict[int, Proc], threads: dict[tuple[int, int], tuple[str, str, int]],
               root: int, alive: set[int]) -> dict[str, float]:
    """CPU seconds by process and thread name, from each one's last sample:
    {"find": …, "scan/analyse-find": …}. The scan's threads it did not name (DuckDB's,
    Arrow's) go together; its main thread is `principal`; what its threads that ended
    unseen used (its last total counts them) is `non attribué`. A child process that ended
    unseen (a short `find`) is found in what its parent waited for (children that had ended
    by the last sample: not in ALIVE), and goes to the name of its seen siblings.

    A thread takes the name of the thread that started it: a pool that a named thread
    starts lazily (DuckDB's, Arrow's) is booked to that thread's job."""
    jobs: dict[str, float] = defaultdict(float)
    tick = os.sysconf("SC_CLK_TCK")
    for pid, proc in procs.items():
        if pid != root:
            jobs[proc.name] += proc.ticks / tick
    for (pid, tid), (process, thread, ticks) in threads.items():
        if pid != root:
            continue
        if tid == pid:
            jobs["scan/principal"] += ticks / tick
        else:
            jobs["scan/" + (thread if thread != process else "autres")] += ticks / tick
    seen = sum(ticks for (pid, _), (_, _, ticks) in threads.items() if pid == root)
    if root in procs and procs[root].ticks > seen:
        jobs["scan/non attribué"] = (procs[root].ticks - seen) / tick
    # The kernel adds a child's CPU to its parent's cutime/cstime (`waited`) only once the
    # parent has waited for it, and a waited-for child leaves /proc: the children seen but
    # gone by the last sample are in `waited`; the rest of `waited` is children never seen.
    for pid, proc in procs.items():
        children = [c for p, c in procs.items() if c.parent == pid and p not in alive]
        unseen = proc.waited - sum(c.ticks + c.waited for c in children)
        if unseen > 0:
            names = {c.name for c in children}
            jobs[names.pop() if len(names) == 1 else "enfants finis entre deux relevés"] += unseen / tick
    return dict(jobs)


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
    with each one's share at that peak and the command's own PSS by kind of mapping (a few
    ms to read, at each new peak).

    CPU: the kernel's count for the process and the descendants it waited for, or the sum
    of `cpu_by_job` (each process and thread by name, from its last sample) when larger:
    siegfried's process and the hashing workers are the fork server's children, which the
    scan never waits for."""
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
    scan_parts: dict[str, int] = {}
    procs: dict[int, Proc] = {}
    threads: dict[tuple[int, int], tuple[str, str, int]] = {}
    alive: set[int] = set()
    while not ended.wait(0.2):
        sample = _tree_sample(proc.pid)
        procs.update(sample)
        alive = set(sample)
        threads.update({(p, tid): (x.name, thread, ticks) for p, x in sample.items()
                        for tid, (thread, ticks) in x.threads.items()})
        total = sum(x.pss for x in sample.values())
        if total > tree_peak:
            tree_peak = total
            at_peak = {}
            for p, x in sample.items():
                role = "scan" if p == proc.pid else x.name
                at_peak[role] = at_peak.get(role, 0) + x.pss
            scan_parts = mapping_parts(proc.pid) or scan_parts
    _, status, usage = result["status"]
    wall = result["wall"]
    drain.join()
    err = b"".join(err_chunks).decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} a échoué : {err[-500:]}")
    rss_mb = usage.ru_maxrss / 1024
    jobs = cpu_by_job(procs, threads, proc.pid, alive)
    cpu = max(usage.ru_utime + usage.ru_stime, sum(jobs.values()))
    return {"wall": wall, "cpu": cpu, "rss_mb": rss_mb, "tree_mb": tree_peak / 1024,
            "at_peak_mb": {k: v / 1024 for k, v in at_peak.items()},
            "scan_parts_mb": {k: v / 1024 for k, v in scan_parts.items()},
            "cpu_jobs": jobs, "stderr": err}


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
    median["scan_parts_mb"] = highest.get("scan_parts_mb", {})
    return median
