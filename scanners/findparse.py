"""GNU find's output for the find walk (scanners/findwalk.py) as Arrow batches of the walk's rows.

Each entry is one record of NUL-terminated fields printed by `-printf FORMAT`; whole
chunks of records are split and converted by Arrow's kernels in C, with Python work
only per distinct value (owners, extensions) and per non-UTF-8 name.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from scanners.listing import decode
from scanners.owners import Owners
from scanners.schemas import WALK_SCHEMA

# One record per entry; the order of FIELDS is the order of the directives.
# Each find starts from entries of the root given by their names, with the root as its
# working directory: %p is then the path relative to the root.
# Parent, name and depth are derived from the path (%p) rather than printed (%h, %f, %d):
# find's output is a third smaller and each entry costs both processes less.
FIELDS = ("type", "size", "blocks", "mtime", "ctime", "uid", "device", "inode", "nlink", "link", "path")
FORMAT = "\\0".join(["%y", "%s", "%b", "%T@", "%C@", "%U", "%D", "%i", "%n", "%l", "%p"]) + "\\0"
K = len(FIELDS)
F = {name: i for i, name in enumerate(FIELDS)}
KINDS = {b"f": "file", b"d": "directory", b"l": "symlink"}  # find's %y; any other letter is "other"


def split_fields(data: bytes) -> pa.Array:
    """find's NUL-separated output as one binary array of fields, split in C: no Python
    object per field (11 per entry), which was a third of the parse."""
    return pc.split_pattern(pa.array([data], pa.binary()), "\0").flatten()


# No Arrow array is made at import time: outside a scan, pyarrow would import pandas
# (see catalogue/lean.py).
_STRIDES: list[pa.Array] = []


def _strides(n: int) -> pa.Array:
    """0, K, 2K… (n values): the positions of each entry's first field (one array, grown
    when a batch has more entries, sliced for the others)."""
    strides = _STRIDES[0] if _STRIDES else None  # one read: other parsing threads may replace it
    if strides is None or len(strides) < n:
        strides = pa.array(range(0, 2 * n * K, K), pa.int64())
        _STRIDES[:] = [strides]
    return strides.slice(0, n)


def _text(raw: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Text of a binary column of names (UTF-8 checked in C), plus the exact bytes of the
    rows that are not valid UTF-8 (None when all are)."""
    try:
        return raw.cast(pa.string()), None
    except pa.ArrowInvalid:
        pairs = [decode(b) for b in raw.to_pylist()]
        return pa.array([t for t, _ in pairs], pa.string()), pa.array([r for _, r in pairs], pa.binary())


def _ints(col: pa.Array, typ: pa.DataType) -> pa.Array:
    return col.cast(pa.string()).cast(typ)


def _micros(col: pa.Array) -> pa.Array:
    """find's %T@ ("seconds.fraction", seconds floored even before 1970) → µs since the epoch,
    floored like `st_mtime_ns // 1000`."""
    # GNU find prints ten digits after the point: fixed-width slices from the end then
    # cost a third of a split (checked on every value; a split otherwise).
    if len(col) and pc.all(pc.equal(pc.binary_slice(col, -11, -10), b".")).as_py():
        seconds = pc.binary_slice(col, 0, -11).cast(pa.string()).cast(pa.int64())
        micros = pc.binary_slice(col, -10, -4).cast(pa.string()).cast(pa.int64())
        return pc.add(pc.multiply(seconds, 1_000_000), micros).cast(pa.timestamp("us"))
    parts = pc.split_pattern(col.cast(pa.string()), ".")
    seconds = pc.list_element(parts, 0).cast(pa.int64())
    micros = pc.utf8_rpad(pc.utf8_slice_codeunits(pc.list_element(parts, 1), 0, 6), 6, "0").cast(pa.int64())
    return pc.add(pc.multiply(seconds, 1_000_000), micros).cast(pa.timestamp("us"))


def _lowered(values: pa.Array) -> pa.Array:
    """Python's str.lower on each value, computed once per distinct value (extensions are few)."""
    distinct = pc.unique(values)
    lowered = pa.array([v.lower() if v is not None else None for v in distinct.to_pylist()], pa.string())
    return pc.take(lowered, pc.index_in(values, distinct))


def _split_last(values: pa.Array, sep: str) -> tuple[pa.Array, pa.Array]:
    """Each value split at the last SEP: (before, after), before null where there is no SEP
    (a split, then two takes: several times cheaper than a regular expression)."""
    parts = pc.split_pattern(values, sep, max_splits=1, reverse=True)
    flat, offsets = parts.flatten(), parts.offsets
    ends = offsets.slice(1)
    before = pc.if_else(pc.equal(pc.list_value_length(parts), 2), pc.take(flat, offsets.slice(0, len(parts))),
                        pa.scalar(None, values.type))
    return before, pc.take(flat, pc.subtract(ends, 1))


def to_batch(fields: pa.Array, n: int, first_id: int, owners: Owners) -> tuple[pa.RecordBatch, list[bytes], dict]:
    """The batch of the first N entries of FIELDS (find's fields, K per entry), the
    directories it completes and its counts (files, bytes, entries by kind)."""
    cols = [pc.take(fields, pc.add(_strides(n), i)) for i in range(K)]
    kinds = pc.fill_null(pc.take(pa.array(KINDS.values(), pa.string()),
                                 pc.index_in(cols[F["type"]], pa.array(KINDS, pa.binary()))), "other")
    path, path_raw = _text(cols[F["path"]])
    # "/" is never part of a multi-byte sequence, so splitting the text equals decoding the
    # split bytes (the Python walk decodes parent and name apart).
    depth = pc.add(pc.count_substring(path, "/"), 1).cast(pa.int32())
    parent, name = _split_last(path, "/")
    parent = pc.fill_null(parent, "")
    # `extension_of`: after the last dot, 1 to 10 characters without a space, something before.
    base, ext = _split_last(name, ".")
    ext_length = pc.utf8_length(ext)
    valid = pc.and_(pc.and_(pc.is_in(kinds, pa.array(["file", "symlink"])), pc.greater(pc.utf8_length(base), 0)),
                    pc.and_(pc.and_(pc.greater(ext_length, 0), pc.less_equal(ext_length, 10)),
                            pc.invert(pc.match_substring(ext, " "))))
    extension = _lowered(pc.if_else(pc.fill_null(valid, False), ext, pa.scalar(None, pa.string())))
    size = _ints(cols[F["size"]], pa.int64())
    uids = _ints(cols[F["uid"]], pa.int64())
    distinct_uids = pc.unique(uids)
    names = pa.array([owners(u) for u in distinct_uids.to_pylist()], pa.string())
    owner = pc.take(names, pc.index_in(uids, distinct_uids))
    link, _ = _text(cols[F["link"]])
    link_target = pc.if_else(pc.equal(kinds, "symlink"), link, pa.scalar(None, pa.string()))
    if path_raw is None:
        path_raw = pa.nulls(n, pa.binary())
    columns = {
        "file_id": pa.array(range(first_id + 1, first_id + n + 1), pa.int64()),
        "path": path, "path_raw": path_raw, "parent": parent, "name": name,
        "extension": extension, "kind": kinds, "size": size,
        "allocated": pc.multiply(_ints(cols[F["blocks"]], pa.int64()), 512),
        "mtime": _micros(cols[F["mtime"]]), "ctime": _micros(cols[F["ctime"]]),
        "depth": depth, "owner": owner,
        "device": _ints(cols[F["device"]], pa.uint64()), "inode": _ints(cols[F["inode"]], pa.uint64()),
        "nlink": _ints(cols[F["nlink"]], pa.uint64()), "link_target": link_target,
        "error": pa.nulls(n, pa.string()),
    }
    # Post-order: each directory line ends that directory's subtree.
    done = pc.filter(cols[F["path"]], pc.equal(kinds, "directory")).to_pylist()
    is_file = pc.equal(kinds, "file")
    counts = {"kinds": {item["values"]: item["counts"] for item in pc.value_counts(kinds).to_pylist()},
              "files": pc.sum(is_file.cast(pa.int64())).as_py() or 0,
              "bytes": pc.sum(pc.filter(size, is_file)).as_py() or 0}
    return pa.RecordBatch.from_pydict(columns, schema=WALK_SCHEMA), done, counts
