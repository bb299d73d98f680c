"""Format identification: siegfried (PRONOM) through pygfried, libmagic through python-magic.

Siegfried gives the PUID, format name and version, MIME, basis and warning; libmagic
gives a MIME type where siegfried has no signature-based match, and helps flag extensions
that lie. Siegfried runs in a process of its own (scanners.sfprocess) with its own Go
workers (`jobs`) and is the only one to open most files: this side checks with lstat
that each file is still the one the walk saw (`prepare_batch`), and reads a file's head
only for libmagic (no signature match) or to explain an error siegfried met
(`finish_batch`), while siegfried works on the next batch (`identify_batches`). libmagic
handles are not thread-safe, so each worker thread has its own.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import stat
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import magic
import pyarrow as pa

from scanners.fsaccess import LONG_PATH, describe_oserror, join, open_path, proc_fd_path
from scanners.parallel import map_chunks
from scanners.schemas import IDENTIFICATION, IDENTIFICATION_SCHEMA, ScannerInfo
from scanners.sfprocess import Siegfried, identify_names
from scanners.siegfried import pygfried

SCANNER = ScannerInfo("identification", (IDENTIFICATION,))

HEAD_BYTES = 16384
# Batches sent to siegfried ahead of the one this process finishes: its queue never runs dry
# while a batch heavy in libmagic work is finished here.
IN_FLIGHT = 2
GENERIC_MIMES = {"application/octet-stream", "text/plain", "inode/x-empty", "application/x-empty"}

@dataclass
class Candidate:
    file_id: int
    rel: bytes           # exact relative path
    size: int
    mtime_us: int
    extension: str | None
    name: str = ""       # as the catalogue stores it (signature detection reads it)


def identifier_version() -> str:
    return f"siegfried {pygfried.version()} (PRONOM, default.sig) + libmagic {magic.version()}"


def signature_version(header: Mapping[str, Any]) -> str:
    """siegfried's version and signature files (HEADER: `Siegfried.header`), and libmagic's:
    what an identification cached for a content stays valid for."""
    files = "; ".join(header.get("identifiers") or [])
    return (f"siegfried {header.get('siegfried')} {header.get('signature')} {header.get('created')} ({files})"
            f" + libmagic {magic.version()}")


# Bases of a match on the content itself: a file matched otherwise (extension only, text)
# also gets libmagic's opinion.
_SIGNATURE_BASES = ("byte match", "container match", "xml match")


def signature_based(match: Mapping[str, Any] | None) -> bool:
    """Whether siegfried identified the file from its content (a PUID by byte, container or
    XML signature, not by extension or as text): libmagic then has nothing to add."""
    if not match or match.get("id") in (None, "", "UNKNOWN"):
        return False
    basis = match.get("basis") or ""
    return "text match" not in basis and any(b in basis for b in _SIGNATURE_BASES)


_local = threading.local()


def _magic() -> magic.Magic:
    if not hasattr(_local, "magic"):
        _local.magic = magic.Magic(mime=True)
    return _local.magic


def _changed(st: os.stat_result, cand: Candidate) -> str | None:
    """Why the entry STAT describes is no longer the file the walk saw, if it is not."""
    if not stat.S_ISREG(st.st_mode):
        return "n'est plus un fichier ordinaire"
    if st.st_size != cand.size or st.st_mtime_ns // 1000 != cand.mtime_us:
        return "modifié pendant le scan"
    return None


def check_unchanged(root: bytes, cand: Candidate) -> str | None:
    """The error to record if CAND is gone or changed since the walk; lstat, no open."""
    full = join(root, cand.rel)
    try:
        if len(full) < LONG_PATH:
            return _changed(os.lstat(full), cand)
        fd = open_path(root, cand.rel)  # too long for one call: descended by descriptors
        try:
            return _changed(os.fstat(fd), cand)
        finally:
            os.close(fd)
    except OSError as exc:
        return describe_oserror(exc)


def _read_head(root: bytes, cand: Candidate) -> tuple[str | None, str | None]:
    """(libmagic MIME, error). Also checks the file is still the regular file the walk saw."""
    try:
        fd = open_path(root, cand.rel)
    except OSError as exc:
        return None, describe_oserror(exc)
    try:
        changed = _changed(os.fstat(fd), cand)
        if changed:
            return None, changed
        head = os.pread(fd, HEAD_BYTES, 0)
    except OSError as exc:
        return None, describe_oserror(exc)
    finally:
        os.close(fd)
    if not head:
        return "inode/x-empty", None
    try:
        return _magic().from_buffer(head), None
    except magic.MagicException:
        return None, None


def _mismatch(ext: str | None, puid: str | None, warning: str, magic_mime: str | None) -> bool:
    if "extension mismatch" in warning:
        return True
    if puid and puid != "UNKNOWN":
        return False
    # The extension names formats that have signatures, and none of them matched.
    if "possibilities based on extension" in warning:
        return True
    # Siegfried could not tell: compare what libmagic saw with what the extension claims.
    if not ext or not magic_mime or magic_mime in GENERIC_MIMES:
        return False
    claimed = mimetypes.types_map.get("." + ext)
    if not claimed:
        return False
    return claimed.split("/")[0] != magic_mime.split("/")[0]


@dataclass
class Prepared:
    """A batch checked and named for siegfried, waiting for its results."""

    candidates: list[Candidate]
    heads: list[tuple[str | None, str | None]]  # (libmagic MIME, error) per candidate
    sf_index: dict[str, int]                    # name given to siegfried -> candidate
    aliases: _Aliases

    @property
    def names(self) -> list[str]:
        return list(self.sf_index)


def prepare_batch(root: bytes, candidates: list[Candidate], executor: ThreadPoolExecutor,
                  view: bytes | None = None) -> Prepared:
    """Check each candidate is still the file the walk saw (lstat) and name it for siegfried.

    VIEW is where siegfried reads the root (scanners.fsview.preserving_view: a read-only,
    noatime clone, since siegfried opens files without O_NOATIME); ROOT by default."""
    checks = map_chunks(executor, lambda c: check_unchanged(root, c), candidates)
    heads: list[tuple[str | None, str | None]] = [(None, err) for err in checks]
    view = view or root
    aliases = _Aliases(view)
    sf_index: dict[str, int] = {}
    try:
        for i, (cand, err) in enumerate(zip(candidates, checks)):
            if err:
                continue
            text = _siegfried_name(join(view, cand.rel)) or aliases.name(i, cand)
            if text is not None:
                sf_index[text] = i
    except BaseException:
        aliases.close()
        raise
    return Prepared(candidates, heads, sf_index, aliases)


def finish_batch(root: bytes, prep: Prepared, results: Sequence[Mapping[str, Any]],
                 executor: ThreadPoolExecutor) -> pa.RecordBatch:
    """One result row per candidate of PREP, errors included, from siegfried's RESULTS."""
    prep.aliases.close()
    matches, sf_errors = _siegfried_matches(prep, results)
    heads = prep.heads
    # A second open only where libmagic has something to add, or to tell a read error
    # (its French description) from a format error siegfried met in a readable file.
    again = [i for i, (_, err) in enumerate(heads)
             if err is None and (sf_errors[i] or not signature_based(matches[i]))]
    for i, head in zip(again, map_chunks(executor, lambda i: _read_head(root, prep.candidates[i]), again)):
        heads[i] = head
    return _result_batch(prep.candidates, heads, matches, sf_errors)


def identify_batches(root: bytes, batches: Iterable[list[Candidate]], *, siegfried: Siegfried,
                     executor: ThreadPoolExecutor, view: bytes | None = None
                     ) -> Iterator[tuple[list[Candidate], pa.RecordBatch]]:
    """Identify BATCHES in order: each batch with its results. Pipelined: siegfried (its own
    process) identifies a batch while this process runs libmagic on the previous one and
    the caller stores it."""
    inflight: deque[Prepared] = deque()
    try:
        for cands in batches:
            prep = prepare_batch(root, cands, executor, view)
            siegfried.send(prep.names)
            inflight.append(prep)
            if len(inflight) > IN_FLIGHT:
                done = inflight.popleft()
                yield done.candidates, finish_batch(root, done, siegfried.receive(), executor)
        while inflight:
            done = inflight.popleft()
            yield done.candidates, finish_batch(root, done, siegfried.receive(), executor)
    finally:
        for prep in inflight:
            prep.aliases.close()


def identify_batch(root: bytes, candidates: list[Candidate], *, jobs: int,
                   executor: ThreadPoolExecutor, view: bytes | None = None) -> pa.RecordBatch:
    """Identify one batch of regular files, siegfried in this process; one result row per
    candidate, errors included."""
    prep = prepare_batch(root, candidates, executor, view)
    return finish_batch(root, prep, identify_names(prep.names, jobs), executor)


def _siegfried_name(full: bytes) -> str | None:
    """FULL as siegfried takes it (a UTF-8 string of normal length, no newline), or None."""
    try:
        text = full.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if len(full) < LONG_PATH and "\n" not in text else None


class _Aliases:
    """Names siegfried can take for files whose own names it cannot: a symlink of ours
    (never in the scanned tree) to a descriptor we hold, named with the file's extension
    so extension matching still works. The descriptor is opened in the view: siegfried's
    own open of the alias then goes through the view's noatime mount too. The link names
    the descriptor by our pid: siegfried runs in another process."""

    def __init__(self, view: bytes) -> None:
        self.view = view
        self.fds: list[int] = []
        self.tmp: str | None = None  # made only when a name needs an alias (rare): a kill leaves none behind

    def name(self, i: int, cand: Candidate) -> str | None:
        """An alias of CAND (the I-th of its batch), or None when it cannot be opened."""
        try:
            fd = open_path(self.view, cand.rel)
        except OSError:
            return None
        self.fds.append(fd)
        self.tmp = self.tmp or tempfile.mkdtemp(prefix="catalogage-sf-")
        text = os.path.join(self.tmp, f"{i}.{cand.extension or 'bin'}")
        os.symlink(proc_fd_path(fd), text)
        return text

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


def _siegfried_matches(prep: Prepared, results: Sequence[Mapping[str, Any]]
                       ) -> tuple[list[Mapping[str, Any] | None], list[str | None]]:
    """Siegfried's first match and its error (if any) for each candidate of PREP."""
    matches: list[Mapping[str, Any] | None] = [None] * len(prep.candidates)
    sf_errors: list[str | None] = [None] * len(prep.candidates)
    for res in results:
        at = prep.sf_index.get(res["filename"])
        if at is None:
            continue
        if res.get("matches"):
            matches[at] = res["matches"][0]
        if res.get("errors") and res["errors"] != "empty source":
            sf_errors[at] = res["errors"]
    return matches, sf_errors


def _warning(match: Mapping[str, Any], sf_error: str | None) -> str:
    """Siegfried's warning, with its parse error if any: an error about the format (a
    truncated ZIP, say), not about reading the file, so the file stays in duplicates."""
    warning = match.get("warning") or ""
    if sf_error:
        return f"{warning}; erreur siegfried : {sf_error}" if warning else f"erreur siegfried : {sf_error}"
    return warning


def _result_batch(candidates: list[Candidate], heads: list[tuple[str | None, str | None]],
                  matches: list[Mapping[str, Any] | None], sf_errors: list[str | None]) -> pa.RecordBatch:
    cols: dict[str, list] = {f.name: [] for f in IDENTIFICATION_SCHEMA}
    for cand, (magic_mime, err), match, sf_error in zip(candidates, heads, matches, sf_errors):
        # A file found changed or unreadable keeps nothing siegfried said of it.
        m, sf_error = ({}, None) if err else (match or {}, sf_error)
        puid = m.get("id") or None
        warning = _warning(m, sf_error)
        cols["file_id"].append(cand.file_id)
        cols["puid"].append(puid)
        cols["format_name"].append(m.get("format") or None)
        cols["format_version"].append(m.get("version") or None)
        cols["mime"].append(m.get("mime") or None)
        cols["id_basis"].append(m.get("basis") or None)
        cols["id_warning"].append(warning or None)
        cols["magic_mime"].append(magic_mime)
        cols["ext_mismatch"].append(None if err else _mismatch(cand.extension, puid, warning, magic_mime))
        cols["error"].append(err)
    return pa.RecordBatch.from_pydict(cols, schema=IDENTIFICATION_SCHEMA)
