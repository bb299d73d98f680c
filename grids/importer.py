"""`catalogue grid import`: check whole workbooks, report every problem at once with
sheet and cell, then store all rows as a new version (or nothing at all).

Reading and checking a workbook is grids.reader's job; this module decides, from what
it returns, whether to store, and stores in one transaction. Answers are versioned:
each import that changes something adds rows to `qualifications`; the current answer
per dataset is the view `qualifications_current`. Importing the same answers again
changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from catalogue.errors import CatalogueError
from catalogue.referentiel import start_event
from catalogue.store import connect, transaction
from grids.problems import GridValidationError, Problem
from grids.reader import GridReader, ParsedGrid, ParsedRow, Typology, open_grid
from grids.spec import BY_KEY, FILL_KEYS

__all__ = ["GridValidationError", "ImportResult", "Problem", "content_hash", "import_grids"]


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


STORED = ["emplacement"] + FILL_KEYS + ["typologie_code", "dua_suggeree", "sort_suggere"]


def content_hash(row: ParsedRow) -> str:
    """The hash that tells a changed answer. A column added by a later template version
    counts only once answered, so answers stored before it existed keep their hash."""
    payload = {k: row.values.get(k) for k in STORED
               if row.values.get(k) is not None or k not in BY_KEY or BY_KEY[k].since == 1}
    payload["ajout"] = row.ajout
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _known_ids(con: duckdb.DuckDBPyConnection, commune: str) -> set[str]:
    rows = con.execute(
        """SELECT dataset_id FROM datasets WHERE commune = $c
           UNION SELECT dataset_id FROM qualifications WHERE commune = $c""", {"c": commune}).fetchall()
    return {r[0] for r in rows}


def _typologies(con: duckdb.DuckDBPyConnection) -> list[Typology]:
    rows = con.execute(
        "SELECT code, typologie, dua_annees, dua_depart, sort_final FROM referentiel ORDER BY code").fetchall()
    return [(code, label, dua, depart, sort_final) for code, label, dua, depart, sort_final in rows]


def _scalar(cur: duckdb.DuckDBPyConnection) -> Any:
    row = cur.fetchone()
    if row is None:  # the queries below always return a row
        raise RuntimeError("query returned no row")
    return row[0]


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def import_grids(db: str | None, paths: list[str], *, commune: str | None = None, partiel: bool = False,
                 on_store: Callable[[Path], None] | None = None) -> list[ImportResult]:
    """Validate every workbook first; then store all of them in one transaction, or
    nothing if any has a problem (unless `partiel`, which stores the valid rows and
    reports the others). Killed or failing half-way, the import leaves nothing behind.

    `on_store`, if given, is called with each workbook's path just before its rows are
    written, inside the transaction (to show progress, or for a test to interrupt there).
    Raises GridValidationError carrying every Problem of every workbook."""
    con = connect(db)
    try:
        reader = GridReader(_typologies(con))
        communes = {r[0] for r in con.execute("SELECT code FROM communes").fetchall()}
        catalogue_id = _scalar(con.execute("SELECT value FROM catalogue_info WHERE key = 'catalogue_id'"))
        parsed: list[ParsedGrid] = []
        for p in paths:
            path = Path(p)
            opened = open_grid(path)
            # The meta says which commune's ids are valid.
            if opened.commune not in communes:
                raise CatalogueError(f"{path.name} : la commune {opened.commune or '(inconnue)'} de cette grille "
                                     "est absente du catalogue.")
            grid = reader.read(opened, _known_ids(con, opened.commune), commune)
            del opened  # only the parsed rows are kept: one workbook in memory at a time
            grid.file_sha256 = _sha256(path)
            parsed.append(grid)
        problems = [p for grid in parsed for p in grid.problems]
        if problems and not partiel:
            raise GridValidationError(problems, len(paths))
        results = []
        with transaction(con):
            for grid in parsed:
                if on_store is not None:
                    on_store(grid.path)
                results.append(_store(con, grid, catalogue_id))
        return results
    finally:
        con.close()


def _unknown_starts(grid: ParsedGrid) -> list[str]:
    """A « Point de départ de la DUA » naming no known event is kept as typed, but the
    roadmap can then never date the elimination: say so at import, row by row."""
    out = []
    for row in grid.rows:
        text = row.values.get("dua_depart")
        if text and start_event(str(text)) is None:
            out.append(f"{grid.path.name}, ligne {row.sheet_row} : point de départ de la DUA « {text} » non reconnu ; "
                       "l'élimination restera « à vérifier » (exemples reconnus : date du document, clôture de "
                       "l'exercice, fin de l'année).")
    return out


def _store(con: duckdb.DuckDBPyConnection, grid: ParsedGrid, catalogue_id: str) -> ImportResult:
    """Store the rows of one grid that changed, inside the caller's transaction."""
    changed, overwrites = _changes(con, grid)
    warnings = []
    if grid.catalogue_id and grid.catalogue_id != catalogue_id:
        warnings.append(f"{grid.path.name} : grille exportée d'un autre catalogue ; les identifiants ont été "
                        "rapprochés un à un.")
    warnings.extend(_unknown_starts(grid))
    result = ImportResult(path=grid.path, commune=grid.commune, import_id=None, changed=len(changed),
                          unchanged=len(grid.rows) - len(changed), unqualified=grid.unqualified,
                          added=sum(1 for r, _ in changed if r.ajout), skipped_rows=grid.invalid_rows,
                          overwrites=overwrites, warnings=warnings, problems=list(grid.problems))
    if changed:
        result.import_id = _insert(con, grid, changed)
    return result


def _changes(con: duckdb.DuckDBPyConnection, grid: ParsedGrid) -> tuple[list[tuple[ParsedRow, str]], list[str]]:
    """Rows whose answers differ from the current ones (with their hash), and what they replace."""
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
    return changed, overwrites


def _insert(con: duckdb.DuckDBPyConnection, grid: ParsedGrid, changed: list[tuple[ParsedRow, str]]) -> int:
    """One grid_imports row and its qualifications; returns the import's id."""
    fillers = sorted({r.values["rempli_par"] for r, _ in changed if r.values.get("rempli_par")})
    import_id = _scalar(con.execute(
        """INSERT INTO grid_imports (commune, file_name, file_sha256, imported_at, template_version,
                                     exported_at, export_catalogue_id, rempli_par, rows_changed)
           VALUES (?, ?, ?, now(), ?, ?, ?, ?, ?) RETURNING import_id""",
        [grid.commune, grid.path.name, grid.file_sha256, grid.version, grid.exported_at, grid.catalogue_id,
         " ; ".join(fillers) or None, len(changed)]))
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
    return import_id


_TYPES = {"int": pa.int32(), "decimal": pa.float64(), "date": pa.date32()}
_QUALIFICATION_SCHEMA = pa.schema(
    [("import_id", pa.int32()), ("commune", pa.string()), ("dataset_id", pa.string()), ("ajout", pa.bool_()),
     ("sheet_row", pa.int32()), ("emplacement", pa.string()), ("typologie_code", pa.string()),
     ("dua_suggeree", pa.bool_()), ("sort_suggere", pa.bool_()), ("content_hash", pa.string())]
    + [(k, _TYPES.get(BY_KEY[k].kind, pa.string())) for k in FILL_KEYS]
)


def _describe_overwrite(row: ParsedRow, before: dict[str, Any]) -> list[str]:
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
