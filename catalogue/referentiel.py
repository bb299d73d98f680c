"""Retention referential (référentiel de conservation): typologies of municipal
records with their DUA, its starting event, the sort final and the legal source.

The data lives in catalogue/rules/referentiel.csv, editable by an archivist; this
module checks it, loads it into the `referentiel` table and writes it out as a
Vitam management-rules CSV (AppraisalRule); it also names the agencies (communes and
their services) and writes Vitam's agencies CSV.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from catalogue.errors import CatalogueError
from catalogue.rulefiles import rules_path

COLUMNS = ["code", "domaine", "typologie", "description", "dua_annees", "dua_depart", "sort_final", "source"]
SORTS_FINAUX = ("Conservation", "Destruction", "Tri")
# Vitam's management-rules import format (referential « règles de gestion »).
VITAM_HEADER = ["RuleId", "RuleType", "RuleValue", "RuleDescription", "RuleDuration", "RuleMeasurement"]
# Vitam's agencies import format (referential « services agents »).
AGENCIES_HEADER = ["Identifier", "Name", "Description"]


@dataclass(frozen=True)
class Typologie:
    code: str
    domaine: str
    typologie: str
    description: str
    dua_annees: int
    dua_depart: str
    sort_final: str
    source: str


def load_referentiel(path: Path | None = None) -> list[Typologie]:
    """Read and check the referential; a bad line is refused with its number."""
    path = path or rules_path("referentiel.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            raise CatalogueError(f"{path} : en-têtes attendus {', '.join(COLUMNS)}")
        rows: list[Typologie] = []
        seen: set[str] = set()
        for line, rec in enumerate(reader, start=2):
            problems = []
            if None in rec or any(rec[c] is None for c in COLUMNS):
                raise CatalogueError(f"{path}, ligne {line} : nombre de colonnes incorrect (guillemets manquants ?)")
            code = rec["code"].strip()
            if not code:
                problems.append("code manquant")
            elif code in seen:
                problems.append(f"code « {code} » en double")
            if not rec["typologie"].strip():
                problems.append("typologie manquante")
            if not rec["dua_annees"].strip().isdigit():
                problems.append(f"DUA « {rec['dua_annees']} » (attendu : un nombre d'années)")
            if rec["sort_final"] not in SORTS_FINAUX:
                problems.append(f"sort final « {rec['sort_final']} » (attendu : {', '.join(SORTS_FINAUX)})")
            if not rec["source"].strip():
                problems.append("source manquante")
            if problems:
                raise CatalogueError(f"{path}, ligne {line} : " + " ; ".join(problems))
            seen.add(code)
            rows.append(Typologie(code=code, domaine=rec["domaine"].strip(), typologie=rec["typologie"].strip(),
                                  description=rec["description"].strip(), dua_annees=int(rec["dua_annees"]),
                                  dua_depart=rec["dua_depart"].strip(), sort_final=rec["sort_final"],
                                  source=rec["source"].strip()))
    return rows


def appraisal_rule_id(code: str) -> str:
    """The Vitam rule id of a typology: the one definition, shared by the rules CSV and the SIPs."""
    return f"APP-{code}"


@dataclass(frozen=True)
class VitamRule:
    """One row of Vitam's management-rules referential."""
    rule_id: str
    rule_type: str  # AppraisalRule, AccessRule, StorageRule…
    value: str
    description: str
    duration: int
    measurement: str = "YEAR"


def vitam_rules(rows: list[Typologie]) -> list[VitamRule]:
    """Every rule the referential holds, in Vitam's terms: today one AppraisalRule per
    typology. A rule type the referential gains (communicability → AccessRule) is added
    here, and both the rules CSV and the SIPs pick it up.

    Vitam's rule has no field for the sort final (it belongs to the archive unit's
    FinalAction), so it is stated in the description with the starting event and source.
    """
    rules = []
    for t in rows:
        description = (f"{t.description}. Point de départ : {t.dua_depart}. "
                       f"Sort final : {t.sort_final}. Source : {t.source}")
        rules.append(VitamRule(appraisal_rule_id(t.code), "AppraisalRule", t.typologie, description, t.dua_annees))
    return rules


def vitam_rules_csv(rows: list[Typologie]) -> str:
    """The referential as a Vitam management-rules CSV (header of Vitam's import format)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(VITAM_HEADER)
    for r in vitam_rules(rows):
        writer.writerow([r.rule_id, r.rule_type, r.value, r.description, r.duration, r.measurement])
    return out.getvalue()


@dataclass(frozen=True)
class Agency:
    """A service agent (Vitam « services agents » referential): a commune or one of its services."""
    identifier: str
    name: str
    description: str


def commune_agency_id(commune: str) -> str:
    """A commune is its own agency, identified by its code (INSEE code in practice)."""
    return commune


def service_agency_id(commune: str, service: str) -> str:
    """A producing service: the commune's code and the service name folded to A-Z, 0-9 and
    « _ », so that « Ressources humaines » and « ressources  humaines » are one agency and the
    identifier holds only characters every SAE accepts."""
    folded = unicodedata.normalize("NFKD", service).encode("ascii", "ignore").decode("ascii").upper()
    slug = re.sub(r"[^A-Z0-9]+", "_", folded).strip("_")
    if not slug:  # a name with no Latin letter or digit: a stable short digest instead
        slug = hashlib.sha256(service.strip().encode("utf-8")).hexdigest()[:10].upper()
    return f"{commune}-{slug[:60]}"


def vitam_agencies_csv(agencies: list[Agency]) -> str:
    """The agencies as Vitam's « services agents » import CSV (`Identifier,Name,Description`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AGENCIES_HEADER)
    for a in agencies:
        writer.writerow([a.identifier, a.name, a.description])
    return out.getvalue()
