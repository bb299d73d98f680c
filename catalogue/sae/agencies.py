"""Agencies (services agents) of the transfer: the commune that submits, the service that
produced. One naming for the SIPs and for Vitam's agencies CSV, so that every identifier a
manifest cites is in the referential the SAE imported."""

from __future__ import annotations

from collections import Counter, defaultdict

import duckdb

from catalogue.referentiel import Agency, commune_agency_id, service_agency_id
from catalogue.sae.selection import Dataset


def originating_agency(ds: Dataset, override: str | None = None) -> str:
    """The producing service (service producteur): from the grid, unless overridden."""
    return override or service_agency_id(ds.commune, (ds.service or "").strip())


def submission_agency(ds: Dataset, override: str | None = None) -> str:
    """The submitting body (service versant): the commune, unless overridden."""
    return override or commune_agency_id(ds.commune)


def vitam_agencies(con: duckdb.DuckDBPyConnection) -> list[Agency]:
    """Every commune of the catalogue and every service its current grids name. Spellings
    of one service that fold to the same identifier are one agency, named by the spelling
    used most (then the first in alphabetical order)."""
    names = dict(con.execute("SELECT code, nom FROM communes").fetchall())
    spellings: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for commune, service in con.execute(
            "SELECT commune, trim(service) FROM qualifications_current WHERE trim(coalesce(service, '')) <> ''"
    ).fetchall():
        service = " ".join(service.split())  # one line in the referential, whatever was typed
        spellings[(commune, service_agency_id(commune, service))][service] += 1
        names.setdefault(commune, None)
    agencies = [Agency(commune_agency_id(code), nom or code, f"Collectivité {nom or code} (code {code})")
                for code, nom in names.items()]
    for (commune, identifier), counts in spellings.items():
        service = min(counts, key=lambda s: (-counts[s], s))
        commune_name = names.get(commune) or commune
        agencies.append(Agency(identifier, service, f"Service {service} — {commune_name} (code {commune})"))
    return sorted(agencies, key=lambda a: a.identifier)
