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
    assert sorted(declared) == sorted(["WALK_SCHEMA", "IDENTIFICATION_SCHEMA", "SIGNATURES_SCHEMA", "INVENTORY_SCHEMA", "DB_TABLES_SCHEMA",
                                       "MAIL_FOLDERS_SCHEMA", "MAIL_FORMATS_SCHEMA"])
    assert {id(feed.schema) for feed in FEEDS} == {id(schema) for schema in declared.values()}
    assert {feed for feeds in TABLES.values() for feed in feeds} == set(FEEDS)
    assert TABLES["files"] == (schemas.WALK, schemas.IDENTIFICATION, schemas.SIGNATURES, schemas.INVENTORY)
    assert schemas.IDENTIFICATION.columns == ["puid", "format_name", "format_version", "mime", "id_basis",
                                              "id_warning", "magic_mime", "ext_mismatch", "error"]


# ---------------------------------------------------------------- one scanner contract

# Every module of scanners/ is a scanner (exports SCANNER, yields batches of a registered
# schema) or a helper of them: a new module must say which.
SCANNER_MODULES = {"filesystem": "filesystem", "findwalk": "filesystem", "identification": "identification",
                   "droid": "droid", "database": "database", "mail": "mail", "signatures": "signatures"}
HELPER_MODULES = {"schemas", "owners", "listing", "findparse", "fsaccess", "fsview", "hashing", "mounts", "parallel",
                  "siegfried", "sfprocess", "sqlitefile", "osname"}


def test_every_scanner_states_what_it_is():
    import importlib
    import pkgutil

    import scanners

    found = {info.name for info in pkgutil.iter_modules(scanners.__path__)}
    assert found == set(SCANNER_MODULES) | HELPER_MODULES
    for name, kind in SCANNER_MODULES.items():
        info = importlib.import_module(f"scanners.{name}").SCANNER
        assert info.kind == kind and info.feeds and set(info.feeds) <= set(FEEDS), name
    for name in HELPER_MODULES:
        assert not hasattr(importlib.import_module(f"scanners.{name}"), "SCANNER"), name


def _assert_batches(batches, feed: Feed) -> int:
    rows = 0
    for batch in batches:
        assert isinstance(batch, pa.RecordBatch) and batch.schema == feed.schema
        rows += batch.num_rows
    return rows


def _tree(root):
    (root / "dossier").mkdir(parents=True)
    (root / "dossier" / "note.txt").write_text("bonjour\n")
    (root / "vide.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    return root


def test_filesystem_walks_yield_their_schema(tmp_path):
    import os

    from scanners import filesystem, findwalk

    root = os.fsencode(_tree(tmp_path / "partage"))
    assert _assert_batches(filesystem.walk(root), filesystem.SCANNER.feeds[0]) == 3
    if findwalk.find_available():
        assert _assert_batches(findwalk.find_walk(root), findwalk.SCANNER.feeds[0]) == 3


def test_identification_yields_its_schema(tmp_path):
    import os
    from concurrent.futures import ThreadPoolExecutor

    from scanners import identification
    from scanners.identification import Candidate

    root = _tree(tmp_path / "partage")
    st = (root / "vide.pdf").stat()
    with ThreadPoolExecutor(1) as pool:
        batch = identification.identify_batch(os.fsencode(root), [Candidate(7, b"vide.pdf", st.st_size,
                                                                            st.st_mtime_ns // 1000, "pdf")],
                                              jobs=1, executor=pool)
    assert _assert_batches([batch], identification.SCANNER.feeds[0]) == 1


def test_inventory_yields_its_schema(tmp_path):
    from scanners import droid
    from tests.test_import_droid import write_droid

    stats = droid.InventoryStats()
    assert _assert_batches(droid.read_inventory(write_droid(tmp_path / "droid.csv"), stats),
                           droid.SCANNER.feeds[0]) == stats.entries == 5


def test_database_rows_make_its_schema(tmp_path):
    from scanners import database
    from tests.test_scan_db import make_sqlite

    engine, url, _, _ = database.open_engine(f"sqlite:///{make_sqlite(tmp_path / 'app.db')}")
    try:
        rows = list(database.scan_tables(engine, url, database.DbOptions()))
    finally:
        engine.dispose()
    batch = database.to_batch(rows, "État civil")
    assert _assert_batches([batch], database.SCANNER.feeds[0]) == 2
    assert set(batch.column("application").to_pylist()) == {"État civil"}


def test_mail_folders_make_their_schemas(tmp_path):
    from scanners import mail
    from tests.test_scan_mail import make_mailboxes

    folders = list(mail.scan_mail(make_mailboxes(tmp_path / "mails") / "eml"))
    batches = mail.to_batches(folders, "Courrier")
    assert [_assert_batches([batch], feed) for batch, feed in zip(batches, mail.SCANNER.feeds)] == [1, 1]
