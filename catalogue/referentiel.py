"""Retention referential (référentiel de conservation): typologies of municipal
records with their DUA, its start event, the sort final, the communicability delay and
the legal sources.

The data lives in catalogue/rules/referentiel.csv, editable by an archivist; a commune may
replace or add rows with its own file of the same format, checked the same way. This
module checks them, names the DUA start events (one definition, used by the roadmap and
the SIPs), and writes the referential out as a Vitam management-rules CSV (AppraisalRule
and AccessRule); it also names the agencies (communes and their services) and writes
Vitam's agencies CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from catalogue.errors import CatalogueError
from catalogue.rulefiles import rules_path

COLUMNS = ["code", "domaine", "typologie", "description", "dua_annees", "depart", "sort_final",
           "communicabilite_annees", "communicabilite_depart", "source", "source_communicabilite"]
SORTS_FINAUX = ("Conservation", "Destruction", "Tri")
# Code du patrimoine art. L213-1 (immediately) and L213-2 (25, 50, 75, 100 years; 120 years
# from birth for medical records, which is 25 years from death when the death is known).
COMMUNICABILITE_ANNEES = (0, 25, 50, 75, 100, 120)
# Vitam's management-rules import format (referential « règles de gestion »).
VITAM_HEADER = ["RuleId", "RuleType", "RuleValue", "RuleDescription", "RuleDuration", "RuleMeasurement"]
# Vitam's agencies import format (referential « services agents »).
AGENCIES_HEADER = ["Identifier", "Name", "Description"]


# How the catalogue dates a start event, from the last modification of a dataset's files.
DOCUMENT = "document"          # the date of the newest document itself
FIN_ANNEE = "fin_annee"        # 31 December of the year of the newest document
FIN_ANNEE_SCOLAIRE = "fin_annee_scolaire"  # 31 August ending the school year of the newest document


@dataclass(frozen=True)
class StartEvent:
    """An event from which a DUA (or a communicability delay) runs. `dated_by` says how the
    catalogue knows its date; None means it does not (a birth, a dissolution, the end of a
    contract are nowhere in a file's metadata), and no elimination may then be dated."""
    code: str
    label: str
    meaning: str
    dated_by: str | None = None
    aliases: tuple[str, ...] = ()


# A document's last modification is never earlier than the document itself, so the dates
# below are never earlier than the true start: an elimination is late, never early. Events
# that documents precede (a session prepared beforehand, a decision on a request, a
# contract's notification after the offers) are not dated: the files say nothing of them.
EVENTS: dict[str, StartEvent] = {e.code: e for e in (
    StartEvent("date_document", "date du document",
               "date du document (ou du plus récent du dossier) : la dernière modification vue par le scan",
               DOCUMENT, ("date de l'arrêté", "date de l'acte", "date de l'avis", "date du constat",
                          "date de publication", "date de l'événement", "date de création")),
    StartEvent("fin_annee", "fin de l'année",
               "31 décembre de l'année du document le plus récent", FIN_ANNEE,
               ("fin de l'année civile", "année civile", "fin d'année")),
    StartEvent("cloture_exercice", "clôture de l'exercice",
               "fin de l'exercice budgétaire, qui est l'année civile pour une commune : 31 décembre de "
               "l'année du document le plus récent", FIN_ANNEE,
               ("fin de l'exercice", "clôture de l'exercice budgétaire")),
    StartEvent("fin_annee_scolaire", "fin de l'année scolaire",
               "31 août qui clôt l'année scolaire du document le plus récent", FIN_ANNEE_SCOLAIRE),
    StartEvent("date_seance", "date de la séance",
               "date de la séance de l'assemblée ; les pièces préparatoires la précèdent",
               aliases=("date de séance",)),
    StartEvent("date_decision", "date de la décision",
               "date de la décision ou de la réponse à une demande ; la demande la précède",
               aliases=("date de la réponse", "date de délivrance")),
    StartEvent("date_scrutin", "date du scrutin", "date de l'élection ; les listes la précèdent"),
    StartEvent("date_mariage", "date du mariage", "date de célébration du mariage ; le dossier la précède"),
    StartEvent("notification_marche", "notification du marché",
               "date de notification du marché ; les offres la précèdent",
               aliases=("date de notification du marché",)),
    StartEvent("fin_marche", "fin d'exécution du marché", "fin d'exécution du marché (dernière prestation, "
               "garanties)", aliases=("fin du marché", "fin de marché")),
    StartEvent("date_naissance", "date de naissance", "date de naissance de la personne concernée",
               aliases=("date de naissance de l'agent",)),
    StartEvent("deces", "décès", "date du décès de la personne concernée", aliases=("date du décès", "date de décès")),
    StartEvent("dissolution", "dissolution", "dissolution du pacte, de l'association ou de l'organisme",
               aliases=("dissolution du pacte", "dissolution du pacs", "date de la dissolution")),
    StartEvent("fin_mandat", "fin du mandat", "fin du mandat de l'élu ou de l'assemblée"),
    StartEvent("fin_validite", "fin de validité", "fin de validité du document (remplacé, abrogé)",
               aliases=("fin de validité du document", "fin de validité de l'arrêté")),
    StartEvent("cloture_registre", "clôture du registre", "clôture du registre"),
    StartEvent("cloture_dossier", "clôture du dossier", "clôture du dossier (fin de la prise en charge)"),
    StartEvent("fin_recours", "extinction des voies de recours", "date à laquelle la décision est définitive",
               aliases=("fin des recours",)),
    StartEvent("fin_remboursement", "fin du remboursement", "dernière échéance de l'emprunt",
               aliases=("fin du remboursement de l'emprunt",)),
)}


def _fold(text: str) -> str:
    """Comparison key: no accents, no case, single spaces, straight apostrophes, no final dot."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'").replace("‘", "'").replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text).strip().rstrip(".").strip().casefold()


_EVENT_BY_TEXT = {_fold(text): e for e in EVENTS.values() for text in (e.code, e.label, *e.aliases)}


def start_event(text: str | None) -> StartEvent | None:
    """The event a text names (a code, a label or a usual wording, case and accents aside);
    None when the text names none of them."""
    return _EVENT_BY_TEXT.get(_fold(text)) if text else None


def event_start(event: StartEvent, last_modified: dt.date) -> dt.date | None:
    """The date EVENT happened for a dataset whose newest file is of LAST_MODIFIED, or None
    when the catalogue cannot date it."""
    if event.dated_by == DOCUMENT:
        return last_modified
    if event.dated_by == FIN_ANNEE:
        return dt.date(last_modified.year, 12, 31)
    if event.dated_by == FIN_ANNEE_SCOLAIRE:
        return dt.date(last_modified.year + (last_modified.month > 8), 8, 31)
    return None


def add_years(day: dt.date, years: int) -> dt.date:
    """DAY plus YEARS (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def dua_over(depart: str | None, dua: int, last_modified: dt.date) -> tuple[int | None, str]:
    """(first year the DUA is over, label of its start) for a dataset whose newest file is
    of LAST_MODIFIED; the year is None when the start DEPART names (an event code, label or
    usual wording) is not dated by the catalogue, or names no event (the label is then the
    text itself, « non renseigné » when empty). The DUA runs through its last day."""
    event = start_event(depart)
    if event is None:
        return None, (depart or "").strip() or "non renseigné"
    start = event_start(event, last_modified)
    if start is None:
        return None, event.label
    return (add_years(start, dua) + dt.timedelta(days=1)).year, event.label


def communicabilite_label(years: int) -> str:
    """« Immédiate » or « N ans », as the grid and the reports say it."""
    return "Immédiate" if years == 0 else f"{years} ans"


@dataclass(frozen=True)
class Typologie:
    code: str
    domaine: str
    typologie: str
    description: str
    dua_annees: int
    dua_depart: str  # the French label of `depart`, as the grid shows it
    depart: str      # the start event's code (EVENTS)
    sort_final: str
    source: str
    communicabilite_annees: int
    communicabilite_depart: str | None
    source_communicabilite: str


def load_referentiel(path: Path | None = None, override: Path | None = None) -> list[Typologie]:
    """Read and check the referential, then the commune's OVERRIDE file if any: its rows
    replace those of the same code and add the others. A bad line is refused with its
    file and number."""
    path = path or rules_path("referentiel.csv")
    rows = parse_referentiel(_read(path), str(path))
    if override is not None:
        rows = merge_referentiel(rows, parse_referentiel(_read(override), str(override)))
    return rows


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "pas en UTF-8" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc))
        raise CatalogueError(f"{path} : référentiel illisible ({reason})") from None


def merge_referentiel(base: list[Typologie], local: list[Typologie]) -> list[Typologie]:
    """BASE with LOCAL's rows in place of those of the same code, LOCAL's new codes after."""
    by_code = {t.code: t for t in local}
    merged = [by_code.pop(t.code, t) for t in base]
    return merged + [t for t in local if t.code in by_code]


def _int_problem(value: str, what: str) -> str | None:
    text = value.strip()
    if re.fullmatch(r"\d+", text):
        return None
    return f"{what} « {value} » (attendu : un nombre entier d'années, positif ou nul)"


def _event_problem(code: str, what: str) -> str | None:
    if not code.strip():
        return f"{what} manquant"
    if code.strip() not in EVENTS:
        return f"{what} « {code} » inconnu (attendu : {', '.join(EVENTS)})"
    return None


def _row_problems(rec: dict[str, str], seen: set[str]) -> list[str]:
    """Every problem of one row, in French, in the order of its columns."""
    problems = []
    code = rec["code"].strip()
    if not code:
        problems.append("code manquant")
    elif code in seen:
        problems.append(f"code « {code} » en double")
    if not rec["typologie"].strip():
        problems.append("typologie manquante")
    problems.append(_int_problem(rec["dua_annees"], "DUA") or "")
    problems.append(_event_problem(rec["depart"], "point de départ de la DUA") or "")
    if rec["sort_final"] not in SORTS_FINAUX:
        problems.append(f"sort final « {rec['sort_final']} » (attendu : {', '.join(SORTS_FINAUX)})")
    years = rec["communicabilite_annees"].strip()
    if not years.isdigit() or int(years) not in COMMUNICABILITE_ANNEES:
        problems.append(f"communicabilité « {rec['communicabilite_annees']} » (attendu : "
                        f"{', '.join(map(str, COMMUNICABILITE_ANNEES))} ans, 0 pour immédiate)")
    elif int(years) > 0:
        problems.append(_event_problem(rec["communicabilite_depart"], "point de départ de la communicabilité") or "")
    if not rec["source"].strip():
        problems.append("source manquante")
    if not rec["source_communicabilite"].strip():
        problems.append("source de la communicabilité manquante")
    return [p for p in problems if p]


def parse_referentiel(text: str, name: str) -> list[Typologie]:
    """The rows of a referential file's TEXT, every one checked; NAME is shown in errors."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames != COLUMNS:
        raise CatalogueError(f"{name} : en-têtes attendus {', '.join(COLUMNS)}")
    rows: list[Typologie] = []
    seen: set[str] = set()
    for line, rec in enumerate(reader, start=2):
        if None in rec or any(rec[c] is None for c in COLUMNS):
            raise CatalogueError(f"{name}, ligne {line} : nombre de colonnes incorrect (guillemets manquants ?)")
        problems = _row_problems(rec, seen)
        if problems:
            raise CatalogueError(f"{name}, ligne {line} : " + " ; ".join(problems))
        seen.add(rec["code"].strip())
        rows.append(_typologie(rec))
    return rows


def _typologie(rec: dict[str, str]) -> Typologie:
    years = int(rec["communicabilite_annees"])
    depart = rec["depart"].strip()
    return Typologie(code=rec["code"].strip(), domaine=rec["domaine"].strip(), typologie=rec["typologie"].strip(),
                     description=rec["description"].strip(), dua_annees=int(rec["dua_annees"]),
                     dua_depart=EVENTS[depart].label, depart=depart, sort_final=rec["sort_final"],
                     source=rec["source"].strip(), communicabilite_annees=years,
                     communicabilite_depart=(rec["communicabilite_depart"].strip() or None) if years else None,
                     source_communicabilite=rec["source_communicabilite"].strip())


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


def access_rule_id(code: str) -> str:
    """The Vitam rule id of a typology's communicability (AccessRule)."""
    return f"ACC-{code}"


def vitam_rules(rows: list[Typologie]) -> list[VitamRule]:
    """Every rule the referential holds, in Vitam's terms: per typology, one AppraisalRule
    (DUA) and one AccessRule (communicability); both the rules CSV and the SIPs use them.

    Vitam's rule has no field for the sort final (it belongs to the archive unit's
    FinalAction) nor for the start event (the unit's StartDate), so both are stated in the
    description with the source.
    """
    rules = []
    for t in rows:
        description = (f"{t.description}. Point de départ : {t.dua_depart}. "
                       f"Sort final : {t.sort_final}. Source : {t.source}")
        rules.append(VitamRule(appraisal_rule_id(t.code), "AppraisalRule", t.typologie, description, t.dua_annees))
    for t in rows:
        delay = communicabilite_label(t.communicabilite_annees)
        start = EVENTS[t.communicabilite_depart].label if t.communicabilite_depart else None
        description = (f"Communicabilité : {delay.lower()}" + (f" à compter de : {start}" if start else "")
                       + f". Source : {t.source_communicabilite}")
        rules.append(VitamRule(access_rule_id(t.code), "AccessRule", f"Communicabilité — {t.typologie}",
                               description, t.communicabilite_annees))
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
