"""Pools for per-file work (hashing, reading heads).

A future per file costs more than opening and hashing a small file, so work is handed
to the pool in chunks; results come back in input order. Where per-file Python work
dominates (many small files), `ProcessPool` runs it without the GIL.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TypeVar

from scanners.osname import name_thread

T = TypeVar("T")
R = TypeVar("R")

CHUNK_ITEMS = 128


def map_chunks(pool: Executor, fn: Callable[[T], R], items: Sequence[T], chunk: int = CHUNK_ITEMS) -> list[R]:
    """[fn(x) for x in items], computed by POOL one chunk per task, in order."""
    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    out: list[R] = []
    for part in pool.map(lambda c: [fn(x) for x in c], chunks):
        out.extend(part)
    return out


@contextmanager
def main_module_hidden() -> Iterator[None]:
    """Worker processes run the main script again (as `__mp_main__`) unless it is hidden
    while they start: a user's script calling `run_scan` without an
    `if __name__ == "__main__"` guard would scan again in each worker. They need nothing
    from it."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, object] = {key: main.__dict__[key] for key in ("__file__", "__spec__") if key in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


class ProcessPool:
    """Worker processes, all started at once from a fork server (never a fork of this
    process, which holds DuckDB's threads), with `submit(fn, *args).result()` like
    concurrent.futures, each named NAME (scanners.osname). Raises OSError where processes
    cannot start (some sandboxes)."""

    def __init__(self, workers: int, name: str = "calcul") -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([])  # the fork server needs nothing preloaded
        with main_module_hidden():
            self._pool = context.Pool(workers, initializer=name_thread, initargs=(name,))
        try:
            self._pool.apply_async(int).get(timeout=60)
        except Exception:
            self._pool.terminate()
            raise OSError("processus de calcul impossibles à démarrer") from None
        except BaseException:  # Ctrl-C while they start: an interruption, not a reason to fall back
            self._pool.terminate()
            raise

    def submit(self, fn: Callable, *args) -> SimpleNamespace:
        return SimpleNamespace(result=self._pool.apply_async(fn, args).get)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self._pool.close()
        else:
            self._pool.terminate()
        self._pool.join()
