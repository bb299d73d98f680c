"""Scans other than a live filesystem walk: DROID / siegfried inventories, business
databases, mailboxes. Each gets its own `scans` row (source droid, siegfried, database
or mail), begun and finished by `catalogue.scan.lifecycle` like a filesystem scan's, and
streams Arrow batches into the catalogue.

Each command writes in one transaction (scan row, its rows, its totals): it is all
there or not at all. A full disk becomes a DiskFullError, one French line, with the
catalogue as it was before the command."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from catalogue.dbtools import registered, transaction
from catalogue.errors import DiskFullError, full_disk_cause
from catalogue.formatting import french_bytes
from catalogue.scan.lifecycle import ScanCounts, begin_scan, finish_scan
from catalogue.store import connect, default_db_path

MIN_FREE_HINT = 8 * 1024 * 1024  # DuckDB grows its file and WAL by 256 KiB blocks, plus checkpoints


def _free_bytes(path: str) -> int | None:
    try:
        return shutil.disk_usage(Path(path).resolve().parent).free
    except OSError:
        return None


def _quietly(con: duckdb.DuckDBPyConnection, action: Callable[[], object]) -> None:
    """ROLLBACK or close after a failure: the database may already refuse everything."""
    try:
        action()
    except duckdb.Error:
        pass


@contextmanager
def catalogue_write(db: str | None, needed: Callable[[], int]) -> Iterator[duckdb.DuckDBPyConnection]:
    """The catalogue open for one all-or-nothing write (the caller's `transaction`);
    a full disk, at opening or at any write, becomes a DiskFullError and is rolled back.
    `needed` tells roughly how much the write takes, for the message."""
    path = str(db or default_db_path())
    con = None
    try:
        con = connect(db)
        yield con
    except BaseException as exc:
        if con is not None:
            _quietly(con, lambda: con.execute("ROLLBACK"))
        if full_disk_cause(exc) is None:
            raise
        free = _free_bytes(path)
        raise DiskFullError(
            f"Disque plein : le catalogue {path} n'a pas pu être écrit"
            + (f" (il reste {french_bytes(free)} sur son disque)" if free is not None else "")
            + f". Libérez environ {french_bytes(max(needed(), MIN_FREE_HINT))} puis relancez la même commande ; "
            "rien n'en a été enregistré.") from None
    finally:
        if con is not None:
            _quietly(con, con.close)


def insert_batch(con: duckdb.DuckDBPyConnection, table: str, batch: pa.RecordBatch | pa.Table, scan_id: int,
                 commune: str) -> None:
    """Rows of one scan into TABLE (our own table name, never input)."""
    with registered(con, "_batch", batch):
        con.execute(f"INSERT INTO {table} BY NAME SELECT ?::INTEGER AS scan_id, ?::VARCHAR AS commune, * FROM _batch",
                    [scan_id, commune])


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
    # DuckDB compresses the rows well below the CSV's size: the CSV is a safe estimate.
    with catalogue_write(db, lambda: Path(path).stat().st_size) as con:
        with transaction(con):
            scan_id = begin_scan(con, commune, nom, stats.kind, stats.root,
                                 identifier=f"import {stats.kind} ({path})")
            for batch in ([first] if first is not None else []):
                insert_batch(con, "files", batch, scan_id, commune)
            for batch in batches:
                insert_batch(con, "files", batch, scan_id, commune)
            finish_scan(con, scan_id, "complete", ScanCounts(stats.entries, stats.files, stats.bytes, stats.errors))
    return InventoryImport(scan_id, stats.kind, stats.root, stats.entries, stats.files, stats.bytes, stats.errors,
                           stats.in_archives, stats.hash_algorithm, stats.problems)


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
    from scanners.database import to_batch as database_batch

    tables = scan_tables(engine, url, opts)
    first = next(tables, None)  # connects: bad address or credentials fail before anything is written
    rows: list[dict] = []
    table = None
    # The catalogue is opened (and locked) before the long part, so a busy one is refused early.
    with catalogue_write(db, lambda: 2 * (table.nbytes if table is not None else 0)) as con:
        rows.extend([first] if first else [])
        rows.extend(tables)
        table = database_batch(rows, application)
        errors = [f"{r['schema_name']}.{r['table_name']} : {r['error']}" for r in rows if r["error"]]
        total_bytes = sum((r["bytes"] or r["binary_bytes"] or 0) for r in rows)
        identifier = f"SQLAlchemy {engine.dialect.name}" + (f" ({access})" if access else "")
        with transaction(con):
            scan_id = begin_scan(con, commune, nom, "database", shown, application=application,
                                 identifier=identifier, host=url.host)
            insert_batch(con, "db_tables", table, scan_id, commune)
            finish_scan(con, scan_id, "complete", ScanCounts(len(rows), len(rows), total_bytes, len(errors)))
    return DbScanSummary(scan_id, application, shown, len(rows), sum(r["row_count"] or 0 for r in rows),
                         sum(1 for r in rows if r["row_count_estimated"]), total_bytes, errors)


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
    from scanners.mail import scan_mail
    from scanners.mail import to_batches as mail_batches

    folders = scan_mail(path)
    first = next(folders, None)  # a missing or unknown mailbox is refused before anything is written
    rows = []
    tables: list[pa.RecordBatch] = []
    with catalogue_write(db, lambda: 2 * sum(t.nbytes for t in tables)) as con:
        rows.extend([first] if first else [])
        rows.extend(folders)
        tables += mail_batches(rows, application)
        errors = [f"{s.folder} : {s.describe()}" for s in rows if s.describe()]
        with transaction(con):
            scan_id = begin_scan(con, commune, nom, "mail", str(Path(path).resolve()), application=application,
                                 identifier="Python email/mailbox + siegfried (pièces jointes)")
            insert_batch(con, "mail_folders", tables[0], scan_id, commune)
            insert_batch(con, "mail_attachment_formats", tables[1], scan_id, commune)
            summary = MailScanSummary(scan_id, application, len(rows), sum(s.messages for s in rows),
                                      sum(s.bytes for s in rows), sum(s.attachments for s in rows),
                                      sum(s.attachment_bytes for s in rows), sum(s.unreadable for s in rows), errors)
            finish_scan(con, scan_id, "complete", ScanCounts(summary.messages + summary.unreadable, summary.messages,
                                                             summary.bytes,
                                                             summary.unreadable + sum(1 for s in rows if s.error)))
    return summary
