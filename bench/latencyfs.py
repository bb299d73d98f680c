"""A read-only FUSE view of a directory that answers each request after a delay.

Stands in for an SMB or NFS share in benchmarks: every lookup, getattr, readdir and
read pays a round trip, as it would to a file server across the network. The kernel's
attribute and entry caches are turned off so that each stat really is a request.

    python bench/latencyfs.py SOURCE MOUNTPOINT --ms 2      (foreground; fusermount -u to stop)

It prints a line once the mount is live, and with `--stats FILE` writes at unmount how
many requests it answered and how many were in flight at once at most (what a test checks
instead of timing the walks).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import threading
import time

from fuse import FUSE, FuseOSError, Operations  # fusepy (test extra), libfuse2


class LatencyFS(Operations):
    def __init__(self, source: str, delay: float, stats: str | None = None) -> None:
        self.source = source
        self.delay = delay
        self.stats = stats
        self.lock = threading.Lock()
        self.requests = self.in_flight = self.max_in_flight = 0

    def init(self, path):
        print("monté", flush=True)  # the mount is live: whoever waits for it reads this line

    def destroy(self, path):
        if self.stats:
            with open(self.stats, "w") as fh:
                json.dump({"requests": self.requests, "max_in_flight": self.max_in_flight}, fh)

    def _real(self, path: str) -> str:
        return os.path.join(self.source, path.lstrip("/"))

    def _wait(self) -> None:
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)  # releases the GIL: requests in flight overlap, as on a server
        finally:
            with self.lock:
                self.in_flight -= 1

    def getattr(self, path, fh=None):
        self._wait()
        try:
            st = os.lstat(self._real(path))
        except OSError as exc:
            raise FuseOSError(exc.errno) from None
        return {k: getattr(st, k) for k in ("st_mode", "st_size", "st_uid", "st_gid", "st_nlink",
                                             "st_atime", "st_mtime", "st_ctime", "st_blocks", "st_ino")}

    def readdir(self, path, fh):
        self._wait()
        return [".", ".."] + os.listdir(self._real(path))

    def readlink(self, path):
        self._wait()
        return os.readlink(self._real(path))

    def open(self, path, flags):
        self._wait()
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise FuseOSError(errno.EROFS)
        return os.open(self._real(path), os.O_RDONLY)

    def read(self, path, size, offset, fh):
        self._wait()
        return os.pread(fh, size, offset)

    def release(self, path, fh):
        os.close(fh)
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("mountpoint")
    parser.add_argument("--ms", type=float, default=2.0, help="délai par requête, en millisecondes")
    parser.add_argument("--stats", help="fichier JSON écrit au démontage (requêtes, maximum simultané)")
    args = parser.parse_args()
    FUSE(LatencyFS(os.path.abspath(args.source), args.ms / 1000, args.stats), args.mountpoint, foreground=True,
         ro=True, nothreads=False, attr_timeout=0, entry_timeout=0, negative_timeout=0, use_ino=True,
         fsname="latencyfs")


if __name__ == "__main__":
    main()
