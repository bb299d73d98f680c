"""The roadmap's weights: points per (criterion, value) from priorites.csv, each row checked
against a value the grid or the roadmap can actually produce."""

from __future__ import annotations

import math
from collections.abc import Iterable

import duckdb

from catalogue.errors import CatalogueError
from catalogue.formatting import french_number
from catalogue.rulefiles import rules_path
from grids import spec

# Criteria scored on a grid answer, by the grid column they read: a weight takes one of
# that column's choices (grids/spec.py), never a value no référent can pick.
# A signature is not scored: it is the rule above every score (seuil_signature).
GRID_CRITERIA = {"valeur_juridique": "valeur_juridique", "valeur_patrimoniale": "valeur_patrimoniale",
                 "valeur_strategique": "valeur_strategique", "hebergement": "hebergement",
                 "preparation": "priorite"}
# Criteria the roadmap derives itself (from the scan, or parameters), with the values it reads.
DERIVED_CRITERIA: dict[str, tuple[str, ...]] = {
    "format_risque": ("élevé", "moyen"), "donnees_personnelles_dua_echue": ("Oui",), "volume": ("max",),
    "seuil_versement": ("annee_en_cours", "annee_suivante"), "seuil_signature": ("part_signee_pct",)}


def _grid_choices(column: str) -> tuple[str, ...]:
    choices = spec.BY_KEY[column].choices
    assert isinstance(choices, tuple), column  # a closed list of the grid, not the referential's marker
    return choices


WEIGHT_CHOICES: dict[str, tuple[str, ...]] = {
    **{criterion: _grid_choices(column) for criterion, column in GRID_CRITERIA.items()}, **DERIVED_CRITERIA}


def weight_problem(criterion: str, value: str) -> str | None:
    """Why a (critere, valeur) row of priorites.csv would never score, or None if it can."""
    if criterion not in WEIGHT_CHOICES:
        return f"critère « {criterion} » inconnu (attendu : {', '.join(WEIGHT_CHOICES)})"
    if value not in WEIGHT_CHOICES[criterion]:
        return (f"valeur « {value} » inconnue pour le critère {criterion} "
                f"(attendu : {', '.join(WEIGHT_CHOICES[criterion])})")
    return None


class Weights:
    """Points per (criterion, value) read from the `priorites` rule table."""

    def __init__(self, rows: Iterable[tuple[str, str, float]]):
        self.points = {(c, v): p for c, v, p in rows}

    def get(self, criterion: str, value) -> int:
        return int(self.points.get((criterion, value), 0))

    def signed_threshold(self) -> float:
        """Signed share (0 to 1) from which a dataset to keep goes first; the file gives a
        percentage. Without the row, only a référent's « Oui » puts a dataset first."""
        pct = self.points.get(("seuil_signature", "part_signee_pct"))
        return math.inf if pct is None else pct / 100


def load_weights(con: duckdb.DuckDBPyConnection) -> Weights:
    """The weights in force, each row checked against WEIGHT_CHOICES.

    The table is priorites.csv as loaded at the last writable open, rows in file order:
    a row's line in the file is its rowid + 2 (after the header)."""
    rows = con.execute("SELECT rowid + 2, critere, valeur, points FROM priorites ORDER BY rowid").fetchall()
    for line, criterion, value, points in rows:
        problem = weight_problem(criterion, value)
        if not problem and criterion == "seuil_signature" and not 0 < points <= 100:
            problem = f"seuil_signature {french_number(points, 0)} : un pourcentage entre 0 (exclu) et 100 est attendu"
        if problem:
            raise CatalogueError(f"{rules_path('priorites.csv')}, ligne {line} : {problem}")
    return Weights((criterion, value, points) for _, criterion, value, points in rows)
