"""Business databases, read-only through SQLAlchemy: per schema and table, the row
count (exact, or the engine's estimate above a threshold), the storage size where the
engine reports it, the period covered by date columns and the volume of binary columns.

Only aggregates are read (count, min, max, sum of lengths): no row content. The session
is read-only where the engine allows it, and every statement has a time limit so that a
huge table cannot stall the scan; a table that cannot be read is recorded with its error.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from catalogue.errors import CatalogueError
from scanners.schemas import DB_TABLES, DB_TABLES_SCHEMA, ScannerInfo
from scanners.sqlitefile import open_sqlite

SCANNER = ScannerInfo("database", (DB_TABLES,))

SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys",
                  "INFORMATION_SCHEMA", "guest", "db_owner", "db_accessadmin", "db_securityadmin", "db_ddladmin",
                  "db_backupoperator", "db_datareader", "db_datawriter", "db_denydatareader", "db_denydatawriter"}
DRIVER_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql", "mssql": "mssql",
                 "oracle": "oracle"}
SUPPORTED_SCHEMES = ("sqlite", "postgresql", "mysql", "mariadb", "mssql", "oracle")
# The driver each extra installs, used when the address names none (SQLAlchemy's own
# defaults for mysql:// and mssql:// are other libraries than the ones our extras ship).
DEFAULT_DRIVERS = {"mysql": "pymysql", "mariadb": "pymysql", "mssql": "pymssql"}


class DatabaseScanError(CatalogueError):
    """The database cannot be reached or opened (address, driver, credentials)."""


@dataclass
class DbOptions:
    timeout_s: int = 60
    exact_threshold: int = 1_000_000


def safe_url(url: sa.engine.URL) -> str:
    return url.render_as_string(hide_password=True)


def _short(exc: Exception, url: sa.engine.URL | None = None) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if url is not None and url.password:
        text = text.replace(str(url.password), "***")  # never print a password
    return text[:300]


def database_url(address: str) -> sa.engine.URL:
    """The address as SQLAlchemy opens it: a supported scheme, with our extra's driver by default."""
    try:
        url = sa.engine.make_url(address)
    except Exception:
        raise DatabaseScanError("Adresse de base de données invalide (attendu par exemple "
                                "postgresql://utilisateur@serveur/base ou sqlite:///chemin/base.db).") from None
    backend = url.get_backend_name()
    if backend not in SUPPORTED_SCHEMES:
        raise DatabaseScanError(f"Type de base « {backend} » non pris en charge ; adresses acceptées : "
                                + ", ".join(f"{name}://…" for name in SUPPORTED_SCHEMES) + ".")
    if "+" not in url.drivername and backend in DEFAULT_DRIVERS:
        url = url.set(drivername=f"{backend}+{DEFAULT_DRIVERS[backend]}")
    return url


def open_engine(address: str) -> tuple[sa.engine.Engine, sa.engine.URL, str, str | None]:
    """The engine, its URL, the address to show and record (password hidden), and for a
    SQLite file how it is read (see scanners.sqlitefile)."""
    url = database_url(address)
    backend = url.get_backend_name()
    shown, access = safe_url(url), None
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise DatabaseScanError("Indiquez le fichier de la base SQLite : sqlite:///chemin/base.db")
        path = Path(url.database).resolve()
        shown = f"sqlite:///{path}"
        if not path.is_file():
            raise DatabaseScanError(f"Base SQLite introuvable : {path}")
        source = open_sqlite(path)  # read-only, and nothing created beside the file
        url, access = sa.engine.make_url(f"sqlite:///{source.uri}&uri=true"), source.how
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
    except sa.exc.NoSuchModuleError:
        raise DatabaseScanError(f"Pilote « {url.get_driver_name()} » inconnu pour {backend} : écrivez "
                                f"{backend}://… pour le pilote par défaut.") from None
    except ImportError:
        extra = DRIVER_EXTRAS.get(backend, backend)
        raise DatabaseScanError(f"Pilote manquant pour {backend} : installez-le avec "
                                f"« pip install 'catalogage[{extra}]' ».") from None
    if backend == "sqlite":
        sa.event.listen(engine, "engine_disposed", lambda _engine: source.close())
    return engine, url, shown, access


def configure_session(conn: sa.Connection, dialect: str, opts: DbOptions) -> None:
    """Read-only session and a time limit per statement, where the engine has them (a setting
    the engine refuses is skipped)."""
    ms = opts.timeout_s * 1000
    statements = {
        "postgresql": [f"SET statement_timeout = {ms}", "SET default_transaction_read_only = on"],
        "mysql": [f"SET SESSION max_execution_time = {ms}", "SET SESSION TRANSACTION READ ONLY"],
        "mariadb": [f"SET SESSION max_statement_time = {opts.timeout_s}", "SET SESSION TRANSACTION READ ONLY"],
        "oracle": ["SET TRANSACTION READ ONLY"],
        "mssql": [f"SET LOCK_TIMEOUT {ms}"],
    }.get(dialect, [])
    for sql in statements:
        try:
            conn.exec_driver_sql(sql)
        except sa.exc.DBAPIError:
            conn.rollback()
    conn.commit()


class _SqliteDeadline:
    """SQLite has no statement timeout: a progress handler aborts a statement past its
    deadline, and the deadline restarts as each statement is sent, so every statement
    (the table listing and reflection included) gets the whole --delai of its own."""

    def __init__(self, conn: sa.Connection, seconds: int):
        self.seconds = seconds
        self.start()
        sa.event.listen(conn, "before_cursor_execute", self._on_execute)
        raw: Any = conn.connection.driver_connection  # sqlite3.Connection, open while CONN is
        raw.set_progress_handler(lambda: 1 if time.monotonic() > self.deadline else 0, 10_000)

    def start(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def _on_execute(self, *_args) -> None:
        self.start()


def _as_datetime(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return _as_datetime(dt.datetime.fromisoformat(value.strip().replace(" ", "T").replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _estimate(conn: sa.Connection, dialect: str, schema: str | None, table: str) -> int | None:
    if dialect == "postgresql":
        value = conn.execute(sa.text(
            "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relname = :t"), {"s": schema, "t": table}).scalar()
        return int(value) if value is not None and value >= 0 else None
    if dialect in ("mysql", "mariadb"):
        value = conn.execute(sa.text("SELECT table_rows FROM information_schema.tables "
                                     "WHERE table_schema = :s AND table_name = :t"), {"s": schema, "t": table}).scalar()
        return int(value) if value is not None else None
    return None


def _storage(conn: sa.Connection, dialect: str, schema: str | None, table: str) -> int | None:
    try:
        if dialect == "postgresql":
            return conn.execute(sa.text(
                "SELECT pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s AND c.relname = :t"), {"s": schema, "t": table}).scalar()
        if dialect in ("mysql", "mariadb"):
            return conn.execute(sa.text(
                "SELECT data_length + index_length FROM information_schema.tables "
                "WHERE table_schema = :s AND table_name = :t"), {"s": schema, "t": table}).scalar()
        if dialect == "sqlite":
            return conn.execute(sa.text("SELECT sum(pgsize) FROM dbstat WHERE name = :t"), {"t": table}).scalar()
    except sa.exc.DBAPIError:
        conn.rollback()  # dbstat missing, or no right on the catalogue: size unknown
    return None


def scan_tables(engine: sa.engine.Engine, url: sa.engine.URL, opts: DbOptions) -> Iterator[dict]:
    """Yield one dict per table, errors included; raises DatabaseScanError if unreachable."""
    dialect = engine.dialect.name
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise DatabaseScanError(f"Connexion impossible à {safe_url(url)} : {_short(exc, url)}") from None
    with conn:
        configure_session(conn, dialect, opts)
        if dialect == "sqlite":
            _SqliteDeadline(conn, opts.timeout_s)
        inspector = sa.inspect(conn)
        for schema, tables in _listing(inspector, dialect, opts, url):
            for table in tables:
                yield _scan_table(conn, inspector, dialect, schema, table, opts, url)


def _timed_out(text: str) -> bool:
    lowered = text.lower()
    return "timeout" in lowered or "interrupted" in lowered or "canceling statement" in lowered


def _listing(inspector, dialect: str, opts: DbOptions, url) -> list[tuple[str | None, list[str]]]:
    """Schemas and their tables, listed up front: an unreadable catalogue is one French line."""
    try:
        schemas = [None] if dialect == "sqlite" else [s for s in inspector.get_schema_names()
                                                      if s not in SYSTEM_SCHEMAS and not s.startswith("pg_")]
        return [(schema, sorted(inspector.get_table_names(schema=schema))) for schema in schemas]
    except sa.exc.DBAPIError as exc:
        text = _short(exc, url)
        reason = f"délai dépassé ({opts.timeout_s} s)" if _timed_out(text) else text
        raise DatabaseScanError(f"Lecture de la liste des tables impossible : {reason}") from None


def _scan_table(conn, inspector, dialect, schema, table, opts, url) -> dict:
    row = {"schema_name": schema or "main", "table_name": table, "row_count": None, "row_count_estimated": None,
           "bytes": None, "first_date": None, "last_date": None, "date_columns": [], "binary_bytes": None,
           "binary_columns": [], "error": None}
    try:
        columns = inspector.get_columns(table, schema=schema)
        target = sa.table(table, *[sa.column(c["name"]) for c in columns], schema=schema)
        row["row_count"], row["row_count_estimated"] = _row_count(conn, dialect, schema, table, target, opts)
        row["bytes"] = _storage(conn, dialect, schema, table)
        row.update(_dates(conn, target, columns))
        row.update(_binaries(conn, dialect, target, columns))
        conn.rollback()  # end the read transaction: nothing was written
    except sa.exc.DBAPIError as exc:
        conn.rollback()
        text = _short(exc, url)
        row["error"] = (f"délai dépassé ({opts.timeout_s} s)" if _timed_out(text) else f"lecture impossible : {text}")
    return row


def _row_count(conn, dialect: str, schema: str | None, table: str, target, opts: DbOptions) -> tuple[int, bool]:
    """(rows, estimated): the engine's estimate above the threshold, else an exact count."""
    estimate = _estimate(conn, dialect, schema, table)
    if estimate is not None and estimate > opts.exact_threshold:
        return estimate, True
    return conn.execute(sa.select(sa.func.count()).select_from(target)).scalar(), False


def _dates(conn, target, columns: list) -> dict:
    """The range of each date column and the period they cover together (nothing without one)."""
    dates = [c["name"] for c in columns if isinstance(c["type"], (sa.Date, sa.DateTime))]
    if not dates:
        return {}
    values = conn.execute(sa.select(*[f(target.c[name]) for name in dates for f in (sa.func.min, sa.func.max)])).one()
    ranges = [{"column_name": name, "min_value": _as_datetime(values[2 * k]),
               "max_value": _as_datetime(values[2 * k + 1])} for k, name in enumerate(dates)]
    lows = [d["min_value"] for d in ranges if d["min_value"]]
    highs = [d["max_value"] for d in ranges if d["max_value"]]
    return {"date_columns": ranges, "first_date": min(lows) if lows else None,
            "last_date": max(highs) if highs else None}


def _binaries(conn, dialect: str, target, columns: list) -> dict:
    """The volume of each binary column and their total (nothing without one)."""
    binaries = [c["name"] for c in columns if isinstance(c["type"], sa.types._Binary)]
    if not binaries:
        return {}
    length = sa.func.datalength if dialect == "mssql" else sa.func.length
    sums = conn.execute(sa.select(*[sa.func.sum(length(target.c[n])) for n in binaries])).one()
    volumes = [{"column_name": n, "bytes": int(v or 0)} for n, v in zip(binaries, sums)]
    return {"binary_columns": volumes, "binary_bytes": sum(b["bytes"] for b in volumes)}


def to_batch(rows: Iterable[dict], application: str) -> pa.RecordBatch:
    """The `db_tables` rows of the tables `scan_tables` yielded, for APPLICATION."""
    return pa.RecordBatch.from_pylist([{**row, "application": application} for row in rows], schema=DB_TABLES_SCHEMA)
