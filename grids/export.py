"""`catalogue grid export`: one workbook per commune (or per service of a commune),
pre-filled from the catalogue.

Sheets: « Mode d'emploi », « Recensement » (one row per dataset, pre-filled columns
locked, dropdowns, required cells highlighted), « Référentiel », a hidden « Listes »
feeding the dropdowns and a hidden « _catalogage » holding where the file comes from.
This module gathers the rows; grids.workbook lays them out.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from catalogue import __version__
from catalogue.errors import CatalogueError
from catalogue.formatting import french_bytes, french_number
from catalogue.store import connect
from grids import spec
from grids.workbook import write_workbook

MB = 1e6
# Row key (not a column) holding the first folder of a scanned dataset's path.
FOLDER_SERVICE = "_dossier_service"


class UnknownServiceError(CatalogueError):
    """`grid export --service` names a service no row of the commune belongs to."""


@dataclass
class ExportResult:
    path: Path
    commune: str
    rows: int
    nouveaux: int
    qualifies: int
    disparus: int
    ajouts: int
    service: str | None = None


DATASET_STATS_SQL = """
WITH df AS (
    SELECT * FROM dataset_files WHERE commune = $commune
), redundant AS (
    SELECT scan_id, file_id FROM duplicate_files WHERE commune = $commune AND redundant
), waste AS (
    SELECT scan_id, file_id FROM dechets WHERE commune = $commune AND kind = 'file'
), shares AS (
    SELECT df.dataset_id,
           sum(CASE WHEN r.file_id IS NOT NULL THEN df.size ELSE 0 END) AS duplicate_bytes,
           sum(CASE WHEN w.file_id IS NOT NULL THEN df.size ELSE 0 END) AS dechet_bytes
    FROM df
    LEFT JOIN redundant r USING (scan_id, file_id)
    LEFT JOIN waste w USING (scan_id, file_id)
    GROUP BY df.dataset_id
), fmt AS (
    SELECT dataset_id, list({'puid': puid, 'name': name, 'bytes': bytes} ORDER BY bytes DESC, puid) AS formats
    FROM (SELECT dataset_id, coalesce(puid, 'inconnu') AS puid, max(format_name) AS name, sum(size) AS bytes
          FROM df WHERE size > 0 AND error IS NULL GROUP BY ALL)
    GROUP BY dataset_id
), years AS (
    SELECT dataset_id, list({'year': y, 'bytes': b} ORDER BY y) AS per_year
    FROM (SELECT dataset_id, year(mtime) AS y, sum(size) AS b FROM df WHERE mtime IS NOT NULL GROUP BY ALL)
    GROUP BY dataset_id
)
SELECT d.dataset_id, d.source, d.root, d.path, d.files, d.bytes, d.first_mtime, d.last_mtime,
       s.duplicate_bytes, s.dechet_bytes, f.formats, y.per_year, d.signed_files, d.signed_share
FROM datasets d
LEFT JOIN shares s USING (dataset_id)
LEFT JOIN fmt f USING (dataset_id)
LEFT JOIN years y USING (dataset_id)
WHERE d.commune = $commune
ORDER BY d.root, d.path
"""


def dataset_stats(con: duckdb.DuckDBPyConnection, commune: str) -> list[dict]:
    """The pre-filled part of each dataset row of a commune, from the catalogue views."""
    cur = con.execute(DATASET_STATS_SQL, {"commune": commune})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _location(source: str, root: str, path: str) -> str:
    if source in ("database", "mail"):
        return f"Application {path} ({root})"  # path is the application's name
    return f"{root.rstrip('/')}/{path}" if path else root


def _formats_text(formats: list[dict] | None, total: int) -> str | None:
    if not formats or not total:
        return None
    parts = []
    for f in formats[:3]:
        share = french_number(100 * f["bytes"] / total, 0)
        name = f["name"] or "format non identifié"
        parts.append(f"{f['puid']} {name} ({share} %)")
    return " ; ".join(parts)


def _growth_text(per_year: list[dict] | None) -> str | None:
    if not per_year:
        return None
    return " ; ".join(f"{p['year']} : {french_bytes(p['bytes'])}" for p in per_year)


def _prefilled_row(stats: dict, commune: str) -> dict:
    total = stats["bytes"] or 0
    return {
        "dataset_id": stats["dataset_id"],
        "commune": commune,
        "emplacement": _location(stats["source"], stats["root"], stats["path"]),
        "fichiers": stats["files"],
        "volume_mo": round(total / MB, 3),
        "premiere_modif": stats["first_mtime"].date() if stats["first_mtime"] else None,
        "derniere_modif": stats["last_mtime"].date() if stats["last_mtime"] else None,
        "formats": _formats_text(stats["formats"], total),
        "part_doublons": (stats["duplicate_bytes"] or 0) / total if total else None,
        "part_dechets": (stats["dechet_bytes"] or 0) / total if total else None,
        "part_signee": stats["signed_share"] or 0.0,
        "croissance": _growth_text(stats["per_year"]),
        FOLDER_SERVICE: stats["path"].split("/", 1)[0] if stats["source"] == "filesystem" and stats["path"] else None,
    }


def _current_answers(con: duckdb.DuckDBPyConnection, commune: str) -> dict[str, dict]:
    cur = con.execute("SELECT * FROM qualifications_current WHERE commune = ?", [commune])
    names = [d[0] for d in cur.description]
    return {r["dataset_id"]: r for r in (dict(zip(names, row)) for row in cur.fetchall())}


def grid_rows(con: duckdb.DuckDBPyConnection, commune: str) -> list[dict]:
    """Rows of the commune's grid: scanned datasets, then earlier answers no scan matches."""
    answers = _current_answers(con, commune)
    referentiel = dict(con.execute("SELECT code, dua_depart FROM referentiel").fetchall())
    rows = []
    for stats in dataset_stats(con, commune):
        row = _prefilled_row(stats, commune)
        previous = answers.pop(row["dataset_id"], None)
        row["etat"] = spec.ETAT_QUALIFIE if previous else spec.ETAT_NOUVEAU
        if previous:
            row.update(_answers(previous, referentiel))
        if (stats["signed_files"] or 0) > 0 and row.get("signature") in (None, "Ne sait pas"):
            # The scan settles the question; the référent can still answer otherwise.
            row["signature"] = "Oui"
        rows.append(row)
    # Answers are never dropped: a dataset gone from the latest scan, or one the
    # référent added, stays in the grid with its values.
    for dataset_id, previous in sorted(answers.items(), key=lambda kv: (kv[1]["ajout"], kv[0])):
        row = {"dataset_id": dataset_id, "commune": commune, "emplacement": previous["emplacement"],
               "etat": spec.ETAT_AJOUT if previous["ajout"] else spec.ETAT_DISPARU}
        row.update(_answers(previous, referentiel))
        rows.append(row)
    return rows


def _answers(previous: dict, departs: dict[str, str]) -> dict:
    """Earlier answers as the référent gave them: values taken from the referential
    (the DUA or sort final left empty) are left empty again, so that re-importing the
    re-exported grid changes nothing and a referential update still applies."""
    answers = {k: previous[k] for k in spec.FILL_KEYS}
    if previous.get("dua_suggeree"):
        answers["dua_annees"] = None
        if answers["dua_depart"] == departs.get(previous.get("typologie_code") or ""):
            answers["dua_depart"] = None
    if previous.get("sort_suggere"):
        answers["sort_final"] = None
    return answers


def export_grid(db: str | None, commune: str, out: str | Path | None = None,
                service: str | None = None) -> ExportResult:
    """Write the commune's grid workbook (only one service's rows if `service` is given);
    returns where and what it holds."""
    con = connect(db)
    try:
        found = con.execute("SELECT nom FROM communes WHERE code = ?", [commune]).fetchone()
        if found is None:
            known = ", ".join(r[0] for r in con.execute("SELECT code FROM communes ORDER BY code").fetchall())
            raise CatalogueError(f"Commune {commune} absente du catalogue (communes connues : {known or 'aucune'}).")
        nom = found[0] or commune
        rows = grid_rows(con, commune)
        referentiel = con.execute(
            "SELECT code, domaine, typologie, dua_annees, dua_depart, sort_final, source FROM referentiel ORDER BY code"
        ).fetchall()
        info = con.execute("SELECT value FROM catalogue_info WHERE key = 'catalogue_id'").fetchone()
        catalogue_id = info[0] if info else ""  # written by the first migration: always there
    finally:
        con.close()
    if service is not None:
        service, rows = rows_of_service(rows, service, commune)
    default = f"grille-{commune}-{_slug(service)}.xlsx" if service else f"grille-{commune}.xlsx"
    path = Path(out or default)
    meta = {"format": spec.GRID_FORMAT, "version_modele": spec.TEMPLATE_VERSION, "commune": commune,
            "nom_commune": nom, "date_export": dt.datetime.now().replace(microsecond=0).isoformat(),
            "catalogue_id": catalogue_id, "version_outil": __version__}
    if service:
        meta["service"] = service
    write_workbook(path, rows, referentiel, meta)
    states = [r["etat"] for r in rows]
    return ExportResult(path=path, commune=commune, rows=len(rows), nouveaux=states.count(spec.ETAT_NOUVEAU),
                        qualifies=states.count(spec.ETAT_QUALIFIE), disparus=states.count(spec.ETAT_DISPARU),
                        ajouts=states.count(spec.ETAT_AJOUT), service=service)


def row_service(row: dict) -> str | None:
    """The service a grid row belongs to: the référent's answer, else the first folder of
    a scanned dataset's path (the Service/Activité layout of the shares)."""
    return row.get("service") or row.get(FOLDER_SERVICE) or None


def rows_of_service(rows: list[dict], service: str, commune: str) -> tuple[str, list[dict]]:
    """The rows of one service, matched without case or accents, and the service's name as
    the catalogue spells it; an unknown service is refused with the list of known ones."""
    names: dict[str, str] = {}
    for row in rows:
        name = row_service(row)
        if name:
            names.setdefault(spec.fold(name), name)
    wanted = spec.fold(service)
    if not wanted or wanted not in names:
        known = " ; ".join(sorted(names.values(), key=spec.fold)) or "aucun"
        raise UnknownServiceError(f"Service « {service} » inconnu pour la commune {commune} "
                                  f"(services connus : {known}).")
    return names[wanted], [r for r in rows if spec.fold(row_service(r) or "") == wanted]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", spec.fold(text)).strip("-") or "service"
