"""Run a filesystem scan into the catalogue: begin or resume its scan row, run the
phases of `PHASES` in order (walk, duplicates, identification, signatures), finish the row and sum up.

Each phase streams Arrow batches into DuckDB. Ctrl-C marks the scan 'interrupted', any
other failure 'failed'; the next scan of the same root resumes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb

from catalogue.errors import NotADirectoryRootError
from catalogue.lean import without_optional_modules
from catalogue.progress import ScanProgress
from catalogue.scan.duplicates import find_duplicates
from catalogue.scan.identify import identify_files
from catalogue.scan.lifecycle import ScanSummary, fill_summary, finish_scan, marked_on_failure, start_file_scan
from catalogue.scan.options import ScanOptions, Tuning, Workers, current_tuning, duckdb_memory, memory_is_the_users
from catalogue.scan.phases import (
    HASH,
    IDENTIFY,
    PHASES,
    SIGNATURES,
    WALK,
    Phase,
    ScanRun,
    lean_arrow_allocator,
    release_arrow_memory,
)
from catalogue.scan.reuse import previous_scan, reuse_previous
from catalogue.scan.signatures import find_signatures
from catalogue.scan.walkstore import walk_tree
from catalogue.store import connect, refresh_dechet_hits
from scanners.filesystem import WalkStats
from scanners.identification import identifier_version
from scanners.osname import name_thread


def check_root(root: str) -> bytes:
    """ROOT as an absolute bytes path, once it is known to be a readable directory."""
    path = Path(root)
    if not path.exists():
        raise NotADirectoryRootError(f"Le dossier à scanner n'existe pas : {root}")
    if not path.is_dir():
        raise NotADirectoryRootError(f"Ce chemin n'est pas un dossier : {root}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise NotADirectoryRootError(f"Le dossier à scanner n'est pas lisible (droits insuffisants) : {root}")
    return os.fsencode(os.path.abspath(root))


def run_scan(root: str, commune: str, *, tuning: Tuning | None = None, **choices: Any) -> ScanSummary:
    """Scan ROOT for COMMUNE into the catalogue; returns the summary figures. CHOICES are
    the fields of `ScanOptions` (db, jobs, excludes, quiet, restart, resume_only, ...).

    A scan of the same root left unfinished (Ctrl-C, killed, lost mount) is resumed where
    it stopped, unless `restart`. `tuning` (else the one `tuned` set, else the defaults)
    sets the phases' sizes and the `on_event` hook."""
    return scan_with(ScanOptions(root, commune, **choices), tuning)


def scan_with(opts: ScanOptions, tuning: Tuning | None = None) -> ScanSummary:
    """Run the scan OPTS describes (see `run_scan`)."""
    tuning = tuning or current_tuning()
    root_b = check_root(opts.root)
    lean_arrow_allocator()
    workers = opts.workers(root_b)
    memory = duckdb_memory(tuning)
    with without_optional_modules():
        con = connect(opts.db)
        try:
            # DuckDB's buffer pool would otherwise grow to most of the RAM on a large share;
            # past this limit it spills to a temp directory beside the catalogue.
            con.execute(f"SET memory_limit = '{memory}'")
            return _scan_into(con, opts, tuning, root_b, workers)
        finally:
            con.close()


def _scan_into(con: duckdb.DuckDBPyConnection, opts: ScanOptions, tuning: Tuning, root_b: bytes,
               workers: Workers) -> ScanSummary:
    root_text = root_b.decode("utf-8", "backslashreplace")
    start = start_file_scan(con, replace(opts, excludes=list(opts.excludes or [])), root_text, identifier_version())
    summary = ScanSummary(start.scan_id, start.scan_uuid, opts.commune, root_text)
    summary.resumed = start.resume is not None
    stats = WalkStats()
    with marked_on_failure(con, start.scan_id, stats), ScanProgress(opts.quiet) as progress:
        run = ScanRun(con, start.options, workers, tuning, root_b, start.scan_id, summary, stats, start.resume,
                      progress)
        for phase in PHASES:
            with run.phase(phase):
                _STEPS[phase](run)
    finish_scan(con, run.scan_id, "complete", excluded=stats.excluded)
    con.execute("UPDATE scans SET duplicates_searched = ? WHERE scan_id = ?", [opts.find_duplicates, run.scan_id])
    # The scan's pattern and empty déchets, stored once rather than evaluated at each read.
    refresh_dechet_hits(con)
    fill_summary(con, summary)
    return summary


def _walk(run: ScanRun) -> None:
    """List the tree, then what follows it: checkpoint, DuckDB's smaller share, reuse."""
    con = run.con
    # During the walk, automatic checkpoints (every 16 MB of log) would rewrite more of a
    # growing table each time; what the write-ahead log holds (small on a local disk, where
    # whole row groups go straight to the file) is replayed if the scan is killed. One
    # checkpoint after the walk. The default comes back for the updates that follow, whose
    # undo data would otherwise pile up in memory.
    con.execute("SET checkpoint_threshold = '1GB'")
    with run.progress.phase(WALK.label) as ph:
        run.summary.walker = walk_tree(run, on_progress=lambda n, b: ph.set(n, b))
    con.execute("RESET checkpoint_threshold")
    con.execute("CHECKPOINT")
    release_arrow_memory()
    if not memory_is_the_users():
        # The walk is what needs DuckDB's memory most. After it, siegfried's signatures and
        # Go heap join the process, and the joins and sorts of the rescan and the duplicate
        # search would take all 256 MB (1M files: peak 500 MiB, against 400 MiB at 128 MB
        # for the same time).
        con.execute(f"SET memory_limit = '{run.tuning.after_walk_memory}'")
    run.summary.reused = reuse_previous(con, run.scan_id, run.opts.commune, run.root_text, run.tuning.reuse_rows)


def _duplicates(run: ScanRun) -> None:
    if not run.opts.find_duplicates:
        return
    with run.progress.phase(HASH.label) as ph:
        settled = run.summary.reused > 0 and previous_scan(run.con, run.scan_id, run.opts.commune,
                                                           run.root_text)[1]
        run.summary.hashed, run.summary.hash_reads = find_duplicates(run, ph, settled)
    release_arrow_memory()


@contextmanager
def _duckdb_share(run: ScanRun, memory: str) -> Iterator[None]:
    """DuckDB's memory limit set to MEMORY for a phase, then back to its share after the
    walk; a limit the user set stays as it is. Past it, DuckDB evicts the blocks it cached
    and spills joins and aggregates to its temp directory."""
    if memory_is_the_users():
        yield
        return
    run.con.execute(f"SET memory_limit = '{memory}'")
    try:
        yield
    finally:
        run.con.execute(f"SET memory_limit = '{run.tuning.after_walk_memory}'")


def _identify(run: ScanRun) -> None:
    if not run.opts.identify:
        return
    with ThreadPoolExecutor(max_workers=run.workers.jobs, initializer=name_thread,
                            initargs=("identification",)) as pool, \
            run.progress.phase(IDENTIFY.label, total=run.stats.files) as ph, \
            _duckdb_share(run, run.tuning.identify_memory):
        done = identify_files(run, pool, ph)
        run.summary.identified, run.summary.identification_copies = done.total, done.copied
    if run.opts.find_duplicates:
        # Changed or gone since it was hashed: its hash is no longer its content's.
        run.con.execute("UPDATE files SET hash = NULL WHERE scan_id = ? AND error IS NOT NULL "
                        "AND hash IS NOT NULL", [run.scan_id])


def _signatures(run: ScanRun) -> None:
    if not run.opts.signatures:
        return
    with ThreadPoolExecutor(max_workers=run.workers.jobs, initializer=name_thread,
                            initargs=("signatures",)) as pool, \
            run.progress.phase(SIGNATURES.label) as ph:
        run.summary.signatures_examined = find_signatures(run, pool, ph)


# What each phase of PHASES does, run in that order.
_STEPS: dict[Phase, Callable[[ScanRun], None]] = {WALK: _walk, HASH: _duplicates, IDENTIFY: _identify,
                                                  SIGNATURES: _signatures}
