"""Scans other than a live filesystem walk: DROID / siegfried inventories, business
databases, mailboxes. Each gets its own `scans` row (source droid, siegfried, database
or mail) and streams Arrow batches into the catalogue like the filesystem scan."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
import pyarrow as pa

from catalogue import __version__
from catalogue.store import connect, ensure_commune


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def begin_scan(con: duckdb.DuckDBPyConnection, commune: str, nom: str | None, source: str, root: str,
               application: str | None = None, identifier: str | None = None, host: str | None = None) -> int:
    ensure_commune(con, commune, nom)
    return con.execute(
        """INSERT INTO scans (scan_uuid, commune, source, root, host, started_at, status, tool_version, identifier,
                              application)
           VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?) RETURNING scan_id""",
        [str(uuid.uuid4()), commune, source, root, host or socket.gethostname(), _now(), __version__, identifier,
         application],
    ).fetchone()[0]


def finish_scan(con: duckdb.DuckDBPyConnection, scan_id: int, status: str, *, entries: int = 0, files: int = 0,
                size: int = 0, errors: int = 0) -> None:
    con.execute("""UPDATE scans SET status = ?, finished_at = ?, entries = ?, files = ?, bytes = ?, errors = ?
                   WHERE scan_id = ?""", [status, _now(), entries, files, size, errors, scan_id])


def insert_batch(con: duckdb.DuckDBPyConnection, table: str, batch: pa.RecordBatch | pa.Table, scan_id: int,
                 commune: str) -> None:
    con.register("_batch", batch)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT ?::INTEGER AS scan_id, ?::VARCHAR AS commune, * FROM _batch",
                    [scan_id, commune])
    finally:
        con.unregister("_batch")


@dataclass
class InventoryImport:
    scan_id: int
    kind: str
    root: str
    entries: int
    files: int
    bytes: int
    errors: int
    in_archives: int
    hash_algorithm: str | None
    problems: list[str] = field(default_factory=list)


def import_inventory(path: str, commune: str, *, nom: str | None = None, db: str | None = None) -> InventoryImport:
    """`catalogue import-droid`: a DROID or siegfried CSV becomes a filesystem scan."""
    from scanners.droid import InventoryStats, read_inventory

    stats = InventoryStats()
    batches = read_inventory(path, stats)
    first = next(batches, None)  # reads the header: a foreign CSV is refused before anything is written
    con = connect(db)
    try:
        scan_id = begin_scan(con, commune, nom, stats.kind, stats.root,
                             identifier=f"import {stats.kind} ({path})")
        try:
            con.execute("BEGIN TRANSACTION")
            if first is not None:
                insert_batch(con, "files", first, scan_id, commune)
            for batch in batches:
                insert_batch(con, "files", batch, scan_id, commune)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            finish_scan(con, scan_id, "failed")
            raise
        finish_scan(con, scan_id, "complete", entries=stats.entries, files=stats.files, size=stats.bytes,
                    errors=stats.errors)
    finally:
        con.close()
    return InventoryImport(scan_id, stats.kind, stats.root, stats.entries, stats.files, stats.bytes, stats.errors,
                           stats.in_archives, stats.hash_algorithm, stats.problems)
