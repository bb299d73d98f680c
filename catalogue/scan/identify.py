"""The identification phase: siegfried (PRONOM) and libmagic for every file not reused
from the previous scan, in batches of a few hundred, results staged and written back to
`files` in set-based updates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from catalogue.dbtools import pages
from catalogue.progress import PhaseProgress
from catalogue.scan.phases import ScanRun
from catalogue.scan.rows import ID_COLUMNS, apply_updates, rel
from scanners.fsview import preserving_view
from scanners.identification import Candidate, identify_batch

_PENDING_SQL = """SELECT file_id, path, path_raw, size, epoch_us(mtime), extension
           FROM files WHERE scan_id = ? AND kind = 'file' AND error IS NULL AND size > 0
             AND reused IS NOT TRUE AND magic_mime IS NULL AND puid IS NULL"""


def identify_files(run: ScanRun, pool: ThreadPoolExecutor, ph: PhaseProgress) -> int:
    """Identify the files still unidentified; returns how many were."""
    con, tuning, jobs = run.con, run.tuning, run.workers.jobs
    staged: list[pa.RecordBatch] = []
    staged_rows = 0
    done = 0
    with preserving_view(run.root_b) as view:
        for page in pages(con, _PENDING_SQL, [run.scan_id], size=tuning.page_rows):
            cands = [Candidate(r[0], rel(r[1], r[2]), r[3], r[4], r[5]) for r in page]
            for i in range(0, len(cands), tuning.id_batch):
                part = cands[i:i + tuning.id_batch]
                staged.append(identify_batch(run.root_b, part, jobs=jobs, executor=pool, view=view))
                staged_rows += len(part)
                ph.advance(len(part), sum(c.size for c in part))
            if staged_rows >= tuning.update_rows:
                done += _store(run, staged, staged_rows)
                staged, staged_rows = [], 0
    if staged:
        done += _store(run, staged, staged_rows)
    return done


def _store(run: ScanRun, staged: list[pa.RecordBatch], rows: int) -> int:
    apply_updates(run.con, run.scan_id, pa.Table.from_batches(staged), ID_COLUMNS)
    run.tuning.event("identify-stored")
    return rows
