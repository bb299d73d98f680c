"""The life of a `scans` row, for every kind of scan: files, databases, mailboxes,
DROID / siegfried imports and loaded bundles.

A scan row is inserted 'running' (`insert_scan`, the only INSERT of a scan row, through
`begin_scan` for scans run here) and finished 'complete', 'interrupted' or 'failed'
(`finish_scan`) with its totals. A filesystem scan left unfinished (Ctrl-C, killed, lost
mount) is resumed by the next scan of the same root (`start_file_scan`); views only read
complete scans, so a partial scan never pollutes the figures.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

import duckdb

from catalogue import __version__
from catalogue.dbtools import one, scalar, transaction
from catalogue.errors import CatalogueError
from catalogue.scan.options import ScanOptions
from catalogue.scan.rows import rel
from catalogue.store import ensure_commune
from scanners.filesystem import WalkResume, WalkStats


class ScanInterrupted(CatalogueError):
    """The user interrupted the scan (Ctrl-C); what was listed is kept, marked interrupted."""


@dataclass
class ScanSummary:
    scan_id: int
    scan_uuid: str
    commune: str
    root: str
    entries: int = 0
    files: int = 0
    bytes: int = 0
    errors: int = 0
    excluded: int = 0
    identified: int = 0
    hashed: int = 0
    duplicate_groups: int = 0
    duplicate_wasted: int = 0
    dechets: int = 0
    dechets_bytes: int = 0
    reused: int = 0        # unchanged files whose identification and hash came from the previous scan
    hash_reads: int = 0    # files read (partially or fully) to find duplicates
    # of `identified`, files that took the result of an identical content (same hash, size
    # and extension) identified earlier in the scan or by an earlier scan, without a read
    identification_copies: int = 0
    signatures_examined: int = 0  # candidate files read for electronic signatures
    signed_files: int = 0  # files carrying an electronic signature or paired with a detached one
    signed_bytes: int = 0
    resumed: bool = False  # an interrupted scan of the same root was resumed
    by_kind: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase (see phases.PHASES)
    walker: str = ""       # "find" (GNU find, local disk) or "python" (shares, exclusions, resume)


class ScanCounts(NamedTuple):
    """Totals of a scan row, when the scan counted them itself (not from `files` rows)."""

    entries: int = 0
    files: int = 0
    bytes: int = 0
    errors: int = 0


def now() -> datetime:
    """Timestamps of scan rows: UTC, without a time zone (DuckDB TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _scan_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'scans'").fetchall()}


def insert_scan(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> int:
    """Insert a scan row (column → value) and return its scan_id. Column names must be
    columns of `scans` (checked: a bundle's keys come from another server); values are bound."""
    unknown = set(row) - _scan_columns(con)
    if unknown:
        raise ValueError(f"not columns of scans: {sorted(unknown)}")
    names = ", ".join('"' + name.replace('"', '""') + '"' for name in row)
    return scalar(con.execute(f"INSERT INTO scans ({names}) VALUES ({', '.join('?' * len(row))}) RETURNING scan_id",
                              list(row.values())))


def begin_scan(con: duckdb.DuckDBPyConnection, commune: str, nom: str | None, source: str, root: str, *,
               application: str | None = None, identifier: str | None = None, host: str | None = None,
               scan_uuid: str | None = None, dataset_depth: int | None = None,
               excludes: list[str] | None = None) -> int:
    """Register the commune and insert a 'running' scan row from this host, now; returns its id."""
    ensure_commune(con, commune, nom)
    row: dict[str, Any] = {
        "scan_uuid": scan_uuid or str(uuid.uuid4()), "commune": commune, "source": source, "root": root,
        "host": host or socket.gethostname(), "started_at": now(), "status": "running",
        "tool_version": __version__, "identifier": identifier, "application": application}
    # Left out when not given: the column's default (dataset depth 2, no exclusions).
    if dataset_depth is not None:
        row["dataset_depth"] = dataset_depth
    if excludes is not None:
        row["excludes"] = excludes
    return insert_scan(con, row)


def finish_scan(con: duckdb.DuckDBPyConnection, scan_id: int, status: str, counts: ScanCounts | None = None, *,
                excluded: int = 0) -> None:
    """Mark the scan STATUS, finished now, with its totals: COUNTS when the scan counted
    them itself, else counted from its stored `files` rows (so that a resumed scan counts
    what came before too). EXCLUDED adds to the entries already counted as excluded."""
    if counts is not None:
        con.execute("""UPDATE scans SET status = ?, finished_at = ?, entries = ?, files = ?, bytes = ?, errors = ?,
                                        excluded = excluded + ?
                       WHERE scan_id = ?""", [status, now(), *counts, excluded, scan_id])
        return
    con.execute(
        """UPDATE scans SET status = ?, finished_at = ?, entries = t.entries, files = t.files, bytes = t.bytes,
                            errors = t.errors, excluded = scans.excluded + ?
           FROM (SELECT count(*) AS entries, count(*) FILTER (WHERE kind = 'file') AS files,
                        coalesce(sum(size) FILTER (WHERE kind = 'file'), 0) AS bytes,
                        count(*) FILTER (WHERE error IS NOT NULL) AS errors
                 FROM files WHERE scan_id = ?) t
           WHERE scans.scan_id = ?""",
        [status, now(), excluded, scan_id, scan_id],
    )


# --- filesystem scans: begin or resume ------------------------------------------------------

@dataclass(frozen=True)
class FileScanStart:
    """A filesystem scan begun, or an unfinished one taken up again."""

    scan_id: int
    scan_uuid: str
    options: ScanOptions            # a resumed scan keeps the exclusions and depth it began with
    resume: WalkResume | None = None


def unfinished_scan(con: duckdb.DuckDBPyConnection, commune: str, root_text: str) -> int | None:
    """The last scan of this root that never completed (Ctrl-C, kill, lost mount), if it
    is newer than the last complete one."""
    row = con.execute(
        """SELECT scan_id, status FROM scans WHERE commune = ? AND root = ? AND source = 'filesystem'
           AND status IN ('running', 'interrupted', 'failed', 'complete') ORDER BY scan_id DESC LIMIT 1""",
        [commune, root_text]).fetchall()
    return row[0][0] if row and row[0][1] != "complete" else None


def prepare_resume(con: duckdb.DuckDBPyConnection, scan_id: int) -> WalkResume:
    """Drop the entries of directories not fully stored; they will be listed again."""
    with transaction(con):
        con.execute("""DELETE FROM files WHERE scan_id = ? AND parent NOT IN
                       (SELECT path FROM scan_dirs_done WHERE scan_id = ?)""", [scan_id, scan_id])
        # Hashes are recomputed as a whole (a group needs all its members); reused ones stay.
        con.execute("UPDATE files SET hash = NULL WHERE scan_id = ? AND reused IS NOT TRUE", [scan_id])
        con.execute("UPDATE scans SET status = 'running', finished_at = NULL WHERE scan_id = ?", [scan_id])
    done = {rel(path, raw) for path, raw in con.execute(
        "SELECT path, path_raw FROM scan_dirs_done WHERE scan_id = ?", [scan_id]).fetchall()}
    existing = {rel(path, raw) for path, raw in con.execute(
        "SELECT path, path_raw FROM files WHERE scan_id = ? AND kind = 'directory'", [scan_id]).fetchall()}
    last = con.execute("SELECT coalesce(max(file_id), 0) FROM files WHERE scan_id = ?", [scan_id]).fetchall()[0][0]
    return WalkResume(done=done, existing_dirs=existing, last_id=last)


def start_file_scan(con: duckdb.DuckDBPyConnection, opts: ScanOptions, root_text: str,
                    identifier: str) -> FileScanStart:
    """Resume the unfinished scan of this root (unless `restart`), else begin a new one."""
    scan_id = unfinished_scan(con, opts.commune, root_text)
    if scan_id is not None and opts.restart:
        con.execute("UPDATE scans SET status = 'abandoned' WHERE scan_id = ?", [scan_id])
        scan_id = None
    if scan_id is None and opts.resume_only:
        raise CatalogueError(f"Aucun scan interrompu de {root_text} pour la commune {opts.commune} dans ce "
                             "catalogue : rien à reprendre (relancez sans --reprendre pour un nouveau scan).")
    if scan_id is None:
        scan_uuid = str(uuid.uuid4())
        scan_id = begin_scan(con, opts.commune, opts.nom, "filesystem", root_text, identifier=identifier,
                             scan_uuid=scan_uuid, dataset_depth=opts.dataset_depth, excludes=opts.excludes)
        return FileScanStart(scan_id, scan_uuid, opts)
    ensure_commune(con, opts.commune, opts.nom)
    # Resume with the options the scan was started with.
    scan_uuid, excludes, dataset_depth = con.execute(
        "SELECT scan_uuid, coalesce(excludes, []), dataset_depth FROM scans WHERE scan_id = ?",
        [scan_id]).fetchall()[0]
    resume = prepare_resume(con, scan_id)
    return FileScanStart(scan_id, scan_uuid, replace(opts, excludes=excludes, dataset_depth=dataset_depth), resume)


@contextmanager
def marked_on_failure(con: duckdb.DuckDBPyConnection, scan_id: int, stats: WalkStats) -> Iterator[None]:
    """A scan stopped inside the block is finished 'interrupted' (Ctrl-C, then
    ScanInterrupted: one French line) or 'failed' (any other error, raised again)."""
    try:
        yield
    except KeyboardInterrupt:
        finish_scan(con, scan_id, "interrupted", excluded=stats.excluded)
        entries = scalar(con.execute("SELECT entries FROM scans WHERE scan_id = ?", [scan_id]))
        raise ScanInterrupted(
            f"Scan interrompu : {entries} entrées enregistrées, marqué « interrompu » (scan n° {scan_id}) ; "
            "relancez la même commande pour le reprendre."
        ) from None
    except BaseException:
        try:
            finish_scan(con, scan_id, "failed", excluded=stats.excluded)
        except duckdb.Error:
            # The catalogue cannot be written any more (disk full, a fatal DuckDB error):
            # the scan stays « running », which the next run resumes like a failed one.
            pass
        raise


def fill_summary(con: duckdb.DuckDBPyConnection, summary: ScanSummary) -> None:
    """The summary's totals, duplicate groups and déchets, from the finished scan."""
    summary.entries, summary.files, summary.bytes, summary.errors, summary.excluded = one(con.execute(
        "SELECT entries, files, bytes, errors, excluded FROM scans WHERE scan_id = ?", [summary.scan_id]))
    summary.by_kind = dict(con.execute("SELECT kind, count(*) FROM files WHERE scan_id = ? GROUP BY kind",
                                       [summary.scan_id]).fetchall())
    summary.duplicate_groups, summary.duplicate_wasted = one(con.execute(
        """SELECT count(*), coalesce(sum(wasted_bytes), 0) FROM duplicates d
           WHERE d.commune = ? AND EXISTS (SELECT 1 FROM duplicate_files m WHERE m.scan_id = ?
                 AND m.commune = d.commune AND m.hash = d.hash AND m.size = d.size)""",
        [summary.commune, summary.scan_id]))
    summary.dechets, summary.dechets_bytes = one(con.execute(
        "SELECT count(*), coalesce(sum(size), 0) FROM dechets WHERE scan_id = ?", [summary.scan_id]))
    summary.signed_files, summary.signed_bytes = one(con.execute(
        "SELECT count(*), coalesce(sum(size), 0) FROM files WHERE scan_id = ? AND signed", [summary.scan_id]))
