"""Content hashing for duplicate detection, the fclones/jdupes way.

Only files that share their size with another inode can be duplicates; of those,
a partial hash (head + tail) weeds out most; only files still colliding get a full
xxh3-128. Reads use O_NOATIME where allowed and large sequential chunks. Partial
hashes of many small files run in worker processes (per-file Python work holds the GIL);
full hashes in threads (xxhash and os.read release it).
"""

from __future__ import annotations

import os
from array import array

import xxhash

from scanners.fsaccess import describe_oserror, open_path

EDGE_BYTES = 4096
CHUNK_BYTES = 1 << 20
# Up to this size a file is read whole at the first pass: one read costs about the same
# as head + tail, and its digest is final (no second open if it collides).
WHOLE_BYTES = 64 * 1024


def partial_digest(root: bytes, rel: bytes, size: int) -> tuple[bytes | None, bool, str | None]:
    """(16-byte xxh3-128 of head+tail, digest covers the whole file, error).

    Called for every candidate (most of a share's files): kept to a few system calls."""
    try:
        fd = open_path(root, rel)
    except OSError as exc:
        return None, False, describe_oserror(exc)
    try:
        if size <= WHOLE_BYTES:
            # One byte more than expected: a file that grew or shrank is caught without fstat.
            data = os.pread(fd, size + 1, 0)
            if len(data) != size:
                return None, False, "modifié pendant le scan"
            return xxhash.xxh3_128_digest(data), True, None
        if os.fstat(fd).st_size != size:
            return None, False, "modifié pendant le scan"
        edges = os.pread(fd, EDGE_BYTES, 0) + os.pread(fd, EDGE_BYTES, size - EDGE_BYTES)
        return xxhash.xxh3_128_digest(edges), False, None
    except OSError as exc:
        return None, False, describe_oserror(exc)
    finally:
        os.close(fd)


def full_hash(root: bytes, rel: bytes, size: int) -> tuple[str | None, str | None]:
    """(hex xxh3-128 of the whole content, error)."""
    try:
        fd = open_path(root, rel)
    except OSError as exc:
        return None, describe_oserror(exc)
    try:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        h = xxhash.xxh3_128()
        read = 0
        while True:
            buf = os.read(fd, CHUNK_BYTES)
            if not buf:
                break
            h.update(buf)
            read += len(buf)
        if read != size:
            return None, "modifié pendant le scan"
        return h.hexdigest(), None
    except OSError as exc:
        return None, describe_oserror(exc)
    finally:
        os.close(fd)


def partial_hash_packed(root: bytes, rels: bytes, sizes: bytes) -> tuple[bytes, bytes, list[tuple[int, str]]]:
    """partial_digest of many files, packed for a worker process: the relative paths come
    NUL-separated and the sizes as int64 (array "q"); the answer is the 16-byte digests
    end to end (zeros after an error), one byte per file for "whole", and the errors as
    (index, message). Pickling two bytes objects instead of lists of thousands of small
    ones is what keeps the parent process from limiting the workers."""
    sizes_array = array("q")
    sizes_array.frombytes(sizes)
    digests = bytearray()
    wholes = bytearray()
    errors = []
    for i, (rel, size) in enumerate(zip(rels.split(b"\0"), sizes_array)):
        digest, whole, error = partial_digest(root, rel, size)
        if error:
            errors.append((i, error))
        digests += digest or bytes(16)  # None after an error
        wholes.append(whole)
    return bytes(digests), bytes(wholes), errors
