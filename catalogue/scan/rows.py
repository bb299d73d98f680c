"""What the scan phases share to read and write `files` rows: paths as bytes, set-based
updates from Arrow, appends to temp tables, DuckDB on one thread while pages flow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

from catalogue.dbtools import registered


def rel(path: str, path_raw: bytes | None) -> bytes:
    """An entry's path under the root as the filesystem spells it (path_raw when the name
    is not UTF-8)."""
    return path_raw if path_raw is not None else path.encode("utf-8")


def apply_updates(con: duckdb.DuckDBPyConnection, scan_id: int, table: pa.Table, columns: list[str]) -> None:
    """One set-based UPDATE of `files` from a staged Arrow table keyed by file_id
    (COLUMNS: the phase's own column names)."""
    sets = ", ".join(f"{c} = s.{c}" for c in columns)
    with registered(con, "_staged", table):
        con.execute(f"UPDATE files SET {sets} FROM _staged s WHERE files.scan_id = ? AND files.file_id = s.file_id",
                    [scan_id])


def stage(con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema, columns: list) -> None:
    """Append columns to a temp table (the phase's own) through Arrow: one insert per page, not per row."""
    with registered(con, "_stage", pa.table(columns, schema=schema)):
        con.execute(f"INSERT INTO {table} SELECT * FROM _stage")


@contextmanager
def one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB on one thread while the scan feeds it pages: a small query or insert spread
    over several threads costs several times more CPU (20,000-row inserts: 2.5x), taken
    from the readers and hashers. Big queries between the passes keep all threads."""
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute("RESET threads")


# The columns identification fills in `files` (an incremental rescan copies them, but the error).
ID_COLUMNS = ["puid", "format_name", "format_version", "mime", "id_basis", "id_warning",
              "magic_mime", "ext_mismatch", "error"]

# The columns the signature phase fills in `files` (an incremental rescan copies them;
# signature_of, which names a file of the same scan, is paired again instead).
SIG_COLUMNS = ["sig_kind", "sig_count", "sig_signed_at", "sig_signer", "sig_issuer", "sig_not_after", "sig_error",
               "signed"]
