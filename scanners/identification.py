"""Format identification: siegfried (PRONOM) through pygfried, libmagic through python-magic.

Siegfried gives the PUID, format name and version, MIME, basis and warning; libmagic
gives a MIME type where siegfried has none, and helps flag extensions that lie.
Siegfried runs its own Go workers (`jobs`); the Python side only reads each file's
head (for libmagic and to check the file is still the one the walk saw). libmagic
handles are not thread-safe, so each worker thread has its own.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import stat
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import magic
import pyarrow as pa

from scanners.fsaccess import LONG_PATH, describe_oserror, join, open_path
from scanners.parallel import map_chunks
from scanners.schemas import IDENTIFICATION, IDENTIFICATION_SCHEMA, ScannerInfo
from scanners.siegfried import pygfried

SCANNER = ScannerInfo("identification", (IDENTIFICATION,))

HEAD_BYTES = 16384
GENERIC_MIMES = {"application/octet-stream", "text/plain", "inode/x-empty", "application/x-empty"}

@dataclass
class Candidate:
    file_id: int
    rel: bytes           # exact relative path
    size: int
    mtime_us: int
    extension: str | None


def identifier_version() -> str:
    return f"siegfried {pygfried.version()} (PRONOM, default.sig) + libmagic {magic.version()}"


_local = threading.local()


def _magic() -> magic.Magic:
    if not hasattr(_local, "magic"):
        _local.magic = magic.Magic(mime=True)
    return _local.magic


def _read_head(root: bytes, cand: Candidate) -> tuple[str | None, str | None]:
    """(libmagic MIME, error). Also checks the file is still the regular file the walk saw."""
    try:
        fd = open_path(root, cand.rel)
    except OSError as exc:
        return None, describe_oserror(exc)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "n'est plus un fichier ordinaire"
        if st.st_size != cand.size or st.st_mtime_ns // 1000 != cand.mtime_us:
            return None, "modifié pendant le scan"
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
    return bool(claimed) and claimed.split("/")[0] != magic_mime.split("/")[0]


def identify_batch(root: bytes, candidates: list[Candidate], *, jobs: int,
                   executor: ThreadPoolExecutor, view: bytes | None = None) -> pa.RecordBatch:
    """Identify a batch of regular files; one result row per candidate, errors included.

    VIEW is where siegfried reads the root (scanners.fsview.preserving_view: a read-only,
    noatime clone, since siegfried opens files without O_NOATIME); ROOT by default."""
    view = view or root
    heads = map_chunks(executor, lambda c: _read_head(root, c), candidates)
    to_sf: list[str] = []
    sf_index: dict[str, int] = {}
    aliases: list[int] = []
    tmp: str | None = None  # made only when a name needs an alias (rare): a kill leaves none behind
    try:
        for i, (cand, (_, err)) in enumerate(zip(candidates, heads)):
            if err:
                continue
            full = join(view, cand.rel)
            try:
                text = full.decode("utf-8")
                usable = len(full) < LONG_PATH and "\n" not in text
            except UnicodeDecodeError:
                usable = False
            if not usable:
                # Siegfried takes UTF-8 strings of normal length: give it an alias, a
                # symlink of ours (never in the scanned tree) to a descriptor we hold,
                # named with the same extension so extension matching still works. The
                # descriptor is opened in the view: siegfried's own open of the alias
                # then goes through the view's noatime mount too.
                try:
                    fd = open_path(view, cand.rel)
                except OSError:
                    continue
                aliases.append(fd)
                tmp = tmp or tempfile.mkdtemp(prefix="catalogage-sf-")
                text = os.path.join(tmp, f"{i}.{cand.extension or 'bin'}")
                os.symlink(f"/proc/self/fd/{fd}", text)
            sf_index[text] = i
            to_sf.append(text)
        results = pygfried.identify_many(to_sf, workers=max(1, jobs))["files"] if to_sf else []
    finally:
        for fd in aliases:
            os.close(fd)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    matches: list[dict | None] = [None] * len(candidates)
    sf_errors: list[str | None] = [None] * len(candidates)
    for res in results:
        i = sf_index.get(res["filename"])
        if i is None:
            continue
        if res.get("matches"):
            matches[i] = res["matches"][0]
        if res.get("errors") and res["errors"] != "empty source":
            sf_errors[i] = res["errors"]
    cols: dict[str, list] = {f.name: [] for f in IDENTIFICATION_SCHEMA}
    for i, cand in enumerate(candidates):
        magic_mime, err = heads[i]
        m = matches[i] or {}
        puid = m.get("id") or None
        warning = m.get("warning") or ""
        cols["file_id"].append(cand.file_id)
        cols["puid"].append(puid)
        cols["format_name"].append(m.get("format") or None)
        cols["format_version"].append(m.get("version") or None)
        cols["mime"].append(m.get("mime") or None)
        cols["id_basis"].append(m.get("basis") or None)
        # A siegfried parse error (a truncated ZIP, say) is about the format, not about
        # reading the file: it goes with the warning, and the file stays in duplicates.
        if sf_errors[i]:
            warning = f"{warning}; erreur siegfried : {sf_errors[i]}" if warning else f"erreur siegfried : {sf_errors[i]}"
        cols["id_warning"].append(warning or None)
        cols["magic_mime"].append(magic_mime)
        cols["ext_mismatch"].append(None if err else _mismatch(cand.extension, puid, warning, magic_mime))
        cols["error"].append(err)
    return pa.RecordBatch.from_pydict(cols, schema=IDENTIFICATION_SCHEMA)

