"""Loading a checked bundle into a catalogue in one transaction, once: the same bundle
loaded again is skipped, another one under the same scan UUID refused."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from catalogue.bundle.check import ROWS, CheckedBundle, check_bundle, exact
from catalogue.bundle.layout import digest_sql, file_columns, ident
from catalogue.bundle.meta import show
from catalogue.dbtools import dict_row, one, transaction
from catalogue.errors import BundleError, CommuneRenameError
from catalogue.scan.lifecycle import insert_scan
from catalogue.store import ensure_commune, refresh_dechet_hits


@dataclass
class IngestResult:
    scan_id: int
    commune: str
    rows: int
    skipped: bool


def _stored_digest(con: duckdb.DuckDBPyConnection, scan_id: int) -> tuple[int, int | None]:
    count, digest = one(con.execute(f"SELECT count(*), {digest_sql()} FROM files WHERE scan_id = ?", [scan_id]))
    return count, digest


def _same_content(con: duckdb.DuckDBPyConnection, scan_id: int, bundle: CheckedBundle) -> bool:
    stored = dict_row(con.execute(f"SELECT {', '.join(map(ident, bundle.scan))} FROM scans WHERE scan_id = ?",
                                  [scan_id]))
    return stored == bundle.scan and _stored_digest(con, scan_id) == (bundle.rows, bundle.digest)


def check_names(con: duckdb.DuckDBPyConnection, bundles: list[CheckedBundle]) -> None:
    """Refuse bundles that would rename a commune (as `scan --nom` without --renommer does):
    a name differing from the stored one, or two bundles naming one commune differently."""
    names = dict(con.execute("SELECT code, nom FROM communes WHERE nom IS NOT NULL").fetchall())
    for b in bundles:
        code, nom = b.scan["commune"], b.commune_nom
        if nom and names.setdefault(code, nom) != nom:
            raise CommuneRenameError(
                f"{b.path} : la commune {code} est enregistrée sous le nom « {names[code]} », le lot la nomme "
                f"« {nom} » ; rien n'a été chargé (vérifiez le code, ou ajoutez --renommer pour la renommer).")


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
    # Outside the load's transaction: hits not stored are evaluated live, never wrong.
    refresh_dechet_hits(con)
    return IngestResult(scan_id, scan["commune"], bundle.rows, False)


def _load(con: duckdb.DuckDBPyConnection, bundle: CheckedBundle) -> int:
    """Insert the scan row and the bundle's rows, all or nothing."""
    scan = bundle.scan
    columns = ", ".join(map(ident, file_columns()))
    try:
        with transaction(con):
            ensure_commune(con, scan["commune"], bundle.commune_nom)
            scan_id = insert_scan(con, scan)
            con.execute(f"INSERT INTO files (scan_id, {columns}) SELECT $scan_id::INTEGER, {columns} FROM {ROWS}",
                        {"scan_id": scan_id, "path": exact(bundle.path)})
            # The file is read twice (checks, then load): what was loaded must be what was checked.
            if _stored_digest(con, scan_id) != (bundle.rows, bundle.digest):
                raise BundleError(f"{bundle.path} : le lot a changé pendant son chargement ; "
                                  "relancez « catalogue ingest ».")
    except duckdb.Error as exc:
        raise BundleError(f"{bundle.path} : chargement impossible ({show(str(exc).splitlines()[0], 200)}).") from None
    return scan_id
