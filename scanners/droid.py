"""Read an existing DROID or siegfried CSV inventory as a filesystem scan.

Both exports list one file per row with its size, date, format (PUID) and, when the
archivist asked for it, a hash. Rows become `files` rows, streamed as Arrow batches,
so volumes, formats, duplicates (where hashes exist) and déchets work as for our scans.

- DROID (`ID, PARENT_ID, URI, FILE_PATH, NAME, METHOD, STATUS, SIZE, TYPE, EXT,
  LAST_MODIFIED, EXTENSION_MISMATCH, <ALGO>_HASH, FORMAT_COUNT, PUID, MIME_TYPE,
  FORMAT_NAME, FORMAT_VERSION`, the last four repeating for extra formats): files and
  folders; entries inside archives (URIs other than `file:`) are counted, not listed.
- siegfried (`filename, filesize, modified, errors, [hash], namespace, id, format,
  version, mime, [class], basis, warning`, the identification block repeating per
  identifier): files only.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa

from catalogue.errors import CatalogueError
from scanners.filesystem import extension_of
from scanners.schemas import INVENTORY, INVENTORY_SCHEMA, ScannerInfo

SCANNER = ScannerInfo("droid", (INVENTORY,))  # DROID and siegfried exports alike

BATCH_ROWS = 20_000
DROID_HEADERS = ["ID", "PARENT_ID", "URI", "FILE_PATH", "NAME", "METHOD", "STATUS", "SIZE", "TYPE", "EXT",
                 "LAST_MODIFIED", "EXTENSION_MISMATCH"]
SF_HEADERS = ["filename", "filesize", "modified", "errors"]

@dataclass
class InventoryStats:
    kind: str = ""          # droid or siegfried
    tool: str = ""
    root: str = ""
    entries: int = 0
    files: int = 0
    bytes: int = 0
    errors: int = 0
    in_archives: int = 0    # DROID rows for files inside archives, not listed
    hash_algorithm: str | None = None
    problems: list[str] = field(default_factory=list)


_ANCHOR = re.compile(r"^(?://[^/]+/[^/]+|[A-Za-z]:/?|/)")


def _normal(path: str) -> str | None:
    """`/`-separated, `.` and `..` resolved lexically; the anchor (Windows drive, UNC
    share, `/`) kept. None when a `..` climbs above that anchor. A relative path keeps
    its leading `..` (siegfried run on `../partage` writes them): they belong to its root."""
    path = path.replace("\\", "/")
    unc = path.startswith("//")
    path = ("/" if unc else "") + re.sub(r"/+", "/", path)
    match = _ANCHOR.match(path)
    anchor = match.group(0) if match else ""
    out: list[str] = []
    for segment in path[len(anchor):].split("/"):
        if segment in ("", "."):
            continue
        if segment != "..":
            out.append(segment)
        elif out and out[-1] != "..":
            out.pop()
        elif anchor:
            return None
        else:
            out.append(segment)
    if anchor.endswith(":"):
        anchor += "/"  # C:folder (drive-relative) is taken as C:/folder
    if anchor and not anchor.endswith("/") and out:
        anchor += "/"
    return anchor + "/".join(out)


def _plain(path: str) -> str:
    """The path with `/` separators only, as written: compared with `_normal` to tell
    the rows that had `.` or `..` segments."""
    path = path.replace("\\", "/")
    unc = path.startswith("//")
    path = ("/" if unc else "") + re.sub(r"/+", "/", path)
    return path if path in ("/", "//") or re.fullmatch(r"[A-Za-z]:/", path) else path.rstrip("/")


def _under(path: str, root: str) -> bool:
    return not root or path == root or path.startswith(root if root.endswith("/") else root + "/")


def _from_uri(uri: str) -> str:
    parsed = urlparse(uri)
    path = unquote(parsed.path)
    if re.match(r"^/[A-Za-z]:/", path):
        path = path[1:]  # file:/C:/… → C:/…
    if parsed.netloc:
        path = f"//{parsed.netloc}{path}"
    return path


def _date(text: str) -> dt.datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _int(text: str) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def detect(header: list[str]) -> str:
    """droid or siegfried; otherwise a French refusal naming what was expected."""
    clean = [h.strip().lstrip("\ufeff") for h in header]
    if clean[:len(DROID_HEADERS)] == DROID_HEADERS:
        return "droid"
    if [h.lower() for h in clean[:4]] == SF_HEADERS:
        return "siegfried"
    raise CatalogueError(
        "Ce CSV n'est ni un export DROID ni un export siegfried. En-têtes attendus : DROID « "
        + ", ".join(DROID_HEADERS) + ", <ALGO>_HASH, FORMAT_COUNT, PUID, MIME_TYPE, FORMAT_NAME, FORMAT_VERSION » "
        "ou siegfried « " + ", ".join(SF_HEADERS) + ", [hash], namespace, id, format, version, mime, basis, "
        "warning ».")


class _Records:
    """One normalised record per listed entry: (absolute path, kind, fields)."""

    def __init__(self, path: Path):
        self.path = path

    def rows(self) -> Iterator:
        """The export's kind (droid or siegfried), then one tagged record per row: ("entry",
        path, fields), ("archive", None, None) or ("problem", line, reason)."""
        with open(self.path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader)
            except StopIteration:
                raise CatalogueError(f"{self.path.name} : fichier CSV vide.") from None
            kind = detect(header)
            yield kind
            columns = _DroidColumns(header) if kind == "droid" else _SiegfriedColumns(header)
            for line, row in enumerate(reader, start=2):
                if row and any(row):
                    yield columns.record(line, row)


class _DroidColumns:
    """Where a DROID export keeps each field, and a row read through it."""

    def __init__(self, header: list[str]) -> None:
        self.idx = {h.strip().lstrip("\ufeff"): i for i, h in enumerate(header)}
        self.hash_col = next((h for h in self.idx if h == "HASH" or h.endswith("_HASH")), None)
        self.algo = None if self.hash_col in (None, "HASH") else self.hash_col[:-5].lower()
        self.first_format = self.idx.get("PUID")

    def get(self, row: list[str], name: str) -> str:
        i = self.idx.get(name)
        return row[i] if i is not None and i < len(row) else ""

    def formats(self, row: list[str]) -> list[tuple]:
        """(PUID, MIME, name, version) of each format block of the row (the last four repeat)."""
        formats: list[tuple] = []
        if self.first_format is not None:
            for k in range(self.first_format, len(row), 4):
                puid = row[k].strip() if k < len(row) else ""
                if puid:
                    formats.append((puid, *(row[k + j].strip() if k + j < len(row) else "" for j in (1, 2, 3))))
        return formats

    def record(self, line: int, row: list[str]) -> tuple:
        uri = self.get(row, "URI")
        if uri and not uri.lower().startswith("file:"):
            return ("archive", None, None)
        path = self.get(row, "FILE_PATH") or (_from_uri(uri) if uri else "")
        if not path:
            return ("problem", line, "chemin absent")
        is_file = self.get(row, "TYPE").strip().lower() != "folder"
        status = self.get(row, "STATUS").strip().upper()
        digest = self.get(row, self.hash_col).strip() if self.hash_col else ""
        return _entry(line, path, {
            "kind": "file" if is_file else "directory", "size": _int(self.get(row, "SIZE")) if is_file else None,
            "mtime": _date(self.get(row, "LAST_MODIFIED")), "formats": self.formats(row),
            "basis": self.get(row, "METHOD").strip() or None,
            "mismatch": self.get(row, "EXTENSION_MISMATCH").strip().lower() == "true" if is_file else None,
            "hash": f"{self.algo or 'hash'}:{digest.lower()}" if digest else None,
            "error": None if status in ("", "DONE") else f"lecture impossible pour DROID ({status})",
            "algo": self.algo or ("inconnu" if digest else None)})


class _SiegfriedColumns:
    """Where a siegfried export keeps each field (an identification block per identifier),
    and a row read through it."""

    def __init__(self, header: list[str]) -> None:
        self.lower = [h.strip().lstrip("\ufeff").lower() for h in header]
        self.hash_col = 4 if len(self.lower) > 4 and self.lower[4] != "namespace" else None
        self.algo = self.lower[4] if self.hash_col is not None else None
        self.blocks = [i for i, h in enumerate(self.lower) if h == "namespace"]

    def formats(self, row: list[str]) -> tuple[list[tuple], str | None, str | None]:
        """(PUID, MIME, name, version) of each PRONOM identification, and the first warning
        and basis among them."""
        formats: list[tuple] = []
        warning, basis = None, None
        for start in self.blocks:
            block = dict(zip(self.lower[start:], row[start:]))
            puid = (block.get("id") or "").strip()
            if puid and (block.get("namespace") or "").strip().lower() in ("pronom", ""):
                formats.append((puid, block.get("mime", "").strip(), block.get("format", "").strip(),
                                block.get("version", "").strip()))
                warning = warning or (block.get("warning") or "").strip() or None
                basis = basis or (block.get("basis") or "").strip() or None
        return formats, warning, basis

    def record(self, line: int, row: list[str]) -> tuple:
        path = row[0]
        if not path:
            return ("problem", line, "chemin absent")
        formats, warning, basis = self.formats(row)
        errors = row[3].strip() if len(row) > 3 else ""
        digest = row[self.hash_col].strip() if self.hash_col is not None and self.hash_col < len(row) else ""
        return _entry(line, path, {
            "kind": "file", "size": _int(row[1]), "mtime": _date(row[2]), "formats": formats,
            "basis": basis, "warning": warning, "mismatch": bool(warning and "extension mismatch" in warning),
            "hash": f"{self.algo}:{digest.lower()}" if digest else None,
            "error": f"lecture impossible pour siegfried ({errors})" if errors else None, "algo": self.algo})


def _entry(line: int, path: str, rec: dict) -> tuple:
    normal = _normal(path)
    if normal is None:
        return ("problem", line, f"chemin qui remonte au-dessus de son lecteur ou de son partage ({path})")
    rec["dotted"], rec["line"] = normal != _plain(path), line
    return ("entry", normal, rec)


class _CommonFolder:
    """The deepest folder holding every path added."""

    def __init__(self):
        self.common: list[str] | None = None

    def add(self, path: str) -> None:
        parts = path.rstrip("/").split("/")[:-1]
        if self.common is None:
            self.common = parts
            return
        n = 0
        while n < min(len(self.common), len(parts)) and self.common[n] == parts[n]:
            n += 1
        del self.common[n:]

    @property
    def value(self) -> str | None:
        if self.common is None:
            return None
        return "/".join(self.common) or ("/" if self.common else "")


def _root_of(entries) -> str:
    """The inventory's root: the deepest folder holding every path written without `.`
    or `..` segments, so that a row climbing out with `..` cannot widen it (every path,
    if all have such segments)."""
    plain, every = _CommonFolder(), _CommonFolder()
    for path, rec in entries:
        every.add(path)
        if not rec["dotted"]:
            plain.add(path)
    root = plain.value if plain.value is not None else every.value
    return root or ""


def read_inventory(path: str | Path, stats: InventoryStats) -> Iterator[pa.RecordBatch]:
    """Yield Arrow record batches (files schema, without scan_id and commune)."""
    path = Path(path)
    if not path.is_file():
        raise CatalogueError(f"Fichier introuvable : {path}")
    records = _Records(path)
    first = records.rows()
    stats.kind = next(first)
    stats.root = _root_of((p, rec) for tag, p, rec in first if tag == "entry")
    gen = records.rows()
    next(gen)
    cols: dict[str, list] = {f.name: [] for f in INVENTORY_SCHEMA}
    file_id = 0
    for tag, p, rec in gen:
        rel = _relative(tag, p, rec, stats)
        if rel is None:
            continue
        file_id += 1
        for k, v in _row(file_id, rel, rec, stats).items():
            cols[k].append(v)
        if len(cols["file_id"]) >= BATCH_ROWS:
            yield pa.RecordBatch.from_pydict(cols, schema=INVENTORY_SCHEMA)
            cols = {f.name: [] for f in INVENTORY_SCHEMA}
    if cols["file_id"]:
        yield pa.RecordBatch.from_pydict(cols, schema=INVENTORY_SCHEMA)


def _relative(tag: str, p, rec, stats: InventoryStats) -> str | None:
    """A record's path relative to the inventory's root, or None when it is no row (an
    entry in an archive, a problem, a path outside the root, the root itself)."""
    if tag == "archive":
        stats.in_archives += 1
        return None
    if tag == "problem":
        stats.problems.append(f"ligne {p} : {rec}")
        return None
    if not _under(p, stats.root):
        stats.problems.append(f"ligne {rec['line']} : chemin hors de la racine de l'inventaire ({p})")
        return None
    return p[len(stats.root):].lstrip("/") or None


def _row(file_id: int, rel: str, rec: dict, stats: InventoryStats) -> dict:
    """The `files` row of an entry, counted in STATS."""
    stats.entries += 1
    parent, _, name = rel.rpartition("/")
    formats = rec["formats"]
    puid, mime, fname, fversion = formats[0] if formats else (None, None, None, None)
    warning = rec.get("warning")
    if len(formats) > 1:
        warning = "identification multiple : " + ", ".join(f[0] for f in formats)
    if rec["kind"] == "file":
        stats.files += 1
        stats.bytes += rec["size"] or 0
    if rec["error"]:
        stats.errors += 1
    stats.hash_algorithm = stats.hash_algorithm or rec.get("algo")
    return {
        "file_id": file_id, "path": rel, "path_raw": None, "parent": parent, "name": name,
        "extension": extension_of(name) if rec["kind"] == "file" else None, "kind": rec["kind"],
        "size": rec["size"], "allocated": None, "mtime": rec["mtime"], "ctime": None,
        "depth": rel.count("/") + 1, "owner": None,
        # No inode in an export: each row is its own file for duplicate counting.
        "device": 0, "inode": file_id, "nlink": 1, "link_target": None, "error": rec["error"],
        "puid": puid or None, "format_name": fname or None, "format_version": fversion or None,
        "mime": mime or None, "id_basis": rec.get("basis"), "id_warning": warning,
        "ext_mismatch": rec["mismatch"], "hash": rec["hash"],
    }
