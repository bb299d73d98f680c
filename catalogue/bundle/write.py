"""Writing a bundle: `scan --bundle` scans into a work catalogue beside the bundle, then
exports the scan's row and its `files` rows as one Parquet file."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import duckdb

from catalogue.bundle.layout import BUNDLE_VERSION, META_KEY, file_columns, ident, scan_fields, sql_str
from catalogue.dbtools import dict_row, scalar
from catalogue.errors import BundleError
from catalogue.scan import ScanSummary, run_scan
from catalogue.scan.options import current_tuning

WORK_SUFFIX = ".en-cours"     # work folder beside the bundle, kept until the bundle is written


def work_dir(bundle: str | os.PathLike) -> Path:
    """The folder where `scan --bundle` keeps its catalogue until the bundle is written."""
    target = Path(bundle)
    return target.with_name(target.name + WORK_SUFFIX)


def scan_to_bundle(root: str, commune: str, bundle: str, **options) -> ScanSummary:
    """Scan ROOT into a work catalogue beside BUNDLE, then write the scan as a Parquet bundle.

    The work folder has a fixed name: the same command after a crash or a Ctrl-C finds
    its catalogue and resumes the scan. It is removed once the bundle is written.
    OPTIONS are `run_scan`'s; its tuning's `on_event` also hears "bundle-export" once the
    scan is complete, before the bundle is written."""
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
    (options.get("tuning") or current_tuning()).event("bundle-export")
    con = duckdb.connect(str(db))
    try:
        export_scan(con, summary.scan_id, target, partial=work / "lot.parquet.partiel")
    finally:
        con.close()
    shutil.rmtree(work)
    return summary


def export_scan(con: duckdb.DuckDBPyConnection, scan_id: int, target: Path, partial: Path | None = None) -> None:
    """Write scan SCAN_ID of CON as a bundle at TARGET (through PARTIAL, renamed at the end)."""
    scan = dict_row(con.execute(f"SELECT {', '.join(map(ident, scan_fields()))} FROM scans WHERE scan_id = ?",
                                [scan_id]))
    assert scan is not None, scan_id  # the scan just run
    nom = scalar(con.execute("SELECT nom FROM communes WHERE code = ?", [scan["commune"]]))
    meta = {"bundle_version": BUNDLE_VERSION, "scan": scan, "commune_nom": nom}
    text = json.dumps(meta, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))
    tmp = partial or target.with_name(target.name + ".partiel")
    # COPY takes no parameter for its file name or options: both are quoted literals.
    con.execute(
        f"""COPY (SELECT {', '.join(map(ident, file_columns()))} FROM files WHERE scan_id = ? ORDER BY file_id)
            TO {sql_str(str(tmp))} (FORMAT parquet, COMPRESSION zstd,
            KV_METADATA {{{META_KEY}: {sql_str(text)}}})""",
        [scan_id],
    )
    # Rename last so a crash never leaves a truncated file under the final name.
    os.replace(tmp, target)
