"""Every Arrow schema the scanners produce, each beside the DuckDB table it feeds.

One place for the column names and types that cross from a scanner into the catalogue:
a scanner builds its batches with one of these schemas, the catalogue inserts them
`BY NAME` (or updates by key), and tests/test_schemas.py checks each schema against
its table in a real catalogue, so a field added here without a migration fails there.

The catalogue adds the columns a scanner cannot know: `scan_id` and `commune` on every
insert (CALLER_COLUMNS). The staging tables of the scan pipeline (catalogue/scan.py)
are its own business and are not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

# Columns of every scanner-fed table that the catalogue fills when it inserts a batch.
CALLER_COLUMNS = ("scan_id", "commune")

# The filesystem walk (scanners.filesystem, scanners.findwalk): one row per entry. The
# `files` columns filled later (identification, hashing) are absent and stay NULL.
WALK_SCHEMA = pa.schema([
    ("file_id", pa.int64()),
    ("path", pa.string()),
    ("path_raw", pa.binary()),
    ("parent", pa.string()),
    ("name", pa.string()),
    ("extension", pa.string()),
    ("kind", pa.string()),
    ("size", pa.int64()),
    ("allocated", pa.int64()),
    ("mtime", pa.timestamp("us")),
    ("ctime", pa.timestamp("us")),
    ("depth", pa.int32()),
    ("owner", pa.string()),
    ("device", pa.uint64()),
    ("inode", pa.uint64()),
    ("nlink", pa.uint64()),
    ("link_target", pa.string()),
    ("error", pa.string()),
])

# Identification (scanners.identification): one row per candidate file, which updates
# that file's `files` row (key file_id).
IDENTIFICATION_SCHEMA = pa.schema([
    ("file_id", pa.int64()),
    ("puid", pa.string()),
    ("format_name", pa.string()),
    ("format_version", pa.string()),
    ("mime", pa.string()),
    ("id_basis", pa.string()),
    ("id_warning", pa.string()),
    ("magic_mime", pa.string()),
    ("ext_mismatch", pa.bool_()),
    ("error", pa.string()),
])

# Signature detection (scanners.signatures, catalogue.scan.signatures): one row per
# examined file, which updates that file's `files` row (key file_id).
SIGNATURES_SCHEMA = pa.schema([
    ("file_id", pa.int64()),
    ("sig_kind", pa.string()),
    ("sig_count", pa.int32()),
    ("sig_signed_at", pa.timestamp("us")),
    ("sig_signer", pa.string()),
    ("sig_issuer", pa.string()),
    ("sig_not_after", pa.timestamp("us")),
    ("sig_error", pa.string()),
    ("signed", pa.bool_()),
])

# A DROID or siegfried CSV inventory (scanners.droid): the walk's columns plus what the
# export already knows (formats, a hash).
INVENTORY_SCHEMA = pa.schema(list(WALK_SCHEMA) + [
    ("puid", pa.string()), ("format_name", pa.string()), ("format_version", pa.string()), ("mime", pa.string()),
    ("id_basis", pa.string()), ("id_warning", pa.string()), ("ext_mismatch", pa.bool_()), ("hash", pa.string()),
])

# A business database (scanners.database): one row per table, aggregates only.
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

# A mailbox (scanners.mail): one row per mail folder, and one per attachment format of a folder.
MAIL_FOLDERS_SCHEMA = pa.schema([
    ("application", pa.string()), ("folder", pa.string()), ("messages", pa.int64()), ("bytes", pa.int64()),
    ("first_date", pa.timestamp("us")), ("last_date", pa.timestamp("us")), ("attachments", pa.int64()),
    ("attachment_bytes", pa.int64()), ("unreadable", pa.int64()), ("error", pa.string()),
])
MAIL_FORMATS_SCHEMA = pa.schema([
    ("application", pa.string()), ("folder", pa.string()), ("puid", pa.string()), ("format_name", pa.string()),
    ("mime", pa.string()), ("attachments", pa.int64()), ("bytes", pa.int64()),
])


@dataclass(frozen=True)
class Feed:
    """An Arrow schema and the DuckDB table its batches go into: inserted rows, or, with
    a `key`, updates of the rows that key names."""
    table: str
    schema: pa.Schema
    key: str | None = None

    @property
    def columns(self) -> list[str]:
        """The table columns a batch fills (the key only names the row it updates)."""
        return [name for name in self.schema.names if name != self.key]


WALK = Feed("files", WALK_SCHEMA)
IDENTIFICATION = Feed("files", IDENTIFICATION_SCHEMA, key="file_id")
SIGNATURES = Feed("files", SIGNATURES_SCHEMA, key="file_id")
INVENTORY = Feed("files", INVENTORY_SCHEMA)
DB_TABLES = Feed("db_tables", DB_TABLES_SCHEMA)
MAIL_FOLDERS = Feed("mail_folders", MAIL_FOLDERS_SCHEMA)
MAIL_FORMATS = Feed("mail_attachment_formats", MAIL_FORMATS_SCHEMA)

FEEDS = (WALK, IDENTIFICATION, SIGNATURES, INVENTORY, DB_TABLES, MAIL_FOLDERS, MAIL_FORMATS)
# Table name → the feeds that fill it.
TABLES: dict[str, tuple[Feed, ...]] = {
    table: tuple(feed for feed in FEEDS if feed.table == table) for table in dict.fromkeys(f.table for f in FEEDS)
}


@dataclass(frozen=True)
class ScannerInfo:
    """What a scanner module is (exported as its SCANNER): the kind of source it reads
    and the feeds its Arrow batches fill."""
    kind: str
    feeds: tuple[Feed, ...]

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(feed.table for feed in self.feeds)
