"""« Projection des volumes et des coûts » of the territorial synthesis: volumes held by
each tenant of the shared SAE, year by year, and each partner's share of the cost
(catalogue/costs.py), with its CSV and XLSX annexes."""

from __future__ import annotations

from pathlib import Path

import duckdb

from catalogue import csvsafe
from catalogue.costs import YEARS, load_costs, load_tenants, project, transfers
from catalogue.formatting import commune_title
from catalogue.roadmap import RoadmapEntry
from reports.numbers import csv_decimal

FLOW_YEARS = 3  # the measured flow of a dataset: bytes last modified a year, over the last complete years

MEASURED_FLOW_SQL = """
SELECT dataset_id, CAST(sum(size) / $n AS BIGINT) AS flow
FROM dataset_files
WHERE size > 0 AND year(mtime) BETWEEN $y - $n AND $y - 1
GROUP BY dataset_id
"""


def measured_flows(con: duckdb.DuckDBPyConnection, this_year: int) -> dict[str, int]:
    """Yearly flow of each scanned dataset of files (databases and mailboxes have none measured)."""
    return dict(con.execute(MEASURED_FLOW_SQL, {"y": this_year, "n": FLOW_YEARS}).fetchall())


def projection_section(con: duckdb.DuckDBPyConnection, roadmap: list[RoadmapEntry], this_year: int,
                       tenants_file: Path | None = None, costs_file: Path | None = None) -> dict:
    """What the section shows; the costs and tenants files are checked before anything is written."""
    costs = load_costs(costs_file)
    names = dict(con.execute("SELECT code, coalesce(nom, code) FROM communes ORDER BY code").fetchall())
    tenants, alone = load_tenants(tenants_file, names)
    tenant_rows = project(transfers(roadmap, this_year, measured_flows(con, this_year)), tenants, costs, this_year)
    for tenant in tenant_rows:
        for year in tenant["annees"]:
            for share in year["parts"]:
                share["nom"] = names[share["commune"]]
                share["titre"] = commune_title(names[share["commune"]], share["commune"])
    return {"locataires": tenant_rows, "couts": costs,
            "fichier_locataires": tenants_file.name if tenants_file else None,
            "fichier_couts": costs_file.name if costs_file else "catalogue/rules/couts.csv",
            "seuls": [commune_title(names[c], c) for c in alone], "premiere_annee": this_year,
            "derniere_annee": this_year + YEARS - 1, "annees_flux": FLOW_YEARS}


PROJECTION_COLUMNS = ["locataire", "annee", "commune", "nom", "stock_1er_janvier_octets", "versements_octets",
                      "flux_annuel_octets", "copies", "part_forfait_eur", "part_volume_eur", "part_totale_eur"]
TENANT_COLUMNS = ["locataire", "annee", "partenaires", "stock_1er_janvier_octets", "versements_octets",
                  "flux_annuel_octets", "copies", "forfait_eur", "volume_eur", "total_eur"]


def partner_rows(section: dict) -> list[list]:
    """One row per tenant, year and partner (columns PROJECTION_COLUMNS); euros to the cent."""
    return [[t["locataire"], y["annee"], s["commune"], s["nom"], s["stock"], s["versements"], s["flux"], y["copies"],
             round(s["forfait"], 2), round(s["volume"], 2), round(s["total"], 2)]
            for t in section["locataires"] for y in t["annees"] for s in y["parts"]]


def tenant_rows(section: dict) -> list[list]:
    """One row per tenant and year (columns TENANT_COLUMNS)."""
    return [[t["locataire"], y["annee"], len(t["communes"]), y["stock"], y["versements"], y["flux"], y["copies"],
             round(y["forfait"], 2), round(y["volume"], 2), round(y["total"], 2)]
            for t in section["locataires"] for y in t["annees"]]


def write_projection_csv(path: Path, section: dict) -> Path:
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel opens it in UTF-8
        w = csvsafe.writer(fh, delimiter=";")
        w.writerow(PROJECTION_COLUMNS)
        # Decimal commas, as in a French spreadsheet; the XLSX keeps numbers numeric.
        w.writerows([csv_decimal(v) for v in row] for row in partner_rows(section))
    return path


def write_projection_xlsx(path: Path, section: dict) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    sheets = [("Par locataire", TENANT_COLUMNS, tenant_rows(section)),
              ("Par partenaire", PROJECTION_COLUMNS, partner_rows(section)),
              ("Hypothèses", ["parametre", "valeur", "unite", "libelle", "source"],
               [[r[k] for k in ("parametre", "valeur", "unite", "libelle", "source")] for r in section["couts"].rows])]
    wb.remove(wb.active)
    for title, header, body in sheets:
        ws = wb.create_sheet(title)
        for row_number, values in enumerate([header, *body], start=1):
            for column, value in enumerate(values, start=1):
                cell = ws.cell(row_number, column)
                csvsafe.put(cell, value)
                cell.font = Font(bold=row_number == 1)
    wb.save(path)
    return path
