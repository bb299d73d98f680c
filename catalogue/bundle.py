"""Portable scan bundles: one Parquet file per scan, its `scans` row in the file metadata.

A commune scans its own server with `catalogue scan --bundle`, sends the file, and the
territory's pilot loads it with `catalogue ingest`. Loading is idempotent: a bundle
carries its scan's UUID, and a UUID already in the catalogue is not loaded twice.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from catalogue.errors import BundleError
from catalogue.scan import ScanSummary, run_scan
from catalogue.store import ensure_commune

META_KEY = "catalogage_scan"
BUNDLE_VERSION = 1


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scan_to_bundle(root: str, commune: str, bundle: str, **options) -> ScanSummary:
    """Scan ROOT into a throw-away catalogue, then write the scan as a Parquet bundle."""
    target = Path(bundle)
    if target.parent and not target.parent.exists():
        raise BundleError(f"Le dossier du lot n'existe pas : {target.parent}")
    with tempfile.TemporaryDirectory(prefix="catalogage-bundle-", dir=target.parent or None) as tmp:
        db = os.path.join(tmp, "scan.duckdb")
        summary = run_scan(root, commune, db=db, **options)
        con = duckdb.connect(db)
        try:
            export_scan(con, summary.scan_id, target)
        finally:
            con.close()
    return summary


def export_scan(con: duckdb.DuckDBPyConnection, scan_id: int, target: Path) -> None:
    cur = con.execute("SELECT * FROM scans WHERE scan_id = ?", [scan_id])
    cols = [d[0] for d in cur.description]
    scan = dict(zip(cols, cur.fetchone()))
    nom = con.execute("SELECT nom FROM communes WHERE code = ?", [scan["commune"]]).fetchone()[0]
    meta = {"bundle_version": BUNDLE_VERSION, "scan": scan, "commune_nom": nom}
    text = json.dumps(meta, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))
    tmp = target.with_name(target.name + ".partiel")
    con.execute(
        f"""COPY (SELECT * EXCLUDE (scan_id) FROM files WHERE scan_id = ? ORDER BY file_id)
            TO {_sql_str(str(tmp))} (FORMAT parquet, COMPRESSION zstd,
            KV_METADATA {{{META_KEY}: {_sql_str(text)}}})""",
        [scan_id],
    )
    # Rename last so a crash never leaves a truncated file under the final name.
    os.replace(tmp, target)


@dataclass
class IngestResult:
    scan_id: int
    commune: str
    rows: int
    skipped: bool


def read_bundle_meta(con: duckdb.DuckDBPyConnection, path: str) -> dict:
    if not Path(path).is_file():
        raise BundleError(f"Lot introuvable : {path}")
    try:
        rows = con.execute("SELECT key, value FROM parquet_kv_metadata(?)", [path]).fetchall()
    except duckdb.Error:
        raise BundleError(f"{path} n'est pas un fichier Parquet lisible.") from None
    for key, value in rows:
        if bytes(key).decode() == META_KEY:
            meta = json.loads(bytes(value).decode())
            if meta.get("bundle_version") != BUNDLE_VERSION:
                raise BundleError(f"{path} : version de lot non prise en charge ({meta.get('bundle_version')}).")
            return meta
    raise BundleError(f"{path} n'est pas un lot Catalogage (métadonnées de scan absentes).")


def ingest_bundle(con: duckdb.DuckDBPyConnection, path: str) -> IngestResult:
    """Load one bundle in a single transaction; a bundle already loaded is skipped."""
    meta = read_bundle_meta(con, path)
    scan = meta["scan"]
    existing = con.execute("SELECT scan_id FROM scans WHERE scan_uuid = ?", [scan["scan_uuid"]]).fetchone()
    if existing:
        return IngestResult(existing[0], scan["commune"], 0, True)
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_commune(con, scan["commune"], meta.get("commune_nom"))
        keep = {k: v for k, v in scan.items() if k != "scan_id"}
        names = ", ".join(keep)
        marks = ", ".join("?" for _ in keep)
        scan_id = con.execute(f"INSERT INTO scans ({names}) VALUES ({marks}) RETURNING scan_id",
                              list(keep.values())).fetchone()[0]
        rows = con.execute(
            "INSERT INTO files BY NAME SELECT ?::INTEGER AS scan_id, * FROM read_parquet(?)",
            [scan_id, path]).fetchone()[0]
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise BundleError(f"{path} : chargement impossible ({str(exc).splitlines()[0]}).") from None
    return IngestResult(scan_id, scan["commune"], rows, False)
