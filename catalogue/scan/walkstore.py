"""The walk phase: list the tree into `files`, from a writer thread, in transactions that
each carry the directories they complete (what a resume starts from).

GNU find lists a local disk for a fresh scan without exclusions (C speed, directory
access times kept); the Python walk lists shares (many listings in flight), exclusions
and resumes. What find only names on stderr is checked again here.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator

import duckdb
import pyarrow as pa

from catalogue.dbtools import registered, transaction
from catalogue.scan.lifecycle import prepare_resume
from catalogue.scan.phases import ScanRun
from catalogue.scan.rows import one_thread, rel
from scanners.filesystem import decode, walk
from scanners.findwalk import FindErrors, direct_command, find_command, find_walk
from scanners.fsaccess import describe_oserror, open_path
from scanners.mounts import filesystem_type, is_network
from scanners.osname import name_thread

_PATHS = pa.schema([("path", pa.string()), ("path_raw", pa.binary())])


def walk_tree(run: ScanRun, on_progress: Callable[[int, int], None]) -> str:
    """List the tree into `files`: by GNU find on a local disk for a fresh scan without
    exclusions, where directory access times can be kept (C speed), else by the Python
    walk (many listings in flight on a share, exclusions, resume). Returns which walked."""
    opts, root_b = run.opts, run.root_b
    command = None
    local = run.workers.listers == 1 or not is_network(filesystem_type(root_b))
    if opts.walker != "python" and local and run.resume is None and not opts.excludes:
        command = find_command(root_b)
        if command is None and opts.walker == "find":
            command = direct_command(root_b)  # tests: find even where access times would change
    if command is None:
        store_walk(run, walk(root_b, excludes=opts.excludes, stats=run.stats, resume=run.resume,
                             listers=run.workers.listers, on_progress=on_progress))
        return "python"
    errors = FindErrors()
    store_walk(run, find_walk(root_b, command=command, processes=run.workers.listers, stats=run.stats, errors=errors,
                              on_progress=on_progress))
    if errors.count:
        # find only named its failures on stderr: check each directory, record the
        # unreadable ones and list again, with the Python walk, those missing entries.
        if recheck_directories(run.con, run.scan_id, root_b):
            store_walk(run, walk(root_b, stats=run.stats, resume=prepare_resume(run.con, run.scan_id),
                                 on_progress=on_progress))
        run.stats.files = run.con.execute("SELECT count(*) FROM files WHERE scan_id = ? AND kind = 'file'",
                                          [run.scan_id]).fetchall()[0][0]
    return "find"


def store_walk(run: ScanRun, batches: Iterable[pa.RecordBatch]) -> None:
    """Insert the walk's batches from a writer thread while the next one is built (DuckDB
    releases the GIL while it inserts). Each batch goes with the directories it completes."""
    pending: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []
    con, tuning = run.con, run.tuning

    def writer() -> None:
        name_thread("ecriture-duckdb")
        buffer = WalkBuffer(tuning.walk_commit_rows, tuning.flush_seconds)
        while True:
            try:
                item = pending.get(timeout=buffer.wait())
            except queue.Empty:
                item = ()  # a slow share: store what has waited long enough
            if item:
                buffer.add(*item)
            if not failure:
                try:
                    for table, done in buffer.ready(final=item is None):
                        insert_walk_batch(con, table, run.scan_id, run.opts.commune, done)
                        tuning.event("walk-stored")
                except BaseException as exc:  # handed to the walking thread
                    failure.append(exc)
            if item is None:
                break

    # One DuckDB thread: several would also split each insert into partial row groups that
    # the checkpoint merges again (1M entries: 4.5 s of CPU against 1.8 s).
    thread = threading.Thread(target=writer, name="ecriture", daemon=True)
    with one_thread(con):
        thread.start()
        try:
            for batch in batches:
                if failure:
                    break
                done = run.stats.done_dirs[:]
                run.stats.done_dirs.clear()
                pending.put((batch, done))
        finally:
            # Interrupted or not, the batches already handed over are stored before the scan
            # is marked.
            pending.put(None)
            thread.join()
    if failure:
        raise failure[0]


class WalkBuffer:
    """Walk batches gathered into transactions of whole DuckDB row groups (COMMIT_ROWS).

    Each transaction carries the directories completed by the batches it holds entirely;
    those of a batch split between two transactions go with the second, so a scan killed
    in between lists that directory again on resume. Entries wait at most FLUSH_SECONDS."""

    def __init__(self, commit_rows: int, flush_seconds: float) -> None:
        self.commit_rows = commit_rows
        self.flush_seconds = flush_seconds
        self.batches: list[pa.RecordBatch] = []
        self.ends: list[tuple[int, list[bytes]]] = []  # (rows up to this batch's end, its directories)
        self.rows = 0
        self.since: float | None = None

    def add(self, batch: pa.RecordBatch, done: list[bytes]) -> None:
        if self.since is None:
            self.since = time.monotonic()
        self.batches.append(batch)
        self.rows += batch.num_rows
        self.ends.append((self.rows, done))

    def wait(self) -> float | None:
        """Seconds until the buffered entries are due (None: nothing buffered)."""
        return None if self.since is None else max(0.0, self.since + self.flush_seconds - time.monotonic())

    def ready(self, final: bool) -> Iterator[tuple[pa.Table, list[bytes]]]:
        """The transactions due now: whole row groups, or everything when final or overdue."""
        if not self.ends:
            return
        overdue = self.wait() == 0.0
        cut = self.rows if final or overdue else self.rows - self.rows % self.commit_rows
        if cut == 0 and not (final or overdue):
            return
        table = pa.Table.from_batches(self.batches, schema=self.batches[0].schema)
        done = [d for end, dirs in self.ends if end <= cut for d in dirs]
        self.ends = [(end - cut, dirs) for end, dirs in self.ends if end > cut]
        rest = table.slice(cut)
        self.batches = rest.to_batches() if rest.num_rows or self.ends else []
        self.rows -= cut
        self.since = time.monotonic() if self.ends else None
        yield table.slice(0, cut), done


def insert_walk_batch(con: duckdb.DuckDBPyConnection, batch: pa.RecordBatch | pa.Table, scan_id: int, commune: str,
                      done: list[bytes]) -> None:
    """Entries and the directories they complete, in one transaction: a scan killed at any
    point resumes from a consistent state."""
    with registered(con, "_walk", batch), transaction(con):
        con.execute("INSERT INTO files BY NAME SELECT ?::INTEGER AS scan_id, ?::VARCHAR AS commune, * FROM _walk",
                    [scan_id, commune])
        if done:
            texts = [decode(d) for d in done]
            finished = pa.table({"path": [t for t, _ in texts], "path_raw": [r for _, r in texts]}, schema=_PATHS)
            with registered(con, "_done", finished):
                con.execute("INSERT INTO scan_dirs_done SELECT ?::INTEGER, path, path_raw FROM _done", [scan_id])


def recheck_directories(con: duckdb.DuckDBPyConnection, scan_id: int, root_b: bytes) -> int:
    """After find reported errors: store the error of each directory that cannot be
    listed, and mark as unfinished those whose stored entries are fewer than the
    directory holds (an entry find could not lstat). Returns how many were unmarked."""
    counts = dict(con.execute("SELECT parent, count(*) FROM files WHERE scan_id = ? GROUP BY parent",
                              [scan_id]).fetchall())
    dirs = con.execute("SELECT path, path_raw FROM files WHERE scan_id = ? AND kind = 'directory'",
                       [scan_id]).fetchall()
    unreadable, incomplete = [], []
    for path, raw in [("", None)] + dirs:
        try:
            listed = _count_entries(root_b, rel(path, raw))
        except OSError as exc:
            unreadable.append((path, raw, describe_oserror(exc)))
            continue
        if listed != counts.get(path, 0):
            incomplete.append((path, raw))
    if unreadable:
        table = pa.table([list(c) for c in zip(*unreadable)], schema=_PATHS.append(pa.field("error", pa.string())))
        with registered(con, "_unreadable", table):
            con.execute("""UPDATE files SET error = u.error FROM _unreadable u WHERE files.scan_id = ?
                           AND files.kind = 'directory' AND files.path = u.path
                           AND files.path_raw IS NOT DISTINCT FROM u.path_raw""", [scan_id])
    if incomplete:
        with registered(con, "_incomplete", pa.table([list(c) for c in zip(*incomplete)], schema=_PATHS)):
            con.execute("""DELETE FROM scan_dirs_done d USING _incomplete i WHERE d.scan_id = ?
                           AND d.path = i.path AND d.path_raw IS NOT DISTINCT FROM i.path_raw""", [scan_id])
    return len(incomplete)


def _count_entries(root_b: bytes, rel_path: bytes) -> int:
    fd = open_path(root_b, rel_path, directory=True)
    try:
        with os.scandir(fd) as it:
            return sum(1 for _ in it)
    finally:
        os.close(fd)
