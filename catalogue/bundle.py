"""Portable scan bundles: one Parquet file per scan, its `scans` row in the file metadata.

A commune scans its own server with `catalogue scan --bundle`, sends the file, and the
territory's pilot loads it with `catalogue ingest`. A bundle comes from another server:
it is untrusted input. Its metadata is checked field by field against the `scans` table
of this version's schema (known keys, types, values), its columns against `files`, its
rows against its metadata (commune, sizes, paths); totals are recomputed from the rows.
Values are always bound as parameters; the only identifiers in the SQL are the schema's
own column names. A bundle is checked completely before the catalogue is opened.

Loading is idempotent: a bundle carries its scan's UUID, and a UUID already in the
catalogue is not loaded twice, provided the content is the same (same checked metadata,
same recomputed totals, same digest of every column of every row); a different bundle
under the same UUID is refused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from catalogue.dbtools import dict_row, one, scalar, transaction
from catalogue.errors import BundleError
from catalogue.scan import ScanSummary, run_scan
from catalogue.scan.lifecycle import insert_scan
from catalogue.store import ensure_commune, migrate

META_KEY = "catalogage_scan"
BUNDLE_VERSION = 1
WORK_SUFFIX = ".en-cours"     # work folder beside the bundle, kept until the bundle is written
MAX_META_BYTES = 1 << 20      # a scan row is a few hundred bytes
MAX_TEXT = 16_384             # longest text field (a root path with escaped bytes)
MAX_ENTRY_SIZE = 1 << 60      # 1 Eio: larger than any real file, sparse ones included
MAX_BIGINT = (1 << 63) - 1
KINDS = ("file", "directory", "symlink", "other")
TOTALS = ("entries", "files", "bytes", "errors")  # recomputed from the rows, never trusted
LOCAL = ("scan_id",)                               # this catalogue's own numbering
REQUIRED = ("finished_at",)                        # NOT NULL in spirit for a complete scan
META_FIELDS = ("bundle_version", "scan", "commune_nom")


def _ident(name: str) -> str:
    """A quoted SQL identifier (names here come from our own schema, quoted all the same)."""
    return '"' + name.replace('"', '""') + '"'


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Column:
    type: str
    nullable: bool
    has_default: bool


@lru_cache(maxsize=1)
def schema() -> dict[str, dict[str, Column]]:
    """Columns of `scans` and `files` as this version's migrations define them."""
    con = duckdb.connect()
    try:
        migrate(con)
        return {table: {name: Column(kind, nullable == "YES", default is not None)
                        for name, kind, nullable, default in con.execute(
                            """SELECT column_name, data_type, is_nullable, column_default
                               FROM information_schema.columns WHERE table_name = ?
                               ORDER BY ordinal_position""", [table]).fetchall()}
                for table in ("scans", "files")}
    finally:
        con.close()


def _scan_fields() -> list[str]:
    return [c for c in schema()["scans"] if c not in LOCAL]


def _file_columns() -> list[str]:
    return [c for c in schema()["files"] if c != "scan_id"]


# --- writing ------------------------------------------------------------------------------

def work_dir(bundle: str | os.PathLike) -> Path:
    """The folder where `scan --bundle` keeps its catalogue until the bundle is written."""
    target = Path(bundle)
    return target.with_name(target.name + WORK_SUFFIX)


def scan_to_bundle(root: str, commune: str, bundle: str, **options) -> ScanSummary:
    """Scan ROOT into a work catalogue beside BUNDLE, then write the scan as a Parquet bundle.

    The work folder has a fixed name: the same command after a crash or a Ctrl-C finds
    its catalogue and resumes the scan. It is removed once the bundle is written."""
    target = Path(bundle)
    if not target.parent.is_dir():
        raise BundleError(f"Le dossier du lot n'existe pas : {target.parent}")
    work = work_dir(target)
    if work.exists() and not work.is_dir():
        raise BundleError(f"{work} existe et n'est pas un dossier : déplacez-le pour écrire le lot {target}.")
    if options.get("resume_only") and not (work / "scan.duckdb").exists():
        raise BundleError(f"Aucun scan interrompu à reprendre pour le lot {target} (pas de dossier {work}) : "
                          "relancez sans --reprendre pour un nouveau scan.")
    work.mkdir(exist_ok=True)
    db = work / "scan.duckdb"
    summary = run_scan(root, commune, db=str(db), **options)
    con = duckdb.connect(str(db))
    try:
        export_scan(con, summary.scan_id, target, partial=work / "lot.parquet.partiel")
    finally:
        con.close()
    shutil.rmtree(work)
    return summary


def export_scan(con: duckdb.DuckDBPyConnection, scan_id: int, target: Path, partial: Path | None = None) -> None:
    """Write scan SCAN_ID of CON as a bundle at TARGET (through PARTIAL, renamed at the end)."""
    scan = dict_row(con.execute(f"SELECT {', '.join(map(_ident, _scan_fields()))} FROM scans WHERE scan_id = ?",
                                [scan_id]))
    assert scan is not None, scan_id  # the scan just run
    nom = scalar(con.execute("SELECT nom FROM communes WHERE code = ?", [scan["commune"]]))
    meta = {"bundle_version": BUNDLE_VERSION, "scan": scan, "commune_nom": nom}
    text = json.dumps(meta, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))
    tmp = partial or target.with_name(target.name + ".partiel")
    # COPY takes no parameter for its file name or options: both are quoted literals.
    con.execute(
        f"""COPY (SELECT {', '.join(map(_ident, _file_columns()))} FROM files WHERE scan_id = ? ORDER BY file_id)
            TO {_sql_str(str(tmp))} (FORMAT parquet, COMPRESSION zstd,
            KV_METADATA {{{META_KEY}: {_sql_str(text)}}})""",
        [scan_id],
    )
    # Rename last so a crash never leaves a truncated file under the final name.
    os.replace(tmp, target)


# --- checking -----------------------------------------------------------------------------

def _show(value: Any, limit: int = 60) -> str:
    """VALUE for a one-line message: control characters escaped, long text cut."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit] + "…"


class _Invalid(Exception):
    """One problem in a bundle's metadata, worded in French."""


def _field(name: str, problem: str) -> _Invalid:
    return _Invalid(f"champ « scan.{_show(name)} » : {problem}")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _field(name, "texte attendu")
    if len(value) > MAX_TEXT:
        raise _field(name, f"texte de plus de {MAX_TEXT} caractères")
    if "\x00" in value:
        raise _field(name, "caractère nul dans le texte")
    return value


def _integer(name: str, value: Any, bits: int) -> int:
    # bool is an int in Python, not in the schema.
    if type(value) is not int:
        raise _field(name, "nombre entier attendu")
    if value < 0:  # every integer of a scan row is a count or a depth
        raise _field(name, "nombre négatif")
    if value >= 1 << (bits - 1):
        raise _field(name, "nombre trop grand")
    return value


def _timestamp(name: str, value: Any) -> datetime:
    try:
        stamp = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _field(name, "date ISO 8601 attendue") from None
    if stamp.tzinfo is not None:
        raise _field(name, "date UTC sans fuseau attendue")
    return stamp


def _boolean(name: str, value: Any) -> bool:
    if type(value) is not bool:
        raise _field(name, "vrai ou faux attendu")
    return value


def _texts(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value):
        raise _field(name, "liste de textes attendue")
    return value


CONVERTERS = {
    "VARCHAR": _text,
    "INTEGER": lambda n, v: _integer(n, v, 32),
    "BIGINT": lambda n, v: _integer(n, v, 64),
    "TIMESTAMP": _timestamp,
    "BOOLEAN": _boolean,
    "VARCHAR[]": _texts,
}


def _convert_scan(scan: dict) -> dict:
    """The scan row's fields, each checked against its column in `scans`."""
    columns = schema()["scans"]
    for key in scan:
        if key not in columns:
            raise _Invalid(f"champ inconnu « scan.{_show(key)} »")
    values = {}
    for name in _scan_fields():
        column = columns[name]
        if scan.get(name) is None:
            if (not column.nullable and not column.has_default) or name in REQUIRED:
                raise _Invalid(f"champ « scan.{name} » absent")
            continue
        values[name] = CONVERTERS[column.type](name, scan[name])
    return values


def _check_scan_values(scan: dict) -> None:
    for name in ("commune", "source", "root", "status"):
        if not scan[name].strip():
            raise _field(name, "texte vide")
    try:
        canonical = str(uuid.UUID(scan["scan_uuid"]))
    except ValueError:
        canonical = None
    if canonical != scan["scan_uuid"]:
        raise _field("scan_uuid", "UUID attendu")
    if scan["source"] != "filesystem":  # only `scan --bundle` writes bundles
        raise _field("source", "« filesystem » attendu")
    if not 1 <= scan.get("dataset_depth", 2) <= 20:
        raise _field("dataset_depth", "entre 1 et 20 attendu")
    if scan["finished_at"] < scan["started_at"]:
        raise _field("finished_at", "antérieur au début du scan")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    # json.loads would keep the last of two equal keys: which one the sender meant is unknown.
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Invalid(f"champ « {_show(key)} » en double")
        found[key] = value
    return found


def parse_meta(raw: bytes) -> tuple[dict, str | None]:
    """The checked scan row and commune name of a bundle's metadata (raw JSON bytes);
    _Invalid carries the French description of the first problem."""
    if len(raw) > MAX_META_BYTES:
        raise _Invalid(f"métadonnées de plus de {MAX_META_BYTES // 1024} Kio")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid("métadonnées illisibles (texte qui n'est pas de l'UTF-8)") from None
    try:
        meta = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, RecursionError):
        raise _Invalid("métadonnées illisibles (JSON invalide)") from None
    if not isinstance(meta, dict):
        raise _Invalid("métadonnées invalides : un objet JSON est attendu")
    version = meta.get("bundle_version")
    if type(version) is not int or version != BUNDLE_VERSION:
        shown = _show(json.dumps(version)) if "bundle_version" in meta else "absente"
        raise _Invalid(f"version de lot non prise en charge ({shown})")
    for key in meta:
        if key not in META_FIELDS:
            raise _Invalid(f"métadonnées invalides : champ inconnu « {_show(key)} »")
    if "scan" not in meta:
        raise _Invalid("métadonnées invalides : champ « scan » absent")
    if not isinstance(meta["scan"], dict):
        raise _Invalid("métadonnées invalides : « scan » doit être un objet JSON")
    nom = meta.get("commune_nom")
    if nom is not None and (not isinstance(nom, str) or len(nom) > MAX_TEXT):
        raise _Invalid("métadonnées invalides : champ « commune_nom » : texte attendu")
    try:
        scan = _convert_scan(meta["scan"])
        _check_scan_values(scan)
    except _Invalid as exc:
        raise _Invalid(f"métadonnées invalides : {exc}") from None
    if scan["status"] != "complete":
        raise _Invalid(f"le scan n'est pas terminé (statut « {_show(scan['status'])} ») : "
                       "seul un scan terminé peut être chargé")
    return scan, nom


@dataclass(frozen=True)
class CheckedBundle:
    """A bundle whose metadata and rows passed every check; totals recomputed."""
    path: str
    scan: dict          # checked fields of the scans row, totals from the rows
    commune_nom: str | None
    rows: int
    digest: int | None  # sum of per-row hashes over every column (None: no rows)


ROWS = "read_parquet($path)"  # the bundle's rows, $path from _exact()


def _exact(path: str) -> str:
    """PATH for read_parquet, which expands * ? [ even in a file name: each one becomes a
    character class matching only itself, so the bundle is that file and no other."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def _digest_sql() -> str:
    return f"sum(hash({', '.join(map(_ident, _file_columns()))}))"


def _check_columns(con: duckdb.DuckDBPyConnection, path: str) -> None:
    found = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {ROWS}", {"path": path}).fetchall()}
    expected = {name: schema()["files"][name].type for name in _file_columns()}
    for name in found:
        if name not in expected:
            raise _Invalid(f"colonne inconnue « {_show(name)} » ; lot refusé")
    for name, kind in expected.items():
        if name not in found:
            raise _Invalid(f"colonne « {name} » absente ; lot refusé")
        if found[name] != kind:
            raise _Invalid(f"colonne « {name} » de type {_show(found[name])} au lieu de {kind} ; lot refusé")


def _row_checks(commune: str) -> list[tuple[str, str]]:
    """(condition on one row, French description of the rows it flags), in order."""
    required = [c for c in _file_columns() if not schema()["files"][c].nullable]
    return [
        (" OR ".join(f"{_ident(c)} IS NULL" for c in required),
         f"sans valeur dans une colonne obligatoire ({', '.join(required)})"),
        ("commune <> $commune", f"d'une autre commune que {_show(commune)} (celle des métadonnées)"),
        (f"kind NOT IN ({', '.join(map(_sql_str, KINDS))})", f"de type inconnu (attendu : {', '.join(KINDS)})"),
        ("size < 0 OR allocated < 0", "de taille négative"),
        ("size > $max_size OR allocated > $max_size", "de taille supérieure à 1 Eio"),
        ("file_id < 0", "au numéro (file_id) négatif"),
        ("""path = '' OR len(parts) <> depth OR parts[-1] <> name
            OR parent <> array_to_string(parts[1:len(parts) - 1], '/')
            OR list_contains(parts, '') OR list_contains(parts, '.') OR list_contains(parts, '..')""",
         "au chemin invalide (vide, absolu, avec « . » ou « .. », ou sans rapport avec parent, name et depth)"),
    ]


def _check_rows(con: duckdb.DuckDBPyConnection, path: str, scan: dict) -> tuple[int, int, int, int, int | None]:
    """Every check, the recomputed totals and the digest, in one pass over the rows; then
    uniqueness (a DISTINCT in the same query would slow all the aggregates down)."""
    checks = _row_checks(scan["commune"])
    flags = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond, _ in checks)
    row = one(con.execute(
        f"""SELECT {flags}, count(*), count(*) FILTER (WHERE kind = 'file'),
                   coalesce(sum(size) FILTER (WHERE kind = 'file'), 0),
                   count(*) FILTER (WHERE error IS NOT NULL), {_digest_sql()}
            FROM (SELECT *, string_split(path, '/') AS parts FROM {ROWS})""",
        {"commune": scan["commune"], "max_size": MAX_ENTRY_SIZE, "path": path}))
    counts, totals = row[:len(checks)], row[len(checks):]
    entries, files, size, errors, digest = totals
    for (_, what), count in zip(checks, counts):
        if count:
            raise _Invalid(f"{count} entrée(s) {what} ; lot refusé")
    distinct = scalar(con.execute(
        f"""SELECT least((SELECT count(*) FROM (SELECT DISTINCT file_id FROM {ROWS})),
                         (SELECT count(*) FROM (SELECT DISTINCT coalesce(path_raw, encode(path)) FROM {ROWS})))""",
        {"path": path}))
    if distinct < entries:
        raise _Invalid(f"{entries - distinct} entrée(s) en double (même file_id ou même chemin) ; lot refusé")
    if size > MAX_BIGINT:
        raise _Invalid(f"volume total impossible ({size} octets) ; lot refusé")
    return entries, files, size, errors, digest


def _read_meta(path: str) -> bytes:
    if not Path(path).is_file():
        raise BundleError(f"Lot introuvable : {path}")
    try:
        kv = pq.read_metadata(path).metadata or {}
    except (pa.ArrowException, OSError):
        raise BundleError(f"{path} n'est pas un fichier Parquet lisible.") from None
    if META_KEY.encode() not in kv:
        raise BundleError(f"{path} n'est pas un lot Catalogage (métadonnées de scan absentes).")
    return kv[META_KEY.encode()]


def check_bundle(path: str) -> CheckedBundle:
    """Check a bundle completely, without touching any catalogue; BundleError names the problem."""
    raw = _read_meta(path)
    with tempfile.TemporaryDirectory(prefix="catalogage-verification-") as spill:
        return _check(path, raw, spill)


def _check(path: str, raw: bytes, spill: str) -> CheckedBundle:
    con = duckdb.connect()
    try:
        # A large bundle's DISTINCT spills to disk: to a private folder, not ./.tmp.
        con.execute("SET temp_directory = $dir", {"dir": spill})
        scan, nom = parse_meta(raw)
        _check_columns(con, _exact(path))
        entries, files, size, errors, digest = _check_rows(con, _exact(path), scan)
    except _Invalid as exc:
        raise BundleError(f"{path} : {exc}.") from None
    except duckdb.Error as exc:
        raise BundleError(f"{path} : lot illisible ({_show(str(exc).splitlines()[0], 200)}).") from None
    finally:
        con.close()
    scan.update(zip(TOTALS, (entries, files, size, errors)))
    return CheckedBundle(path, scan, nom, entries, digest)


# --- loading ------------------------------------------------------------------------------

@dataclass
class IngestResult:
    scan_id: int
    commune: str
    rows: int
    skipped: bool


def _stored_digest(con: duckdb.DuckDBPyConnection, scan_id: int) -> tuple[int, int | None]:
    count, digest = one(con.execute(f"SELECT count(*), {_digest_sql()} FROM files WHERE scan_id = ?", [scan_id]))
    return count, digest


def _same_content(con: duckdb.DuckDBPyConnection, scan_id: int, bundle: CheckedBundle) -> bool:
    stored = dict_row(con.execute(f"SELECT {', '.join(map(_ident, bundle.scan))} FROM scans WHERE scan_id = ?",
                                  [scan_id]))
    return stored == bundle.scan and _stored_digest(con, scan_id) == (bundle.rows, bundle.digest)


def ingest_bundle(con: duckdb.DuckDBPyConnection, bundle: str | CheckedBundle) -> IngestResult:
    """Load one bundle (checked first if given as a path) in a single transaction; the
    same bundle already loaded is skipped, another one under the same scan UUID refused."""
    if not isinstance(bundle, CheckedBundle):
        bundle = check_bundle(bundle)
    scan = bundle.scan
    existing = con.execute("SELECT scan_id FROM scans WHERE scan_uuid = ?", [scan["scan_uuid"]]).fetchone()
    if existing:
        if not _same_content(con, existing[0], bundle):
            raise BundleError(
                f"{bundle.path} : le scan {scan['scan_uuid']} est déjà chargé (scan n° {existing[0]}) avec un "
                "contenu différent ; lot refusé (deux lots différents ne peuvent pas porter le même "
                "identifiant de scan).")
        return IngestResult(existing[0], scan["commune"], 0, True)
    scan_id = _load(con, bundle)
    return IngestResult(scan_id, scan["commune"], bundle.rows, False)


def _load(con: duckdb.DuckDBPyConnection, bundle: CheckedBundle) -> int:
    """Insert the scan row and the bundle's rows, all or nothing."""
    scan = bundle.scan
    columns = ", ".join(map(_ident, _file_columns()))
    try:
        with transaction(con):
            ensure_commune(con, scan["commune"], bundle.commune_nom)
            scan_id = insert_scan(con, scan)
            con.execute(f"INSERT INTO files (scan_id, {columns}) SELECT $scan_id::INTEGER, {columns} FROM {ROWS}",
                        {"scan_id": scan_id, "path": _exact(bundle.path)})
            # The file is read twice (checks, then load): what was loaded must be what was checked.
            if _stored_digest(con, scan_id) != (bundle.rows, bundle.digest):
                raise BundleError(f"{bundle.path} : le lot a changé pendant son chargement ; "
                                  "relancez « catalogue ingest ».")
    except duckdb.Error as exc:
        raise BundleError(f"{bundle.path} : chargement impossible ({_show(str(exc).splitlines()[0], 200)}).") from None
    return scan_id
