"""Signature detection over a batch of catalogued files: one Arrow row per candidate
(SIGNATURES_SCHEMA), read by worker threads through open_path (read-only, O_NOATIME)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from scanners.fsaccess import describe_oserror, open_path
from scanners.parallel import map_chunks
from scanners.schemas import SIGNATURES_SCHEMA
from scanners.signatures.dispatch import detect_open
from scanners.signatures.model import SignatureInfo


@dataclass(frozen=True)
class SigCandidate:
    """A regular file to examine: its catalogue id, path under the root (bytes), bare
    name (for its extension and a detached signature's document name) and size."""
    file_id: int
    rel: bytes
    name: str
    size: int


@dataclass(frozen=True)
class SigResult:
    """What one candidate holds: its SignatureInfo (None: unsigned), or why it could not be read."""
    file_id: int
    info: SignatureInfo | None
    error: str | None = None


def examine(root: bytes, cand: SigCandidate) -> SigResult:
    """Detect the signatures of CAND; an OSError becomes a French error, never a raise."""
    try:
        fd = open_path(root, cand.rel)
    except OSError as exc:
        return SigResult(cand.file_id, None, describe_oserror(exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return SigResult(cand.file_id, None, "n'est plus un fichier ordinaire")
        return SigResult(cand.file_id, detect_open(fd, cand.name, st.st_size))
    except OSError as exc:
        return SigResult(cand.file_id, None, describe_oserror(exc))
    finally:
        os.close(fd)


def _naive(value: datetime | None) -> datetime | None:
    """UTC times are stored as naive TIMESTAMPs, like every time of the catalogue."""
    return value.replace(tzinfo=None) if value is not None and value.tzinfo is not None else value


def _of_infos(infos: list[SignatureInfo | None], get: Callable[[SignatureInfo], Any]) -> list[Any]:
    """GET of each info, None for a candidate without one."""
    return [get(i) if i else None for i in infos]


def _error(result: SigResult) -> str | None:
    """The detection's error, else why the file could not be read."""
    return (result.info.error if result.info else None) or result.error


def _signed(result: SigResult) -> bool | None:
    """NULL for a file that could not be read, else whether it holds a signature."""
    return None if result.error and not result.info else result.info is not None


def results_batch(results: Sequence[SigResult]) -> pa.RecordBatch:
    """SIGNATURES_SCHEMA rows of RESULTS: a file that could not be read stays unexamined
    (signed NULL) with its error; an unsigned one is signed = false."""
    infos = [r.info for r in results]
    return pa.RecordBatch.from_arrays([
        pa.array([r.file_id for r in results], pa.int64()),
        pa.array(_of_infos(infos, lambda i: i.kind), pa.string()),
        pa.array(_of_infos(infos, lambda i: i.count), pa.int32()),
        pa.array(_of_infos(infos, lambda i: _naive(i.signing_time)), pa.timestamp("us")),
        pa.array(_of_infos(infos, lambda i: i.signer_cn), pa.string()),
        pa.array(_of_infos(infos, lambda i: i.issuer_cn), pa.string()),
        pa.array(_of_infos(infos, lambda i: _naive(i.not_after)), pa.timestamp("us")),
        pa.array([_error(r) for r in results], pa.string()),
        pa.array([_signed(r) for r in results], pa.bool_()),
    ], schema=SIGNATURES_SCHEMA)


def detect_batch(root: bytes, candidates: Sequence[SigCandidate], *, executor: Executor) -> tuple[
        pa.RecordBatch, list[SigResult]]:
    """Examine CANDIDATES with EXECUTOR's threads: their SIGNATURES_SCHEMA batch, and the
    results (their `signed_names` pair detached signatures)."""
    results = map_chunks(executor, lambda c: examine(root, c), list(candidates))
    return results_batch(results), results
