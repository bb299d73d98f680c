"""`catalogue grid import`: check whole workbooks, report every problem at once with
sheet and cell, then store all rows as a new version (or nothing at all).

Answers are versioned: each import that changes something adds rows to
`qualifications`; the current answer per dataset is the view `qualifications_current`.
Importing the same answers again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from catalogue.errors import CatalogueError
from catalogue.store import connect
from grids import limits, spec
from grids.problems import GridValidationError, Problem
from grids.spec import AUTRE, BY_KEY, FILL_KEYS, HEADER_INDEX, SHEET_GRID, SHEET_META, TYPOLOGIES, header_key
from grids.values import Choices, as_date, as_decimal, as_int, as_text, is_blank

ADDED_PREFIX = "AJ-"
HEADER_SEARCH_ROWS = 10
CHOICE_LIST_MAX = 8  # longer lists are not spelled out in messages


@dataclass
class ParsedRow:
    sheet_row: int
    dataset_id: str
    ajout: bool
    values: dict


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


@dataclass
class ImportResult:
    path: Path
    commune: str
    import_id: int | None
    changed: int
    unchanged: int
    unqualified: int
    added: int
    skipped_rows: int
    overwrites: list[str]
    warnings: list[str]
    problems: list[Problem] = field(default_factory=list)


def _problem(file: str, key: str, column_index: int, row: int, message: str) -> Problem:
    return Problem(SHEET_GRID, f"{get_column_letter(column_index)}{row}", row, key, message, file)


def _open(path: Path):
    name = path.name
    if not path.is_file():
        raise CatalogueError(f"{path} : fichier introuvable.")
    try:
        limits.check_archive(path)  # before openpyxl inflates anything
        wb = load_workbook(path, data_only=True)
        limits.check_loaded(wb, name)
        return wb
    except CatalogueError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise CatalogueError(f"{name} : ce fichier n'est pas un classeur Excel (.xlsx) lisible "
                             f"({type(exc).__name__}).") from None
    except Exception as exc:  # openpyxl raises many kinds on foreign files
        raise CatalogueError(f"{name} : ce fichier n'est pas un classeur Excel (.xlsx) lisible ({exc}).") from None


def _read_meta(wb, name: str) -> dict[str, str]:
    not_a_grid = (f"{name} : ce classeur n'est pas une grille Catalogage (métadonnées absentes) ; "
                  "partez d'une grille produite par « catalogue grid export ».")
    if SHEET_META not in wb.sheetnames:
        raise CatalogueError(not_a_grid)
    ws = wb[SHEET_META]
    meta = {}
    for key, value, *_ in ws.iter_rows(min_row=1, max_col=2, values_only=True):
        if key is not None:
            meta[str(key).strip()] = "" if value is None else as_text(value)
    if meta.get("format") != spec.GRID_FORMAT or SHEET_GRID not in wb.sheetnames:
        raise CatalogueError(not_a_grid)
    return meta


def _find_header(ws) -> tuple[int, dict[int, spec.Column]]:
    best_row, best = 0, {}
    for r, values in enumerate(ws.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS, values_only=True), start=1):
        found = {}
        for j, value in enumerate(values, start=1):
            if value is None:
                continue
            column = HEADER_INDEX.get(header_key(value))
            if column is not None and column not in found.values():
                found[j] = column
        if len(found) > len(best):
            best_row, best = r, found
    return best_row, best


class GridReader:
    """Checks and reads the « Recensement » sheet of one workbook."""

    def __init__(self, typologies: list[tuple[str, str, int, str, str]], known_ids: set[str]):
        # typologies: (code, label, dua, dua_depart, sort_final)
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
        self.known_ids = known_ids

    def read(self, path: Path, declared_commune: str | None = None, wb=None) -> ParsedGrid:
        """Check one workbook (`wb`, if already opened from `path`)."""
        wb = wb if wb is not None else _open(path)
        meta = _read_meta(wb, path.name)
        version = meta.get("version_modele", "")
        if version not in spec.SUPPORTED_VERSIONS:
            raise CatalogueError(f"{path.name} : version de modèle « {version} » inconnue (versions prises en charge : "
                                 f"{', '.join(spec.SUPPORTED_VERSIONS)}) ; exportez une nouvelle grille.")
        commune = meta.get("commune", "")
        if declared_commune and commune != declared_commune:
            raise CatalogueError(f"{path.name} : cette grille est celle de la commune {commune or '(inconnue)'}, "
                                 f"pas de la commune {declared_commune} déclarée.")
        try:
            exported_at = dt.datetime.fromisoformat(meta["date_export"]) if meta.get("date_export") else None
        except ValueError:
            exported_at = None
        grid = ParsedGrid(path=path, commune=commune, version=version, exported_at=exported_at,
                          catalogue_id=meta.get("catalogue_id") or None)
        ws = wb[SHEET_GRID]
        header_row, columns = _find_header(ws)
        present = {c.key for c in columns.values()}
        if "dataset_id" not in present:
            raise CatalogueError(f"{path.name} : colonne « Identifiant » introuvable dans la feuille {SHEET_GRID}.")
        missing = [c for c in spec.TO_FILL if c.required and c.key not in present]
        for column in missing:
            grid.problems.append(Problem(SHEET_GRID, None, header_row, column.key,
                                         f"colonne obligatoire « {column.header} » absente", path.name))
        if missing:
            return grid
        position = {c.key: j for j, c in columns.items()}
        seen: dict[str, int] = {}
        for r, values in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
            raw = {c.key: values[j - 1] for j, c in columns.items() if j - 1 < len(values)}
            if all(is_blank(v) for v in raw.values()):
                continue  # empty row
            row = self._row(grid, r, raw, position, seen)
            if row is not None:
                grid.rows.append(row)
        return grid

    def _row(self, grid: ParsedGrid, r: int, raw: dict, position: dict, seen: dict) -> ParsedRow | None:
        problems: list[Problem] = []

        def problem(key: str, text: str) -> None:
            problems.append(_problem(grid.path.name, key, position[key], r, text))

        dataset_id = as_text(raw.get("dataset_id") or "").upper()
        ajout = not dataset_id or dataset_id.startswith(ADDED_PREFIX)
        row_commune = as_text(raw.get("commune") or "")
        if row_commune and row_commune != grid.commune:
            problem("commune", f"ligne de la commune {row_commune} dans une grille de la commune {grid.commune}")
        if dataset_id:
            if dataset_id not in self.known_ids:
                problem("dataset_id", f"identifiant « {dataset_id} » inconnu pour la commune {grid.commune} "
                                      "(laissez-le vide sur une ligne ajoutée)")
            elif dataset_id in seen:
                problem("dataset_id", f"identifiant « {dataset_id} » déjà présent ligne {seen[dataset_id]}")
            else:
                seen[dataset_id] = r
        filled = {k: raw.get(k) for k in FILL_KEYS if k in raw and not is_blank(raw.get(k))}
        if not filled:
            if dataset_id:
                grid.unqualified += 1
            # A row with only an emplacement typed in is a started added row.
            elif not is_blank(raw.get("emplacement")):
                problem("emplacement", "ligne ajoutée sans aucune réponse (remplissez-la ou effacez-la)")
            if problems:
                grid.problems.extend(problems)
                grid.invalid_rows += 1
            return None

        values: dict = {k: None for k in FILL_KEYS}
        for key, value in filled.items():
            column = BY_KEY[key]
            try:
                values[key] = self._parse(column, value)
            except ValueError as exc:
                shown = as_text(value)
                if column.kind == "choice":
                    problem(key, f"« {shown} » n'est pas une valeur autorisée ({self._allowed(column)})")
                else:
                    problem(key, f"« {shown} » {exc}")
        for column in spec.TO_FILL:
            if column.required and column.key not in filled:
                problem(column.key, f"valeur obligatoire manquante ({column.header})")
        if values["typologie"] == AUTRE and not values["typologie_autre"]:
            problem("typologie_autre" if "typologie_autre" in position else "typologie",
                    "précisez la typologie (vous avez choisi « Autre »)")
        if values["environnement"] == "Application métier" and not values["application"]:
            problem("application" if "application" in position else "environnement",
                    "indiquez le nom de l'application métier")
        emplacement = as_text(raw.get("emplacement") or "") or None
        if ajout:
            if not emplacement:
                problem("emplacement" if "emplacement" in position else "dataset_id",
                        "emplacement obligatoire sur une ligne ajoutée (dossier, application, support…)")
            if values["volume_annuel_go"] is None and not dataset_id:
                problem("volume_annuel_go" if "volume_annuel_go" in position else "dataset_id",
                        "volume annuel estimé obligatoire sur une ligne ajoutée (aucun scan ne l'a mesuré)")
        if problems:
            grid.problems.extend(problems)
            grid.invalid_rows += 1
            return None

        # DUA and sort final default to the referential's, and say so.
        values["typologie_code"] = None
        values["dua_suggeree"] = values["sort_suggere"] = False
        typology = self.typology_by_label.get(values["typologie"])
        if typology:
            code, _, dua, depart, sort_final = typology
            values["typologie_code"] = code
            if values["dua_annees"] is None:
                values["dua_annees"], values["dua_suggeree"] = dua, True
                values["dua_depart"] = values["dua_depart"] or depart
            if values["sort_final"] is None:
                values["sort_final"], values["sort_suggere"] = sort_final, True
        values["emplacement"] = emplacement
        if not dataset_id:
            dataset_id = added_dataset_id(grid.commune, emplacement, values)
            if dataset_id in seen:
                grid.problems.append(_problem(grid.path.name, "emplacement", position["emplacement"], r,
                                              f"ligne ajoutée identique à la ligne {seen[dataset_id]}"))
                grid.invalid_rows += 1
                return None
            seen[dataset_id] = r
        return ParsedRow(sheet_row=r, dataset_id=dataset_id, ajout=ajout, values=values)

    def _parse(self, column: spec.Column, value):
        if column.kind == "choice":
            return self.choices[column.key].match(value)
        if column.kind == "int":
            return as_int(value)
        if column.kind == "decimal":
            return as_decimal(value)
        if column.kind == "date":
            return as_date(value)
        return as_text(value)

    def _allowed(self, column: spec.Column) -> str:
        values = self.choices[column.key].values
        if len(values) > CHOICE_LIST_MAX:
            return f"voir la liste déroulante ou la feuille « {spec.SHEET_REFERENTIEL} »"
        return ", ".join(values)


def added_dataset_id(commune: str, emplacement: str | None, values: dict) -> str:
    """Stable id of a row the référent added: the same row imported twice is one dataset."""
    key = "|".join([commune, spec.fold(emplacement or ""), spec.fold(values.get("service") or ""),
                    spec.fold(values.get("typologie") or "")])
    return ADDED_PREFIX + hashlib.md5(key.encode("utf-8")).hexdigest()[:12].upper()


STORED = ["emplacement"] + FILL_KEYS + ["typologie_code", "dua_suggeree", "sort_suggere"]


def content_hash(row: ParsedRow) -> str:
    payload = {k: row.values.get(k) for k in STORED}
    payload["ajout"] = row.ajout
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _known_ids(con: duckdb.DuckDBPyConnection, commune: str) -> set[str]:
    rows = con.execute(
        """SELECT dataset_id FROM datasets WHERE commune = $c
           UNION SELECT dataset_id FROM qualifications WHERE commune = $c""", {"c": commune}).fetchall()
    return {r[0] for r in rows}


def _typologies(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT code, typologie, dua_annees, dua_depart, sort_final FROM referentiel ORDER BY code").fetchall()


def import_grids(db: str | None, paths: list[str], *, commune: str | None = None,
                 partiel: bool = False) -> list[ImportResult]:
    """Validate every workbook first; then store all of them in one transaction, or
    nothing if any has a problem (unless `partiel`, which stores the valid rows and
    reports the others). Killed or failing half-way, the import leaves nothing behind."""
    con = connect(db)
    try:
        typologies = _typologies(con)
        communes = {r[0] for r in con.execute("SELECT code FROM communes").fetchall()}
        catalogue_id = con.execute("SELECT value FROM catalogue_info WHERE key = 'catalogue_id'").fetchone()[0]
        parsed: list[ParsedGrid] = []
        problems: list[Problem] = []
        for p in paths:
            path = Path(p)
            wb = _open(path)
            # The meta says which commune's ids are valid.
            wb_commune = _read_meta(wb, path.name).get("commune", "")
            if wb_commune not in communes:
                raise CatalogueError(f"{path.name} : la commune {wb_commune or '(inconnue)'} de cette grille est "
                                     "absente du catalogue.")
            reader = GridReader(typologies, _known_ids(con, wb_commune))
            grid = reader.read(path, commune, wb)
            del wb  # only the parsed rows are kept: one workbook in memory at a time
            with open(path, "rb") as fh:
                grid.file_sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
            parsed.append(grid)
            problems.extend(grid.problems)
        if problems and not partiel:
            raise GridValidationError(problems, len(paths))
        con.execute("BEGIN TRANSACTION")
        try:
            results = [_store(con, grid, catalogue_id) for grid in parsed]
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return results
    finally:
        con.close()


def _store(con: duckdb.DuckDBPyConnection, grid: ParsedGrid, catalogue_id: str) -> ImportResult:
    cur = con.execute("SELECT * FROM qualifications_current WHERE commune = ?", [grid.commune])
    names = [d[0] for d in cur.description]
    current = {r["dataset_id"]: r for r in (dict(zip(names, row)) for row in cur.fetchall())}
    changed, overwrites = [], []
    for row in grid.rows:
        digest = content_hash(row)
        before = current.get(row.dataset_id)
        if before is not None and before["content_hash"] == digest:
            continue
        changed.append((row, digest))
        if before is not None:
            overwrites.extend(_describe_overwrite(row, before))
    warnings = []
    if grid.catalogue_id and grid.catalogue_id != catalogue_id:
        warnings.append(f"{grid.path.name} : grille exportée d'un autre catalogue ; les identifiants ont été "
                        "rapprochés un à un.")
    result = ImportResult(path=grid.path, commune=grid.commune, import_id=None, changed=len(changed),
                          unchanged=len(grid.rows) - len(changed), unqualified=grid.unqualified,
                          added=sum(1 for r, _ in changed if r.ajout), skipped_rows=grid.invalid_rows,
                          overwrites=overwrites, warnings=warnings, problems=list(grid.problems))
    if not changed:
        return result
    fillers = sorted({r.values["rempli_par"] for r, _ in changed if r.values.get("rempli_par")})
    # Inside the caller's transaction: every file of one import is stored, or none.
    import_id = con.execute(
        """INSERT INTO grid_imports (commune, file_name, file_sha256, imported_at, template_version,
                                     exported_at, export_catalogue_id, rempli_par, rows_changed)
           VALUES (?, ?, ?, now(), ?, ?, ?, ?, ?) RETURNING import_id""",
        [grid.commune, grid.path.name, grid.file_sha256, grid.version, grid.exported_at, grid.catalogue_id,
         " ; ".join(fillers) or None, len(changed)]).fetchone()[0]
    records = []
    for row, digest in changed:
        rec = {k: row.values.get(k) for k in STORED}
        rec.update(import_id=import_id, commune=grid.commune, dataset_id=row.dataset_id, ajout=row.ajout,
                   sheet_row=row.sheet_row, content_hash=digest)
        records.append(rec)
    table = pa.Table.from_pylist(records, schema=_QUALIFICATION_SCHEMA)
    con.register("_qualifications", table)
    con.execute("INSERT INTO qualifications BY NAME SELECT * FROM _qualifications")
    con.unregister("_qualifications")
    result.import_id = import_id
    return result


_TYPES = {"int": pa.int32(), "decimal": pa.float64(), "date": pa.date32()}
_QUALIFICATION_SCHEMA = pa.schema(
    [("import_id", pa.int32()), ("commune", pa.string()), ("dataset_id", pa.string()), ("ajout", pa.bool_()),
     ("sheet_row", pa.int32()), ("emplacement", pa.string()), ("typologie_code", pa.string()),
     ("dua_suggeree", pa.bool_()), ("sort_suggere", pa.bool_()), ("content_hash", pa.string())]
    + [(k, _TYPES.get(BY_KEY[k].kind, pa.string())) for k in FILL_KEYS]
)


def _describe_overwrite(row: ParsedRow, before: dict) -> list[str]:
    """Lines saying which earlier answers this import replaces, and where they came from."""
    lines = []
    origin = (f"import du {before['imported_at']:%d/%m/%Y} ({before['file_name']}"
              + (f", {before['rempli_par']}" if before.get("rempli_par") else "") + ")")
    for key in FILL_KEYS:
        if key in ("rempli_par", "date_saisie"):
            continue
        old, new = before.get(key), row.values.get(key)
        if old is None or old == new:
            continue
        shown_new = "(vide)" if new is None else new
        lines.append(f"{row.dataset_id} ligne {row.sheet_row} : {BY_KEY[key].header} « {old} » → « {shown_new} » "
                     f"(remplace la valeur de l'{origin})")
    return lines
