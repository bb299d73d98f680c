"""Walk a directory tree read-only and yield its entries as Arrow record batches.

One row per entry (file, directory, symlink, other) below ROOT; ROOT itself is not a
row. The walk is iterative (a tree 1,000 levels deep needs no recursion), never
follows symlinks, never opens anything but directories, and keeps in memory only the
stack of directories still to list and the current batch.
"""

from __future__ import annotations

import fnmatch
import os
import pwd
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from scanners.fsaccess import describe_oserror, open_path

BATCH_ROWS = 20_000

# Column order and types of the walk's batches; `files` columns filled later
# (identification, hashing) are absent and stay NULL.
WALK_SCHEMA = pa.schema([
    ("file_id", pa.int64()),
    ("path", pa.string()),
    ("path_raw", pa.binary()),
    ("parent", pa.string()),
    ("name", pa.string()),
    ("extension", pa.string()),
    ("kind", pa.string()),
    ("size", pa.int64()),
    ("allocated", pa.int64()),
    ("mtime", pa.timestamp("us")),
    ("ctime", pa.timestamp("us")),
    ("depth", pa.int32()),
    ("owner", pa.string()),
    ("device", pa.uint64()),
    ("inode", pa.uint64()),
    ("nlink", pa.uint64()),
    ("link_target", pa.string()),
    ("error", pa.string()),
])


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


class _Owners:
    """uid → user name, cached (a share has few owners and many files)."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, uid: int) -> str:
        name = self._cache.get(uid)
        if name is None:
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = str(uid)
            self._cache[uid] = name
        return name


class _Batch:
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


def walk(
    root: bytes,
    *,
    excludes: list[str] | None = None,
    stats: WalkStats | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    resume: WalkResume | None = None,
) -> Iterator[pa.RecordBatch]:
    """Yield batches of entries under ROOT (bytes path to an existing directory).

    With `resume`, directories already listed are not listed again for their entries:
    they are only read to find their subdirectories, and the walk goes on from there."""
    excludes = excludes or []
    stats = stats if stats is not None else WalkStats()
    owners = _Owners()
    batch = _Batch()
    next_id = resume.last_id if resume else 0
    # Stack of directories to list: (relative path bytes, depth, row of the directory
    # still to emit or None for the root). A directory's row is emitted when it is
    # listed, so an unreadable directory carries its own error.
    stack: list[tuple[bytes, int, dict | None]] = [(b"", 0, None)]

    def make_row(rel: bytes, name_raw: bytes, depth: int, st: os.stat_result | None,
                 error: str | None, link_target: str | None = None) -> dict:
        path, path_raw = decode(rel)
        name, _ = decode(name_raw)
        parent = path.rpartition("/")[0] if "/" in path else ""
        kind = kind_of(st.st_mode) if st else "other"
        return {
            "path": path, "path_raw": path_raw, "parent": parent, "name": name,
            "extension": extension_of(name) if kind in ("file", "symlink") else None,
            "kind": kind,
            "size": st.st_size if st else None,
            "allocated": st.st_blocks * 512 if st and hasattr(st, "st_blocks") else None,
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

    def emit(row: dict) -> pa.RecordBatch | None:
        nonlocal next_id
        next_id += 1
        row["file_id"] = next_id
        for key, col in batch.cols.items():
            col.append(row[key])
        stats.entries += 1
        stats.by_kind[row["kind"]] = stats.by_kind.get(row["kind"], 0) + 1
        if row["kind"] == "file":
            stats.files += 1
            stats.bytes += row["size"] or 0
        if row["error"]:
            stats.errors += 1
        if len(batch) >= BATCH_ROWS:
            if on_progress:
                on_progress(stats.entries, stats.bytes)
            return batch.to_arrow()
        return None

    while stack:
        rel, depth, dir_row = stack.pop()
        if resume is not None and rel in resume.done:
            stack.extend(_resume_subdirs(root, rel, depth, resume, excludes, make_row))
            continue
        children: list[tuple[bytes, bytes, os.stat_result | None, str | None, str | None]] = []
        try:
            fd = open_path(root, rel, directory=True)
        except OSError as exc:
            if dir_row is None:
                raise
            if dir_row is not _EXISTING:
                dir_row["error"] = describe_oserror(exc)
        else:
            try:
                with os.scandir(fd) as it:
                    for entry in it:
                        name_raw = os.fsencode(entry.name)
                        child_rel = rel + b"/" + name_raw if rel else name_raw
                        try:
                            st = entry.stat(follow_symlinks=False)
                        except OSError as exc:
                            children.append((child_rel, name_raw, None, describe_oserror(exc), None))
                            continue
                        target = None
                        if stat.S_ISLNK(st.st_mode):
                            try:
                                target = decode(os.readlink(name_raw, dir_fd=fd))[0]
                            except OSError:
                                target = None
                        children.append((child_rel, name_raw, st, None, target))
            except OSError as exc:
                if dir_row is None:
                    raise
                if dir_row is not _EXISTING:
                    dir_row["error"] = describe_oserror(exc)
            finally:
                os.close(fd)
        if dir_row is not None and dir_row is not _EXISTING:
            out = emit(dir_row)
            if out is not None:
                yield out
        subdirs = []
        for child_rel, name_raw, st, error, target in children:
            if excludes and is_excluded(decode(name_raw)[0], decode(child_rel)[0], excludes):
                stats.excluded += 1
                continue
            row = make_row(child_rel, name_raw, depth + 1, st, error, target)
            if st is not None and stat.S_ISDIR(st.st_mode):
                subdirs.append((child_rel, depth + 1, row))
                continue
            out = emit(row)
            if out is not None:
                yield out
        stats.done_dirs.append(rel)
        # Reversed so that directories are listed in name order (the stack is LIFO).
        subdirs.sort(key=lambda d: d[0], reverse=True)
        stack.extend(subdirs)
    if len(batch):
        if on_progress:
            on_progress(stats.entries, stats.bytes)
        yield batch.to_arrow()


# Marks a directory whose row an interrupted walk already stored: listed, not emitted again.
_EXISTING: dict = {}


def _resume_subdirs(root: bytes, rel: bytes, depth: int, resume: WalkResume, excludes: list[str], make_row):
    """Subdirectories of a directory listed before the interruption, to walk on."""
    subdirs = []
    try:
        fd = open_path(root, rel, directory=True)
    except OSError:
        return []
    try:
        with os.scandir(fd) as it:
            for entry in it:
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                    name_raw = os.fsencode(entry.name)
                    child_rel = rel + b"/" + name_raw if rel else name_raw
                    if excludes and is_excluded(decode(name_raw)[0], decode(child_rel)[0], excludes):
                        continue
                    if child_rel in resume.existing_dirs:
                        subdirs.append((child_rel, depth + 1, _EXISTING))
                    else:
                        st = entry.stat(follow_symlinks=False)
                        subdirs.append((child_rel, depth + 1, make_row(child_rel, name_raw, depth + 1, st, None)))
                except OSError:
                    continue
    except OSError:
        return []
    finally:
        os.close(fd)
    subdirs.sort(key=lambda d: d[0], reverse=True)
    return subdirs
