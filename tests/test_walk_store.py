"""How walk batches become transactions: whole DuckDB row groups, each with the
directories whose entries it completes (resume relies on that), nothing left behind."""

from __future__ import annotations

import pyarrow as pa

from catalogue.scan import Tuning, run_scan
from catalogue.scan.walkstore import WalkBuffer
from tests.helpers import query

SCHEMA = pa.schema([("file_id", pa.int64())])


def _batch(first: int, n: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"file_id": list(range(first, first + n))}, schema=SCHEMA)


def _ids(tables) -> list[int]:
    return [i for t in tables for i in t.column("file_id").to_pylist()]


def test_transactions_hold_whole_row_groups_and_the_directories_they_complete():
    buffer = WalkBuffer(commit_rows=10, flush_seconds=5.0)
    buffer.add(_batch(0, 6), [b"a"])
    assert list(buffer.ready(final=False)) == []  # less than a row group: waits
    buffer.add(_batch(6, 7), [b"b"])
    [(table, done)] = buffer.ready(final=False)
    assert table.num_rows == 10 and _ids([table]) == list(range(10))
    # The second batch is split: its directory waits for the transaction holding its end.
    assert done == [b"a"]
    buffer.add(_batch(13, 20), [b"c", b"d"])
    [(table2, done2)] = buffer.ready(final=False)
    assert table2.num_rows == 20 and done2 == [b"b"]
    buffer.add(_batch(33, 0), [b""])  # the root, completed by an empty last batch
    [(table3, done3)] = buffer.ready(final=True)
    assert table3.num_rows == 3 and done3 == [b"c", b"d", b""]
    assert _ids([table, table2, table3]) == list(range(33))
    assert list(buffer.ready(final=True)) == [] and buffer.wait() is None


def test_entries_wait_no_longer_than_the_flush_delay():
    """A slow share: fewer entries than a row group are stored once they have waited."""
    buffer = WalkBuffer(commit_rows=1000, flush_seconds=0.0)
    buffer.add(_batch(0, 5), [b"a"])
    assert buffer.wait() == 0.0
    [(table, done)] = buffer.ready(final=False)
    assert table.num_rows == 5 and done == [b"a"]
    assert buffer.wait() is None


def test_a_scan_in_small_transactions_equals_one_in_a_single_one(tmp_path):
    """Through DuckDB: transactions of 7 entries (split batches, deferred directories) store
    the same rows and the same finished directories as the default."""
    root = tmp_path / "arbre"
    for d in range(5):
        (root / f"d{d}" / "sous").mkdir(parents=True)
        for f in range(9):
            (root / f"d{d}" / "sous" / f"f{f}.txt").write_text(f"{d}-{f}")
    results = []
    for rows in (7, Tuning().walk_commit_rows):
        db = tmp_path / f"c{rows}.duckdb"
        run_scan(str(root), "99801", db=str(db), quiet=True, identify=False, find_duplicates=False,
                 walker="python", tuning=Tuning(walk_commit_rows=rows))
        results.append((query(db, "SELECT path, kind, size FROM files ORDER BY path"),
                        query(db, "SELECT path FROM scan_dirs_done ORDER BY path")))
    assert results[0] == results[1]
    assert len(results[0][0]) == 5 * 11 and len(results[0][1]) == 5 * 2 + 1


def test_a_slow_walk_hands_over_batches_before_a_full_one(tmp_path):
    """On a slow share 20,000 entries take minutes: the walk hands over what it has after
    each directory once `batch_seconds` have passed, so the writer can store it in time
    (with 0 s: one batch per directory listed), and the entries are the same."""
    import os

    from scanners.filesystem import walk

    root = tmp_path / "arbre"
    for d in range(4):
        (root / f"d{d}").mkdir(parents=True)
        for f in range(3):
            (root / f"d{d}" / f"f{f}.txt").write_text("x")
    slow = list(walk(os.fsencode(root), batch_seconds=0.0))
    default = list(walk(os.fsencode(root)))
    # One per folder: a folder's own row goes out when it is listed, with its files.
    assert len(default) == 1 and len(slow) == 4
    assert sorted(p for b in slow for p in b.column("path").to_pylist()) == \
        sorted(p for b in default for p in b.column("path").to_pylist())
