"""What a scan was asked to do (`ScanOptions`) and how it paces its work (`Tuning`).

`ScanOptions` holds the user's choices, as the command line gives them. `Tuning` holds
the sizes and delays the phases work with; the defaults are what the benchmarks chose
(docs/benchmarks.md). Tests and benchmarks pass their own `Tuning` to `run_scan`, or set
it for a block with `tuned()` (a command run in a child process), and may give it an
`on_event` hook to act at a point the scan signals (kill it, change a file).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from catalogue.errors import CatalogueError
from scanners.mounts import default_listers

ENV_MEMORY = "CATALOGUE_MEMOIRE_DUCKDB"  # DuckDB's share during a scan, set by the user


@dataclass(frozen=True)
class ScanOptions:
    """The user's choices for one filesystem scan (`catalogue scan` options)."""

    root: str
    commune: str
    nom: str | None = None
    db: str | None = None
    jobs: int | None = None       # identification threads (default: one per core)
    listers: int | None = None    # directories listed at once (default: by filesystem type)
    readers: int | None = None    # files read at once for duplicates (default: jobs)
    excludes: list[str] = field(default_factory=list)
    dataset_depth: int = 2
    quiet: bool = False
    restart: bool = False         # abandon an unfinished scan of the same root
    resume_only: bool = False     # refuse to start a new scan: only resume one
    identify: bool = True
    find_duplicates: bool = True
    signatures: bool = True       # look for electronic signatures in candidate files
    walker: str = "auto"          # "auto", "find" or "python": for tests and benchmarks

    def workers(self, root_b: bytes) -> Workers:
        """The worker counts asked for, or those this machine and this root call for."""
        jobs = self.jobs or os.cpu_count() or 1
        return Workers(jobs, self.listers or default_listers(root_b), self.readers or jobs)


@dataclass(frozen=True)
class Workers:
    jobs: int     # identification threads
    listers: int  # directories listed at once
    readers: int  # files read at once for duplicates


@dataclass(frozen=True)
class Tuning:
    """Sizes and delays of the scan's phases.

    `on_event`, when given, is called with the name of each point the scan passes:
    "walk", "hash", "identify", "signatures" as each phase begins (even one turned off),
    "walk-stored" after each walk transaction is committed (from the writer thread),
    "identify-stored" after each batch of identification results is stored,
    "signatures-stored" after each batch of signature results, "bundle-export" when a
    `scan --bundle` is complete and its bundle about to be written. What it raises stops
    the scan as if raised there (KeyboardInterrupt: a Ctrl-C)."""

    id_batch: int = 512              # files per siegfried call (bounded: aliases hold descriptors)
    update_rows: int = 20_000        # rows staged before one UPDATE ... FROM
    page_rows: int = 20_000          # rows per page read back from the catalogue
    reuse_rows: int = 100_000        # entries per UPDATE copying results (a rescan's, identical contents')
    # Entries per walk transaction: DuckDB's row group size. A transaction of whole row
    # groups is written straight to the database file, compressed, instead of the WAL.
    walk_commit_rows: int = 122_880
    flush_seconds: float = 5.0       # the longest a listed entry waits to be stored (slow shares)
    # Partial hashes are mostly small files: per-file Python work dominates, so above this
    # many candidates they run in worker processes (no GIL); below, threads avoid the start-up.
    process_min_files: int = 20_000
    chunk_files: int = 2048          # files per task: smaller tasks left the workers waiting
    scan_memory: str = "256MB"       # DuckDB's share during a scan (the user's ENV_MEMORY wins)
    after_walk_memory: str = "128MB"  # its share after the walk (duplicates, signatures)
    # Its share while siegfried's process runs beside it: DuckDB otherwise keeps every block
    # of `files` it has read, up to its limit (1M files: peak PSS 439-445 MB, 409 at 64 MB).
    identify_memory: str = "64MB"
    on_event: Callable[[str], None] | None = None

    def event(self, name: str) -> None:
        if self.on_event is not None:
            self.on_event(name)


_DEFAULT = Tuning()
_current: ContextVar[Tuning | None] = ContextVar("scan_tuning", default=None)


def current_tuning() -> Tuning:
    """The tuning a scan uses when none is passed: the one `tuned` set, else the defaults."""
    return _current.get() or _DEFAULT


@contextmanager
def tuned(tuning: Tuning) -> Iterator[Tuning]:
    """Scans started inside the block, without a tuning of their own, use TUNING (a test
    driving the command line in a child process)."""
    token = _current.set(tuning)
    try:
        yield tuning
    finally:
        _current.reset(token)


def duckdb_memory(tuning: Tuning) -> str:
    """DuckDB's memory limit during the scan: $CATALOGUE_MEMOIRE_DUCKDB, checked, else the tuning's."""
    value = os.environ.get(ENV_MEMORY, tuning.scan_memory).strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value, flags=re.IGNORECASE):
        raise CatalogueError(f"CATALOGUE_MEMOIRE_DUCKDB : « {value} » n'est pas une taille (par ex. 512MB, 2GB).")
    return value


def memory_is_the_users() -> bool:
    """Whether the user set DuckDB's memory limit (then the scan keeps it throughout)."""
    return ENV_MEMORY in os.environ
