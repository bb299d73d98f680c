"""Feuille de route: an action, a priority score and a target year per dataset.

The score is a sum of points whose weights live in catalogue/rules/priorites.csv
(value, format risk, precarious hosting, personal data past their DUA,
volume, readiness); every point given is kept as a reason shown in the report. A weight
must name a choice of the grid column it scores (grids/spec.py) or a value the roadmap
derives itself: anything else is refused with its line, never scored 0 in silence.

An action is an `Action` (its French label and its `Kind`: transfer, eliminate, keep,
qualify); the target year is a field of its own. Consumers compare the enum, never the
label text.

Actions:
- no current qualification, or no sort final known → « À qualifier »;
- sort final Destruction: DUA over → « Éliminer (après visa) » this year; otherwise
  « Conserver en service jusqu'en N », N = end of the DUA; when the catalogue cannot date
  the DUA's start → « Élimination à vérifier : point de départ « … » inconnu », no year;
- Conservation → « Verser au SAE », Tri → « Verser au SAE (après tri) »; the year
  depends on the score (thresholds in priorites.csv), and a dataset at risk
  (format at high risk, workstation, removable media) goes this year.

Signed data first is a rule, not a weight (eIDAS art. 34: a signature stays verifiable
only inside the SAE): a dataset to transfer whose signed share, measured by the scan, is
at least `seuil_signature` in priorites.csv, or whose référent answered « Oui » to
« Données signées », goes this year and before every unsigned dataset, the earliest
certificate expiry first.
The DUA runs from its start event (catalogue.referentiel.EVENTS): the grid's « Point de
départ de la DUA », else the typology's. Only events dated from the last modification seen
by the scan give a year (`date_document`; 31 December of its year for `cloture_exercice`,
so a 10-year DUA of 2015 vouchers is over in 2026); a birth, a dissolution, the end of a
contract are in no file's metadata: the elimination is then to be checked, never dated.

Volumes are stock or flow, measured or declared: a scan measures a stock (`bytes`); a row
a référent added to the grid declares its current stock and its yearly flow. What is
« à verser » each year is computed from them in catalogue/stockflow.py.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from enum import Enum

import duckdb

from catalogue.formatting import french_number
from catalogue.referentiel import dua_over
from catalogue.weights import Weights, load_weights
from grids.reader import ADDED_PREFIX


class Kind(Enum):
    """What an action does with a dataset; the value heads the report's totals per kind."""

    TRANSFER = "Verser au SAE"
    ELIMINATE = "Éliminer (après visa)"
    VERIFY = "Élimination à vérifier"
    KEEP = "Conserver en service"
    QUALIFY = "À qualifier"

    @property
    def label(self) -> str:
        return self.value


class Action(Enum):
    """A roadmap action: its French label (a pattern taking the target year) and its kind."""

    QUALIFY = ("À qualifier", Kind.QUALIFY)
    ELIMINATE = ("Éliminer (après visa)", Kind.ELIMINATE)
    VERIFY = ("Élimination à vérifier : point de départ « {start} » inconnu", Kind.VERIFY)
    KEEP = ("Conserver en service jusqu'en {year}", Kind.KEEP)
    TRANSFER = ("Verser au SAE", Kind.TRANSFER)
    TRANSFER_SORTED = ("Verser au SAE (après tri)", Kind.TRANSFER)

    def __init__(self, pattern: str, kind: Kind) -> None:
        self.pattern = pattern
        self.kind = kind

    def label(self, year: int | None = None, start: str | None = None) -> str:
        """The label users read; only « Conserver en service jusqu'en … » shows its year,
        and « Élimination à vérifier » the start event the catalogue cannot date."""
        return self.pattern.format(year=year, start=start)


RISK_SHARE = 0.2  # share of a dataset's volume in risky formats that counts as « at risk »
PRECARIOUS = {"Poste de travail", "Support amovible"}


@dataclass
class DatasetFacts:
    dataset_id: str
    commune: str
    emplacement: str
    bytes: int = 0
    last_year: int | None = None
    last_date: dt.date | None = None  # the newest file's modification date (None: no scan saw it)
    high_risk_share: float = 0.0
    medium_risk_share: float = 0.0
    answers: dict | None = None  # current qualification, None if not qualified
    signed_share: float = 0.0  # share of the volume the scan found signed (0 to 1)
    first_cert_expiry: dt.date | None = None  # earliest signer certificate expiry seen
    source: str | None = None  # scan source: filesystem, database, mail; None for a row added to the grid
    declared_stock: int = 0  # bytes held today, as declared on a row added to the grid (no scan measured it)
    declared_flow: int = 0  # bytes produced a year, as declared in the grid (« Volume annuel estimé »)

    @property
    def stock(self) -> int:
        """Bytes held today: measured by a scan, or declared on an added row."""
        return self.bytes + self.declared_stock


@dataclass
class RoadmapEntry:
    facts: DatasetFacts
    action: Action
    target_year: int | None
    score: int
    dua_end: int | None
    reasons: list[str] = field(default_factory=list)
    signed_first: bool = False  # transferred this year, before every unsigned dataset
    start_label: str | None = None  # the DUA's start the catalogue cannot date (Action.VERIFY)

    @property
    def kind(self) -> Kind:
        return self.action.kind

    @property
    def label(self) -> str:
        """The action as users read it, with its year where the label carries one."""
        return self.action.label(self.target_year, self.start_label)

    @property
    def packable(self) -> bool:
        """Whether a scan measured its files (a row a référent added to the grid has none to pack)."""
        return not self.facts.dataset_id.startswith(ADDED_PREFIX)

    @property
    def sip_command(self) -> str | None:
        """For a dataset to transfer, the command that builds its SEDA package; CONTRAT is
        the SAE's ingest contract, which only the archivist knows."""
        if self.kind is not Kind.TRANSFER or not self.packable:
            return None
        return f"catalogue sip {self.facts.dataset_id} --contrat CONTRAT -o sip/{self.facts.commune}"


@dataclass
class _Points:
    """A running score and the reasons shown for it, in the order they were given."""

    total: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, points: int, why: str) -> None:
        if points:
            self.total += points
            self.reasons.append(f"{why} (+{points})")


VALUE_CRITERIA = (("valeur_juridique", "valeur juridique"), ("valeur_patrimoniale", "valeur patrimoniale"),
                  ("valeur_strategique", "valeur stratégique"))


def _answer_points(p: _Points, a: dict, w: Weights) -> None:
    """Values: what the service says of its records."""
    for key, label in VALUE_CRITERIA:
        if a.get(key):
            p.add(w.get(key, a[key]), f"{label} {a[key].lower()}")


def _signed(f: DatasetFacts, a: dict, w: Weights) -> bool:
    """Whether the dataset holds signed data: by the scan's measure, or the référent's word."""
    return f.signed_share >= w.signed_threshold() or a.get("signature") == "Oui"


def _signed_reason(f: DatasetFacts) -> str:
    """The « Pourquoi » of the signed-first rule, in French."""
    if f.signed_share > 0:
        measure = f"{french_number(100 * f.signed_share, 0)} % du volume"
    else:
        measure = "selon le service"
    why = f"données signées électroniquement ({measure}) : versement prioritaire"
    if f.first_cert_expiry is not None:
        why += f", certificat expirant le {f.first_cert_expiry.strftime('%d/%m/%Y')}"
    return why


def _format_points(p: _Points, f: DatasetFacts, w: Weights) -> bool:
    """Points for risky formats; True when the share at high risk puts the dataset at risk."""
    if f.high_risk_share >= RISK_SHARE:
        p.add(w.get("format_risque", "élevé"),
              f"{french_number(100 * f.high_risk_share, 0)} % du volume en format à risque élevé")
        return True
    if f.high_risk_share + f.medium_risk_share >= RISK_SHARE:
        p.add(w.get("format_risque", "moyen"),
              f"{french_number(100 * (f.high_risk_share + f.medium_risk_share), 0)} % du volume en format à convertir")
    return False


def _hosting_points(p: _Points, a: dict, w: Weights) -> bool:
    """Points for precarious hosting (workstation, removable media); True when so hosted."""
    if a.get("hebergement") not in PRECARIOUS:
        return False
    p.add(w.get("hebergement", a["hebergement"]), f"hébergé sur {a['hebergement'].lower()}")
    return True


def _later_points(p: _Points, f: DatasetFacts, a: dict, w: Weights, expired: bool) -> None:
    """Personal data past their DUA, volume (log scale), readiness of the service."""
    if a.get("donnees_personnelles", "Non") not in ("Non", "Ne sait pas") and expired:
        p.add(w.get("donnees_personnelles_dua_echue", "Oui"), "données personnelles dont la DUA est échue")
    megabytes = max(f.stock, 0) / 1e6
    if megabytes > 1:
        ceiling = w.get("volume", "max")
        p.add(min(ceiling, round(ceiling * math.log10(megabytes) / 6)), "volume")
    if a.get("priorite") in ("Haute", "Moyenne"):
        p.add(w.get("preparation", a["priorite"]), f"priorité {a['priorite'].lower()} souhaitée par le service")


def dua_end(f: DatasetFacts, a: dict, this_year: int) -> tuple[int | None, str | None]:
    """The year from which the DUA is over, or None with the start's label when the
    catalogue cannot date it (None, None: no DUA given)."""
    if a.get("dua_annees") is None:
        return None, None
    # The grid's wording first (a référent may correct it), else the typology's event; only
    # a year known (or none: a row no scan saw), its last day, the latest the files can be.
    last = f.last_date or dt.date(f.last_year or this_year, 12, 31)
    year, start = dua_over(a.get("dua_depart") or a.get("depart_referentiel"), a["dua_annees"], last)
    return year, (start if year is None else None)


def _decide(a: dict, w: Weights, score: int, at_risk: bool, dua_end: int | None,
            this_year: int, undated: str | None = None) -> tuple[Action, int | None]:
    """The action and its target year, from the sort final, the DUA and the score."""
    sort_final = a.get("sort_final")
    if not a or not sort_final:
        return Action.QUALIFY, None
    if sort_final == "Destruction":
        if undated is not None:
            return Action.VERIFY, None
        if dua_end is None:
            return Action.QUALIFY, None
        if dua_end <= this_year:
            return Action.ELIMINATE, this_year
        return Action.KEEP, dua_end
    action = Action.TRANSFER_SORTED if sort_final == "Tri" else Action.TRANSFER
    if score >= w.get("seuil_versement", "annee_en_cours") or at_risk:
        return action, this_year
    if score >= w.get("seuil_versement", "annee_suivante"):
        return action, this_year + 1
    return action, this_year + 2


def score_and_action(f: DatasetFacts, w: Weights, this_year: int) -> RoadmapEntry:
    """Score a dataset (every point with its reason) and decide its action and year."""
    a = f.answers or {}
    end, undated = dua_end(f, a, this_year)
    p = _Points()
    _answer_points(p, a, w)
    risky_format = _format_points(p, f, w)
    precarious = _hosting_points(p, a, w)
    _later_points(p, f, a, w, expired=end is not None and end <= this_year)
    action, year = _decide(a, w, p.total, risky_format or precarious, end, this_year, undated)
    first = action.kind is Kind.TRANSFER and _signed(f, a, w)
    if first:
        year = this_year
        p.reasons.insert(0, _signed_reason(f))
    return RoadmapEntry(f, action, year, p.total, end, p.reasons, signed_first=first,
                        start_label=undated if action is Action.VERIFY else None)


def roadmap_order(e: RoadmapEntry) -> tuple:
    """Signed data first, earliest certificate expiry first (unknown expiry last); then
    the highest score."""
    if e.signed_first:
        expiry = e.facts.first_cert_expiry
        return (0, expiry is None, expiry or dt.date.max, -e.score, e.facts.emplacement)
    return (1, False, dt.date.max, -e.score, e.facts.emplacement)


FACTS_SQL = """
WITH risk AS (
    SELECT df.commune, df.dataset_id,
           -- Signature files (.p7s, XAdES, PEM...) are never a risky format: many are UNKNOWN to PRONOM.
           sum(df.size) FILTER (WHERE (r.risque = 'élevé'
                                OR (df.size > 0 AND df.error IS NULL AND df.puid IS NULL))
                                AND df.sig_kind IS NULL) AS high_bytes,
           sum(df.size) FILTER (WHERE r.risque = 'moyen' AND df.sig_kind IS NULL) AS medium_bytes
    FROM dataset_files df
    LEFT JOIN formats_risque r ON r.puid = coalesce(df.puid, 'UNKNOWN')
    WHERE df.size > 0 AND df.error IS NULL AND ($commune IS NULL OR df.commune = $commune)
    GROUP BY ALL
), scanned AS (
    SELECT d.dataset_id, d.commune, d.emplacement, d.source, d.bytes, year(d.last_mtime) AS last_year,
           CAST(d.last_mtime AS DATE) AS last_date,
           coalesce(r.high_bytes, 0) AS high_bytes, coalesce(r.medium_bytes, 0) AS medium_bytes,
           coalesce(d.signed_share, 0) AS signed_share, CAST(d.first_cert_expiry AS DATE) AS first_cert_expiry
    FROM datasets d LEFT JOIN risk r USING (commune, dataset_id)
    WHERE $commune IS NULL OR d.commune = $commune
)
SELECT coalesce(s.dataset_id, q.dataset_id) AS dataset_id, coalesce(s.commune, q.commune) AS commune,
       coalesce(s.emplacement, q.emplacement) AS emplacement,
       s.source, coalesce(s.bytes, 0) AS bytes,
       -- A declared stock stands only where no scan measured one; a declared yearly volume is a flow.
       CASE WHEN s.dataset_id IS NULL THEN CAST(coalesce(q.volume_stock_go, 0) * 1e9 AS BIGINT) ELSE 0 END
           AS declared_stock,
       CAST(coalesce(q.volume_annuel_go, 0) * 1e9 AS BIGINT) AS declared_flow,
       s.last_year, coalesce(s.high_bytes, 0) AS high_bytes, coalesce(s.medium_bytes, 0) AS medium_bytes,
       coalesce(s.signed_share, 0) AS signed_share, s.first_cert_expiry,
       q.dataset_id IS NOT NULL AS qualified, s.dataset_id IS NULL AS unscanned,
       s.last_date,
       q.* EXCLUDE (dataset_id, commune, emplacement)
FROM scanned s
FULL JOIN (SELECT * FROM qualifications_current WHERE $commune IS NULL OR commune = $commune) q
       USING (dataset_id)
-- A qualified dataset gone from the latest scan is not in the roadmap: nothing to ingest.
WHERE s.dataset_id IS NOT NULL OR q.ajout
ORDER BY commune, emplacement
"""


def _facts_sql(con: duckdb.DuckDBPyConnection) -> str:
    """FACTS_SQL for this catalogue. One that a report opens read-only may predate migration
    0008_grid_v3, which added the declared stock: then no stock is declared."""
    cur = con.execute("SELECT * FROM qualifications_current LIMIT 0")
    if "volume_stock_go" in {d[0] for d in cur.description}:
        return FACTS_SQL
    return FACTS_SQL.replace("q.volume_stock_go", "NULL")


def _departs(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """Each typology's start event. A catalogue a report opens read-only may predate
    migration 0009_referentiel_events: then no start event is known (all « à vérifier »)."""
    cols = {d[0] for d in con.execute("SELECT * FROM referentiel LIMIT 0").description}
    if "depart" not in cols:
        return {}
    return dict(con.execute("SELECT code, depart FROM referentiel").fetchall())


def load_facts(con: duckdb.DuckDBPyConnection, commune: str | None = None) -> list[DatasetFacts]:
    departs = _departs(con)
    cur = con.execute(_facts_sql(con), {"commune": commune})
    names = [d[0] for d in cur.description]
    facts = []
    for row in cur.fetchall():
        r = dict(zip(names, row))
        r["depart_referentiel"] = departs.get(r.get("typologie_code") or "")
        total = r["bytes"] or 0
        facts.append(DatasetFacts(
            dataset_id=r["dataset_id"], commune=r["commune"], emplacement=r["emplacement"] or "", bytes=total,
            last_year=r["last_year"], last_date=r["last_date"],
            high_risk_share=(r["high_bytes"] / total) if total and not r["unscanned"] else 0.0,
            medium_risk_share=(r["medium_bytes"] / total) if total and not r["unscanned"] else 0.0,
            answers=r if r["qualified"] else None,
            signed_share=float(r["signed_share"]), first_cert_expiry=r["first_cert_expiry"],
            source=r["source"], declared_stock=r["declared_stock"], declared_flow=r["declared_flow"],
        ))
    return facts


def build_roadmap(con: duckdb.DuckDBPyConnection, commune: str | None = None,
                  this_year: int | None = None) -> list[RoadmapEntry]:
    """Roadmap entries, signed data first then highest score, for one commune or the territory."""
    this_year = this_year or dt.date.today().year
    weights = load_weights(con)
    entries = [score_and_action(f, weights, this_year) for f in load_facts(con, commune)]
    return sorted(entries, key=roadmap_order)
