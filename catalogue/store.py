"""The DuckDB catalogue: connection, locking errors, ordered schema migrations, views.

Migrations are applied in order, each in its own transaction, and recorded in
`_migrations`, so a catalogue made by an older version opens with a newer one and
nothing is lost. Views are recreated on every open: they hold no data.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa

from catalogue.dbtools import dict_rows, registered, scalar, transaction
from catalogue.dechets import load_dechet_rules, pattern_case_sql
from catalogue.errors import CatalogueError, DatabaseLockedError, disk_full
from catalogue.migrations import MIGRATIONS
from catalogue.referentiel import Typologie, load_referentiel, merge_referentiel, parse_referentiel
from catalogue.rulefiles import SPECS, load_rule_file

DEFAULT_DB = "catalogue.duckdb"


def default_db_path() -> str:
    """The catalogue path: $CATALOGUE_DB, else ./catalogue.duckdb."""
    return os.environ.get("CATALOGUE_DB") or DEFAULT_DB


def connect(db_path: str | os.PathLike | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and if needed create and migrate) the catalogue. A read-only open migrates an
    older catalogue first when it can be written (see _upgrade_if_possible)."""
    path = str(db_path or default_db_path())
    if read_only and not Path(path).exists():
        raise CatalogueError(f"Catalogue introuvable : {path} (lancez d'abord « catalogue scan »).")
    if read_only:
        _upgrade_if_possible(path)
    return _open(path, read_only)


def _upgrade_if_possible(path: str) -> None:
    """A catalogue left by an earlier version is migrated before a read-only open (a report
    would otherwise read tables without this version's columns). Migrations never lose data.
    When it cannot be written (locked by a scan, read-only medium), it is read as it is."""
    try:
        con = duckdb.connect(path, read_only=True)
    except duckdb.Error:
        return  # _open says why, in French
    try:
        done = {r[0] for r in con.execute("SELECT name FROM _migrations").fetchall()}
    except duckdb.Error:
        return  # not a catalogue of ours: never write into it
    finally:
        con.close()
    if all(name in done for name, _ in MIGRATIONS):
        return
    try:
        _open(path, read_only=False).close()
    except (CatalogueError, duckdb.Error):
        pass  # each migration is one transaction: a failed one left the file as it was


def _open(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        full = disk_full(exc, path)
        if full is not None:
            raise full from None
        text = str(exc)
        if "lock" in text.lower():
            raise DatabaseLockedError(
                f"Le catalogue {path} est déjà ouvert par un autre processus "
                "(un scan en cours ?) ; réessayez quand il aura terminé."
            ) from None
        if "not a valid DuckDB database" in text:
            raise CatalogueError(
                f"{path} n'est pas un catalogue DuckDB lisible (fichier d'un autre type ou abîmé).") from None
        raise CatalogueError(f"Impossible d'ouvrir le catalogue {path} : {text.splitlines()[0]}") from None
    except duckdb.Error as exc:
        raise CatalogueError(
            f"{path} n'est pas un catalogue DuckDB lisible : {str(exc).splitlines()[0]}"
        ) from None
    # DuckDB draws its own progress bar on stdout for long queries: it would corrupt
    # `catalogue sql --format csv` output and our own progress display.
    con.execute("SET enable_progress_bar = false")
    if not read_only:
        try:
            migrate(con)
            load_rules(con)
            create_views(con)
            # After an edit of dechets.csv (or a version whose matching differs), every
            # latest scan is evaluated again, once.
            refresh_dechet_hits(con)
        except BaseException:
            # Closed, so that the same process can open the file again (a full disk freed).
            con.close()
            raise
    else:
        current_views(con)
    return con


def applied_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    return [r[0] for r in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    done = set(applied_migrations(con))
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO _migrations VALUES (?, now())", [name])


def load_rules(con: duckdb.DuckDBPyConnection) -> None:
    """Refresh the rule tables from their CSV files so an edited rule applies at once."""
    rules = load_dechet_rules()
    referentiel = pa.Table.from_pylist([asdict(t) for t in catalogue_referentiel(con)])
    with transaction(con):
        con.execute("DELETE FROM dechet_rules")
        with registered(con, "_rules", rules):
            con.execute("INSERT INTO dechet_rules SELECT * FROM _rules")
        con.execute("DELETE FROM referentiel")
        # Small rule files: whole tables replaced, so an edited CSV applies at the next open.
        for name in SPECS:
            with registered(con, "_rule_file", pa.Table.from_pylist(load_rule_file(name))):
                # The table name comes from our own SPECS keys, never from input.
                con.execute(f"CREATE OR REPLACE TABLE {name.removesuffix('.csv')} AS SELECT * FROM _rule_file")
        with registered(con, "_referentiel", referentiel):
            con.execute("INSERT INTO referentiel BY NAME SELECT * FROM _referentiel")


# A commune's own referential rows (`catalogue referentiel charger`), kept in the catalogue
# as the file's text so that every later open applies them, checked as the shipped file.
LOCAL_REFERENTIEL_KEYS = ("referentiel_local", "referentiel_local_fichier")


def catalogue_referentiel(con: duckdb.DuckDBPyConnection) -> list[Typologie]:
    """The shipped referential with the commune's rows saved in this catalogue, if any."""
    saved = dict(con.execute("SELECT key, value FROM catalogue_info WHERE key IN (?, ?)",
                             list(LOCAL_REFERENTIEL_KEYS)).fetchall())
    rows = load_referentiel()
    text, name = saved.get(LOCAL_REFERENTIEL_KEYS[0]), saved.get(LOCAL_REFERENTIEL_KEYS[1])
    return merge_referentiel(rows, parse_referentiel(text, name or "référentiel local")) if text else rows


def save_local_referentiel(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Check the commune's referential file at PATH (refused whole, with its line, if a row
    is bad: nothing stored), then keep it in the catalogue and apply it at once."""
    load_referentiel(override=path)
    text = path.read_text(encoding="utf-8-sig")
    with transaction(con):
        for key, value in zip(LOCAL_REFERENTIEL_KEYS, (text, str(path))):
            con.execute("INSERT OR REPLACE INTO catalogue_info VALUES (?, ?)", [key, value])
    load_rules(con)


def create_views(con: duckdb.DuckDBPyConnection, *, temporary: bool = False, stored_hits: bool = True) -> None:
    """(Re)create the views from sql/views.sql, the déchets patterns inlined. Without
    STORED_HITS, `dechets` evaluates every rule live (what it gives must not differ)."""
    sql, fingerprint = _views_sql(con)
    # No stored hits carry the empty fingerprint: every scan is then evaluated live.
    sql = sql.replace("{{dechet_fingerprint}}", fingerprint if stored_hits else "")
    if temporary:
        sql = sql.replace("CREATE OR REPLACE VIEW ", "CREATE OR REPLACE TEMP VIEW ")
        sql = sql.replace("CREATE OR REPLACE MACRO ", "CREATE OR REPLACE TEMP MACRO ")
    with transaction(con):
        con.execute(sql)


_OWN_HITS = ("-- <dechet-own-hits>", "-- </dechet-own-hits>")


def _views_sql(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """views.sql with the current déchets patterns, and the fingerprint of what the stored
    hits depend on: the rules as loaded and the SQL that applies them."""
    sql = (resources.files("catalogue") / "sql" / "views.sql").read_text(encoding="utf-8")
    rules = dict_rows(con.execute("SELECT * FROM dechet_rules ORDER BY rank, pattern"))
    sql = sql.replace("{{pattern_rules}}", pattern_case_sql(rules))
    own_hits = sql[sql.index(_OWN_HITS[0]):sql.index(_OWN_HITS[1])]
    content = json.dumps([rules, own_hits], sort_keys=True, ensure_ascii=False, default=str)
    return sql, hashlib.sha256(content.encode("utf-8")).hexdigest()


def refresh_dechet_hits(con: duckdb.DuckDBPyConnection) -> int:
    """Store the pattern and empty déchets hits of every latest scan that has none under the
    current rules (view `dechet_live_scans`), set-based, in one transaction; drop those of
    scans that are no longer the latest. Returns how many scans were computed. Needs the
    views of this connection's rules (`create_views`); never inside a transaction."""
    pending = scalar(con.execute("SELECT count(*) FROM dechet_live_scans"))
    gone = scalar(con.execute(
        "SELECT count(*) FROM dechet_hit_scans WHERE scan_id NOT IN (SELECT scan_id FROM latest_scans)"))
    if not pending and not gone:
        return 0
    fingerprint = _views_sql(con)[1]
    stale = ("scan_id NOT IN (SELECT scan_id FROM latest_scans) "
             "OR scan_id IN (SELECT scan_id FROM dechet_live_scans)")
    with transaction(con):
        con.execute(f"DELETE FROM dechet_hits WHERE {stale}")
        # Ordered so that a commune's or a scan's hits sit in few row groups.
        con.execute("INSERT INTO dechet_hits SELECT * FROM dechet_own_hits ORDER BY scan_id, file_id")
        con.execute(f"DELETE FROM dechet_hit_scans WHERE {stale}")
        con.execute("INSERT INTO dechet_hit_scans SELECT scan_id, ?, now() FROM dechet_live_scans", [fingerprint])
    return pending


def current_views(con: duckdb.DuckDBPyConnection) -> None:
    """Give a read-only connection this version's views, as temporary ones over the stored.

    The stored views date from the last writable open, maybe by an earlier version: a
    report must not miss a column added since. A catalogue whose tables still wait for
    a migration keeps its stored views (those of its own version)."""
    try:
        create_views(con, temporary=True)
    except duckdb.Error:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # no transaction was open: the rules table itself is missing


def ensure_commune(con: duckdb.DuckDBPyConnection, code: str, nom: str | None) -> None:
    """Register a commune; a name given later fills or updates the stored one."""
    con.execute(
        """INSERT INTO communes VALUES (?, ?)
           ON CONFLICT (code) DO UPDATE SET nom = coalesce(excluded.nom, communes.nom)""",
        [code, nom],
    )
