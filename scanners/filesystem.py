"""Walk a directory tree read-only and yield its entries as Arrow record batches.

One row per entry (file, directory, symlink, other) below ROOT; ROOT itself is not a
row. The walk is iterative (a tree 1,000 levels deep needs no recursion), never
follows symlinks, never opens anything but directories, and keeps in memory only the
stack of directories still to list and the current batch.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

import pyarrow as pa

from scanners.fsaccess import describe_oserror, open_path
from scanners.owners import Owners
from scanners.schemas import WALK, WALK_SCHEMA, ScannerInfo

SCANNER = ScannerInfo("filesystem", (WALK,))

BATCH_ROWS = 20_000
# A batch also leaves after this long, however small: on a slow share 20,000 entries can
# take minutes, and the writer can only store (every 5 s) what the walk has handed over.
BATCH_SECONDS = 1.0

@dataclass
class WalkStats:
    entries: int = 0
    files: int = 0
    bytes: int = 0
    errors: int = 0
    excluded: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    # Directories whose entries are all in the batches yielded so far: the consumer stores
    # them with each batch (same transaction) and clears the list, so a scan can resume.
    done_dirs: list[bytes] = field(default_factory=list)


@dataclass
class WalkResume:
    """Where an interrupted walk stopped: its listed directories, the directory rows it
    already holds, and the last entry id used."""
    done: set[bytes]
    existing_dirs: set[bytes]
    last_id: int


def decode(raw: bytes) -> tuple[str, bytes | None]:
    """Text for display and SQL, plus the exact bytes when they are not valid UTF-8."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), raw


def extension_of(name: str) -> str | None:
    """Lowercased extension, or None when the 'extension' is really part of a sentence."""
    base, dot, ext = name.rpartition(".")
    if not dot or not base or not ext or len(ext) > 10 or " " in ext:
        return None
    return ext.lower()


def kind_of(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"


class _Batch:
    """Columns of the batch being filled (one list per WALK_SCHEMA field)."""

    def __init__(self) -> None:
        self.cols: dict[str, list] = {f.name: [] for f in WALK_SCHEMA}

    def __len__(self) -> int:
        return len(self.cols["file_id"])

    def to_arrow(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self.cols, schema=WALK_SCHEMA)
        self.cols = {f.name: [] for f in WALK_SCHEMA}
        return batch


def is_excluded(name: str, rel: str, patterns: list[str]) -> bool:
    """An --exclude glob matches the entry's name or its path relative to the root."""
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(rel, p) for p in patterns)


def child_path(rel: bytes, name_raw: bytes, excludes: list[str]) -> bytes | None:
    """REL/NAME relative to the root, or None when an --exclude pattern leaves it out."""
    child_rel = rel + b"/" + name_raw if rel else name_raw
    if excludes and is_excluded(decode(name_raw)[0], decode(child_rel)[0], excludes):
        return None
    return child_rel


# One listed child: (name as bytes, lstat result or None, error or None, symlink target or None).
Child = tuple[bytes, "os.stat_result | None", "str | None", "str | None"]


def list_directory(root: bytes, rel: bytes) -> list[Child]:
    """Open ROOT/REL and lstat each entry (the I/O of a walk; runs in a worker thread).

    Raises OSError when the directory itself cannot be opened or listed."""
    fd = open_path(root, rel, directory=True)
    children: list[Child] = []
    try:
        with os.scandir(fd) as it:
            for entry in it:
                # scandir on a descriptor gives str names decoded like os.fsdecode.
                name_raw = entry.name.encode(_FS_ENCODING, _FS_ERRORS)
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    children.append((name_raw, None, describe_oserror(exc), None))
                    continue
                target = None
                if stat.S_ISLNK(st.st_mode):
                    try:
                        target = decode(os.readlink(name_raw, dir_fd=fd))[0]
                    except OSError:
                        target = None
                children.append((name_raw, st, None, target))
    finally:
        os.close(fd)
    return children


def walk(
    root: bytes,
    *,
    excludes: list[str] | None = None,
    stats: WalkStats | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    resume: WalkResume | None = None,
    listers: int = 1,
    batch_seconds: float = BATCH_SECONDS,
) -> Iterator[pa.RecordBatch]:
    """Yield batches of entries under ROOT (bytes path to an existing directory).

    With `listers` > 1, up to that many directories are listed at once by worker threads
    (stat calls in flight: what makes a latency-bound network share fast); the rows come
    out in the same order as with one lister. With `resume`, directories already listed
    are not listed again for their entries: they are only read to find their
    subdirectories, and the walk goes on from there. A batch leaves at BATCH_ROWS entries,
    or after the directory that took it past `batch_seconds` (a slow share)."""
    excludes = excludes or []
    stats = stats if stats is not None else WalkStats()
    owners = Owners()
    batch = _Batch()
    next_id = resume.last_id if resume else 0
    # Stack of directories to list: (relative path bytes, depth, row of the directory
    # still to emit or None for the root). A directory's row is emitted when it is
    # listed, so an unreadable directory carries its own error.
    stack: list[tuple[bytes, int, dict | None]] = [(b"", 0, None)]
    lister = _Lister(root, listers, excludes, resume) if listers > 1 else None
    due = time.monotonic() + batch_seconds

    def make_row(rel: bytes, name_raw: bytes, depth: int, st: os.stat_result | None,
                 error: str | None, link_target: str | None = None) -> dict:
        """One entry as a dict (used for directory rows, emitted when they are listed)."""
        path, path_raw = decode(rel)
        name, _ = decode(name_raw)
        parent = path.rpartition("/")[0] if "/" in path else ""
        kind = kind_of(st.st_mode) if st else "other"
        return {
            "path": path, "path_raw": path_raw, "parent": parent, "name": name,
            "extension": extension_of(name) if kind in ("file", "symlink") else None,
            "kind": kind,
            "size": st.st_size if st else None,
            "allocated": st.st_blocks * 512 if st and _HAS_BLOCKS else None,
            "mtime": st.st_mtime_ns // 1000 if st else None,
            "ctime": st.st_ctime_ns // 1000 if st else None,
            "depth": depth,
            "owner": owners(st.st_uid) if st else None,
            "device": st.st_dev if st else None,
            "inode": st.st_ino if st else None,
            "nlink": st.st_nlink if st else None,
            "link_target": link_target,
            "error": error,
        }

    def emit_row(row: dict) -> None:
        nonlocal next_id
        next_id += 1
        row["file_id"] = next_id
        for key, col in batch.cols.items():
            col.append(row[key])
        _count(stats, row["kind"], row["size"], row["error"])

    def emit_children(rel: bytes, depth: int, kids: list[Child]) -> None:
        """Rows of a directory's non-directory children, appended column by column."""
        nonlocal next_id
        if not kids:
            return
        n = len(kids)
        parent, parent_raw = decode(rel)
        prefix = parent + "/" if rel else ""
        raw_prefix = rel + b"/" if rel else b""
        names, paths, paths_raw = [], [], []
        for name_raw, _, _, _ in kids:
            name, bad = decode(name_raw)
            names.append(name)
            paths.append(prefix + name)
            paths_raw.append(raw_prefix + name_raw if (bad is not None or parent_raw is not None) else None)
        sts = [k[1] for k in kids]
        kinds = [kind_of(st.st_mode) if st is not None else "other" for st in sts]
        cols = batch.cols
        cols["file_id"].extend(range(next_id + 1, next_id + 1 + n))
        next_id += n
        cols["path"].extend(paths)
        cols["path_raw"].extend(paths_raw)
        cols["parent"].extend([parent] * n)
        cols["name"].extend(names)
        cols["extension"].extend([extension_of(name) if kind in ("file", "symlink") else None
                                  for name, kind in zip(names, kinds)])
        cols["kind"].extend(kinds)
        cols["size"].extend([st.st_size if st is not None else None for st in sts])
        cols["allocated"].extend([st.st_blocks * 512 if st is not None and _HAS_BLOCKS else None for st in sts])
        cols["mtime"].extend([st.st_mtime_ns // 1000 if st is not None else None for st in sts])
        cols["ctime"].extend([st.st_ctime_ns // 1000 if st is not None else None for st in sts])
        cols["depth"].extend([depth] * n)
        cols["owner"].extend([owners(st.st_uid) if st is not None else None for st in sts])
        cols["device"].extend([st.st_dev if st is not None else None for st in sts])
        cols["inode"].extend([st.st_ino if st is not None else None for st in sts])
        cols["nlink"].extend([st.st_nlink if st is not None else None for st in sts])
        cols["link_target"].extend([k[3] for k in kids])
        cols["error"].extend([k[2] for k in kids])
        stats.entries += n
        for kind, count in Counter(kinds).items():
            stats.by_kind[kind] = stats.by_kind.get(kind, 0) + count
        sizes = [st.st_size for st, kind in zip(sts, kinds) if kind == "file"]
        stats.files += len(sizes)
        stats.bytes += sum(sizes)
        stats.errors += sum(1 for k in kids if k[2])

    try:
        while stack:
            rel, depth, dir_row = stack.pop()
            if resume is not None and rel in resume.done:
                # Its row may be gone while its entries stay: a directory finished by the
                # find walk inside one it had not finished (see scanners/findwalk.py).
                subdirs, error = _resume_subdirs(root, rel, depth, resume, excludes, make_row)
                if dir_row is not None and dir_row is not _EXISTING:
                    dir_row["error"] = dir_row["error"] or error
                    emit_row(dir_row)
                stack.extend(subdirs)
                if lister is not None:
                    lister.top_up(stack)
                continue
            try:
                children = lister.take(rel) if lister is not None else list_directory(root, rel)
            except OSError as exc:
                if dir_row is None:
                    raise
                children = []
                if dir_row is not _EXISTING:
                    dir_row["error"] = describe_oserror(exc)
            if dir_row is not None and dir_row is not _EXISTING:
                emit_row(dir_row)
            subdirs, others = [], []
            for kid in children:
                name_raw, st, error, target = kid
                child_rel = child_path(rel, name_raw, excludes)
                if child_rel is None:
                    stats.excluded += 1
                    continue
                if st is not None and stat.S_ISDIR(st.st_mode):
                    subdirs.append((child_rel, depth + 1, make_row(child_rel, name_raw, depth + 1, st, error)))
                else:
                    others.append(kid)
            emit_children(rel, depth + 1, others)
            stats.done_dirs.append(rel)
            # Reversed so that directories are listed in name order (the stack is LIFO).
            subdirs.sort(key=lambda d: d[0], reverse=True)
            stack.extend(subdirs)
            if lister is not None:
                lister.top_up(stack)
            if len(batch) >= BATCH_ROWS or (len(batch) and time.monotonic() >= due):
                if on_progress:
                    on_progress(stats.entries, stats.bytes)
                yield batch.to_arrow()
                due = time.monotonic() + batch_seconds
        if len(batch):
            if on_progress:
                on_progress(stats.entries, stats.bytes)
            yield batch.to_arrow()
    finally:
        if lister is not None:
            lister.close()


class _Lister:
    """Lists directories ahead of the walk in worker threads (network shares).

    A walk consumes directories depth first, one at a time; on a share where each stat is
    a round trip, the workers list in advance the directories on top of the walk's stack
    and, as soon as a listing is done, the subdirectories it revealed. At most two
    listings per worker are queued or running, and at most `keep` are held done but not
    yet consumed, which bounds memory."""

    def __init__(self, root: bytes, listers: int, excludes: list[str], resume: WalkResume | None) -> None:
        self.root, self.excludes, self.resume = root, excludes, resume
        self.pool = ThreadPoolExecutor(max_workers=listers, thread_name_prefix="listage")
        self.lock = threading.Lock()
        self.pending: dict[bytes, Future] = {}
        self.running = 0
        self.max_running = 2 * listers
        self.keep = 64 * listers

    def request(self, rel: bytes) -> bool:
        """Ask for REL's listing; False when the limits are reached."""
        with self.lock:
            if self.running >= self.max_running or len(self.pending) >= self.keep:
                return False
            if rel in self.pending or (self.resume is not None and rel in self.resume.done):
                return True
            self.running += 1
            self.pending[rel] = self.pool.submit(self._list, rel)
            return True

    def _list(self, rel: bytes) -> list[Child]:
        try:
            children = list_directory(self.root, rel)
        finally:
            with self.lock:
                self.running -= 1
        for name_raw, st, _, _ in children:
            if st is None or not stat.S_ISDIR(st.st_mode):
                continue
            child_rel = child_path(rel, name_raw, self.excludes)
            if child_rel is None:
                continue
            if not self.request(child_rel):
                break
        return children

    def top_up(self, stack: list) -> None:
        """Request the listings of the directories the walk takes next."""
        for rel, _, _ in islice(reversed(stack), self.keep):
            if not self.request(rel):
                return

    def take(self, rel: bytes) -> list[Child]:
        """REL's listing: from a worker if requested, else listed now."""
        with self.lock:
            future = self.pending.pop(rel, None)
        return future.result() if future is not None else list_directory(self.root, rel)

    def close(self) -> None:
        with self.lock:
            for future in self.pending.values():
                future.cancel()
        self.pool.shutdown(wait=True)


_HAS_BLOCKS = hasattr(os.stat_result, "st_blocks")
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def _count(stats: WalkStats, kind: str, size: int | None, error: str | None) -> None:
    stats.entries += 1
    stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
    if kind == "file":
        stats.files += 1
        stats.bytes += size or 0
    if error:
        stats.errors += 1


# Marks a directory whose row an interrupted walk already stored: listed, not emitted again.
_EXISTING: dict = {}


def _resume_subdirs(root: bytes, rel: bytes, depth: int, resume: WalkResume, excludes: list[str], make_row):
    """Subdirectories of a directory listed before the interruption, to walk on, and the
    error that keeps it from being read (if any)."""
    subdirs = []
    try:
        fd = open_path(root, rel, directory=True)
    except OSError as exc:
        return [], describe_oserror(exc)
    try:
        with os.scandir(fd) as it:
            for entry in it:
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                    name_raw = os.fsencode(entry.name)
                    child_rel = child_path(rel, name_raw, excludes)
                    if child_rel is None:
                        continue
                    if child_rel in resume.existing_dirs:
                        subdirs.append((child_rel, depth + 1, _EXISTING))
                    else:
                        st = entry.stat(follow_symlinks=False)
                        subdirs.append((child_rel, depth + 1, make_row(child_rel, name_raw, depth + 1, st, None)))
                except OSError:
                    continue
    except OSError as exc:
        return [], describe_oserror(exc)
    finally:
        os.close(fd)
    subdirs.sort(key=lambda d: d[0], reverse=True)
    return subdirs, None
