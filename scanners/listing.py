"""Listing one directory of a walk: its entries lstat'ed, their paths relative to the
root, --exclude applied; and a Lister that lists ahead of the walk in worker threads.

The I/O of `scanners.filesystem.walk`: it opens nothing but directories, never follows a
symlink (the target is read, not followed), and keeps a name's exact bytes.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice

from scanners.fsaccess import describe_oserror, open_path
from scanners.osname import name_thread

_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def decode(raw: bytes) -> tuple[str, bytes | None]:
    """Text for display and SQL, plus the exact bytes when they are not valid UTF-8."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), raw


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


class Lister:
    """Lists directories ahead of the walk in worker threads (network shares).

    A walk consumes directories depth first, one at a time; on a share where each stat is
    a round trip, the workers list in advance the directories on top of the walk's stack
    and, as soon as a listing is done, the subdirectories it revealed. At most two
    listings per worker are queued or running, and at most `keep` are held done but not
    yet consumed, which bounds memory."""

    def __init__(self, root: bytes, listers: int, excludes: list[str], done: set[bytes] | None = None) -> None:
        # DONE: directories an interrupted walk listed already, never listed again here.
        self.root, self.excludes, self.done = root, excludes, done or set()
        self.pool = ThreadPoolExecutor(max_workers=listers, thread_name_prefix="listage",
                                       initializer=name_thread, initargs=("listage",))
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
            if rel in self.pending or rel in self.done:
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
