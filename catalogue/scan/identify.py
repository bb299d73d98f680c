"""The identification phase: siegfried (PRONOM), and libmagic where siegfried has no
signature match, for every file not reused from the previous scan, in batches of a few
hundred, results staged and written back to `files` in set-based updates.

A content is identified once: files that the duplicates phase found identical (same hash
and size) and that share their extension take the result of one of them, and the result
goes into `identification_cache`, where later scans of the territory find it. Each copy
is still checked (lstat) to be the file the walk saw.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa

from catalogue.dbtools import pages, scalar
from catalogue.progress import PhaseProgress
from catalogue.scan.phases import ScanRun
from catalogue.scan.rows import ID_COLUMNS, apply_updates, rel
from catalogue.scan.signatures import SignaturesAlong
from scanners.fsview import preserving_view
from scanners.identification import Candidate, check_unchanged, identify_batches, signature_version
from scanners.parallel import map_chunks
from scanners.sfprocess import Siegfried, start_siegfried

_SELECT = "SELECT file_id, path, path_raw, size, epoch_us(mtime), extension, name"
_PENDING = """ FROM files WHERE scan_id = ? AND kind = 'file' AND error IS NULL AND size > 0
             AND reused IS NOT TRUE AND magic_mime IS NULL AND puid IS NULL"""
_PENDING_SQL = _SELECT + _PENDING
# A content's key in the cache: siegfried's verdict depends on the extension too.
_KNOWN = """ AND hash IS NOT NULL AND EXISTS (
    SELECT 1 FROM identification_cache c WHERE c.hash = files.hash AND c.size = files.size
       AND c.extension = coalesce(files.extension, '') AND c.identifier = ?)"""
_CACHED = ["puid", "format_name", "format_version", "mime", "id_basis", "id_warning", "magic_mime",
           "ext_mismatch"]


@dataclass
class Identified:
    """What the phase did: files identified by reading them, and files that took the
    result of an identical one (this scan's or the cache's)."""

    read: int = 0
    copied: int = 0

    @property
    def total(self) -> int:
        return self.read + self.copied


def identify_files(run: ScanRun, pool: ThreadPoolExecutor, ph: PhaseProgress) -> Identified:
    """Identify the files still unidentified, siegfried in a process of its own."""
    siegfried = start_siegfried(run.workers.jobs)
    try:
        done = _identify_all(run, pool, ph, siegfried)
    except BaseException:
        siegfried.kill()  # interrupted or failed mid-batch: nothing of it to wait for
        raise
    siegfried.close()
    return done


def _identify_all(run: ScanRun, pool: ThreadPoolExecutor, ph: PhaseProgress, siegfried: Siegfried) -> Identified:
    con, ident = run.con, signature_version(siegfried.header)
    done = Identified()
    # Contents known from earlier scans first; then one file per content left, whose
    # result the others copy; then any copy whose chosen file could not be read.
    done.copied += _copy_known(run, pool, ph, ident)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _id_reps AS SELECT min(file_id) AS file_id {_PENDING}
                    AND hash IS NOT NULL GROUP BY hash, size, coalesce(extension, '')""", [run.scan_id])
    done.read += _identify(run, pool, ph, siegfried, ident,
                           _PENDING_SQL + " AND (hash IS NULL OR file_id IN (SELECT file_id FROM _id_reps))")
    con.execute("DROP TABLE temp._id_reps")
    done.copied += _copy_known(run, pool, ph, ident)
    done.read += _identify(run, pool, ph, siegfried, ident, _PENDING_SQL + " AND hash IS NOT NULL")
    return done


def _identify(run: ScanRun, pool: ThreadPoolExecutor, ph: PhaseProgress, siegfried: Siegfried, ident: str,
              sql: str) -> int:
    """Identify the files SQL selects (its one parameter: the scan); returns how many."""
    tuning = run.tuning
    staged: list[pa.RecordBatch] = []
    staged_rows = 0
    done = 0
    along = SignaturesAlong(run, pool) if run.opts.signatures else None
    with preserving_view(run.root_b) as view:
        for cands, batch in identify_batches(run.root_b, _batches(run, sql), siegfried=siegfried, executor=pool,
                                             view=view):
            staged.append(batch)
            staged_rows += batch.num_rows
            if along:
                along.examine(cands, batch)
            ph.advance(len(cands), sum(c.size for c in cands))
            if staged_rows >= tuning.update_rows:
                done += _store(run, staged, staged_rows, along)
                staged, staged_rows = [], 0
    if staged:
        done += _store(run, staged, staged_rows, along)
    _remember(run, ident)
    return done


def _batches(run: ScanRun, sql: str) -> Iterator[list[Candidate]]:
    """The files SQL selects, a page at a time from the catalogue, in siegfried's batches."""
    for page in pages(run.con, sql, [run.scan_id], size=run.tuning.page_rows):
        cands = _candidates(page)
        for i in range(0, len(cands), run.tuning.id_batch):
            yield cands[i:i + run.tuning.id_batch]


def _candidates(page: list[tuple]) -> list[Candidate]:
    """Candidates from rows of `_SELECT`."""
    return [Candidate(r[0], rel(r[1], r[2]), r[3], r[4], r[5], r[6]) for r in page]


def _store(run: ScanRun, staged: list[pa.RecordBatch], rows: int, along: SignaturesAlong | None) -> int:
    apply_updates(run.con, run.scan_id, pa.Table.from_batches(staged), ID_COLUMNS)
    run.tuning.event("identify-stored")
    if along:
        along.store()
    return rows


def _remember(run: ScanRun, ident: str) -> None:
    """Put the results of the scan's hashed files that the cache lacks into it, one row per
    content: once per pass, since each such insert joins the whole cache. A scan killed
    before this identifies a copy of theirs again when resumed, nothing worse."""
    run.con.execute(f"""INSERT INTO identification_cache
        SELECT f.hash, f.size, coalesce(f.extension, ''), ?, {", ".join(f"f.{c}" for c in _CACHED)}, now()
        FROM files f
        WHERE f.scan_id = ? AND f.kind = 'file' AND f.hash IS NOT NULL AND f.error IS NULL
          AND (f.puid IS NOT NULL OR f.magic_mime IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM identification_cache c WHERE c.hash = f.hash AND c.size = f.size
                          AND c.extension = coalesce(f.extension, '') AND c.identifier = ?)
        QUALIFY row_number() OVER (PARTITION BY f.hash, f.size, coalesce(f.extension, '')
                                   ORDER BY f.file_id) = 1""", [ident, run.scan_id, ident])


def _copy_known(run: ScanRun, pool: ThreadPoolExecutor, ph: PhaseProgress, ident: str) -> int:
    """Give the pending files whose content is in the cache its result, once each is
    checked to be unchanged since the walk (lstat, no read); returns how many took it."""
    con = run.con
    ids: list[int] = []
    errors: list[str] = []
    # Which files, in one join with the cache (a territory's: millions of rows), not one per page.
    con.execute(f"CREATE OR REPLACE TEMP TABLE _id_copies AS SELECT file_id {_PENDING} {_KNOWN}", [run.scan_id, ident])
    sql = _SELECT + _PENDING + " AND file_id IN (SELECT file_id FROM _id_copies)"
    for page in pages(con, sql, [run.scan_id], size=run.tuning.page_rows):
        cands = _candidates(page)
        for cand, err in zip(cands, map_chunks(pool, lambda c: check_unchanged(run.root_b, c), cands)):
            if err:
                ids.append(cand.file_id)
                errors.append(err)
        ph.advance(len(cands), sum(c.size for c in cands))
    low, high = con.execute("SELECT min(file_id), max(file_id) FROM temp._id_copies").fetchall()[0]
    con.execute("DROP TABLE temp._id_copies")
    if ids:
        apply_updates(con, run.scan_id, pa.table({"file_id": ids, "error": errors}), ["error"])
    if low is None:
        return 0
    copied = 0
    # By ranges of ids, a statement each: one UPDATE of 74,393 copies scattered among
    # 1,000,000 files held 240 MB of DuckDB undo data until it ended (RSS +180 MiB while
    # siegfried's process was alive); by 100,000 ids, 28 MB and no growth.
    for start in range(low, high + 1, run.tuning.reuse_rows):
        copied += scalar(con.execute(
            f"""UPDATE files SET {", ".join(f"{c} = c.{c}" for c in _CACHED)}
                FROM identification_cache c
                WHERE files.scan_id = ? AND files.file_id >= ? AND files.file_id < ?
                  AND files.kind = 'file' AND files.error IS NULL AND files.size > 0
                  AND files.reused IS NOT TRUE AND files.magic_mime IS NULL AND files.puid IS NULL
                  AND c.hash = files.hash AND c.size = files.size AND c.extension = coalesce(files.extension, '')
                  AND c.identifier = ?""", [run.scan_id, start, start + run.tuning.reuse_rows, ident]))
    if copied:
        run.tuning.event("identify-stored")
    return copied
