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


DB_TABLES_SCHEMA = pa.schema([
    ("application", pa.string()), ("schema_name", pa.string()), ("table_name", pa.string()),
    ("row_count", pa.int64()), ("row_count_estimated", pa.bool_()), ("bytes", pa.int64()),
    ("first_date", pa.timestamp("us")), ("last_date", pa.timestamp("us")),
    ("date_columns", pa.list_(pa.struct([("column_name", pa.string()), ("min_value", pa.timestamp("us")),
                                         ("max_value", pa.timestamp("us"))]))),
    ("binary_bytes", pa.int64()),
    ("binary_columns", pa.list_(pa.struct([("column_name", pa.string()), ("bytes", pa.int64())]))),
    ("error", pa.string()),
])


@dataclass
class DbScanSummary:
    scan_id: int
    application: str
    source: str
    tables: int
    rows: int
    estimated: int
    bytes: int
    errors: list[str]


def scan_db(address: str, commune: str, application: str, *, nom: str | None = None, db: str | None = None,
            timeout_s: int = 60, exact_threshold: int = 1_000_000) -> DbScanSummary:
    """`catalogue scan-db`: a business database's tables, aggregates only, into the catalogue."""
    from scanners.database import DbOptions, open_engine

    engine, url, shown, access = open_engine(address)
    try:
        return _scan_db(engine, url, shown, access, commune, application, nom, db,
                        DbOptions(timeout_s=timeout_s, exact_threshold=exact_threshold))
    finally:
        engine.dispose()  # also deletes a SQLite working copy, if one was needed


def _scan_db(engine, url, shown: str, access: str | None, commune: str, application: str, nom: str | None,
             db: str | None, opts) -> DbScanSummary:
    from scanners.database import scan_tables

    tables = scan_tables(engine, url, opts)
    rows = []
    first = next(tables, None)  # connects: bad address or credentials fail before anything is written
    con = connect(db)
    try:
        identifier = f"SQLAlchemy {engine.dialect.name}" + (f" ({access})" if access else "")
        scan_id = begin_scan(con, commune, nom, "database", shown, application=application,
                             identifier=identifier, host=url.host)
        try:
            for row in ([first] if first else []):
                rows.append(row)
            for row in tables:
                rows.append(row)
            for r in rows:
                r["application"] = application
            insert_batch(con, "db_tables", pa.Table.from_pylist(rows, schema=DB_TABLES_SCHEMA), scan_id, commune)
        except BaseException:
            finish_scan(con, scan_id, "failed")
            raise
        errors = [f"{r['schema_name']}.{r['table_name']} : {r['error']}" for r in rows if r["error"]]
        total_bytes = sum((r["bytes"] or r["binary_bytes"] or 0) for r in rows)
        finish_scan(con, scan_id, "complete", entries=len(rows), files=len(rows), size=total_bytes,
                    errors=len(errors))
    finally:
        con.close()
    return DbScanSummary(scan_id, application, shown, len(rows), sum(r["row_count"] or 0 for r in rows),
                         sum(1 for r in rows if r["row_count_estimated"]), total_bytes, errors)


MAIL_FOLDERS_SCHEMA = pa.schema([
    ("application", pa.string()), ("folder", pa.string()), ("messages", pa.int64()), ("bytes", pa.int64()),
    ("first_date", pa.timestamp("us")), ("last_date", pa.timestamp("us")), ("attachments", pa.int64()),
    ("attachment_bytes", pa.int64()), ("unreadable", pa.int64()), ("error", pa.string()),
])
MAIL_FORMATS_SCHEMA = pa.schema([
    ("application", pa.string()), ("folder", pa.string()), ("puid", pa.string()), ("format_name", pa.string()),
    ("mime", pa.string()), ("attachments", pa.int64()), ("bytes", pa.int64()),
])


@dataclass
class MailScanSummary:
    scan_id: int
    application: str
    folders: int
    messages: int
    bytes: int
    attachments: int
    attachment_bytes: int
    unreadable: int
    errors: list[str]


def scan_mailbox(path: str, commune: str, application: str, *, nom: str | None = None,
                 db: str | None = None) -> MailScanSummary:
    """`catalogue scan-mail`: per mail folder counts, volumes, dates and attachment formats."""
    from pathlib import Path

    from scanners.mail import scan_mail

    folders = scan_mail(path)
    first = next(folders, None)  # a missing or unknown mailbox is refused before anything is written
    con = connect(db)
    try:
        scan_id = begin_scan(con, commune, nom, "mail", str(Path(path).resolve()), application=application,
                             identifier="Python email/mailbox + siegfried (pièces jointes)")
        rows, formats = [], []
        try:
            for stats in ([first] if first else []):
                rows.append(stats)
            for stats in folders:
                rows.append(stats)
        except BaseException:
            finish_scan(con, scan_id, "failed")
            raise
        table = pa.Table.from_pylist([
            {"application": application, "folder": s.folder, "messages": s.messages, "bytes": s.bytes,
             "first_date": s.first_date, "last_date": s.last_date, "attachments": s.attachments,
             "attachment_bytes": s.attachment_bytes, "unreadable": s.unreadable, "error": s.describe()}
            for s in rows], schema=MAIL_FOLDERS_SCHEMA)
        for s in rows:
            for (puid, name, mime), count in sorted(s.formats.items(), key=lambda kv: str(kv[0])):
                formats.append({"application": application, "folder": s.folder, "puid": puid, "format_name": name,
                                "mime": mime, "attachments": count, "bytes": s.format_bytes[(puid, name, mime)]})
        insert_batch(con, "mail_folders", table, scan_id, commune)
        insert_batch(con, "mail_attachment_formats", pa.Table.from_pylist(formats, schema=MAIL_FORMATS_SCHEMA),
                     scan_id, commune)
        errors = [f"{s.folder} : {s.describe()}" for s in rows if s.describe()]
        summary = MailScanSummary(scan_id, application, len(rows), sum(s.messages for s in rows),
                                  sum(s.bytes for s in rows), sum(s.attachments for s in rows),
                                  sum(s.attachment_bytes for s in rows), sum(s.unreadable for s in rows), errors)
        finish_scan(con, scan_id, "complete", entries=summary.messages + summary.unreadable,
                    files=summary.messages, size=summary.bytes,
                    errors=summary.unreadable + sum(1 for s in rows if s.error))
    finally:
        con.close()
    return summary
