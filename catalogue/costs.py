"""Cost-sharing keys of the shared SAE: volumes held per tenant year by year, and each
partner's share of the cost.

The partners share costs by tenant and by volume held on 1 January (the rule of the
Ligeris convention): each tenant costs a flat amount a year, split equally between the
communes it serves; each commune pays for the volume it holds on 1 January, times the
number of copies, at the price per Go and per copy. The amounts live in
catalogue/rules/couts.csv, each with its source; the tenants in a file the archivist
gives (commune → tenant), without which each commune is its own tenant.

A dataset to transfer enters the SAE in its target year (its stock plus its declared
flow up to then, catalogue/stockflow.py); from the next year on it brings its yearly
flow: the one declared in the grid, else the one measured by the scan.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from catalogue.errors import CatalogueError
from catalogue.roadmap import Kind, RoadmapEntry
from catalogue.rulefiles import rules_path
from catalogue.stockflow import transfer_volume

YEARS = 6  # the projection covers this year and the five after it
GO = 1e9  # a Go is 10^9 bytes, as the grid's volumes
COST_COLUMNS = ["parametre", "valeur", "unite", "libelle", "source"]
COST_PARAMETERS = ("forfait_locataire", "prix_go_an", "copies")
TENANT_COLUMNS = ["commune", "locataire"]


class CostFileError(CatalogueError):
    """The costs file or the tenants file is malformed: the message names the file and the line."""


@dataclass(frozen=True)
class Costs:
    """The cost hypotheses in force, and their rows (with sources) for the report."""

    flat_per_tenant: float  # euros per tenant per year
    price_per_go: float  # euros per Go per copy per year
    copies: int
    rows: list[dict] = field(default_factory=list)


def _number(text: str, where: str, name: str) -> float:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise CostFileError(f"{where} : {name} « {text} » n'est pas un nombre") from None
    if not math.isfinite(value) or value < 0:
        raise CostFileError(f"{where} : {name} « {text} » doit être un nombre positif ou nul")
    return value


def _read_csv(path: Path, columns: list[str]) -> Iterable[tuple[int, dict]]:
    """Rows of a small CSV (comma or semicolon, as Excel writes it in French), with their line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CostFileError(f"{path} : fichier illisible ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CostFileError(f"{path} : encodage non reconnu (enregistrez-le en UTF-8)") from None
    first = text.splitlines()[0] if text else ""
    reader = csv.DictReader(text.splitlines(), delimiter=";" if ";" in first else ",")
    if [(name or "").strip() for name in reader.fieldnames or []] != columns:
        raise CostFileError(f"{path}, ligne 1 : en-têtes attendus {', '.join(columns)}")
    for line, rec in enumerate(reader, start=2):
        if None in rec or any(rec[c] is None for c in columns):
            raise CostFileError(f"{path}, ligne {line} : nombre de colonnes incorrect (attendu : {len(columns)})")
        yield line, {k: v.strip() for k, v in rec.items()}


def load_costs(path: Path | None = None) -> Costs:
    """The costs file, every row checked: a known parameter, a number ≥ 0, a source."""
    path = path or rules_path("couts.csv")
    values: dict[str, float] = {}
    rows = []
    for line, rec in _read_csv(path, COST_COLUMNS):
        where = f"{path}, ligne {line}"
        name = rec["parametre"]
        if name not in COST_PARAMETERS:
            raise CostFileError(f"{where} : paramètre « {name} » inconnu (attendu : {', '.join(COST_PARAMETERS)})")
        if name in values:
            raise CostFileError(f"{where} : paramètre « {name} » déjà donné")
        if not rec["source"]:
            raise CostFileError(f"{where} : source manquante")
        values[name] = _number(rec["valeur"], where, name)
        if name == "copies" and (values[name] < 1 or values[name] != int(values[name])):
            raise CostFileError(f"{where} : copies « {rec['valeur']} » doit être un nombre entier d'au moins 1")
        rows.append({**rec, "valeur": values[name]})
    missing = [name for name in COST_PARAMETERS if name not in values]
    if missing:
        what = "paramètre manquant" if len(missing) < 2 else "paramètres manquants"
        raise CostFileError(f"{path} : {what} : {', '.join(missing)}")
    return Costs(values["forfait_locataire"], values["prix_go_an"], int(values["copies"]), rows)


def load_tenants(path: Path | None, communes: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Commune → tenant for every commune of the catalogue, and the communes the file does
    not name: each is its own tenant (named by its code). A commune unknown to the
    catalogue, a commune given twice or an empty tenant is refused with its line."""
    known = list(communes)
    tenants: dict[str, str] = {}
    if path is not None:
        for line, rec in _read_csv(path, TENANT_COLUMNS):
            where = f"{path}, ligne {line}"
            code, tenant = rec["commune"], rec["locataire"]
            if code not in known:
                raise CostFileError(f"{where} : commune « {code} » absente du catalogue "
                                    f"(communes connues : {', '.join(known) or 'aucune'})")
            if code in tenants:
                raise CostFileError(f"{where} : commune « {code} » déjà rattachée au locataire « {tenants[code]} »")
            if not tenant:
                raise CostFileError(f"{where} : locataire manquant pour la commune {code}")
            tenants[code] = tenant
    return {code: tenants.get(code, code) for code in known}, [code for code in known if code not in tenants]


@dataclass(frozen=True)
class Transfer:
    """A dataset as the projection sees it: when it enters the SAE, with what, then how much a year."""

    commune: str
    year: int
    volume: int  # bytes entering in `year`
    flow: int  # bytes a year from the year after


def transfers(entries: Iterable[RoadmapEntry], this_year: int, measured_flow: Mapping[str, int]) -> list[Transfer]:
    """The datasets to transfer: declared flow where the grid gives one, else the measured one."""
    out = []
    for e in entries:
        if e.kind is Kind.TRANSFER and e.target_year is not None:
            flow = e.facts.declared_flow or measured_flow.get(e.facts.dataset_id, 0)
            out.append(Transfer(e.facts.commune, e.target_year, transfer_volume(e, this_year).total, flow))
    return out


def holdings(items: Iterable[Transfer], commune: str, year: int) -> dict:
    """One commune's volumes for a year: held on 1 January, transferred, and flow of the year."""
    mine = [t for t in items if t.commune == commune]
    return {
        "stock": sum(t.volume + t.flow * (year - 1 - t.year) for t in mine if t.year < year),
        "versements": sum(t.volume for t in mine if t.year == year),
        "flux": sum(t.flow for t in mine if t.year < year),
    }


def project(items: list[Transfer], tenants: Mapping[str, str], costs: Costs, first_year: int,
            years: int = YEARS) -> list[dict]:
    """Per tenant (in name order), per year: volumes and cost, with each partner's share."""
    out = []
    for tenant in sorted(set(tenants.values())):
        partners = sorted(c for c, t in tenants.items() if t == tenant)
        rows = []
        for year in range(first_year, first_year + years):
            shares = []
            for commune in partners:
                held = holdings(items, commune, year)
                flat = costs.flat_per_tenant / len(partners)
                volume = held["stock"] / GO * costs.copies * costs.price_per_go
                shares.append({"commune": commune, **held, "forfait": flat, "volume": volume,
                               "total": flat + volume})
            rows.append({"annee": year, "copies": costs.copies,
                         **{k: sum(s[k] for s in shares) for k in ("stock", "versements", "flux", "forfait",
                                                                    "volume", "total")},
                         "parts": shares})
        out.append({"locataire": tenant, "communes": partners, "annees": rows})
    return out
