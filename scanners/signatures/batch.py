"""Signature detection over a batch of catalogued files: one Arrow row per candidate
(SIGNATURES_SCHEMA), read by worker threads through open_path (read-only, O_NOATIME)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime

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


def results_batch(results: Sequence[SigResult]) -> pa.RecordBatch:
    """SIGNATURES_SCHEMA rows of RESULTS: a file that could not be read stays unexamined
    (signed NULL) with its error; an unsigned one is signed = false."""
    infos = [r.info for r in results]
    return pa.RecordBatch.from_arrays([
        pa.array([r.file_id for r in results], pa.int64()),
        pa.array([i.kind if i else None for i in infos], pa.string()),
        pa.array([i.count if i else None for i in infos], pa.int32()),
        pa.array([_naive(i.signing_time) if i else None for i in infos], pa.timestamp("us")),
        pa.array([i.signer_cn if i else None for i in infos], pa.string()),
        pa.array([i.issuer_cn if i else None for i in infos], pa.string()),
        pa.array([_naive(i.not_after) if i else None for i in infos], pa.timestamp("us")),
        pa.array([(i.error if i else None) or r.error for r, i in zip(results, infos)], pa.string()),
        pa.array([None if r.error and not i else i is not None for r, i in zip(results, infos)], pa.bool_()),
    ], schema=SIGNATURES_SCHEMA)


def detect_batch(root: bytes, candidates: Sequence[SigCandidate], *, executor: Executor) -> tuple[
        pa.RecordBatch, list[SigResult]]:
    """Examine CANDIDATES with EXECUTOR's threads: their SIGNATURES_SCHEMA batch, and the
    results (their `signed_names` pair detached signatures)."""
    results = map_chunks(executor, lambda c: examine(root, c), list(candidates))
    return results_batch(results), results
