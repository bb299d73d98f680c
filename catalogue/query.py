"""Read-only questions to the catalogue: free SQL and the status overview."""

from __future__ import annotations

import duckdb

from catalogue.errors import CatalogueError
from catalogue.formatting import french_bytes, french_int
from catalogue.store import connect, default_db_path


def run_query(db: str | None, query: str) -> tuple[list[str], list[tuple]]:
    """Run QUERY on a read-only connection; a bad query is a one-line French error."""
    con = connect(db, read_only=True)
    try:
        cur = con.execute(query)
        if cur.description is None:
            return [], []
        return [d[0] for d in cur.description], cur.fetchall()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise CatalogueError(f"Requête refusée : {first}") from None
    finally:
        con.close()


STATUS_LABELS = {"complete": "terminé", "running": "en cours ou arrêté brutalement",
                 "interrupted": "interrompu", "failed": "échoué"}


def catalogue_status(db: str | None) -> list[str]:
    """French lines describing communes, scans and current totals."""
    path = db or default_db_path()
    con = connect(db, read_only=True)
    try:
        lines = [f"Catalogue : {path}"]
        communes = con.execute("SELECT code, coalesce(nom, '') FROM communes ORDER BY code").fetchall()
        lines.append(f"Communes : {len(communes)}")
        for code, nom in communes:
            files, size = con.execute(
                "SELECT count(*), coalesce(sum(size), 0) FROM files_current WHERE commune = ? AND kind = 'file'",
                [code]).fetchone()
            lines.append(f"  {code} {nom} : {french_int(files)} fichiers, {french_bytes(size)} (derniers scans terminés)")
        scans = con.execute(
            """SELECT scan_id, commune, source, root, status, started_at, files, bytes, errors
               FROM scans ORDER BY scan_id""").fetchall()
        lines.append(f"Scans : {len(scans)}")
        for sid, commune, source, root, status, started, files, size, errors in scans:
            lines.append(
                f"  n° {sid} {commune} {source} {root} — {STATUS_LABELS.get(status, status)}, "
                f"{started:%d/%m/%Y %H:%M}, {french_int(files)} fichiers, {french_bytes(size)}, "
                f"{french_int(errors)} erreurs")
        return lines
    finally:
        con.close()
