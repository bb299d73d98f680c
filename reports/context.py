"""What each report shows, queried from the catalogue views into plain dicts and lists;
charts are `Chart` data, drawn by reports/charts.py when the report is rendered.

Every figure here can be re-derived with `catalogue sql` on the same views. A table
that grows with the catalogue (datasets, roadmap, bordereau, services, scans, errors)
shows at most TABLE_ROWS rows: the HTML and the PDF stay a readable size whatever the
share, and the CSV/XLSX annexes carry every row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from catalogue.formatting import commune_title
from catalogue.roadmap import Kind, RoadmapEntry, build_roadmap
from catalogue.stockflow import TransferVolume, plan_by_year, transfer_total
from grids import spec
from reports import keypoints
from reports.audit import KIND_LABELS, audit_facts, locations
from reports.projection import projection_section
from reports.signatures import signature_counts, signatures_section
from reports.waste import freeable

TOP = 15
TABLE_ROWS = 15  # rows of any table in HTML and PDF, then an « autres » line; the annexes hold them all


@dataclass(frozen=True)
class Chart:
    """What a chart shows, as data: reports/charts.py draws it when the report is rendered.

    `barh_bytes` draws one series as horizontal bars, `bars_by_year` stacks the series per
    year (labels are years), `stacked_barh` stacks them per label."""

    kind: Literal["barh_bytes", "bars_by_year", "stacked_barh"]
    title: str
    labels: list
    series: dict[str, list[int]]


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> list[dict]:
    cur = con.execute(sql, params or {})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def one(con: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None) -> dict:
    found = rows(con, sql, params)
    return found[0] if found else {}


def key_figures(con, commune: str) -> dict:
    figures = one(con, """
        SELECT count(*) FILTER (WHERE kind = 'file') AS files,
               coalesce(sum(size) FILTER (WHERE kind = 'file'), 0) AS bytes,
               count(*) FILTER (WHERE kind = 'directory') AS directories,
               min(year(mtime)) FILTER (WHERE kind = 'file') AS first_year,
               max(year(mtime)) FILTER (WHERE kind = 'file') AS last_year,
               count(*) FILTER (WHERE error IS NOT NULL) AS errors
        FROM files_current WHERE commune = $c""", {"c": commune})
    figures["datasets"] = one(con, "SELECT count(*) AS n FROM datasets WHERE commune = $c", {"c": commune})["n"]
    figures["duplicate_bytes"] = one(con, "SELECT coalesce(sum(wasted_bytes), 0) AS b FROM duplicates "
                                          "WHERE commune = $c", {"c": commune})["b"]
    figures["duplicate_groups"] = one(con, "SELECT count(*) AS n FROM duplicates WHERE commune = $c",
                                      {"c": commune})["n"]
    figures["dechet_bytes"] = one(con, "SELECT coalesce(sum(size), 0) AS b FROM dechets WHERE commune = $c",
                                  {"c": commune})["b"]
    figures["dechet_entries"] = one(con, "SELECT count(*) AS n FROM dechets WHERE commune = $c", {"c": commune})["n"]
    # Redundant copies are matched by several déchets rules: the freeable volume is the
    # union of both sets, each file once (reports/waste.py).
    freed = freeable(con, commune)
    figures["wasted_bytes"] = freed["bytes"]
    figures["wasted_entries"] = freed["entries"]
    # What the freeable volume holds beside the duplicates (the synthesis' stacked bars).
    figures["other_dechet_bytes"] = max(freed["bytes"] - figures["duplicate_bytes"], 0)
    return figures


def growth(con, commune: str | None) -> list[dict]:
    return rows(con, """
        SELECT year(mtime) AS year, count(*) AS files, sum(size) AS bytes
        FROM files_current WHERE kind = 'file' AND mtime IS NOT NULL AND ($c IS NULL OR commune = $c)
        GROUP BY 1 ORDER BY 1""", {"c": commune})


def yearly_flow(growth_rows: list[dict], this_year: int, years: int = 3) -> int:
    """Average volume last modified per year over the last complete years: the yearly flow."""
    recent = [g["bytes"] for g in growth_rows if this_year - years <= g["year"] < this_year]
    return int(sum(recent) / years) if recent else 0


def qualification_progress(con, commune: str, roadmap: list[RoadmapEntry]) -> dict:
    """Datasets of the roadmap (scanned ones and rows the référents added), qualified or
    not as the roadmap reads them: every figure of a report counts this one set."""
    entries = [e for e in roadmap if e.facts.commune == commune]
    total = len(entries)
    todo = sum(1 for e in entries if e.kind is Kind.QUALIFY)
    added = sum(1 for e in entries if not e.packable)
    filled = one(con, f"""
        SELECT sum({' + '.join(f'CASE WHEN {c.key} IS NULL THEN 0 ELSE 1 END' for c in spec.TO_FILL if c.required)})
                   AS required_filled
        FROM qualifications_current WHERE commune = $c
          AND (ajout OR dataset_id IN (SELECT dataset_id FROM datasets WHERE commune = $c))""", {"c": commune})
    required = sum(1 for c in spec.TO_FILL if c.required)
    return {"datasets": total, "qualified": total - todo, "to_qualify": todo, "added": added,
            "share": (total - todo) / total if total else 0.0,
            "required_cells": total * required, "required_filled": int(filled.get("required_filled") or 0)}


def footprint(con, wasted_bytes: int) -> dict:
    """Yearly storage footprint of duplicates and déchets, with the hypotheses shown."""
    params = {r["parametre"]: r for r in rows(con, "SELECT * FROM environnement")}
    watts_per_tb = params["puissance_disque"]["valeur"]
    kwh_per_gb_year = watts_per_tb / 1000 * 8760 / 1000 * params["pue"]["valeur"] * params["copies"]["valeur"]
    kg = wasted_bytes / 1e9 * kwh_per_gb_year * params["facteur_electricite"]["valeur"]
    return {"kg_co2e": kg, "kwh": wasted_bytes / 1e9 * kwh_per_gb_year, "kwh_per_gb_year": kwh_per_gb_year,
            "hypotheses": list(params.values())}


FORMATS_SQL = """
    SELECT f.puid, f.format_name, f.format_version, sum(f.files) AS files, sum(f.bytes) AS bytes,
           coalesce(r.risque, 'non évalué') AS risque, r.motif, sum(f.signature_bytes) AS signature_bytes,
           any_value(f.mime) AS mime
    FROM formats f LEFT JOIN formats_risque r USING (puid)
    WHERE $c IS NULL OR f.commune = $c GROUP BY ALL ORDER BY bytes DESC, f.puid"""


def format_label(puid: str | None, name: str | None, version: str | None = None) -> str:
    """A format as readers name it; the PRONOM identifier goes to the annex."""
    if not puid or puid == "UNKNOWN" or not name:
        return "Format non identifié"
    return f"{name} {version}".strip() if version else name


def risk_shares(formats: list[dict]) -> dict[str, float]:
    """Share of the volume per risk level. Signature files (a .tsr or a PEM is often
    UNKNOWN) are never a risky format: counted as « faible »."""
    total = sum(f["bytes"] for f in formats) or 1
    signature_elsewhere = sum(f["signature_bytes"] for f in formats if f["risque"] != "faible")
    return {level: (sum(f["bytes"] - (f["signature_bytes"] if level != "faible" else 0)
                        for f in formats if f["risque"] == level) + (signature_elsewhere if level == "faible" else 0))
            / total for level in ("élevé", "moyen", "faible", "non évalué")}


def commune_info(con, commune: str) -> dict:
    info = one(con, "SELECT code, nom FROM communes WHERE code = $c", {"c": commune})
    info["titre"] = commune_title(info.get("nom"), commune)
    info["nom"] = info.get("nom") or commune
    return info


def commune_context(con: duckdb.DuckDBPyConnection, commune: str, this_year: int | None = None) -> dict:
    this_year = this_year or dt.date.today().year
    c = {"c": commune}
    cn = {"c": commune, "n": TABLE_ROWS}
    info = commune_info(con, commune)
    figures = key_figures(con, commune)
    growth_rows = growth(con, commune)
    services = rows(con, """
        SELECT directory, sum(files) AS files, sum(bytes) AS bytes FROM volumes
        WHERE commune = $c AND depth = 1 GROUP BY directory ORDER BY bytes DESC, directory LIMIT $n""", cn)
    datasets = rows(con, """
        SELECT dataset_id, path, files, bytes, first_mtime, last_mtime FROM datasets
        WHERE commune = $c ORDER BY bytes DESC, path LIMIT $n""", cn)
    formats = rows(con, FORMATS_SQL, c)
    for f in formats:
        f["label"] = format_label(f["puid"], f["format_name"], f["format_version"])
    risk = risk_shares(formats)
    duplicate_groups = rows(con, """
        SELECT example_path, copies, size, wasted_bytes FROM duplicates WHERE commune = $c
        ORDER BY wasted_bytes DESC, example_path LIMIT $n""", cn)
    dechet_categories = rows(con, """
        SELECT categorie, count(*) AS entries, sum(size) AS bytes FROM dechets WHERE commune = $c
        GROUP BY categorie ORDER BY bytes DESC, categorie""", c)
    dechet_folders = rows(con, """
        SELECT coalesce(nullif(array_to_string(string_split(path, '/')[1:-2], '/'), ''), '(racine)') AS folder,
               count(*) AS entries, sum(size) AS bytes
        FROM dechets WHERE commune = $c GROUP BY folder ORDER BY bytes DESC, entries DESC, folder LIMIT $n""", cn)
    errors = rows(con, """
        SELECT error, count(*) AS entries FROM files_current WHERE commune = $c AND error IS NOT NULL
        GROUP BY error ORDER BY entries DESC, error LIMIT $n""", cn)
    blind_spots = rows(con, """
        SELECT path, kind, error FROM files_current WHERE commune = $c AND error IS NOT NULL
        ORDER BY (kind = 'directory') DESC, depth, path LIMIT $n""", cn)
    for b in blind_spots:
        b["kind"] = KIND_LABELS.get(b["kind"], b["kind"])
    scans = rows(con, """
        SELECT s.scan_id, s.root, s.host, s.finished_at, s.files, s.bytes, s.errors
        FROM scans s JOIN latest_scans l USING (scan_id) WHERE s.commune = $c ORDER BY s.root LIMIT $n""", cn)
    applications = rows(con, """
        SELECT d.path AS application, d.source, d.root, d.files AS objects, d.bytes, d.first_mtime, d.last_mtime,
               d.errors,
               (SELECT sum(row_count) FROM db_tables t WHERE t.scan_id = d.scan_id) AS row_count,
               (SELECT count(*) FILTER (WHERE row_count_estimated) FROM db_tables t WHERE t.scan_id = d.scan_id)
                   AS estimated_tables,
               (SELECT sum(attachments) FROM mail_folders m WHERE m.scan_id = d.scan_id) AS attachments
        FROM datasets d WHERE d.commune = $c AND d.source IN ('database', 'mail') ORDER BY d.path LIMIT $n""", cn)
    roadmap = build_roadmap(con, commune, this_year)
    plan = plan_by_year(roadmap, this_year)
    bordereau_datasets = [e for e in roadmap if e.kind is Kind.ELIMINATE]
    bordereau_dechets = rows(con, """
        SELECT d.categorie, d.libelle, d.confiance, count(*) AS entries, sum(d.size) AS bytes,
               any_value(r.source) AS source, any_value(r.justification) AS justification
        FROM dechets d JOIN (SELECT DISTINCT rule_id, source, justification FROM dechet_rules) r USING (rule_id)
        WHERE d.commune = $c GROUP BY ALL ORDER BY d.categorie, bytes DESC""", c)
    referentiel = {r["code"]: r for r in rows(con, "SELECT * FROM referentiel")}
    # Exact extreme dates of the datasets the bordereau table shows (the annex XLSX has its own).
    bordereau_dates = {r["dataset_id"]: r for r in rows(con, """
        SELECT dataset_id, first_mtime, last_mtime FROM datasets
        WHERE commune = $c AND list_contains($ids, dataset_id)""",
        {"c": commune, "ids": [e.facts.dataset_id for e in bordereau_datasets[:TABLE_ROWS]]})}
    wasted = figures["wasted_bytes"]
    counts = one(con, """
        SELECT (SELECT count(DISTINCT directory) FROM volumes WHERE commune = $c AND depth = 1) AS services,
               (SELECT count(*) FROM datasets WHERE commune = $c AND source IN ('database', 'mail'))
                   AS applications,
               (SELECT count(DISTINCT error) FROM files_current WHERE commune = $c AND error IS NOT NULL) AS errors,
               (SELECT count(*) FROM scans s JOIN latest_scans l USING (scan_id) WHERE s.commune = $c) AS scans,
               (SELECT count(DISTINCT folder) FROM (
                    SELECT array_to_string(string_split(path, '/')[1:-2], '/') AS folder FROM dechets
                    WHERE commune = $c)) AS dechet_folders""",
                 {"c": commune})
    counts.update(datasets=figures["datasets"], roadmap=len(roadmap), bordereau_datasets=len(bordereau_datasets),
                  blind_spots=figures["errors"], formats=len(formats), duplicate_groups=figures["duplicate_groups"])
    audit = audit_facts(con, commune, TABLE_ROWS)
    signatures = signatures_section(con, commune, dt.date.today(), TABLE_ROWS)
    key_points = keypoints.decisions(roadmap, this_year, figures["wasted_bytes"]) + keypoints.risks(
        high_share=risk["élevé"], unknown_share=risk["non évalué"], precarious=keypoints.precarious_count(roadmap),
        expiring=signatures["counts"]["expiring"], expired=keypoints.expired_of(signatures["counts"]),
        long_paths=audit["long_paths"], max_depth=audit["max_depth"], mismatches=audit["mismatches"],
        errors=figures["errors"])
    ctx = {
        "commune": info, "this_year": this_year, "generated": dt.date.today(), "figures": figures,
        "growth": growth_rows, "flow": yearly_flow(growth_rows, this_year), "services": services,
        "datasets": datasets, "applications": applications, "formats": formats[:TOP], "formats_count": len(formats),
        "risk": risk,
        "duplicate_groups": duplicate_groups, "dechet_categories": dechet_categories,
        "dechet_folders": dechet_folders, "errors": errors, "blind_spots": blind_spots, "scans": scans,
        "qualification": qualification_progress(con, commune, roadmap), "roadmap": roadmap[:TABLE_ROWS], "plan": plan,
        "actions": _action_totals(roadmap), "verser": transfer_total(roadmap, this_year),
        "bordereau_datasets": bordereau_datasets[:TABLE_ROWS],
        "bordereau_dechets": bordereau_dechets, "bordereau_dates": bordereau_dates,
        "referentiel": referentiel, "footprint": footprint(con, wasted),
        "counts": counts, "table_rows": TABLE_ROWS, "signatures": signatures, "audit": audit,
        "key_points": key_points, "lieux": locations(con, commune),
        # Every row, for the CSV/XLSX annexes only (templates show the bounded lists above).
        "annexes": {"roadmap": roadmap, "bordereau_datasets": bordereau_datasets},
    }
    ctx["charts"] = _commune_charts(services, growth_rows, formats, plan, this_year)
    return ctx


def _commune_charts(services: list[dict], growth_rows: list[dict], formats: list[dict],
                    plan: list[dict], this_year: int) -> dict[str, Chart | None]:
    return {
        "services": Chart("barh_bytes", "Volume mesuré par service (dossier de premier niveau)",
                          [s["directory"] for s in services[:TOP]], {"Volume": [s["bytes"] for s in services[:TOP]]})
        if services else None,
        "growth": Chart("bars_by_year", "Volume mesuré par année de dernière modification (fichiers)",
                        [g["year"] for g in growth_rows],
                        {"Volume": [g["bytes"] for g in growth_rows]}) if growth_rows else None,
        "formats": Chart("barh_bytes", "Formats les plus volumineux",
                         [f["label"] for f in formats[:10]],
                         {"Volume": [f["bytes"] for f in formats[:10]]}) if formats else None,
        "plan": _plan_chart(plan, this_year),
    }


def _action_totals(roadmap: list[RoadmapEntry]) -> list[dict]:
    """Datasets and current stock (measured or declared) per kind of action, every kind listed (in Kind's order)."""
    jeux = dict.fromkeys(Kind, 0)
    octets = dict.fromkeys(Kind, 0)
    for e in roadmap:
        jeux[e.kind] += 1
        octets[e.kind] += e.facts.stock
    return [{"action": kind.label, "jeux": jeux[kind], "octets": octets[kind]} for kind in Kind]


def _plan_chart(plan: list[dict], this_year: int) -> Chart | None:
    """Every year from this one to the last planned, empty years included: a roadmap read as
    one bar hides that nothing is planned in between."""
    if not plan:
        return None
    by_year = {p["annee"]: p for p in plan}
    years = list(range(min(this_year, plan[0]["annee"]), max(this_year, plan[-1]["annee"]) + 1))
    empty = TransferVolume()
    return Chart("bars_by_year", "Feuille de route : volumes par année", years,
                 {"À verser : stock mesuré": [by_year[y]["verser"].measured if y in by_year else 0
                                              for y in years],
                  "À verser : stock et flux déclarés": [
                      (by_year[y]["verser"] if y in by_year else empty).declared_stock
                      + (by_year[y]["verser"] if y in by_year else empty).declared_flow for y in years],
                  "À éliminer (stock)": [by_year.get(y, {}).get("eliminer_octets", 0) for y in years]})


def _commune_summary(con: duckdb.DuckDBPyConnection, code: str, roadmap: list[RoadmapEntry],
                     this_year: int) -> dict:
    """One commune's line of the territory synthesis: aggregates only."""
    info = commune_info(con, code)
    entries = [e for e in roadmap if e.facts.commune == code]
    verser = transfer_total(entries, this_year)
    return {
        "code": code, "nom": info["nom"], "titre": info["titre"], "figures": key_figures(con, code),
        "flow": yearly_flow(growth(con, code), this_year),
        "qualification": qualification_progress(con, code, entries), "actions": _action_totals(entries),
        "verser": verser, "verser_octets": verser.total,
        "declared_flow": sum(e.facts.declared_flow for e in entries if e.kind is Kind.TRANSFER),
        "signatures": signature_counts(con, code, dt.date.today()),
    }


def _territory_total(communes: list[dict]) -> dict:
    """The communes' figures summed for the whole territory."""
    total = {k: sum(c["figures"][k] for c in communes)
             for k in ("files", "bytes", "duplicate_bytes", "duplicate_groups", "dechet_bytes", "other_dechet_bytes",
                       "wasted_bytes", "wasted_entries", "datasets", "errors")}
    total["flow"] = sum(c["flow"] for c in communes)
    for key in ("datasets", "qualified", "added"):  # the roadmap's set: scanned datasets and added rows
        total[key] = sum(c["qualification"][key] for c in communes)
    total["verser"] = sum((c["verser"] for c in communes), TransferVolume())
    total["verser_octets"] = total["verser"].total
    total["declared_flow"] = sum(c["declared_flow"] for c in communes)
    for key in ("files", "bytes", "expiring", "expired", "orphans"):
        total[f"signed_{key}"] = sum(c["signatures"][key] for c in communes)
    return total


def _communes_chart(communes: list[dict]) -> Chart | None:
    """Measured volume per commune, split into useful volume, duplicates and other waste."""
    if not communes:
        return None
    return Chart("stacked_barh", "Volumes mesurés par collectivité (fichiers, hors bases de données "
                 "et messageries)", [c["titre"] for c in communes], {
                     "Volume utile": [max(c["figures"]["bytes"] - c["figures"]["wasted_bytes"], 0) for c in communes],
                     "Doublons récupérables": [c["figures"]["duplicate_bytes"] for c in communes],
                     "Autres déchets": [c["figures"]["other_dechet_bytes"] for c in communes],
                 })


def territory_context(con: duckdb.DuckDBPyConnection, this_year: int | None = None,
                      tenants_file: Path | None = None, costs_file: Path | None = None) -> dict:
    """Aggregates per commune only: no file or folder name of any commune. TENANTS_FILE maps
    communes to the SAE's tenants for the cost projection (else each commune is its own);
    COSTS_FILE replaces catalogue/rules/couts.csv."""
    this_year = this_year or dt.date.today().year
    roadmap = build_roadmap(con, None, this_year)
    communes = [_commune_summary(con, r["code"], roadmap, this_year)
                for r in rows(con, "SELECT code FROM communes ORDER BY code")]
    plan = plan_by_year(roadmap, this_year)
    total = _territory_total(communes)
    audit = audit_facts(con, None, TABLE_ROWS)
    risk = risk_shares(rows(con, FORMATS_SQL, {"c": None}))
    key_points = keypoints.decisions(roadmap, this_year, total["wasted_bytes"]) + keypoints.risks(
        high_share=risk["élevé"], unknown_share=risk["non évalué"], precarious=keypoints.precarious_count(roadmap),
        expiring=total["signed_expiring"], expired=_expired_total(communes), long_paths=audit["long_paths"],
        max_depth=audit["max_depth"], mismatches=audit["mismatches"], errors=total["errors"])
    ctx = {
        "this_year": this_year, "generated": dt.date.today(), "communes": communes, "total": total, "plan": plan,
        "actions": _action_totals(roadmap),
        "footprint": footprint(con, total["wasted_bytes"]), "key_points": key_points, "audit": audit,
        "projection": projection_section(con, roadmap, this_year, tenants_file, costs_file),
        "charts": {"communes": _communes_chart(communes), "plan": _plan_chart(plan, this_year)},
    }
    return ctx


def _expired_total(communes: list[dict]) -> keypoints.Expired | None:
    found = [e for e in (keypoints.expired_of(c["signatures"]) for c in communes) if e]
    if not found:
        return None
    firsts = [e.first for e in found if e.first]
    lasts = [e.last for e in found if e.last]
    return keypoints.Expired(sum(e.count for e in found), min(firsts, default=None), max(lasts, default=None))


DATASET_ANNEX_COLUMNS = ["identifiant", "source", "racine", "jeu_de_donnees", "service", "fichiers", "volume_octets",
                         "premiere_modif", "derniere_modif", "entrees_illisibles"]


def dataset_annex_rows(con: duckdb.DuckDBPyConnection, commune: str, batch: int = 10_000) -> Iterator[tuple]:
    """Every dataset of the commune, largest first, streamed (columns DATASET_ANNEX_COLUMNS)."""
    cur = con.execute("""
        SELECT dataset_id, source, root, path,
               CASE WHEN source IN ('database', 'mail') THEN NULL ELSE split_part(path, '/', 1) END AS service,
               files, bytes, CAST(first_mtime AS DATE), CAST(last_mtime AS DATE), errors
        FROM datasets WHERE commune = $c ORDER BY bytes DESC, path""", {"c": commune})
    while chunk := cur.fetchmany(batch):
        yield from chunk
