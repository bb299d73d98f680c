"""Walk a directory tree read-only and yield its entries as Arrow record batches.

One row per entry (file, directory, symlink, other) below ROOT; ROOT itself is not a
row. The walk is iterative (a tree 1,000 levels deep needs no recursion), never
follows symlinks, never opens anything but directories, and keeps in memory only the
stack of directories still to list and the current batch. Listing a directory (the
I/O, and listing ahead on network shares) is scanners.listing; here its entries become rows.
"""

from __future__ import annotations

import builtins
import os
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from scanners.fsaccess import describe_oserror, open_path
from scanners.listing import Child, Lister, child_path, decode, list_directory
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
    done_dirs: list[builtins.bytes] = field(default_factory=list)


@dataclass
class WalkResume:
    """Where an interrupted walk stopped: its listed directories, the directory rows it
    already holds, and the last entry id used."""
    done: set[bytes]
    existing_dirs: set[bytes]
    last_id: int


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


# A directory still to list: (relative path bytes, depth, its row still to emit, or None
# for the root, or _EXISTING). A directory's row is emitted when it is listed, so an
# unreadable directory carries its own error.
_Dir = tuple[bytes, int, "dict | None"]


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
    rows = _Rows(stats if stats is not None else WalkStats(), resume.last_id if resume else 0)
    stack: list[_Dir] = [(b"", 0, None)]
    lister = Lister(root, listers, excludes, resume.done if resume else None) if listers > 1 else None
    due = time.monotonic() + batch_seconds
    try:
        while stack:
            rel, depth, dir_row = stack.pop()
            if resume is not None and rel in resume.done:
                stack.extend(_resumed_dir(root, rel, depth, dir_row, resume, excludes, rows))
                listed = False
            else:
                stack.extend(_listed_dir(root, rel, depth, dir_row, excludes, rows, lister))
                listed = True
            if lister is not None:
                lister.top_up(stack)
            if listed and (len(rows.batch) >= BATCH_ROWS or (len(rows.batch) and time.monotonic() >= due)):
                yield rows.take(on_progress)
                due = time.monotonic() + batch_seconds
        if len(rows.batch):
            yield rows.take(on_progress)
    finally:
        if lister is not None:
            lister.close()


def _listed_dir(root: bytes, rel: bytes, depth: int, dir_row: dict | None, excludes: list[str], rows: _Rows,
                lister: Lister | None) -> list[_Dir]:
    """List REL: emit its row and its other children's; its subdirectories, to walk next."""
    try:
        children = lister.take(rel) if lister is not None else list_directory(root, rel)
    except OSError as exc:
        if dir_row is None:
            raise
        children = []
        if dir_row is not _EXISTING:
            dir_row["error"] = describe_oserror(exc)
    if dir_row is not None and dir_row is not _EXISTING:
        rows.emit_row(dir_row)
    subdirs: list[_Dir] = []
    others: list[Child] = []
    for kid in children:
        name_raw, st, error, _ = kid
        child_rel = child_path(rel, name_raw, excludes)
        if child_rel is None:
            rows.stats.excluded += 1
            continue
        if st is not None and stat.S_ISDIR(st.st_mode):
            subdirs.append((child_rel, depth + 1, rows.make_row(child_rel, name_raw, depth + 1, st, error)))
        else:
            others.append(kid)
    rows.emit_children(rel, depth + 1, others)
    rows.stats.done_dirs.append(rel)
    # Reversed so that directories are listed in name order (the stack is LIFO).
    subdirs.sort(key=lambda d: d[0], reverse=True)
    return subdirs


def _resumed_dir(root: bytes, rel: bytes, depth: int, dir_row: dict | None, resume: WalkResume,
                 excludes: list[str], rows: _Rows) -> list[_Dir]:
    """A directory listed before the interruption: its row if it is not stored, and its
    subdirectories, to walk next."""
    # Its row may be gone while its entries stay: a directory finished by the find walk
    # inside one it had not finished (see scanners/findwalk.py).
    subdirs, error = _resume_subdirs(root, rel, depth, resume, excludes, rows.make_row)
    if dir_row is not None and dir_row is not _EXISTING:
        dir_row["error"] = dir_row["error"] or error
        rows.emit_row(dir_row)
    return subdirs


class _Rows:
    """The rows of a walk: the batch being filled, the entry ids, the counts."""

    def __init__(self, stats: WalkStats, last_id: int) -> None:
        self.stats = stats
        self.owners = Owners()
        self.batch = _Batch()
        self.next_id = last_id

    def make_row(self, rel: bytes, name_raw: bytes, depth: int, st: os.stat_result | None,
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
            "owner": self.owners(st.st_uid) if st else None,
            "device": st.st_dev if st else None,
            "inode": st.st_ino if st else None,
            "nlink": st.st_nlink if st else None,
            "link_target": link_target,
            "error": error,
        }

    def emit_row(self, row: dict) -> None:
        self.next_id += 1
        row["file_id"] = self.next_id
        for key, col in self.batch.cols.items():
            col.append(row[key])
        _count(self.stats, row["kind"], row["size"], row["error"])

    def emit_children(self, rel: bytes, depth: int, kids: list[Child]) -> None:
        """Rows of a directory's non-directory children, appended column by column."""
        if not kids:
            return
        n = len(kids)
        parent, names, paths, paths_raw = _child_paths(rel, kids)
        sts = [k[1] for k in kids]
        kinds = [kind_of(st.st_mode) if st is not None else "other" for st in sts]
        cols = self.batch.cols
        cols["file_id"].extend(range(self.next_id + 1, self.next_id + 1 + n))
        self.next_id += n
        cols["path"].extend(paths)
        cols["path_raw"].extend(paths_raw)
        cols["parent"].extend([parent] * n)
        cols["name"].extend(names)
        cols["extension"].extend([extension_of(name) if kind in ("file", "symlink") else None
                                  for name, kind in zip(names, kinds)])
        cols["kind"].extend(kinds)
        _stat_columns(cols, sts, self.owners)
        cols["depth"].extend([depth] * n)
        cols["link_target"].extend([k[3] for k in kids])
        cols["error"].extend([k[2] for k in kids])
        _count_children(self.stats, kids, sts, kinds)

    def take(self, on_progress: Callable[[int, int], None] | None) -> pa.RecordBatch:
        """The batch filled so far (reported to ON_PROGRESS); the next one starts empty."""
        if on_progress:
            on_progress(self.stats.entries, self.stats.bytes)
        return self.batch.to_arrow()


def _child_paths(rel: bytes, kids: list[Child]) -> tuple[str, list[str], list[str], list[bytes | None]]:
    """REL as text, and its children's names and paths (text, and exact bytes where a name
    is not UTF-8)."""
    parent, parent_raw = decode(rel)
    prefix = parent + "/" if rel else ""
    raw_prefix = rel + b"/" if rel else b""
    names: list[str] = []
    paths: list[str] = []
    paths_raw: list[bytes | None] = []
    for name_raw, _, _, _ in kids:
        name, bad = decode(name_raw)
        names.append(name)
        paths.append(prefix + name)
        paths_raw.append(raw_prefix + name_raw if (bad is not None or parent_raw is not None) else None)
    return parent, names, paths, paths_raw


def _stat_columns(cols: dict[str, list], sts: list[os.stat_result | None], owners: Owners) -> None:
    """The columns taken from each child's lstat (None where it failed)."""
    cols["size"].extend([st.st_size if st is not None else None for st in sts])
    cols["allocated"].extend([st.st_blocks * 512 if st is not None and _HAS_BLOCKS else None for st in sts])
    cols["mtime"].extend([st.st_mtime_ns // 1000 if st is not None else None for st in sts])
    cols["ctime"].extend([st.st_ctime_ns // 1000 if st is not None else None for st in sts])
    cols["owner"].extend([owners(st.st_uid) if st is not None else None for st in sts])
    cols["device"].extend([st.st_dev if st is not None else None for st in sts])
    cols["inode"].extend([st.st_ino if st is not None else None for st in sts])
    cols["nlink"].extend([st.st_nlink if st is not None else None for st in sts])


def _count_children(stats: WalkStats, kids: list[Child], sts: list[os.stat_result | None], kinds: list[str]) -> None:
    stats.entries += len(kids)
    for kind, count in Counter(kinds).items():
        stats.by_kind[kind] = stats.by_kind.get(kind, 0) + count
    # A "file" kind comes from a stat result: never None there.
    sizes = [st.st_size for st, kind in zip(sts, kinds) if kind == "file" and st is not None]
    stats.files += len(sizes)
    stats.bytes += sum(sizes)
    stats.errors += sum(1 for k in kids if k[2])


_HAS_BLOCKS = hasattr(os.stat_result, "st_blocks")


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


def _resume_subdirs(root: bytes, rel: bytes, depth: int, resume: WalkResume, excludes: list[str],
                    make_row: Callable[..., dict]) -> tuple[list[_Dir], str | None]:
    """Subdirectories of a directory listed before the interruption, to walk on, and the
    error that keeps it from being read (if any)."""
    subdirs: list[_Dir] = []
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
