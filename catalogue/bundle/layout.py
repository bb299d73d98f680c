"""The bundle format: its metadata key and version, and the columns of `scans` and `files`
that this version's migrations define (what a bundle carries and is checked against)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import duckdb

from catalogue.store import migrate

META_KEY = "catalogage_scan"
BUNDLE_VERSION = 1
KINDS = ("file", "directory", "symlink", "other")
TOTALS = ("entries", "files", "bytes", "errors")  # recomputed from the rows, never trusted
LOCAL = ("scan_id",)                               # this catalogue's own numbering
REQUIRED = ("finished_at",)                        # NOT NULL in spirit for a complete scan


def ident(name: str) -> str:
    """A quoted SQL identifier (names here come from our own schema, quoted all the same)."""
    return '"' + name.replace('"', '""') + '"'


def sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Column:
    type: str
    nullable: bool
    has_default: bool


@lru_cache(maxsize=1)
def schema() -> dict[str, dict[str, Column]]:
    """Columns of `scans` and `files` as this version's migrations define them."""
    con = duckdb.connect()
    try:
        migrate(con)
        return {table: {name: Column(kind, nullable == "YES", default is not None)
                        for name, kind, nullable, default in con.execute(
                            """SELECT column_name, data_type, is_nullable, column_default
                               FROM information_schema.columns WHERE table_name = ?
                               ORDER BY ordinal_position""", [table]).fetchall()}
                for table in ("scans", "files")}
    finally:
        con.close()


def scan_fields() -> list[str]:
    return [c for c in schema()["scans"] if c not in LOCAL]


def file_columns() -> list[str]:
    return [c for c in schema()["files"] if c != "scan_id"]


def digest_sql() -> str:
    """A sum of per-row hashes over every column: equal rows, equal digest."""
    return f"sum(hash({', '.join(map(ident, file_columns()))}))"
