"""The scan's phases in order, and what each of them works on.

`PHASES` drives the progress labels, the `on_event` names and the wall times of
`ScanSummary.seconds`; `ScanRun` is one scan under way, handed from phase to phase.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from catalogue.progress import ScanProgress
from catalogue.scan.lifecycle import ScanSummary
from catalogue.scan.options import ScanOptions, Tuning, Workers
from scanners.filesystem import WalkResume, WalkStats


@dataclass(frozen=True)
class Phase:
    key: str    # key of ScanSummary.seconds and name of the event fired as it begins
    label: str  # its progress bar (French)


WALK = Phase("walk", "Parcours de l'arborescence")
HASH = Phase("hash", "Recherche des doublons")
IDENTIFY = Phase("identify", "Identification des formats")
SIGNATURES = Phase("signatures", "Recherche des signatures électroniques")
# Duplicates before identification: siegfried's memory (and what identification leaves in
# the Python heap) would otherwise add to the hash phase's (1M files: peak 495 MiB that way).
# Signatures after identification: its PRONOM ids and MIME types pick the candidates. Most
# are examined during identification, batch by batch, while siegfried works on the next
# batch; the phase examines the rest (files that took an identical file's result).
PHASES = (WALK, HASH, IDENTIFY, SIGNATURES)


@dataclass
class ScanRun:
    """One filesystem scan under way: the catalogue, the options and worker counts, the
    scan row, and what the phases fill in."""

    con: duckdb.DuckDBPyConnection
    opts: ScanOptions
    workers: Workers
    tuning: Tuning
    root_b: bytes
    scan_id: int
    summary: ScanSummary
    stats: WalkStats
    resume: WalkResume | None
    progress: ScanProgress
    # Signatures examined during identification (catalogue.scan.identify): how many, and
    # the documents they name, for the signature phase's pairing.
    signatures_examined: int = 0
    signed_names: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def root_text(self) -> str:
        return self.summary.root

    @contextmanager
    def phase(self, phase: Phase) -> Iterator[None]:
        """Time a phase into the summary, after telling `on_event` it begins. The time
        covers what the phase does after its progress bar closes (checkpoint, cleanup)."""
        start = time.perf_counter()
        self.tuning.event(phase.key)
        try:
            yield
        finally:
            self.summary.seconds[phase.key] = time.perf_counter() - start


def lean_arrow_allocator() -> None:
    """Arrow's allocations go to jemalloc, which gives freed memory back within 100 ms,
    rather than to mimalloc (pyarrow's default), which kept it: 1M files, walk and
    duplicates, peak PSS 428-442 -> 348-367 MiB at the same speed (bench measures of the
    01/12). A pool the user chose (ARROW_DEFAULT_MEMORY_POOL) is kept, and so is the default
    where pyarrow was built without jemalloc."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(100)
    except NotImplementedError:
        return
    pa.set_memory_pool(pool)


def release_arrow_memory() -> None:
    """Give back to the system what Arrow's allocator kept from the phase just ended: the
    next phase's peak then does not stack on it (1M files, after the hash phase: RSS
    314 -> 273 MiB). Identification, which adds siegfried, is where the scan peaks."""
    pa.default_memory_pool().release_unused()
