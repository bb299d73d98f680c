"""Read-only access to entries under a scan root, whatever their names or path length.

Paths are handled as bytes so that any name the filesystem allows (invalid UTF-8,
newlines...) round-trips. Paths longer than PATH_MAX are reached by walking
directory file descriptors (openat), never by building a too-long string.
"""

from __future__ import annotations

import errno
import os

# Below Linux PATH_MAX (4096) with a margin for the root itself.
LONG_PATH = 3800

_BASE_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def proc_fd_path(fd: int) -> str:
    """The path of our descriptor FD as another process of this user opens it (siegfried
    runs in one): /proc/<our pid>/fd/N, where /proc/self would name the other's."""
    return f"/proc/{os.getpid()}/fd/{fd}"


def _open(path: bytes, flags: int, dir_fd: int | None = None) -> int:
    """open(2) with O_NOATIME when allowed (it needs ownership of the file: EPERM otherwise)."""
    if _NOATIME:
        try:
            return os.open(path, flags | _NOATIME, dir_fd=dir_fd)
        except PermissionError:
            pass
    return os.open(path, flags, dir_fd=dir_fd)


def join(root: bytes, rel: bytes) -> bytes:
    return root if not rel else root.rstrip(b"/") + b"/" + rel


def open_path(root: bytes, rel: bytes, *, directory: bool = False) -> int:
    """Open ROOT/REL read-only without following a final symlink and without blocking on a FIFO."""
    flags = _BASE_FLAGS | (_DIRECTORY if directory else _NONBLOCK)
    full = join(root, rel)
    if len(full) < LONG_PATH:
        return _open(full, flags)
    # Too long for one syscall: descend component by component from the root. The root
    # itself may be a link (as it may in a short path): /proc/<pid>/fd/N for a view.
    parts = rel.split(b"/")
    fd = _open(root, (_BASE_FLAGS & ~_NOFOLLOW) | _DIRECTORY)
    try:
        for part in parts[:-1]:
            nxt = _open(part, _BASE_FLAGS | _DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return _open(parts[-1], flags, dir_fd=fd)
    finally:
        os.close(fd)


def describe_oserror(exc: OSError) -> str:
    """A short French description of an OS error, stored in `files.error`."""
    messages: dict[int | None, str] = {
        errno.EACCES: "accès refusé",
        errno.EPERM: "opération non permise",
        errno.ENOENT: "disparu pendant le scan",
        errno.ENOTDIR: "n'est plus un dossier",
        errno.ELOOP: "boucle de liens symboliques",
        errno.ENAMETOOLONG: "chemin trop long",
        errno.EIO: "erreur d'entrée-sortie (support ou réseau)",
        errno.ESTALE: "partage réseau devenu indisponible",
        errno.ETIMEDOUT: "délai dépassé (partage réseau)",
        errno.EMFILE: "trop de fichiers ouverts",
    }
    return messages.get(exc.errno, f"erreur système {exc.errno} : {exc.strerror}")
