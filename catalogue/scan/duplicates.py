"""The duplicates phase, in stages as fclones does them: size groups → partial hash →
full hash → hard links. Each stage narrows the candidates in SQL and reads only what it
must; hashes land in `files.hash` for every link of an inode.

Files whose hash was reused from the previous scan are not read; a new file of the same
size as one of them gets a full hash so that the two can be compared. Files are read in
(device, inode) order, READERS at a time: on a spinning disk inode order follows the
platter, and `--lectures 1` avoids seeking between concurrent reads.
"""

from __future__ import annotations

from array import array
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from catalogue.dbtools import pages, scalar
from catalogue.progress import PhaseProgress
from catalogue.scan.phases import ScanRun
from catalogue.scan.rows import apply_updates, one_thread, stage
from scanners.hashing import full_hash, partial_hash_packed
from scanners.osname import name_thread
from scanners.parallel import ProcessPool, map_chunks

_PARTIAL_SCHEMA = pa.schema([("seq", pa.int64()), ("partial", pa.binary(16)), ("whole", pa.bool_())])
_HASH_SCHEMA = pa.schema([("file_id", pa.int64()), ("hash", pa.string())])
_TEMP_TABLES = ("_cands", "_partial", "_collide", "_full", "_hashes")


class _Errors:
    """Files that could not be read, by id: their error is stored once the phase is over."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.messages: list[str] = []

    def add(self, file_id: int, message: str) -> None:
        self.ids.append(file_id)
        self.messages.append(message)

    def store(self, con: duckdb.DuckDBPyConnection, scan_id: int) -> None:
        if self.ids:
            apply_updates(con, scan_id, pa.table({"file_id": self.ids, "error": self.messages}), ["error"])


def find_duplicates(run: ScanRun, ph: PhaseProgress, settled: bool) -> tuple[int, int]:
    """Hash what may have a copy. With `settled` (the previous scan looked for
    duplicates), sizes shared only by unchanged files are left as it found them.
    Returns (hashes computed, files read)."""
    con, scan_id = run.con, run.scan_id
    count = size_groups(con, scan_id, settled)
    con.execute("CREATE OR REPLACE TEMP TABLE _partial (seq BIGINT, partial BLOB, whole BOOLEAN)")
    con.execute("CREATE OR REPLACE TEMP TABLE _hashes (file_id BIGINT, hash VARCHAR)")
    errors = _Errors()
    reads = partial_pass(run, count, ph, errors)
    hashed, full_reads = full_pass(run, ph, errors)
    spread_to_links(con, scan_id)
    for table in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    errors.store(con, scan_id)
    return hashed, reads + full_reads


def size_groups(con: duckdb.DuckDBPyConnection, scan_id: int, settled: bool) -> int:
    """Stage 1, in SQL: the candidates (`_cands`), one representative per inode among
    sizes shared by at least two inodes; returns how many."""
    # Only files with several links need grouping. Among those sizes, one file at least is
    # new or changed: a size whose files are all unchanged was settled by the previous scan
    # (their kept hashes, or none when they differed). An inode is read if one of its links
    # has no hash yet (a new link to a reused file); its hash then goes to all of them. Rows
    # are stored in (device, inode) order, so a row's position (rowid + 1) is its read
    # sequence. Only the ids are sorted, the paths joined after: sorting them too cost twice
    # as much. Paths are bytes already (`rel`): the page loop runs on one thread beside the
    # readers.
    con.execute("""CREATE OR REPLACE TEMP TABLE _cands AS
        WITH f AS (SELECT file_id, size, device, inode, nlink, reused, hash FROM files
                   WHERE scan_id = ? AND kind = 'file' AND error IS NULL AND size > 0),
             sizes AS (SELECT size FROM f GROUP BY size
                       HAVING (min(device) <> max(device) OR min(inode) <> max(inode))
                          AND (NOT ? OR bool_or(reused IS NOT TRUE))),
             c AS (SELECT * FROM f SEMI JOIN sizes USING (size)),
             reps AS (SELECT file_id, device, inode, hash FROM c WHERE nlink = 1
                      UNION ALL
                      SELECT min(file_id), device, inode, if(bool_or(hash IS NULL), NULL, min(hash)) FROM c
                      WHERE nlink IS DISTINCT FROM 1 GROUP BY device, inode),
             todo AS (SELECT file_id, device, inode FROM reps WHERE hash IS NULL)
        SELECT x.file_id, coalesce(x.path_raw, encode(x.path)) AS rel, x.size
        FROM todo JOIN files x ON x.scan_id = ? AND x.file_id = todo.file_id
        ORDER BY todo.device, todo.inode""", [scan_id, settled, scan_id])
    return con.execute("SELECT count(*) FROM _cands").fetchall()[0][0]


def partial_pass(run: ScanRun, count: int, ph: PhaseProgress, errors: _Errors) -> int:
    """Stage 2: head and tail of each candidate (the whole of a small file) into
    `_partial`, by sequence number. Returns the files read."""
    con, tuning = run.con, run.tuning
    reads = 0
    # Pipelined: the workers hash one page while this thread stores the previous one.
    inflight: deque = deque()
    with _partial_pool(run.workers.readers, count, tuning.process_min_files) as pool, one_thread(con):
        for low in range(0, count, tuning.page_rows):
            page = con.sql("""SELECT rowid + 1 AS seq, file_id, rel, size
                              FROM _cands WHERE rowid >= ? AND rowid < ? ORDER BY rowid""",
                           params=[low, low + tuning.page_rows]).to_arrow_table()
            inflight.append((page, _submit_page(pool, run.root_b, page, tuning.chunk_files)))
            reads += page.num_rows
            if len(inflight) > 1:
                _store_partials(con, inflight.popleft(), ph, errors)
        while inflight:
            _store_partials(con, inflight.popleft(), ph, errors)
    return reads


def _partial_pool(readers: int, count: int, process_min_files: int) -> ProcessPool | ThreadPoolExecutor:
    if count >= process_min_files and readers > 1:
        try:
            return ProcessPool(readers, name="empreintes")
        except (OSError, ValueError):
            pass  # where processes cannot start (sandbox, no /dev/shm): threads
    return ThreadPoolExecutor(max_workers=readers, initializer=name_thread, initargs=("empreintes",))


def _submit_page(pool: ProcessPool | ThreadPoolExecutor, root_b: bytes, page: pa.Table,
                 chunk: int) -> list[tuple[int, Any]]:
    """A page's files in tasks of CHUNK, paths and sizes packed: (first position, future)."""
    rels, sizes = page.column("rel").to_pylist(), page.column("size").to_pylist()
    return [(i, pool.submit(partial_hash_packed, root_b, b"\0".join(rels[i:i + chunk]),
                            array("q", sizes[i:i + chunk]).tobytes()))
            for i in range(0, len(rels), chunk)]


def _store_partials(con: duckdb.DuckDBPyConnection, submitted: tuple[pa.Table, list[tuple[int, Any]]],
                    ph: PhaseProgress, errors: _Errors) -> None:
    """A page's partial hashes, once its tasks are done, into `_partial`. Columns in,
    columns out, packed: this thread's work per file is what limits a share of small
    files, so it stays in Arrow and C."""
    page, futures = submitted
    digests, wholes, failed = [], [], []
    for start, future in futures:
        d, w, e = future.result()
        digests.append(d)
        wholes.append(w)
        failed += [(start + i, err) for i, err in e]
    n = page.num_rows
    partial = pa.Array.from_buffers(pa.binary(16), n, [None, pa.py_buffer(b"".join(digests))])
    whole = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(b"".join(wholes))]).cast(pa.bool_())
    if failed:
        ids = page.column("file_id").to_pylist()
        for i, err in failed:
            errors.add(ids[i], err)
        bad = set(i for i, _ in failed)
        partial = pc.if_else(pa.array([i in bad for i in range(n)]), pa.scalar(None, pa.binary(16)), partial)
    stage(con, "_partial", _PARTIAL_SCHEMA, [page.column("seq"), partial, whole])
    ph.advance(n, pc.sum(page.column("size")).as_py() or 0)


def full_pass(run: ScanRun, ph: PhaseProgress, errors: _Errors) -> tuple[int, int]:
    """Stage 3: a full hash only where (size, partial) still collides, or where a file of
    the same size kept its hash from the previous scan, into `_hashes`. Returns (hashes,
    files read)."""
    con = run.con
    # A partial over the whole file is final: those go straight to _hashes in SQL; only the
    # bigger files come back to Python to be read. _cands gives each sequence number its
    # size, id and path (rowid + 1 = seq).
    con.execute("""CREATE OR REPLACE TEMP TABLE _collide AS
        WITH named AS (SELECT p.seq, c.size, p.partial, p.whole FROM _partial p
                       JOIN (SELECT rowid + 1 AS seq, size FROM _cands) c USING (seq) WHERE p.partial IS NOT NULL),
             groups AS (SELECT size, partial FROM named GROUP BY size, partial HAVING count(*) > 1),
             kept AS (SELECT DISTINCT size FROM files WHERE scan_id = ? AND reused AND hash IS NOT NULL)
        SELECT seq, partial, whole FROM named
        WHERE (size, partial) IN (SELECT (size, partial) FROM groups) OR size IN (SELECT size FROM kept)""",
                [run.scan_id])
    hashed = scalar(con.execute("""INSERT INTO _hashes SELECT c.file_id, lower(hex(x.partial)) FROM _collide x
        JOIN (SELECT rowid + 1 AS seq, file_id FROM _cands) c USING (seq) WHERE x.whole"""))
    con.execute("""CREATE OR REPLACE TEMP TABLE _full AS
        SELECT x.seq, c.file_id, c.rel, c.size FROM _collide x
        JOIN (SELECT rowid + 1 AS seq, file_id, rel, size FROM _cands) c USING (seq)
        WHERE NOT x.whole ORDER BY x.seq""")
    reads = 0
    # Big reads: os.read and xxhash release the GIL.
    with ThreadPoolExecutor(max_workers=run.workers.readers, initializer=name_thread,
                            initargs=("empreintes",)) as pool, one_thread(con):
        for page in pages(con, "SELECT * FROM _full WHERE true", [], size=run.tuning.page_rows, key="seq"):
            todo = [r[1:] for r in page]
            ids, digests = [], []
            for (file_id, _, _), (digest, err) in zip(todo, map_chunks(
                    pool, lambda r: full_hash(run.root_b, r[1], r[2]), todo, chunk=4)):
                if err:
                    errors.add(file_id, err)
                else:
                    ids.append(file_id)
                    digests.append(digest)
            stage(con, "_hashes", _HASH_SCHEMA, [ids, digests])
            hashed += len(ids)
            reads += len(todo)
            ph.advance(0, sum(r[2] for r in todo))
    return hashed, reads


def spread_to_links(con: duckdb.DuckDBPyConnection, scan_id: int) -> None:
    """Stage 4: each inode's hash goes to all its hard links in the scan."""
    con.execute(
        """UPDATE files SET hash = h.hash
           FROM (SELECT r.device, r.inode, x.hash FROM _hashes x
                 JOIN files r ON r.scan_id = ? AND r.file_id = x.file_id) h
           WHERE files.scan_id = ? AND files.kind = 'file'
             AND files.device = h.device AND files.inode = h.inode""",
        [scan_id, scan_id],
    )
