"""siegfried in a process of its own, fed batches of names through a pipe.

pygfried holds the GIL for the whole of an `identify_many` call. In the scan's process
that stopped every other thread while siegfried worked: the lstat checks, libmagic on the
files siegfried could not match, the writes to DuckDB. On 100,000 files the identification
phase took 1.8× siegfried alone. In a process of its own, siegfried identifies the next
batches while the scan's threads finish the one it returned, and its signatures and Go heap
stay out of the scan's process.

Batches go out from a thread of their own: a batch of long names can be larger than the
pipe's buffer, and so can its results; were the scan to wait on a send while siegfried
waits for its results to be read, both would wait forever.

Names sent must be valid in the other process: a descriptor of ours is reached there as
/proc/<our pid>/fd/N (`scanners.fsaccess.proc_fd_path`), not /proc/self/fd/N.

Where a process cannot start (some sandboxes), `InProcessSiegfried` does the same in this
process, as before: the same results, without the overlap, and without the heap cap (Go
reads it when a process starts: scanners/siegfried.py).
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from scanners.osname import name_thread
from scanners.parallel import main_module_hidden

# What the scan keeps of a match: siegfried's other keys (namespace, class...) are not read.
_MATCH_KEYS = ("id", "format", "version", "mime", "basis", "warning")

Result = dict[str, Any]  # {"filename", "matches": [first match, trimmed] or [], "errors"}


def _trim(results: Sequence[Mapping[str, Any]]) -> list[Result]:
    """siegfried's results reduced to what the scan reads: less to pickle through the pipe."""
    out = []
    for res in results:
        matches = res.get("matches") or []
        first = [{k: matches[0].get(k) for k in _MATCH_KEYS}] if matches else []
        out.append({"filename": res["filename"], "matches": first, "errors": res.get("errors")})
    return out


def identify_names(names: list[str], workers: int) -> list[Result]:
    """siegfried's results for NAMES, in this process, trimmed."""
    from scanners.siegfried import pygfried

    return _trim(pygfried.identify_many(names, workers=workers)["files"]) if names else []


def _header() -> dict[str, Any]:
    """siegfried's version and signature files (loads them)."""
    from scanners.siegfried import pygfried

    head = pygfried.identify_many([], workers=1)
    return {"siegfried": head.get("siegfried"), "signature": head.get("signature"),
            "created": head.get("created"), "version": pygfried.version(),
            "identifiers": [i.get("details", "") for i in head.get("identifiers", [])]}


def _serve(conn: Connection, workers: int) -> None:
    """The child's loop: a list of names in, their results out; None ends it. A Ctrl-C
    reaches the whole process group: the scan decides, this process waits to be told."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    name_thread("siegfried")
    try:
        conn.send(("ok", _header()))
        while True:
            try:
                names = conn.recv()
            except EOFError:  # the scan is gone (killed): nothing left to do
                return
            if names is None:
                return
            try:
                conn.send(("ok", identify_names(names, workers)))
            except Exception as exc:  # siegfried's own failure goes back to the scan
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except (BrokenPipeError, EOFError):
        return


class SiegfriedError(OSError):
    """siegfried failed or its process ended: the scan stops there, resumable."""


class SiegfriedProcess:
    """siegfried in a child process: `send` a batch, later `receive` its results, in order;
    several batches may be sent before the first is received."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([])
        self._conn, child = context.Pipe()
        with main_module_hidden():
            self._process = context.Process(target=_serve, args=(child, max(1, workers)), daemon=True,
                                            name="siegfried")
            self._process.start()
        child.close()
        self.header: dict[str, Any] = self._reply()
        self._outbox: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_all, name="siegfried-envoi", daemon=True)
        self._sender.start()

    def send(self, names: list[str]) -> None:
        """Queue NAMES for siegfried; never waits (a dead child shows at `receive`)."""
        self._outbox.put(names)

    def _send_all(self) -> None:
        while True:
            names = self._outbox.get()
            try:
                self._conn.send(names)
            except Exception:
                # The child is gone (OSError), or a batch could not be sent: ended here, so
                # that `receive` reports it rather than waiting for results that never come.
                self._process.kill()
                return
            if names is None:
                return

    def receive(self) -> list[Result]:
        return self._reply()

    def _reply(self) -> Any:
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError):
            raise SiegfriedError("le processus d'identification (siegfried) s'est arrêté") from None
        if status != "ok":
            raise SiegfriedError(f"siegfried a échoué : {value}")
        return value

    def close(self) -> None:
        self._outbox.put(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._end_sender()

    def kill(self) -> None:
        self._process.kill()
        self._process.join()
        self._outbox.put(None)
        self._end_sender()

    def _end_sender(self) -> None:
        # The child has ended: a send in progress fails at once, and a None ends the loop.
        self._sender.join()
        self._conn.close()


class InProcessSiegfried:
    """The same interface, siegfried in this process (where no child can start)."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.header = _header()
        self._sent: list[list[str]] = []

    def send(self, names: list[str]) -> None:
        self._sent.append(names)

    def receive(self) -> list[Result]:
        return identify_names(self._sent.pop(0), self.workers)

    def close(self) -> None:
        self._sent.clear()

    kill = close


Siegfried = SiegfriedProcess | InProcessSiegfried


def start_siegfried(workers: int, *, separate: bool = True) -> Siegfried:
    """siegfried in its own process where one can start, else in this one."""
    if separate:
        try:
            return SiegfriedProcess(workers)
        except (OSError, ValueError):
            pass  # no processes here (sandbox, no /dev/shm): in this process, as before
    return InProcessSiegfried(workers)
