"""Run a filesystem scan into the catalogue: walk, identify, hash; record the scan.

Each phase streams Arrow batches into DuckDB. A scan row is written first with
status 'running' and marked 'complete' at the end; Ctrl-C marks it 'interrupted'.
Views only read complete scans, so a partial scan never pollutes the figures.
"""

from __future__ import annotations

import os
import queue
import re
import socket
import threading
import time
import uuid
from array import array
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from catalogue import __version__
from catalogue.errors import CatalogueError, NotADirectoryRootError
from catalogue.lean import without_optional_modules
from catalogue.progress import ScanProgress
from catalogue.store import connect, ensure_commune, transaction
from scanners.filesystem import WalkResume, WalkStats, decode, walk
from scanners.findwalk import FindErrors, direct_command, find_command, find_walk
from scanners.fsaccess import describe_oserror, open_path
from scanners.fsview import preserving_view
from scanners.hashing import full_hash, partial_hash_packed
from scanners.identification import Candidate, identifier_version, identify_batch
from scanners.mounts import default_listers, filesystem_type, is_network
from scanners.parallel import ProcessPool, map_chunks

ID_BATCH = 512        # files per siegfried call (bounded: aliases hold descriptors)
UPDATE_ROWS = 20_000  # rows staged before one UPDATE ... FROM
PAGE_ROWS = 20_000
REUSE_ROWS = 100_000  # entries per UPDATE when an incremental rescan copies earlier results
SCAN_DUCKDB_MEMORY = "256MB"  # DuckDB's share during a scan; env CATALOGUE_MEMOIRE_DUCKDB overrides
AFTER_WALK_DUCKDB_MEMORY = "128MB"  # its share after the walk (duplicates, identification)
ENV_MEMORY = "CATALOGUE_MEMOIRE_DUCKDB"


class ScanInterrupted(CatalogueError):
    """The user interrupted the scan (Ctrl-C); what was listed is kept, marked interrupted."""


@dataclass
class ScanSummary:
    scan_id: int
    scan_uuid: str
    commune: str
    root: str
    entries: int = 0
    files: int = 0
    bytes: int = 0
    errors: int = 0
    excluded: int = 0
    identified: int = 0
    hashed: int = 0
    duplicate_groups: int = 0
    duplicate_wasted: int = 0
    dechets: int = 0
    dechets_bytes: int = 0
    reused: int = 0        # unchanged files whose identification and hash came from the previous scan
    hash_reads: int = 0    # files read (partially or fully) to find duplicates
    resumed: bool = False  # an interrupted scan of the same root was resumed
    by_kind: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase
    walker: str = ""       # "find" (GNU find, local disk) or "python" (shares, exclusions, resume)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def check_root(root: str) -> bytes:
    path = Path(root)
    if not path.exists():
        raise NotADirectoryRootError(f"Le dossier à scanner n'existe pas : {root}")
    if not path.is_dir():
        raise NotADirectoryRootError(f"Ce chemin n'est pas un dossier : {root}")
    if not os.access(path, os.R_OK | os.X_OK):
        raise NotADirectoryRootError(f"Le dossier à scanner n'est pas lisible (droits insuffisants) : {root}")
    return os.fsencode(os.path.abspath(root))


def run_scan(
    root: str,
    commune: str,
    *,
    nom: str | None = None,
    db: str | None = None,
    jobs: int | None = None,
    excludes: list[str] | None = None,
    dataset_depth: int = 2,
    quiet: bool = False,
    restart: bool = False,
    resume_only: bool = False,
    identify: bool = True,
    find_duplicates: bool = True,
    listers: int | None = None,
    readers: int | None = None,
    walker: str = "auto",
) -> ScanSummary:
    """Scan ROOT for COMMUNE into the catalogue DB; returns the summary figures.

    A scan of the same root left unfinished (Ctrl-C, killed, lost mount) is resumed where
    it stopped, unless `restart`. `walker` ("auto", "find" or "python") is for tests and
    benchmarks: "auto" lets GNU find list a local disk (see `_walk_phase`)."""
    root_b = check_root(root)
    jobs = jobs or os.cpu_count() or 1
    listers = listers or default_listers(root_b)
    readers = readers or jobs
    memory = _duckdb_memory()
    with without_optional_modules():
        con = connect(db)
        try:
            # DuckDB's buffer pool would otherwise grow to most of the RAM on a large share;
            # past this limit it spills to a temp directory beside the catalogue.
            con.execute(f"SET memory_limit = '{memory}'")
            return _scan_into(con, root_b, commune, nom, jobs, excludes or [], dataset_depth, quiet, restart,
                              identify, find_duplicates, listers, readers, resume_only, walker)
        finally:
            con.close()


def _duckdb_memory() -> str:
    value = os.environ.get(ENV_MEMORY, SCAN_DUCKDB_MEMORY).strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value, flags=re.IGNORECASE):
        raise CatalogueError(f"CATALOGUE_MEMOIRE_DUCKDB : « {value} » n'est pas une taille (par ex. 512MB, 2GB).")
    return value


def _unfinished_scan(con, commune: str, root_text: str) -> int | None:
    """The last scan of this root that never completed (Ctrl-C, kill, lost mount), if it
    is newer than the last complete one."""
    row = con.execute(
        """SELECT scan_id, status FROM scans WHERE commune = ? AND root = ? AND source = 'filesystem'
           AND status IN ('running', 'interrupted', 'failed', 'complete') ORDER BY scan_id DESC LIMIT 1""",
        [commune, root_text]).fetchall()
    return row[0][0] if row and row[0][1] != "complete" else None


def _prepare_resume(con, scan_id: int) -> WalkResume:
    """Drop the entries of directories not fully stored; they will be listed again."""
    con.execute("BEGIN TRANSACTION")
    con.execute("""DELETE FROM files WHERE scan_id = ? AND parent NOT IN
                   (SELECT path FROM scan_dirs_done WHERE scan_id = ?)""", [scan_id, scan_id])
    # Hashes are recomputed as a whole (a group needs all its members); reused ones stay.
    con.execute("UPDATE files SET hash = NULL WHERE scan_id = ? AND reused IS NOT TRUE", [scan_id])
    con.execute("UPDATE scans SET status = 'running', finished_at = NULL WHERE scan_id = ?", [scan_id])
    con.execute("COMMIT")
    done = {_rel(path, raw) for path, raw in con.execute(
        "SELECT path, path_raw FROM scan_dirs_done WHERE scan_id = ?", [scan_id]).fetchall()}
    existing = {_rel(path, raw) for path, raw in con.execute(
        "SELECT path, path_raw FROM files WHERE scan_id = ? AND kind = 'directory'", [scan_id]).fetchall()}
    last = con.execute("SELECT coalesce(max(file_id), 0) FROM files WHERE scan_id = ?", [scan_id]).fetchall()[0][0]
    return WalkResume(done=done, existing_dirs=existing, last_id=last)


def _scan_into(con: duckdb.DuckDBPyConnection, root_b: bytes, commune: str, nom: str | None,
               jobs: int, excludes: list[str], dataset_depth: int, quiet: bool,
               restart: bool = False, identify: bool = True, find_duplicates: bool = True,
               listers: int = 1, readers: int = 1, resume_only: bool = False,
               walker: str = "auto") -> ScanSummary:
    root_text = root_b.decode("utf-8", "backslashreplace")
    resume = None
    scan_id = _unfinished_scan(con, commune, root_text)
    if scan_id is not None and restart:
        con.execute("UPDATE scans SET status = 'abandoned' WHERE scan_id = ?", [scan_id])
        scan_id = None
    if scan_id is None and resume_only:
        raise CatalogueError(f"Aucun scan interrompu de {root_text} pour la commune {commune} dans ce catalogue : "
                             "rien à reprendre (relancez sans --reprendre pour un nouveau scan).")
    ensure_commune(con, commune, nom)
    if scan_id is not None:
        # Resume with the options the scan was started with.
        scan_uuid, excludes, dataset_depth = con.execute(
            "SELECT scan_uuid, coalesce(excludes, []), dataset_depth FROM scans WHERE scan_id = ?",
            [scan_id]).fetchall()[0]
        resume = _prepare_resume(con, scan_id)
    else:
        scan_uuid = str(uuid.uuid4())
        scan_id = con.execute(
            """INSERT INTO scans (scan_uuid, commune, source, root, host, started_at, status, tool_version,
                                  identifier, dataset_depth, excludes)
               VALUES (?, ?, 'filesystem', ?, ?, ?, 'running', ?, ?, ?, ?) RETURNING scan_id""",
            [scan_uuid, commune, root_text, socket.gethostname(), _now(), __version__,
             identifier_version(), dataset_depth, excludes],
        ).fetchone()[0]
    summary = ScanSummary(scan_id, scan_uuid, commune, root_text)
    summary.resumed = resume is not None
    stats = WalkStats()
    try:
        with ScanProgress(quiet) as progress:
            t0 = time.perf_counter()
            # During the walk, automatic checkpoints (every 16 MB of log) would rewrite more
            # of a growing table each time; what the write-ahead log holds (small on a local
            # disk, where whole row groups go straight to the file) is replayed if the scan
            # is killed. One checkpoint after the walk. The default comes back for the
            # updates that follow, whose undo data would otherwise pile up in memory.
            con.execute("SET checkpoint_threshold = '1GB'")
            with progress.phase("Parcours de l'arborescence") as ph:
                summary.walker = _walk_phase(con, scan_id, commune, root_b, excludes, stats, resume, listers,
                                             walker, on_progress=lambda n, b: ph.set(n, b))
            con.execute("RESET checkpoint_threshold")
            con.execute("CHECKPOINT")
            _release_arrow_memory()
            if ENV_MEMORY not in os.environ:
                # The walk is what needs DuckDB's memory most. After it, siegfried's
                # signatures and Go heap join the process, and the joins and sorts of the
                # rescan and the duplicate search would take all 256 MB (1M files: peak
                # 500 MiB, against 400 MiB at 128 MB for the same time).
                con.execute(f"SET memory_limit = '{AFTER_WALK_DUCKDB_MEMORY}'")
            summary.reused = _reuse_previous(con, scan_id, commune, root_text)
            t1 = time.perf_counter()
            # Duplicates before identification: siegfried's memory (and what identification
            # leaves in the Python heap) would otherwise add to the hash phase's (1M files:
            # peak 495 MiB that way). A file changed in between loses its hash below.
            if find_duplicates:
                with progress.phase("Recherche des doublons") as ph:
                    settled = summary.reused > 0 and _previous_scan(con, scan_id, commune, root_text)[1]
                    summary.hashed, summary.hash_reads = _hash(con, scan_id, root_b, readers, ph, settled)
                _release_arrow_memory()
            t2 = time.perf_counter()
            if identify:
                with ThreadPoolExecutor(max_workers=jobs) as pool, \
                        progress.phase("Identification des formats", total=stats.files) as ph:
                    summary.identified = _identify(con, scan_id, root_b, jobs, pool, ph)
                if find_duplicates:
                    # Changed or gone since it was hashed: its hash is no longer its content's.
                    con.execute("UPDATE files SET hash = NULL WHERE scan_id = ? AND error IS NOT NULL "
                                "AND hash IS NOT NULL", [scan_id])
            t3 = time.perf_counter()
            summary.seconds = {"walk": t1 - t0, "hash": t2 - t1, "identify": t3 - t2}
    except KeyboardInterrupt:
        _finish(con, scan_id, "interrupted", stats)
        entries = con.execute("SELECT entries FROM scans WHERE scan_id = ?", [scan_id]).fetchone()[0]
        raise ScanInterrupted(
            f"Scan interrompu : {entries} entrées enregistrées, marqué « interrompu » (scan n° {scan_id}) ; "
            "relancez la même commande pour le reprendre."
        ) from None
    except BaseException:
        try:
            _finish(con, scan_id, "failed", stats)
        except duckdb.Error:
            # The catalogue cannot be written any more (disk full, a fatal DuckDB error):
            # the scan stays « running », which the next run resumes like a failed one.
            pass
        raise
    _finish(con, scan_id, "complete", stats)
    con.execute("UPDATE scans SET duplicates_searched = ? WHERE scan_id = ?", [find_duplicates, scan_id])
    _fill_summary(con, summary, stats)
    return summary


def _release_arrow_memory() -> None:
    """Give back to the system what Arrow's allocator kept from the phase just ended: the
    next phase's peak then does not stack on it (1M files, after the hash phase: RSS
    314 -> 273 MiB). Identification, which adds siegfried, is where the scan peaks."""
    pa.default_memory_pool().release_unused()


def _walk_phase(con, scan_id: int, commune: str, root_b: bytes, excludes: list[str], stats: WalkStats,
                resume: WalkResume | None, listers: int, walker: str, on_progress) -> str:
    """List the tree into `files`: by GNU find on a local disk for a fresh scan without
    exclusions, where directory access times can be kept (C speed), else by the Python
    walk (many listings in flight on a share, exclusions, resume). Returns which walked."""
    command = None
    local = listers == 1 or not is_network(filesystem_type(root_b))
    if walker != "python" and local and resume is None and not excludes:
        command = find_command(root_b)
        if command is None and walker == "find":
            command = direct_command(root_b)  # tests: find even where access times would change
    if command is None:
        _store_walk(con, walk(root_b, excludes=excludes, stats=stats, resume=resume, listers=listers,
                              on_progress=on_progress), scan_id, commune, stats)
        return "python"
    errors = FindErrors()
    _store_walk(con, find_walk(root_b, command=command, processes=listers, stats=stats, errors=errors,
                               on_progress=on_progress), scan_id, commune, stats)
    if errors.count:
        # find only named its failures on stderr: check each directory, record the
        # unreadable ones and list again, with the Python walk, those missing entries.
        if _recheck_directories(con, scan_id, root_b):
            _store_walk(con, walk(root_b, stats=stats, resume=_prepare_resume(con, scan_id), on_progress=on_progress),
                        scan_id, commune, stats)
        stats.files = con.execute("SELECT count(*) FROM files WHERE scan_id = ? AND kind = 'file'",
                                  [scan_id]).fetchall()[0][0]
    return "find"


def _store_walk(con, batches, scan_id: int, commune: str, stats: WalkStats) -> None:
    """Insert the walk's batches from a writer thread while the next one is built (DuckDB
    releases the GIL while it inserts). Each batch goes with the directories it completes."""
    pending: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def writer() -> None:
        buffer = _WalkBuffer()
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
                        _insert_walk_batch(con, table, scan_id, commune, done)
                except BaseException as exc:  # handed to the walking thread
                    failure.append(exc)
            if item is None:
                break

    # One DuckDB thread: several would also split each insert into partial row groups that
    # the checkpoint merges again (1M entries: 4.5 s of CPU against 1.8 s).
    thread = threading.Thread(target=writer, name="ecriture", daemon=True)
    with _one_thread(con):
        thread.start()
        try:
            for batch in batches:
                if failure:
                    break
                done = stats.done_dirs[:]
                stats.done_dirs.clear()
                pending.put((batch, done))
        finally:
            # Interrupted or not, the batches already handed over are stored before the scan
            # is marked.
            pending.put(None)
            thread.join()
    if failure:
        raise failure[0]


# Entries per walk transaction: DuckDB's row group size. A transaction of whole row groups
# is written straight to the database file, compressed, instead of the write-ahead log.
WALK_COMMIT_ROWS = 122_880
FLUSH_SECONDS = 5.0  # the longest a listed entry waits to be stored (slow shares)


class _WalkBuffer:
    """Walk batches gathered into transactions of whole DuckDB row groups.

    Each transaction carries the directories completed by the batches it holds entirely;
    those of a batch split between two transactions go with the second, so a scan killed
    in between lists that directory again on resume. Entries wait at most FLUSH_SECONDS."""

    def __init__(self) -> None:
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
        return None if self.since is None else max(0.0, self.since + FLUSH_SECONDS - time.monotonic())

    def ready(self, final: bool) -> Iterator[tuple[pa.Table, list[bytes]]]:
        """The transactions due now: whole row groups, or everything when final or overdue."""
        if not self.ends:
            return
        overdue = self.wait() == 0.0
        cut = self.rows if final or overdue else self.rows - self.rows % WALK_COMMIT_ROWS
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


def _recheck_directories(con, scan_id: int, root_b: bytes) -> int:
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
            fd = open_path(root_b, _rel(path, raw), directory=True)
            try:
                with os.scandir(fd) as it:
                    listed = sum(1 for _ in it)
            finally:
                os.close(fd)
        except OSError as exc:
            unreadable.append((path, raw, describe_oserror(exc)))
            continue
        if listed != counts.get(path, 0):
            incomplete.append((path, raw))
    if unreadable:
        con.register("_unreadable", pa.table(
            [list(c) for c in zip(*unreadable)],
            schema=pa.schema([("path", pa.string()), ("path_raw", pa.binary()), ("error", pa.string())])))
        con.execute("""UPDATE files SET error = u.error FROM _unreadable u WHERE files.scan_id = ?
                       AND files.kind = 'directory' AND files.path = u.path
                       AND files.path_raw IS NOT DISTINCT FROM u.path_raw""", [scan_id])
        con.unregister("_unreadable")
    if incomplete:
        con.register("_incomplete", pa.table(
            [list(c) for c in zip(*incomplete)], schema=pa.schema([("path", pa.string()), ("path_raw", pa.binary())])))
        con.execute("""DELETE FROM scan_dirs_done d USING _incomplete i WHERE d.scan_id = ?
                       AND d.path = i.path AND d.path_raw IS NOT DISTINCT FROM i.path_raw""", [scan_id])
        con.unregister("_incomplete")
    return len(incomplete)


def _insert_walk_batch(con, batch: pa.RecordBatch | pa.Table, scan_id: int, commune: str, done: list[bytes]) -> None:
    """Entries and the directories they complete, in one transaction: a scan killed at any
    point resumes from a consistent state."""
    con.register("_walk", batch)
    try:
        with transaction(con):
            con.execute(
                "INSERT INTO files BY NAME SELECT ?::INTEGER AS scan_id, ?::VARCHAR AS commune, * FROM _walk",
                [scan_id, commune],
            )
            if done:
                texts = [decode(d) for d in done]
                con.register("_done", pa.table({"path": [t for t, _ in texts], "path_raw": [r for _, r in texts]},
                                               schema=pa.schema([("path", pa.string()), ("path_raw", pa.binary())])))
                con.execute("INSERT INTO scan_dirs_done SELECT ?::INTEGER, path, path_raw FROM _done", [scan_id])
                con.unregister("_done")
    finally:
        con.unregister("_walk")


def _finish(con, scan_id: int, status: str, stats: WalkStats) -> None:
    # Totals from the stored rows, so that a resumed scan counts what came before too.
    con.execute(
        """UPDATE scans SET status = ?, finished_at = ?, entries = t.entries, files = t.files, bytes = t.bytes,
                            errors = t.errors, excluded = scans.excluded + ?
           FROM (SELECT count(*) AS entries, count(*) FILTER (WHERE kind = 'file') AS files,
                        coalesce(sum(size) FILTER (WHERE kind = 'file'), 0) AS bytes,
                        count(*) FILTER (WHERE error IS NOT NULL) AS errors
                 FROM files WHERE scan_id = ?) t
           WHERE scans.scan_id = ?""",
        [status, _now(), stats.excluded, scan_id, scan_id],
    )


def _apply_updates(con, scan_id: int, table: pa.Table, columns: list[str]) -> None:
    """One set-based UPDATE of `files` from a staged Arrow table keyed by file_id."""
    con.register("_staged", table)
    try:
        sets = ", ".join(f"{c} = s.{c}" for c in columns)
        con.execute(
            f"UPDATE files SET {sets} FROM _staged s WHERE files.scan_id = ? AND files.file_id = s.file_id",
            [scan_id],
        )
    finally:
        con.unregister("_staged")


def _pages(con, sql: str, params: list, key: str = "file_id"):
    """Pages of SQL's rows by ranges of KEY (an integer, first selected column), in KEY order,
    so that the connection is free between pages.

    Ranges, not `ORDER BY … LIMIT`: tables here are stored in KEY order, so each range
    reads only its own row groups; a LIMIT would re-sort everything after the cursor on
    every page (quadratic at a million files)."""
    top = con.execute(f"SELECT max({key}) FROM ({sql}) q", params).fetchall()[0][0]
    if top is None:
        return
    for low in range(0, top, PAGE_ROWS):
        rows = con.execute(sql + f" AND {key} > ? AND {key} <= ? ORDER BY {key}",
                           params + [low, low + PAGE_ROWS]).fetchall()
        if rows:
            yield rows


def _rel(path: str, path_raw: bytes | None) -> bytes:
    return path_raw if path_raw is not None else path.encode("utf-8")


def _previous_scan(con, scan_id: int, commune: str, root: str) -> tuple[int | None, bool]:
    """The last complete scan of the same root before SCAN_ID, and whether it looked for duplicates."""
    row = con.execute(
        """SELECT scan_id, coalesce(duplicates_searched, false) FROM scans WHERE commune = ? AND root = ?
           AND source = 'filesystem' AND status = 'complete' AND scan_id < ? ORDER BY scan_id DESC LIMIT 1""",
        [commune, root, scan_id]).fetchall()
    return (row[0][0], row[0][1]) if row else (None, False)


def _reuse_previous(con, scan_id: int, commune: str, root: str) -> int:
    """Copy identification and hash from the previous complete scan of the same root for
    files with the same path, size, mtime and inode: they are not read again."""
    prev, _ = _previous_scan(con, scan_id, commune, root)
    if prev is None:
        return 0
    cols = _ID_COLUMNS[:-1] + ["hash"]
    # First the pairs (new entry, previous entry), keys only: one join. Then the copy, by
    # ranges of the new scan's entries, each joining only its pairs' previous rows (by id:
    # row groups pruned). A range joining the whole previous scan each time took 6 s at
    # 1M files, 11 s once DuckDB had 128 MB; this takes 2 s.
    con.execute("""CREATE OR REPLACE TEMP TABLE _reuse AS
        SELECT n.file_id, p.file_id AS prev_id
        FROM (SELECT file_id, path, path_raw, size, mtime, device, inode FROM files
              WHERE scan_id = ? AND kind = 'file' AND error IS NULL) n
        JOIN (SELECT file_id, path, path_raw, size, mtime, device, inode FROM files
              WHERE scan_id = ? AND kind = 'file' AND error IS NULL
                AND (puid IS NOT NULL OR magic_mime IS NOT NULL)) p
          ON n.path = p.path AND n.size = p.size AND n.mtime = p.mtime
         AND n.device = p.device AND n.inode = p.inode
        WHERE n.path_raw IS NOT DISTINCT FROM p.path_raw
        ORDER BY n.file_id""", [scan_id, prev])
    top = con.execute("SELECT max(file_id) FROM _reuse").fetchall()[0][0] or 0
    for low in range(0, top, REUSE_ROWS):
        con.execute(
            f"""UPDATE files SET {", ".join(f"{c} = p.{c}" for c in cols)}, reused = true
                FROM (SELECT r.file_id AS new_id, p.* FROM _reuse r
                      JOIN files p ON p.scan_id = ? AND p.file_id = r.prev_id
                      WHERE r.file_id > ? AND r.file_id <= ?) p
                WHERE files.scan_id = ? AND files.file_id = p.new_id""",
            [prev, low, low + REUSE_ROWS, scan_id])
    con.execute("DROP TABLE temp._reuse")
    return con.execute("SELECT count(*) FROM files WHERE scan_id = ? AND reused", [scan_id]).fetchone()[0]


def _identify(con, scan_id: int, root_b: bytes, jobs: int, pool: ThreadPoolExecutor, ph) -> int:
    sql = """SELECT file_id, path, path_raw, size, epoch_us(mtime), extension
             FROM files WHERE scan_id = ? AND kind = 'file' AND error IS NULL AND size > 0
               AND reused IS NOT TRUE AND magic_mime IS NULL AND puid IS NULL"""
    staged: list[pa.RecordBatch] = []
    staged_rows = 0
    done = 0
    with preserving_view(root_b) as view:
        for page in _pages(con, sql, [scan_id]):
            cands = [Candidate(r[0], _rel(r[1], r[2]), r[3], r[4], r[5]) for r in page]
            for i in range(0, len(cands), ID_BATCH):
                part = cands[i:i + ID_BATCH]
                staged.append(identify_batch(root_b, part, jobs=jobs, executor=pool, view=view))
                staged_rows += len(part)
                ph.advance(len(part), sum(c.size for c in part))
            if staged_rows >= UPDATE_ROWS:
                _apply_updates(con, scan_id, pa.Table.from_batches(staged), _ID_COLUMNS)
                done += staged_rows
                staged, staged_rows = [], 0
    if staged:
        _apply_updates(con, scan_id, pa.Table.from_batches(staged), _ID_COLUMNS)
        done += staged_rows
    return done


_ID_COLUMNS = ["puid", "format_name", "format_version", "mime", "id_basis", "id_warning",
               "magic_mime", "ext_mismatch", "error"]


def _hash(con, scan_id: int, root_b: bytes, readers: int, ph, settled: bool = False) -> tuple[int, int]:
    """Size groups → partial hash → full hash; hashes land in files.hash for every link.

    Files whose hash was reused from the previous scan are not read; a new file of the
    same size as one of them gets a full hash so that the two can be compared. Files are
    read in (device, inode) order, READERS at a time: on a spinning disk inode order
    follows the platter, and `--lectures 1` avoids seeking between concurrent reads.
    With `settled` (the previous scan looked for duplicates), sizes shared only by
    unchanged files are left as it found them. Returns (hashes computed, files read)."""
    # One representative per inode (only files with several links need grouping), among
    # sizes shared by at least two inodes, of which one at least is new or changed: a size
    # whose files are all unchanged was settled by the previous scan (their kept hashes, or
    # none when they differed). An inode is read if one of its links has no hash yet (a new
    # link to a reused file); its hash then goes to all of them. Rows are stored in
    # (device, inode) order, so a row's position (rowid + 1) is its read sequence. Only the
    # ids are sorted, the paths joined after: sorting them too cost twice as much. Paths
    # are bytes already (`rel`): the page loop below runs on one thread beside the readers.
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
    count = con.execute("SELECT count(*) FROM _cands").fetchall()[0][0]
    reads = 0
    con.execute("CREATE OR REPLACE TEMP TABLE _partial (seq BIGINT, partial BLOB, whole BOOLEAN)")
    con.execute("CREATE OR REPLACE TEMP TABLE _hashes (file_id BIGINT, hash VARCHAR)")
    errors: dict[str, list] = {"file_id": [], "error": []}

    def store(page: pa.Table, futures: list) -> None:
        # Columns in, columns out, packed: this thread's work per file is what limits a
        # share of small files, so it stays in Arrow and C.
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
            errors["file_id"] += [ids[i] for i, _ in failed]
            errors["error"] += [err for _, err in failed]
            bad = set(i for i, _ in failed)
            partial = pc.if_else(pa.array([i in bad for i in range(n)]), pa.scalar(None, pa.binary(16)), partial)
        _stage(con, "_partial", _PARTIAL_SCHEMA, [page.column("seq"), partial, whole])
        ph.advance(n, pc.sum(page.column("size")).as_py() or 0)

    # Pipelined: the workers hash one page while this thread stores the previous one.
    inflight: deque = deque()
    with _partial_pool(readers, count) as pool, _one_thread(con):
        for low in range(0, count, PAGE_ROWS):
            page = con.sql("""SELECT rowid + 1 AS seq, file_id, rel, size
                              FROM _cands WHERE rowid >= ? AND rowid < ? ORDER BY rowid""",
                           params=[low, low + PAGE_ROWS]).to_arrow_table()
            rels, sizes = page.column("rel").to_pylist(), page.column("size").to_pylist()
            inflight.append((page, [(i, pool.submit(partial_hash_packed, root_b, b"\0".join(rels[i:i + CHUNK_FILES]),
                                                    array("q", sizes[i:i + CHUNK_FILES]).tobytes()))
                                    for i in range(0, len(rels), CHUNK_FILES)]))
            reads += len(rels)
            if len(inflight) > 1:
                store(*inflight.popleft())
        while inflight:
            store(*inflight.popleft())
    # Full hash only where (size, partial) still collides, or where a file of the same size
    # kept its hash from the previous scan. A partial over the whole file is final: those
    # go straight to _hashes in SQL; only the bigger files come back to Python to be read.
    # _cands gives each sequence number its size, id and path (rowid + 1 = seq).
    con.execute("""CREATE OR REPLACE TEMP TABLE _collide AS
        WITH named AS (SELECT p.seq, c.size, p.partial, p.whole FROM _partial p
                       JOIN (SELECT rowid + 1 AS seq, size FROM _cands) c USING (seq) WHERE p.partial IS NOT NULL),
             groups AS (SELECT size, partial FROM named GROUP BY size, partial HAVING count(*) > 1),
             kept AS (SELECT DISTINCT size FROM files WHERE scan_id = ? AND reused AND hash IS NOT NULL)
        SELECT seq, partial, whole FROM named
        WHERE (size, partial) IN (SELECT (size, partial) FROM groups) OR size IN (SELECT size FROM kept)""",
                [scan_id])
    hashed = con.execute("""INSERT INTO _hashes SELECT c.file_id, lower(hex(x.partial)) FROM _collide x
        JOIN (SELECT rowid + 1 AS seq, file_id FROM _cands) c USING (seq) WHERE x.whole""").fetchone()[0]
    con.execute("""CREATE OR REPLACE TEMP TABLE _full AS
        SELECT x.seq, c.file_id, c.rel, c.size FROM _collide x
        JOIN (SELECT rowid + 1 AS seq, file_id, rel, size FROM _cands) c USING (seq)
        WHERE NOT x.whole ORDER BY x.seq""")
    # Big reads: os.read and xxhash release the GIL.
    with ThreadPoolExecutor(max_workers=readers) as pool, _one_thread(con):
        for page in _pages(con, "SELECT * FROM _full WHERE true", [], key="seq"):
            todo = [r[1:] for r in page]
            ids, digests = [], []
            for (file_id, _, _), (digest, err) in zip(todo, map_chunks(
                    pool, lambda r: full_hash(root_b, r[1], r[2]), todo, chunk=4)):
                if err:
                    errors["file_id"].append(file_id)
                    errors["error"].append(err)
                else:
                    ids.append(file_id)
                    digests.append(digest)
            _stage(con, "_hashes", _HASH_SCHEMA, [ids, digests])
            hashed += len(ids)
            reads += len(todo)
            ph.advance(0, sum(r[2] for r in todo))
    # Each inode's hash goes to all its hard links in the scan.
    con.execute(
        """UPDATE files SET hash = h.hash
           FROM (SELECT r.device, r.inode, x.hash FROM _hashes x
                 JOIN files r ON r.scan_id = ? AND r.file_id = x.file_id) h
           WHERE files.scan_id = ? AND files.kind = 'file'
             AND files.device = h.device AND files.inode = h.inode""",
        [scan_id, scan_id],
    )
    for table in ("_cands", "_partial", "_collide", "_full", "_hashes"):
        con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    if errors["file_id"]:
        _apply_updates(con, scan_id, pa.table(errors), ["error"])
    return hashed, reads


# Partial hashes are mostly small files: per-file Python work dominates, so above this many
# candidates they run in worker processes (no GIL); below, threads avoid the start-up.
PROCESS_MIN_FILES = 20_000
CHUNK_FILES = 2048  # files per task: smaller tasks left the workers waiting on this process


def _partial_pool(readers: int, count: int):
    if count >= PROCESS_MIN_FILES and readers > 1:
        try:
            return ProcessPool(readers)
        except (OSError, ValueError):
            pass  # where processes cannot start (sandbox, no /dev/shm): threads
    return ThreadPoolExecutor(max_workers=readers)


_PARTIAL_SCHEMA = pa.schema([("seq", pa.int64()), ("partial", pa.binary(16)), ("whole", pa.bool_())])
_HASH_SCHEMA = pa.schema([("file_id", pa.int64()), ("hash", pa.string())])


@contextmanager
def _one_thread(con):
    """DuckDB on one thread while the scan feeds it pages: a small query or insert spread
    over several threads costs several times more CPU (20,000-row inserts: 2.5x), taken
    from the readers and hashers. Big queries between the passes keep all threads."""
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute("RESET threads")


def _stage(con, table: str, schema: pa.Schema, columns: list[list]) -> None:
    """Append columns to a temp table through Arrow (one insert per page, not per row)."""
    con.register("_stage", pa.table(columns, schema=schema))
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _stage")
    finally:
        con.unregister("_stage")


def _fill_summary(con, summary: ScanSummary, stats: WalkStats) -> None:
    summary.entries, summary.files, summary.bytes, summary.errors, summary.excluded = con.execute(
        "SELECT entries, files, bytes, errors, excluded FROM scans WHERE scan_id = ?", [summary.scan_id]).fetchone()
    summary.by_kind = dict(con.execute("SELECT kind, count(*) FROM files WHERE scan_id = ? GROUP BY kind",
                                       [summary.scan_id]).fetchall())
    row = con.execute(
        """SELECT count(*), coalesce(sum(wasted_bytes), 0) FROM duplicates d
           WHERE d.commune = ? AND EXISTS (SELECT 1 FROM duplicate_files m WHERE m.scan_id = ?
                 AND m.commune = d.commune AND m.hash = d.hash AND m.size = d.size)""",
        [summary.commune, summary.scan_id]).fetchone()
    summary.duplicate_groups, summary.duplicate_wasted = row
    summary.dechets, summary.dechets_bytes = con.execute(
        "SELECT count(*), coalesce(sum(size), 0) FROM dechets WHERE scan_id = ?", [summary.scan_id]
    ).fetchone()
