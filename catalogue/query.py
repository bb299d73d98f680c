"""Read-only questions to the catalogue: free SQL and the status overview."""

from __future__ import annotations

import duckdb

from catalogue.errors import CatalogueError, duckdb_detail, duckdb_reason
from catalogue.formatting import french_bytes, french_int, plural
from catalogue.store import connect, default_db_path

# Statement types `catalogue sql` runs, as DuckDB's parser classifies them. SELECT covers
# WITH, FROM-first, VALUES, DESCRIBE, SHOW and SUMMARIZE. Everything else is refused,
# EXPLAIN too (EXPLAIN ANALYZE runs its statement) and PRAGMA, CALL, SET (settings).
READ_STATEMENTS = frozenset({duckdb.StatementType.SELECT})
ONLY_READS = "« catalogue sql » n'exécute que des lectures (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE)."


def read_only_connection(db: str | None) -> duckdb.DuckDBPyConnection:
    """The catalogue opened read-only, reaching no other file, its settings locked."""
    con = connect(db, read_only=True)
    # A read-only catalogue is not enough: ATTACH (READ_ONLY false), COPY ... TO and
    # read_csv reach other files, or the catalogue again in write mode. Locked, so that
    # no SET can turn access back on.
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def check_statements(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Refuse QUERY unless every statement in it is a read, by DuckDB's own parser."""
    statements = con.extract_statements(query)
    if not statements:
        raise CatalogueError("Requête vide.")
    for statement in statements:
        if statement.type not in READ_STATEMENTS:
            raise CatalogueError(f"Requête refusée : instruction {statement.type.name} interdite ; {ONLY_READS}")


def run_query(db: str | None, query: str) -> tuple[list[str], list[tuple]]:
    """Run QUERY (reads only) on the catalogue; a bad or refused query is a one-line French error."""
    con = read_only_connection(db)
    try:
        check_statements(con, query)
        cur = con.execute(query)
        if cur.description is None:
            return [], []
        return [d[0] for d in cur.description], cur.fetchall()
    except duckdb.Error as exc:
        # A French sentence for the kind of error, DuckDB's own detail after it: that
        # detail names the column or the token at fault, which an analyst needs.
        raise CatalogueError(f"Requête refusée : {duckdb_reason(exc)} ; détail de DuckDB : {duckdb_detail(exc)}") \
            from None
    finally:
        con.close()


# Every value scans.status takes (catalogue/scan.py, catalogue/appscans.py), in French.
STATUS_LABELS = {"complete": "terminé", "running": "en cours ou arrêté brutalement",
                 "interrupted": "interrompu", "failed": "échoué", "abandoned": "abandonné (non repris)"}


def catalogue_status(db: str | None) -> list[str]:
    """French lines describing communes, scans and current totals."""
    path = db or default_db_path()
    con = connect(db, read_only=True)
    try:
        lines = [f"Catalogue : {path}"]
        communes = con.execute("SELECT code, coalesce(nom, '') FROM communes ORDER BY code").fetchall()
        lines.append(f"Communes : {len(communes)}")
        for code, nom in communes:
            files, size = con.execute(
                "SELECT count(*), coalesce(sum(size), 0) FROM files_current WHERE commune = ? AND kind = 'file'",
                [code]).fetchall()[0]
            lines.append(f"  {code} {nom} : {plural(files, 'fichier')}, {french_bytes(size)} "
                         "(derniers scans terminés)")
        scans = con.execute(
            """SELECT scan_id, commune, source, root, status, started_at, files, bytes, errors
               FROM scans ORDER BY scan_id""").fetchall()
        lines.append(f"Scans : {len(scans)}")
        for sid, commune, source, root, status, started, files, size, errors in scans:
            lines.append(
                f"  n° {sid} {commune} {source} {root} — {STATUS_LABELS.get(status, status)}, "
                f"{started:%d/%m/%Y %H:%M}, {plural(files, 'fichier')}, {french_bytes(size)}, "
                f"{plural(errors, 'erreur')}")
        return lines
    finally:
        con.close()


# Past this many columns, or wider than the terminal, a table wraps every cell into
# unreadable slivers: `catalogue sql` prints one block per record instead.
WIDE_COLUMNS = 6


def cell(value: object) -> str:
    """A value as `catalogue sql` prints it (NULL as nothing)."""
    return "" if value is None else str(value)


def is_wide(columns: list[str], rows: list[tuple], width: int) -> bool:
    """True when a table of ROWS would not fit WIDTH characters or has too many columns."""
    if len(columns) > WIDE_COLUMNS:
        return True
    widths = [len(c) for c in columns]
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(cell(value)))
    # A boxed table spends three characters per column on borders and padding, plus one.
    return sum(widths) + 3 * len(columns) + 1 > width


def folded(columns: list[str], rows: list[tuple]) -> list[str]:
    """ROWS one record per block: a « ligne N » rule, then « colonne : valeur » lines."""
    pad = max((len(c) for c in columns), default=0)
    lines: list[str] = []
    for number, row in enumerate(rows, 1):
        lines.append(f"── ligne {french_int(number)} ──")
        lines.extend(f"{name.ljust(pad)} : {cell(value)}" for name, value in zip(columns, row))
    return lines
