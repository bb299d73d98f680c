"""A bundle's metadata (JSON in the Parquet file's key-value metadata): the scan row,
checked field by field against the `scans` columns of this version's schema."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from catalogue.bundle.layout import BUNDLE_VERSION, REQUIRED, scan_fields, schema

MAX_META_BYTES = 1 << 20      # a scan row is a few hundred bytes
MAX_TEXT = 16_384             # longest text field (a root path with escaped bytes)
META_FIELDS = ("bundle_version", "scan", "commune_nom")


def show(value: Any, limit: int = 60) -> str:
    """VALUE for a one-line message: control characters escaped, long text cut."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit] + "…"


class Invalid(Exception):
    """One problem in a bundle, worded in French."""


def _field(name: str, problem: str) -> Invalid:
    return Invalid(f"champ « scan.{show(name)} » : {problem}")


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
            raise Invalid(f"champ inconnu « scan.{show(key)} »")
    values = {}
    for name in scan_fields():
        column = columns[name]
        if scan.get(name) is None:
            if (not column.nullable and not column.has_default) or name in REQUIRED:
                raise Invalid(f"champ « scan.{name} » absent")
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
            raise Invalid(f"champ « {show(key)} » en double")
        found[key] = value
    return found


def parse_meta(raw: bytes) -> tuple[dict, str | None]:
    """The checked scan row and commune name of a bundle's metadata (raw JSON bytes);
    Invalid carries the French description of the first problem."""
    if len(raw) > MAX_META_BYTES:
        raise Invalid(f"métadonnées de plus de {MAX_META_BYTES // 1024} Kio")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("métadonnées illisibles (texte qui n'est pas de l'UTF-8)") from None
    try:
        meta = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, RecursionError):
        raise Invalid("métadonnées illisibles (JSON invalide)") from None
    if not isinstance(meta, dict):
        raise Invalid("métadonnées invalides : un objet JSON est attendu")
    version = meta.get("bundle_version")
    if type(version) is not int or version != BUNDLE_VERSION:
        shown = show(json.dumps(version)) if "bundle_version" in meta else "absente"
        raise Invalid(f"version de lot non prise en charge ({shown})")
    for key in meta:
        if key not in META_FIELDS:
            raise Invalid(f"métadonnées invalides : champ inconnu « {show(key)} »")
    if "scan" not in meta:
        raise Invalid("métadonnées invalides : champ « scan » absent")
    if not isinstance(meta["scan"], dict):
        raise Invalid("métadonnées invalides : « scan » doit être un objet JSON")
    nom = meta.get("commune_nom")
    if nom is not None and (not isinstance(nom, str) or len(nom) > MAX_TEXT):
        raise Invalid("métadonnées invalides : champ « commune_nom » : texte attendu")
    try:
        scan = _convert_scan(meta["scan"])
        _check_scan_values(scan)
    except Invalid as exc:
        raise Invalid(f"métadonnées invalides : {exc}") from None
    if scan["status"] != "complete":
        raise Invalid(f"le scan n'est pas terminé (statut « {show(scan['status'])} ») : "
                      "seul un scan terminé peut être chargé")
    return scan, nom
