"""Page 1 of every report, « À retenir »: what to decide, in plain sentences for elected
officials and the DGS — what to transfer this year, what awaits the visa of the Archives
départementales, what is still to qualify, and the main risks.

Sentences are built here from figures the report shows further on (no new figure), so
that the template stays a list and each sentence can be tested as text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from catalogue.formatting import french_bytes, french_date, french_number, plural
from catalogue.roadmap import PRECARIOUS, Kind, RoadmapEntry
from catalogue.stockflow import transfer_total, transfer_volume
from reports.audit import PATH_LIMIT

NOTABLE_SHARE = 0.01  # a risky-format share below 1 % of the volume is not a main risk


@dataclass(frozen=True)
class Point:
    """One line of « À retenir »: a short heading and its sentence."""

    heading: str
    text: str


def _jeux(n: int) -> str:
    return plural(n, "jeu de données", "jeux de données")


def decisions(roadmap: list[RoadmapEntry], this_year: int, wasted_bytes: int) -> list[Point]:
    """Transfer this year, eliminations awaiting the visa, datasets still to qualify."""
    return [_transfer_point(roadmap, this_year), _eliminate_point(roadmap, wasted_bytes), _qualify_point(roadmap)]


def _transfer_point(roadmap: list[RoadmapEntry], this_year: int) -> Point:
    """What goes into the SAE this year, then in the following years."""
    now = [e for e in roadmap if e.kind is Kind.TRANSFER and e.target_year is not None
           and e.target_year <= this_year]
    later = [e for e in roadmap if e.kind is Kind.TRANSFER and e not in now]
    if now:
        # Measured stock plus what the référents declared (stock, and flow up to the year).
        part = transfer_total(now, this_year)
        volume = french_bytes(part.total)
        text = f"{_jeux(len(now))} à verser au SAE en {this_year}, soit {volume} à prévoir dans le SAE"
        declared = part.declared_stock + part.declared_flow
        text += f" (dont {french_bytes(declared)} déclarés dans les grilles, non mesurés)." if declared else "."
    else:
        text = f"Aucun jeu de données n'est prêt à verser au SAE en {this_year}."
    if later:
        later_bytes = sum(transfer_volume(e, this_year).total for e in later)
        text += f" Puis {_jeux(len(later))} les années suivantes ({french_bytes(later_bytes)})."
    return Point(f"Verser au SAE en {this_year}", text)


def _eliminate_point(roadmap: list[RoadmapEntry], wasted_bytes: int) -> Point:
    """Eliminations awaiting the visa, those to verify, and the space duplicates and waste take."""
    gone = [e for e in roadmap if e.kind is Kind.ELIMINATE]
    if gone:
        text = (f"{_jeux(len(gone))} ({french_bytes(sum(e.facts.bytes for e in gone))}) "
                f"{'a dépassé sa' if len(gone) < 2 else 'ont dépassé leur'} durée d'utilité administrative : "
                f"{'son' if len(gone) < 2 else 'leur'} élimination attend le visa du directeur des Archives "
                "départementales (projet de bordereau en annexe). Rien n'est supprimé sans ce visa.")
    else:
        text = "Aucun jeu de données qualifié n'attend de visa d'élimination des Archives départementales."
    unsure = [e for e in roadmap if e.kind is Kind.VERIFY]
    if unsure:
        text += (f" {_jeux(len(unsure))} : élimination à vérifier, car le point de départ de la DUA "
                 "n'est pas une date que le scan connaît (aucune année n'est proposée).")
    if wasted_bytes:
        text += (f" Par ailleurs, {french_bytes(wasted_bytes)} de doublons et de déchets (fichiers temporaires, "
                 "vides, copies) peuvent être libérés après vérification par le service.")
    return Point("Éliminer après visa", text)


def _qualify_point(roadmap: list[RoadmapEntry]) -> Point:
    """The datasets the services have still to qualify in their grid."""
    todo = [e for e in roadmap if e.kind is Kind.QUALIFY]
    total = len(roadmap)
    if todo:
        added = sum(1 for e in roadmap if not e.packable)
        of = f"{french_number(total, 0)}" + (f" (dont {plural(added, 'ajouté', 'ajoutés')} par les référents)"
                                             if added else "")
        text = (f"{_jeux(len(todo))} sur {of} {'reste' if len(todo) < 2 else 'restent'} "
                "à qualifier par les services "
                "(grille Excel) : sans cette qualification, ni versement ni élimination ne peuvent être décidés.")
    else:
        text = "Tous les jeux de données sont qualifiés par les services." if total else \
            "Aucun jeu de données n'a encore été recensé."
    return Point("Qualifier", text)


def risks(*, high_share: float, unknown_share: float, precarious: int, expiring: int, long_paths: int,
          max_depth: int | None, mismatches: int, errors: int, expired: Expired | None = None) -> list[Point]:
    """The main risks, largest first in the reader's eyes; « aucun » when none is found."""
    points = []
    high_share = high_share if high_share >= NOTABLE_SHARE else 0.0
    unknown_share = unknown_share if unknown_share >= NOTABLE_SHARE else 0.0
    parts = []
    if high_share:
        parts.append(f"{french_number(high_share * 100, 0)} % du volume est dans un format à risque élevé "
                     "d'obsolescence : ces fichiers risquent de ne plus pouvoir être ouverts et sont versés "
                     "en priorité.")
    if unknown_share:
        parts.append(f"{french_number(unknown_share * 100, 0)} % du volume est dans un format dont le risque "
                     "n'est pas encore évalué : l'archiviste doit l'évaluer avant le versement.")
    if parts:
        points.append(Point("Formats", " ".join(parts)))
    if precarious:
        points.append(Point("Hébergement précaire", f"{_jeux(precarious)} sur un poste de travail ou un support "
                            "amovible (clé USB, disque externe) selon les services : une panne ou un départ, et "
                            "ces données sont perdues."))
    if expired:
        points.append(Point("Certificats expirés", _expired_sentence(expired)))
    if expiring:
        points.append(Point("Signatures",
                            f"{plural(expiring, 'certificat')} de signature "
                            f"{'expire' if expiring < 2 else 'expirent'} dans les 12 mois : après cette date, "
                            "la signature ne se vérifie plus qu'en SAE."))
    if long_paths:
        points.append(Point("Chemins trop longs", f"{plural(long_paths, 'chemin')} "
                            f"{'dépasse' if long_paths < 2 else 'dépassent'} {PATH_LIMIT} caractères "
                            f"(profondeur maximale : {plural(max_depth or 0, 'niveau')}) : Windows et les "
                            "outils de versement ne savent pas toujours les copier."))
    if mismatches:
        one = mismatches < 2
        points.append(Point("Extensions trompeuses", f"{plural(mismatches, 'fichier')} "
                            f"{'porte' if one else 'portent'} une extension qui ne correspond pas à "
                            + ("son contenu : il s'ouvrira" if one else "leur contenu : ils s'ouvriront")
                            + " mal ou pas du tout."))
    if errors:
        points.append(Point("Angles morts", f"{plural(errors, 'entrée illisible', 'entrées illisibles')} : "
                            "leur contenu n'est pas compté (droits d'accès à demander)."))
    return points or [Point("Risques", "Aucun risque majeur repéré par le scan.")]


@dataclass(frozen=True)
class Expired:
    """Signer certificates already expired: how many, and the first and last expiry dates."""

    count: int
    first: dt.date | None = None
    last: dt.date | None = None


def _expired_sentence(expired: Expired) -> str:
    if expired.first is None:
        when = ""
    elif expired.last is None or expired.first == expired.last:
        when = f" le {french_date(expired.first)}"
    else:
        when = f" entre le {french_date(expired.first)} et le {french_date(expired.last)}"
    verb = "a expiré" if expired.count < 2 else "ont expiré"
    return (f"{plural(expired.count, 'certificat')} de signature {verb}{when} : versement urgent au SAE, car la "
            "signature ne se vérifie plus qu'avec les preuves (horodatage, état de révocation) gardées avec elle.")


def expired_of(counts: dict) -> Expired | None:
    """The Expired of a signature count (reports/signatures.py), None when none expired."""
    n = counts.get("expired") or 0
    return Expired(n, counts.get("first_expired"), counts.get("last_expired")) if n else None


def precarious_count(roadmap: list[RoadmapEntry]) -> int:
    return sum(1 for e in roadmap if (e.facts.answers or {}).get("hebergement") in PRECARIOUS)
