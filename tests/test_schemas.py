"""The schema registry (scanners/schemas.py) against a real catalogue: every field of
every Arrow schema a scanner produces exists in the DuckDB table it feeds, with the
type DuckDB gives that column. A field added to a schema without a migration fails here."""

from __future__ import annotations

import pyarrow as pa
import pytest

from catalogue.store import connect
from scanners import schemas
from scanners.schemas import CALLER_COLUMNS, FEEDS, TABLES, Feed

# Arrow type → the DuckDB type of a column that holds it as it is.
_DUCKDB_TYPES = {
    pa.string(): "VARCHAR", pa.binary(): "BLOB", pa.bool_(): "BOOLEAN",
    pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.uint64(): "UBIGINT", pa.float64(): "DOUBLE",
    pa.timestamp("us"): "TIMESTAMP", pa.date32(): "DATE",
}


def duckdb_type(arrow_type: pa.DataType) -> str:
    """DuckDB's spelling of the column type that stores ARROW_TYPE (KeyError for a type
    this test does not know yet: add it to _DUCKDB_TYPES)."""
    if pa.types.is_list(arrow_type):
        return duckdb_type(arrow_type.value_type) + "[]"
    if pa.types.is_struct(arrow_type):
        return "STRUCT(" + ", ".join(f"{f.name} {duckdb_type(f.type)}" for f in arrow_type) + ")"
    return _DUCKDB_TYPES[arrow_type]


@pytest.fixture(scope="module")
def columns(tmp_path_factory) -> dict[str, dict[str, tuple[str, bool]]]:
    """table → column → (DuckDB type, nullable) of a freshly created catalogue."""
    con = connect(tmp_path_factory.mktemp("schemas") / "c.duckdb")
    try:
        rows = con.execute("""SELECT table_name, column_name, data_type, is_nullable = 'YES', column_default
                              FROM information_schema.columns""").fetchall()
    finally:
        con.close()
    tables: dict[str, dict[str, tuple[str, bool]]] = {}
    for table, column, data_type, nullable, default in rows:
        tables.setdefault(table, {})[column] = (data_type, nullable or default is not None)
    return tables


def mismatches(feed: Feed, columns: dict[str, dict[str, tuple[str, bool]]]) -> list[str]:
    """What keeps FEED's batches from going into its table as they are."""
    table = columns.get(feed.table)
    if table is None:
        return [f"no table {feed.table} in the catalogue"]
    problems = []
    for field in feed.schema:
        if field.name not in table:
            problems.append(f"{feed.table}.{field.name} missing (no migration?)")
        elif table[field.name][0] != duckdb_type(field.type):
            problems.append(f"{feed.table}.{field.name} is {table[field.name][0]}, Arrow {field.type}")
    problems += [f"{feed.table}.{name} missing" for name in CALLER_COLUMNS if name not in table]
    if feed.key is None:
        # Inserted rows: every required column without a default comes from the batch or the caller.
        filled = set(feed.schema.names) | set(CALLER_COLUMNS)
        problems += [f"{feed.table}.{name} is NOT NULL and never filled"
                     for name, (_, optional) in table.items() if not optional and name not in filled]
    elif feed.key not in table:
        problems.append(f"key {feed.table}.{feed.key} missing")
    return problems


@pytest.mark.parametrize("feed", FEEDS, ids=[f"{f.table}:{','.join(f.schema.names[:2])}" for f in FEEDS])
def test_every_schema_fits_its_table(feed, columns):
    assert mismatches(feed, columns) == []


def test_a_field_without_migration_is_caught(columns):
    walk = schemas.WALK
    extra = Feed(walk.table, walk.schema.append(pa.field("colour", pa.string())))
    assert mismatches(extra, columns) == ["files.colour missing (no migration?)"]
    retyped = Feed(walk.table, walk.schema.set(walk.schema.get_field_index("size"), pa.field("size", pa.int32())))
    assert mismatches(retyped, columns) == ["files.size is BIGINT, Arrow int32"]
    partial = Feed(walk.table, walk.schema.remove(walk.schema.get_field_index("name")))
    assert mismatches(partial, columns) == ["files.name is NOT NULL and never filled"]


def test_registry_lists_every_schema_once():
    declared = {name: value for name, value in vars(schemas).items()
                if name.endswith("_SCHEMA") and isinstance(value, pa.Schema)}
    assert sorted(declared) == sorted(["WALK_SCHEMA", "IDENTIFICATION_SCHEMA", "INVENTORY_SCHEMA", "DB_TABLES_SCHEMA",
                                       "MAIL_FOLDERS_SCHEMA", "MAIL_FORMATS_SCHEMA"])
    assert {id(feed.schema) for feed in FEEDS} == {id(schema) for schema in declared.values()}
    assert {feed for feeds in TABLES.values() for feed in feeds} == set(FEEDS)
    assert TABLES["files"] == (schemas.WALK, schemas.IDENTIFICATION, schemas.INVENTORY)
    assert schemas.IDENTIFICATION.columns == ["puid", "format_name", "format_version", "mime", "id_basis",
                                              "id_warning", "magic_mime", "ext_mismatch", "error"]
