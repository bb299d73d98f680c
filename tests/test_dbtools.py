"""The shared DuckDB helpers, on a real DuckDB database: transactions all or nothing,
registered Arrow tables gone after their block, rows as dicts, key-range pages."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from catalogue.dbtools import dict_row, dict_rows, one, pages, registered, scalar, transaction


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    con.execute("CREATE TABLE t (file_id BIGINT, name VARCHAR)")
    yield con
    con.close()


def test_transaction_commits_or_rolls_back_everything(con):
    with transaction(con):
        con.execute("INSERT INTO t VALUES (1, 'a')")
    with pytest.raises(KeyboardInterrupt):
        with transaction(con):
            con.execute("INSERT INTO t VALUES (2, 'b')")
            raise KeyboardInterrupt  # a Ctrl-C mid-way: nothing of it is kept
    with pytest.raises(duckdb.Error):
        with transaction(con):
            con.execute("INSERT INTO t VALUES (3, 'c')")
            con.execute("INSERT INTO absent VALUES (1)")
    assert con.execute("SELECT file_id FROM t").fetchall() == [(1,)]
    with transaction(con):  # the connection is usable again
        con.execute("INSERT INTO t VALUES (4, 'd')")
    assert scalar(con.execute("SELECT count(*) FROM t")) == 2


def test_registered_table_is_gone_after_its_block(con):
    table = pa.table({"file_id": [1, 2], "name": ["x", "y"]})
    with registered(con, "_rows", table) as name:
        con.execute(f"INSERT INTO t SELECT * FROM {name}")
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM _rows")
    with pytest.raises(ValueError):
        with registered(con, "_rows", table):
            raise ValueError
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM _rows")
    assert scalar(con.execute("SELECT count(*) FROM t")) == 2


def test_rows_as_dicts(con):
    con.execute("INSERT INTO t VALUES (1, 'a'), (2, NULL)")
    assert dict_rows(con.execute("SELECT * FROM t ORDER BY file_id")) == [
        {"file_id": 1, "name": "a"}, {"file_id": 2, "name": None}]
    assert dict_row(con.execute("SELECT name, file_id FROM t WHERE file_id = 2")) == {"name": None, "file_id": 2}
    assert dict_row(con.execute("SELECT * FROM t WHERE file_id = 3")) is None
    assert dict_rows(con.execute("SELECT * FROM t WHERE false")) == []
    assert one(con.execute("SELECT min(file_id), max(file_id) FROM t")) == (1, 2)
    with pytest.raises(LookupError):
        one(con.execute("SELECT * FROM t WHERE false"))


def test_pages_cover_every_row_once_in_key_order(con):
    # Gaps in the keys (deleted rows) and a last range that is not full.
    con.execute("INSERT INTO t SELECT i, 'n' || i FROM range(1, 48) r(i) WHERE i % 5 <> 0")
    got = list(pages(con, "SELECT file_id, name FROM t WHERE name IS NOT NULL", [], size=10))
    assert [len(p) for p in got] == [8, 8, 8, 8, 6]
    assert [r[0] for p in got for r in p] == [i for i in range(1, 48) if i % 5]
    assert list(pages(con, "SELECT file_id FROM t WHERE file_id > ?", [100], size=10)) == []
