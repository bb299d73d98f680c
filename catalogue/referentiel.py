"""Retention referential (référentiel de conservation): typologies of municipal
records with their DUA, its starting event, the sort final and the legal source.

The data lives in catalogue/rules/referentiel.csv, editable by an archivist; this
module checks it, loads it into the `referentiel` table and writes it out as a
Vitam management-rules CSV (AppraisalRule).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from catalogue.errors import CatalogueError
from catalogue.rulefiles import rules_path

COLUMNS = ["code", "domaine", "typologie", "description", "dua_annees", "dua_depart", "sort_final", "source"]
SORTS_FINAUX = ("Conservation", "Destruction", "Tri")
# Vitam's management-rules import format (referential « règles de gestion »).
VITAM_HEADER = ["RuleId", "RuleType", "RuleValue", "RuleDescription", "RuleDuration", "RuleMeasurement"]


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


def vitam_rules_csv(rows: list[Typologie]) -> str:
    """The referential as a Vitam management-rules CSV, one AppraisalRule per typology.

    Vitam's rule has no field for the sort final (it belongs to the archive unit's
    FinalAction), so it is stated in the description with the starting event and source.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(VITAM_HEADER)
    for t in rows:
        description = (f"{t.description}. Point de départ : {t.dua_depart}. "
                       f"Sort final : {t.sort_final}. Source : {t.source}")
        writer.writerow([f"APP-{t.code}", "AppraisalRule", t.typologie, description, t.dua_annees, "YEAR"])
    return out.getvalue()
