"""A read-only view of a scan root that keeps access times, for readers we do not control.

Our own reads open files with O_NOATIME (scanners.fsaccess). siegfried opens files by
path, in Go, without it: as root, identification changed the access time of every file.
Linux (5.12+) can clone the mount under the root into a detached mount held by a file
descriptor (open_tree) and set that clone read-only and noatime (mount_setattr). Paths
under /proc/<pid>/fd/N then reach the same files through the clone: nothing a reader does
there can change an access time or write a byte, and no mount appears anywhere else (the
clone belongs to no mount table and goes when the descriptor is closed).

It needs CAP_SYS_ADMIN (root). Elsewhere the view is the root itself, and access times
are kept only where O_NOATIME is allowed (files the user owns), as the README says.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from scanners.fsaccess import proc_fd_path

# Syscall numbers of the unified table (same on x86_64, arm64 and others since Linux 5.2).
_SYS_OPEN_TREE = 428
_SYS_MOUNT_SETATTR = 442
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
_AT_RECURSIVE = 0x8000
_OPEN_TREE_CLONE = 1
_MOUNT_ATTR_RDONLY = 0x1
_MOUNT_ATTR_NOATIME = 0x10
_MOUNT_ATTR__ATIME = 0x70  # the mask of the access-time mode, cleared before setting noatime


def _clone_readonly_noatime(root: bytes) -> int:
    """A descriptor of a detached, read-only, noatime clone of the mounts under ROOT."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    fd = libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, root,
                      _OPEN_TREE_CLONE | os.O_CLOEXEC | _AT_RECURSIVE)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    # struct mount_attr { __u64 attr_set, attr_clr, propagation, userns_fd; }
    attr = ctypes.create_string_buffer(
        struct.pack("QQQQ", _MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOATIME, _MOUNT_ATTR__ATIME, 0, 0))
    if libc.syscall(_SYS_MOUNT_SETATTR, fd, b"", _AT_EMPTY_PATH | _AT_RECURSIVE, attr, 32) < 0:
        err = ctypes.get_errno()
        os.close(fd)
        raise OSError(err, os.strerror(err))
    return fd


def view_available() -> bool:
    """Whether this process may make such views (Linux, CAP_SYS_ADMIN, kernel 5.12+)."""
    return platform.system() == "Linux" and os.geteuid() == 0


@contextmanager
def preserving_view(root: bytes) -> Iterator[bytes]:
    """Yield a path prefix to hand external readers instead of ROOT: the clone's
    /proc/<pid>/fd/N (valid in siegfried's process too) where it can be made, else ROOT itself."""
    fd = -1
    if view_available():
        try:
            fd = _clone_readonly_noatime(root)
        except OSError as exc:
            # Old kernel (ENOSYS), no privilege (EPERM), a root that is no directory:
            # identification still runs, through the root itself.
            if exc.errno not in (errno.ENOSYS, errno.EPERM, errno.EINVAL, errno.ENOENT, errno.ENOTDIR,
                                 errno.EACCES):
                raise
    try:
        yield os.fsencode(proc_fd_path(fd)) if fd >= 0 else root
    finally:
        if fd >= 0:
            os.close(fd)
