"""The signature phase: electronic signatures in the candidate files (scanners.signatures),
read by the scan's worker threads, results written back to `files` in set-based updates;
then detached signatures are paired with the documents beside them.

Most candidates are examined during identification (`SignaturesAlong`), as soon as their
format is known; the phase examines those left. Idempotent: it examines the rows still
`signed IS NULL` (a killed scan resumes where it stopped; a rescan's unchanged files
already have their previous results, see reuse.py).
Files it cannot read keep `signed` NULL and say why in `sig_error`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import groupby

import pyarrow as pa

from catalogue.dbtools import pages, registered
from catalogue.progress import PhaseProgress
from catalogue.scan.phases import ScanRun
from catalogue.scan.rows import SIG_COLUMNS, apply_updates, rel
from scanners.identification import Candidate
from scanners.signatures import SigCandidate, SigResult, detect_batch, is_candidate, pair_detached
from scanners.signatures.pairing import DETACHED_EXTENSIONS

_PENDING_SQL = """SELECT file_id, path, path_raw, name, extension, size, puid, coalesce(mime, magic_mime)
           FROM files WHERE scan_id = ? AND kind = 'file' AND error IS NULL AND size > 0
             AND signed IS NULL AND sig_error IS NULL"""
_BATCH = 256  # files handed to the workers at once


def candidates(con, scan_id: int, page_rows: int):
    """Pages of SigCandidate for the files not examined yet that may hold a signature."""
    for page in pages(con, _PENDING_SQL, [scan_id], size=page_rows):
        yield [SigCandidate(r[0], rel(r[1], r[2]), r[3], r[5]) for r in page
               if is_candidate(r[3], r[4], r[5], r[6], r[7])]


def find_signatures(run: ScanRun, pool: ThreadPoolExecutor, ph: PhaseProgress) -> int:
    """Examine the candidates still unexamined, then pair detached signatures; returns how
    many files were examined."""
    staged: list[pa.RecordBatch] = []
    staged_rows = done = 0
    # file_id → documents a fresh signature names, those examined during identification first
    names: dict[int, tuple[str, ...]] = dict(run.signed_names)
    for page in candidates(run.con, run.scan_id, run.tuning.page_rows):
        for i in range(0, len(page), _BATCH):
            part = page[i:i + _BATCH]
            batch, results = detect_batch(run.root_b, part, executor=pool)
            staged.append(batch)
            staged_rows += len(part)
            names.update(signed_names(results))
            ph.advance(len(part), sum(c.size for c in part))
        if staged_rows >= run.tuning.update_rows:
            done += store_signatures(run, staged, staged_rows)
            staged, staged_rows = [], 0
    if staged:
        done += store_signatures(run, staged, staged_rows)
    pair_signatures(run, names)
    return done + run.signatures_examined


def signed_names(results: list[SigResult]) -> dict[int, tuple[str, ...]]:
    """The documents fresh signatures name; also an empty tuple for a CMS or time-stamp
    that names none (an enveloping .p7s signs nothing beside it, whatever its name)."""
    return {r.file_id: r.info.signed_names for r in results
            if r.info is not None and (r.info.signed_names or r.info.kind in ("cades", "timestamp"))}


def store_signatures(run: ScanRun, staged: list[pa.RecordBatch], rows: int) -> int:
    apply_updates(run.con, run.scan_id, pa.Table.from_batches(staged), SIG_COLUMNS)
    run.tuning.event("signatures-stored")
    return rows


_PAIR_SCHEMA = pa.schema([("file_id", pa.int64()), ("signature_of", pa.int64())])


def pair_signatures(run: ScanRun, names: dict[int, tuple[str, ...]]) -> int:
    """Pair the scan's detached signatures with their documents, folder by folder: set the
    signature's `signature_of` and the document's `signed`. NAMES holds what this run's
    detection read from the signatures (ASiC-S content, XAdES references); signatures
    reused from the previous scan are paired by name. Returns the pairs made."""
    con, scan_id = run.con, run.scan_id
    exts = sorted(DETACHED_EXTENSIONS)
    # The files of every folder holding a detached signature, in one query, folder by folder.
    with registered(con, "_sig_named", pa.table({"file_id": pa.array(list(names), pa.int64())})):
        listed = con.execute(
            f"""WITH folders AS (
                    SELECT DISTINCT parent FROM files WHERE scan_id = ? AND kind = 'file' AND sig_kind IS NOT NULL
                      AND (extension IN ({", ".join("?" * len(exts))}) OR file_id IN (SELECT file_id FROM _sig_named)))
                SELECT f.parent, f.file_id, f.path, f.sig_kind FROM files f JOIN folders USING (parent)
                WHERE f.scan_id = ? AND f.kind = 'file' ORDER BY f.parent, f.path""",
            [scan_id, *exts, scan_id]).fetchall()
    sigs: list[int] = []
    docs: list[int] = []
    for _parent, group in groupby(listed, key=lambda r: r[0]):
        rows = [r[1:] for r in group]
        ids = {path: fid for fid, path, _ in rows}
        given = {path: names[fid] for fid, path, _ in rows if fid in names}
        # Only files found signed are signatures: an unsigned or unreadable x.p7s signs nothing.
        unsigned = {path for _, path, kind in rows if kind is None}
        found = pair_detached([p for p in ids if p not in unsigned or not _named_like_signature(p)], given)
        seen: set[str] = set()
        for sig, doc in found.pairs:
            if sig not in seen:  # signature_of: the first document by path
                seen.add(sig)
                sigs.append(ids[sig])
                docs.append(ids[doc])
            else:
                sigs.append(-1)
                docs.append(ids[doc])
    if sigs:
        _apply_pairs(run, sigs, docs)
    return sum(1 for s in sigs if s >= 0)


def _named_like_signature(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return "." in name and name.rsplit(".", 1)[1].lower() in DETACHED_EXTENSIONS


def _apply_pairs(run: ScanRun, sigs: list[int], docs: list[int]) -> None:
    """One UPDATE for the signatures (signature_of), one for the documents (signed)."""
    table = pa.table([pa.array(sigs, pa.int64()), pa.array(docs, pa.int64())], schema=_PAIR_SCHEMA)
    with registered(run.con, "_pairs", table):
        run.con.execute("""UPDATE files SET signature_of = p.signature_of FROM _pairs p
                           WHERE files.scan_id = ? AND files.file_id = p.file_id""", [run.scan_id])
        run.con.execute("""UPDATE files SET signed = true FROM (SELECT DISTINCT signature_of AS file_id FROM _pairs) p
                           WHERE files.scan_id = ? AND files.file_id = p.file_id""", [run.scan_id])


class SignaturesAlong:
    """Signature detection during identification: each identified batch's candidates are
    examined while siegfried (its own process) identifies the next batches, time the
    signature phase would otherwise add after it."""

    def __init__(self, run: ScanRun, pool: ThreadPoolExecutor) -> None:
        self.run, self.pool = run, pool
        self.staged: list[pa.RecordBatch] = []
        self.rows = 0

    def examine(self, cands: list[Candidate], identified: pa.RecordBatch) -> None:
        """Examine the candidates among CANDS, a batch IDENTIFIED gave results for, in its order."""
        ids = identified.select(["error", "puid", "mime", "magic_mime"]).to_pydict()
        part = [SigCandidate(c.file_id, c.rel, c.name, c.size)
                for c, err, puid, mime, magic_mime in zip(cands, ids["error"], ids["puid"], ids["mime"],
                                                          ids["magic_mime"])
                if err is None and is_candidate(c.name, c.extension, c.size, puid, mime or magic_mime)]
        if not part:
            return
        batch, results = detect_batch(self.run.root_b, part, executor=self.pool)
        self.staged.append(batch)
        self.rows += len(part)
        self.run.signed_names.update(signed_names(results))

    def store(self) -> None:
        """Write what was examined since the last store (with the identification's rows:
        a file's signature is never stored before its format)."""
        if self.staged:
            self.run.signatures_examined += store_signatures(self.run, self.staged, self.rows)
            self.staged, self.rows = [], 0
