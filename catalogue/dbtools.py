"""Small DuckDB helpers shared by the store, the scan pipeline, grids and reports.

A transaction that rolls back on any exception, an Arrow table registered under a name
for the length of a block, rows as dicts, and key-range pages of a large query. They know
nothing of the catalogue's schema (that is `catalogue.store`), so any layer may use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, rolled back on any exception. A commit that failed (disk full: the
    WAL could not be written) has ended the transaction already: the rollback is then
    skipped, so that the first error is the one raised."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str,
               table: pa.Table | pa.RecordBatch) -> Iterator[str]:
    """TABLE visible to SQL as NAME inside the block (Arrow's zero-copy path), then gone,
    whatever happens. NAME is the caller's own identifier, never input."""
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


def dict_rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of an executed query (`con.execute(...)`) as dicts keyed by column name."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def dict_row(cursor: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The first row of an executed query as a dict, None when there is none."""
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    return None if row is None else dict(zip(names, row))


def pages(con: duckdb.DuckDBPyConnection, sql: str, params: list, *, size: int,
          key: str = "file_id") -> Iterator[list[tuple]]:
    """Pages of SQL's rows by ranges of KEY (an integer column, SIZE values per range), in
    KEY order, so that the connection is free between pages. SQL ends with a WHERE clause
    (`... WHERE true` at least): each page adds its range to it. KEY is the caller's own
    column name, never input.

    Ranges, not `ORDER BY … LIMIT`: tables here are stored in KEY order, so each range
    reads only its own row groups; a LIMIT would re-sort everything after the cursor on
    every page (quadratic at a million files)."""
    top = con.execute(f"SELECT max({key}) FROM ({sql}) q", params).fetchall()[0][0]
    if top is None:
        return
    for low in range(0, top, size):
        rows = con.execute(sql + f" AND {key} > ? AND {key} <= ? ORDER BY {key}",
                           params + [low, low + size]).fetchall()
        if rows:
            yield rows


def one(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The row of an executed query that always returns one (an aggregate, `RETURNING`)."""
    row = cursor.fetchone()
    if row is None:
        raise LookupError("the query returned no row")
    return row


def scalar(cursor: duckdb.DuckDBPyConnection) -> Any:
    """The single value of an executed query that always returns one row."""
    return one(cursor)[0]
