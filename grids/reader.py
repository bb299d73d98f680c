"""Reading a filled grid: open the workbook once (size limits checked before openpyxl
inflates anything), check its metadata and header, and turn each row of « Recensement »
into typed answers, or into `Problem`s naming sheet and cell.

A row is checked in small steps, each one concern: its identity (commune, identifier),
each answer parsed by the type of its column, required cells, answers that call for
another (« Autre », « Application métier »), rows the référent added. Nothing here
touches the catalogue: grids.importer stores what this module returns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from catalogue.errors import CatalogueError
from grids import limits, sniff, spec
from grids.problems import Problem
from grids.spec import AUTRE, BY_KEY, FILL_KEYS, HEADER_INDEX, SHEET_GRID, SHEET_META, TYPOLOGIES, header_key
from grids.values import Choices, as_date, as_decimal, as_int, as_text, is_blank

ADDED_PREFIX = "AJ-"
HEADER_SEARCH_ROWS = 10
CHOICE_LIST_MAX = 8  # longer lists are not spelled out in messages

# (code, label, dua, dua_depart, sort_final): one row of the retention referential.
Typology = tuple[str, str, int, str, str]

_PARSERS: dict[str, Callable[[Any], Any]] = {"int": as_int, "decimal": as_decimal, "date": as_date}

# An answer that calls for another: (column, value, column that must then be filled, message).
_DEPENDENT = [
    ("typologie", AUTRE, "typologie_autre", "précisez la typologie (vous avez choisi « Autre »)"),
    ("environnement", "Application métier", "application", "indiquez le nom de l'application métier"),
]


@dataclass
class ParsedRow:
    sheet_row: int
    dataset_id: str
    ajout: bool
    values: dict[str, Any]


@dataclass
class ParsedGrid:
    path: Path
    commune: str
    version: str
    exported_at: dt.datetime | None
    catalogue_id: str | None
    rows: list[ParsedRow] = field(default_factory=list)
    unqualified: int = 0
    problems: list[Problem] = field(default_factory=list)
    invalid_rows: int = 0
    file_sha256: str = ""

    def reject(self, problems: list[Problem]) -> None:
        """A row with problems is not imported; its problems are reported."""
        self.problems.extend(problems)
        self.invalid_rows += 1


@dataclass
class OpenedGrid:
    """A workbook opened once, with its « _catalogage » metadata."""

    path: Path
    workbook: Any
    meta: dict[str, str]

    @property
    def commune(self) -> str:
        return self.meta.get("commune", "")


def open_grid(path: Path) -> OpenedGrid:
    """Open a filled grid: a readable .xlsx within the size limits, with a grid's metadata."""
    workbook = open_workbook(path)
    return OpenedGrid(path, workbook, read_meta(workbook, path.name))


def open_workbook(path: Path) -> Any:
    """Load an .xlsx once, after the size limits are checked on the ZIP itself."""
    name = path.name
    if not path.is_file():
        raise CatalogueError(f"{path} : fichier introuvable.")
    damaged = (f"{name} : classeur Excel (.xlsx) abîmé ou incomplet, illisible ; ouvrez-le dans Excel ou "
               "LibreOffice et enregistrez-le à nouveau au format .xlsx, ou repartez de la grille envoyée.")
    try:
        sniff.check_is_xlsx(path)  # an .ods, an .xls, a CSV or a password: say which, and what to do
        limits.check_archive(path)  # before openpyxl inflates anything
        wb = load_workbook(path, data_only=True)
        limits.check_loaded(wb, name)
        return wb
    except CatalogueError:
        raise
    except PermissionError:
        raise CatalogueError(f"{name} : lecture refusée (droits du fichier).") from None
    except Exception:  # openpyxl raises many kinds on damaged files; their English text helps no référent
        raise CatalogueError(damaged) from None


def read_meta(wb: Any, name: str) -> dict[str, str]:
    """The hidden metadata sheet as key → text; refuses a workbook that is not a grid."""
    not_a_grid = (f"{name} : ce classeur n'est pas une grille Catalogage (métadonnées absentes) ; "
                  "partez d'une grille produite par « catalogue grid export ».")
    if SHEET_META not in wb.sheetnames:
        raise CatalogueError(not_a_grid)
    meta = {}
    for key, value, *_ in wb[SHEET_META].iter_rows(min_row=1, max_col=2, values_only=True):
        if key is not None:
            meta[str(key).strip()] = "" if value is None else as_text(value)
    if meta.get("format") != spec.GRID_FORMAT or SHEET_GRID not in wb.sheetnames:
        raise CatalogueError(not_a_grid)
    return meta


def _new_grid(opened: OpenedGrid, declared_commune: str | None) -> ParsedGrid:
    """The grid's identity from its metadata: a known template version, the expected commune."""
    name, meta = opened.path.name, opened.meta
    version = meta.get("version_modele", "")
    if version not in spec.SUPPORTED_VERSIONS:
        raise CatalogueError(f"{name} : version de modèle « {version} » inconnue (versions prises en charge : "
                             f"{', '.join(spec.SUPPORTED_VERSIONS)}) ; exportez une nouvelle grille.")
    commune = opened.commune
    if declared_commune and commune != declared_commune:
        raise CatalogueError(f"{name} : cette grille est celle de la commune {commune or '(inconnue)'}, "
                             f"pas de la commune {declared_commune} déclarée.")
    try:
        exported_at = dt.datetime.fromisoformat(meta["date_export"]) if meta.get("date_export") else None
    except ValueError:
        exported_at = None  # only informative: a damaged date does not refuse the grid
    return ParsedGrid(path=opened.path, commune=commune, version=version, exported_at=exported_at,
                      catalogue_id=meta.get("catalogue_id") or None)


def find_header(ws: Any) -> tuple[int, dict[int, spec.Column]]:
    """The header row (the one naming most grid columns among the first rows) and its
    columns by sheet position: columns may be moved, and unknown ones are ignored."""
    best_row, best = 0, dict[int, spec.Column]()
    for r, values in enumerate(ws.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS, values_only=True), start=1):
        found: dict[int, spec.Column] = {}
        for j, value in enumerate(values, start=1):
            column = HEADER_INDEX.get(header_key(value)) if value is not None else None
            if column is not None and column not in found.values():
                found[j] = column
        if len(found) > len(best):
            best_row, best = r, found
    return best_row, best


def _missing_columns(grid: ParsedGrid, header_row: int, present: set[str]) -> list[Problem]:
    if "dataset_id" not in present:
        raise CatalogueError(f"{grid.path.name} : colonne « Identifiant » introuvable dans la feuille {SHEET_GRID}.")
    return [Problem(SHEET_GRID, None, header_row, c.key, f"colonne obligatoire « {c.header} » absente",
                    grid.path.name)
            for c in spec.TO_FILL if c.required_in(grid.version) and c.key not in present]


def _data_rows(ws: Any, header_row: int, columns: dict[int, spec.Column]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(sheet row, cells by column key) of every row under the header that is not empty."""
    for r, values in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
        raw = {c.key: values[j - 1] for j, c in columns.items() if j - 1 < len(values)}
        if not all(is_blank(v) for v in raw.values()):
            yield r, raw


@dataclass
class _RowCheck:
    """One sheet row under check: its cells by column key, and the problems found so far."""

    grid: ParsedGrid
    number: int
    raw: dict[str, Any]
    position: dict[str, int]
    problems: list[Problem] = field(default_factory=list)

    def problem(self, message: str, *keys: str) -> Problem:
        """A problem in the cell of the first of `keys` the sheet has (the next ones stand in
        when a column was deleted)."""
        key = next((k for k in keys if k in self.position), keys[-1])
        cell = f"{get_column_letter(self.position[key])}{self.number}"
        return Problem(SHEET_GRID, cell, self.number, key, message, self.grid.path.name)

    def add(self, message: str, *keys: str) -> None:
        self.problems.append(self.problem(message, *keys))

    def text(self, key: str) -> str:
        return as_text(self.raw.get(key) or "")


class GridReader:
    """Checks and reads the « Recensement » sheet of opened grids."""

    def __init__(self, typologies: list[Typology]):
        self.typology_by_label = {t[1]: t for t in typologies}
        labels = [t[1] for t in typologies] + [AUTRE]
        self.choices = {}
        for column in spec.COLUMNS:
            if column.kind != "choice":
                continue
            if column.choices == TYPOLOGIES:
                self.choices[column.key] = Choices(labels, aliases={t[0]: t[1] for t in typologies})
            else:
                self.choices[column.key] = Choices(list(column.choices))

    def read(self, opened: OpenedGrid, known_ids: set[str], declared_commune: str | None = None) -> ParsedGrid:
        """Check one opened grid whose valid identifiers are `known_ids`: its rows, and its problems."""
        grid = _new_grid(opened, declared_commune)
        ws = opened.workbook[SHEET_GRID]
        header_row, columns = find_header(ws)
        grid.problems.extend(_missing_columns(grid, header_row, {c.key for c in columns.values()}))
        if grid.problems:
            return grid
        position = {c.key: j for j, c in columns.items()}
        seen: dict[str, int] = {}
        for r, raw in _data_rows(ws, header_row, columns):
            row = self._row(_RowCheck(grid, r, raw, position), known_ids, seen)
            if row is not None:
                grid.rows.append(row)
        return grid

    def _row(self, row: _RowCheck, known_ids: set[str], seen: dict[str, int]) -> ParsedRow | None:
        grid = row.grid
        dataset_id = row.text("dataset_id").upper()
        _check_identity(row, dataset_id, known_ids, seen)
        filled = {k: row.raw[k] for k in FILL_KEYS if k in row.raw and not is_blank(row.raw[k])}
        if _only_proposed(row, filled):
            filled = {}
        if not filled:
            _unanswered(row, dataset_id)
            return None
        values = self._values(row, filled)
        _check_required(row, filled)
        _check_dependent(row, values)
        emplacement = row.text("emplacement") or None
        ajout = not dataset_id or dataset_id.startswith(ADDED_PREFIX)
        if ajout:
            _check_added(row, values, dataset_id, emplacement)
        if row.problems:
            grid.reject(row.problems)
            return None
        self._apply_referential(values)
        values["emplacement"] = emplacement
        if not dataset_id:
            dataset_id = added_dataset_id(grid.commune, emplacement, values)
            if dataset_id in seen:
                grid.reject([row.problem(f"ligne ajoutée identique à la ligne {seen[dataset_id]}", "emplacement")])
                return None
            seen[dataset_id] = row.number
        return ParsedRow(sheet_row=row.number, dataset_id=dataset_id, ajout=ajout, values=values)

    def _values(self, row: _RowCheck, filled: dict[str, Any]) -> dict[str, Any]:
        """Every answer parsed by its column's type; None where empty or refused."""
        values: dict[str, Any] = dict.fromkeys(FILL_KEYS)
        for key, value in filled.items():
            column = BY_KEY[key]
            try:
                values[key] = self._parse(column, value)
            except ValueError as exc:
                row.add(self._refusal(column, value, exc), key)
        return values

    def _parse(self, column: spec.Column, value: Any) -> Any:
        if column.kind == "choice":
            return self.choices[column.key].match(value)
        return _PARSERS.get(column.kind, as_text)(value)

    def _refusal(self, column: spec.Column, value: Any, exc: ValueError) -> str:
        shown = as_text(value)
        if column.kind != "choice":
            return f"« {shown} » {exc}"
        values = self.choices[column.key].values
        allowed = (f"voir la liste déroulante ou la feuille « {spec.SHEET_REFERENTIEL} »"
                   if len(values) > CHOICE_LIST_MAX else ", ".join(values))
        return f"« {shown} » n'est pas une valeur autorisée ({allowed})"

    def _apply_referential(self, values: dict[str, Any]) -> None:
        """DUA and sort final default to the referential's, and say so."""
        values["typologie_code"] = None
        values["dua_suggeree"] = values["sort_suggere"] = False
        typology = self.typology_by_label.get(values["typologie"])
        if typology is None:
            return
        code, _, dua, depart, sort_final = typology
        values["typologie_code"] = code
        if values["dua_annees"] is None:
            values["dua_annees"], values["dua_suggeree"] = dua, True
            values["dua_depart"] = values["dua_depart"] or depart
        if values["sort_final"] is None:
            values["sort_final"], values["sort_suggere"] = sort_final, True


def _check_identity(row: _RowCheck, dataset_id: str, known_ids: set[str], seen: dict[str, int]) -> None:
    """The row belongs to this grid's commune, and its identifier (if any) to one dataset of it, once."""
    commune = row.grid.commune
    row_commune = row.text("commune")
    if row_commune and row_commune != commune:
        row.add(f"ligne de la commune {row_commune} dans une grille de la commune {commune}", "commune")
    if not dataset_id:
        return
    if dataset_id not in known_ids:
        row.add(f"identifiant « {dataset_id} » inconnu pour la commune {commune} "
                "(laissez-le vide sur une ligne ajoutée)", "dataset_id")
    elif dataset_id in seen:
        row.add(f"identifiant « {dataset_id} » déjà présent ligne {seen[dataset_id]}", "dataset_id")
    else:
        seen[dataset_id] = row.number


def _only_proposed(row: _RowCheck, filled: dict[str, Any]) -> bool:
    """Whether the only answer is the « Oui » the export proposed where the scan found
    signatures: the row is still unanswered, not a started row with missing values."""
    if list(filled) != ["signature"] or spec.fold(row.text("signature")) != "oui":
        return False
    share = row.raw.get("part_signee")
    return isinstance(share, (int, float)) and share > 0


def _unanswered(row: _RowCheck, dataset_id: str) -> None:
    """A row without any answer: a dataset still to qualify, or an added row only started."""
    if dataset_id:
        row.grid.unqualified += 1
    elif not is_blank(row.raw.get("emplacement")):
        row.add("ligne ajoutée sans aucune réponse (remplissez-la ou effacez-la)", "emplacement")
    if row.problems:
        row.grid.reject(row.problems)


def _check_required(row: _RowCheck, filled: dict[str, Any]) -> None:
    for column in spec.TO_FILL:
        if column.required_in(row.grid.version) and column.key not in filled:
            row.add(f"valeur obligatoire manquante ({column.header})", column.key)


def _check_dependent(row: _RowCheck, values: dict[str, Any]) -> None:
    for key, value, needed, message in _DEPENDENT:
        if values[key] == value and not values[needed]:
            row.add(message, needed, key)


def _check_added(row: _RowCheck, values: dict[str, Any], dataset_id: str, emplacement: str | None) -> None:
    """A row the référent added says where its data is, and (without a scan) how much it
    holds today (from template version 3) and how much it grows a year."""
    if not emplacement:
        row.add("emplacement obligatoire sur une ligne ajoutée (dossier, application, support…)",
                "emplacement", "dataset_id")
    if dataset_id:
        return
    if values["volume_stock_go"] is None and spec.at_least(row.grid.version, 3) \
            and "volume_stock_go" not in {p.column for p in row.problems}:
        row.add("volume actuel estimé obligatoire sur une ligne ajoutée (aucun scan ne l'a mesuré ; 0 si les "
                "données commencent)", "volume_stock_go", "dataset_id")
    if values["volume_annuel_go"] is None and "volume_annuel_go" not in {p.column for p in row.problems}:
        row.add("volume annuel estimé obligatoire sur une ligne ajoutée (aucun scan ne l'a mesuré)",
                "volume_annuel_go", "dataset_id")


def added_dataset_id(commune: str, emplacement: str | None, values: dict[str, Any]) -> str:
    """Stable id of a row the référent added: the same row imported twice is one dataset."""
    key = "|".join([commune, spec.fold(emplacement or ""), spec.fold(values.get("service") or ""),
                    spec.fold(values.get("typologie") or "")])
    return ADDED_PREFIX + hashlib.md5(key.encode("utf-8")).hexdigest()[:12].upper()
