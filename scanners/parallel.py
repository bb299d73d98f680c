"""Thread-pool helpers for per-file work (hashing, reading heads).

A future per file costs more than opening and hashing a small file, so work is handed
to the pool in chunks; results come back in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import TypeVar

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
