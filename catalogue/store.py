"""The DuckDB catalogue: connection, locking errors, ordered schema migrations, views.

Migrations are applied in order, each in its own transaction, and recorded in
`_migrations`, so a catalogue made by an older version opens with a newer one and
nothing is lost. Views are recreated on every open: they hold no data.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa

from catalogue.dbtools import dict_rows, registered, transaction
from catalogue.dechets import load_dechet_rules, pattern_case_sql
from catalogue.errors import CatalogueError, DatabaseLockedError, disk_full
from catalogue.referentiel import Typologie, load_referentiel, merge_referentiel, parse_referentiel
from catalogue.rulefiles import SPECS, load_rule_file

DEFAULT_DB = "catalogue.duckdb"

# (name, SQL). Append only: never edit a migration that has shipped.
MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_initial",
        """
        CREATE TABLE communes (
            code VARCHAR PRIMARY KEY,
            nom  VARCHAR
        );
        CREATE SEQUENCE scan_ids START 1;
        CREATE TABLE scans (
            scan_id        INTEGER PRIMARY KEY DEFAULT nextval('scan_ids'),
            scan_uuid      VARCHAR UNIQUE NOT NULL,
            commune        VARCHAR NOT NULL,
            source         VARCHAR NOT NULL,
            root           VARCHAR NOT NULL,
            host           VARCHAR,
            started_at     TIMESTAMP NOT NULL,
            finished_at    TIMESTAMP,
            status         VARCHAR NOT NULL,
            tool_version   VARCHAR,
            identifier     VARCHAR,
            dataset_depth  INTEGER NOT NULL DEFAULT 2,
            excludes       VARCHAR[],
            entries        BIGINT DEFAULT 0,
            files          BIGINT DEFAULT 0,
            bytes          BIGINT DEFAULT 0,
            errors         BIGINT DEFAULT 0,
            excluded       BIGINT DEFAULT 0
        );
        CREATE TABLE files (
            scan_id        INTEGER NOT NULL,
            file_id        BIGINT NOT NULL,
            commune        VARCHAR NOT NULL,
            path           VARCHAR NOT NULL,
            path_raw       BLOB,
            parent         VARCHAR NOT NULL,
            name           VARCHAR NOT NULL,
            extension      VARCHAR,
            kind           VARCHAR NOT NULL,
            size           BIGINT,
            allocated      BIGINT,
            mtime          TIMESTAMP,
            ctime          TIMESTAMP,
            depth          INTEGER NOT NULL,
            owner          VARCHAR,
            device         UBIGINT,
            inode          UBIGINT,
            nlink          UBIGINT,
            link_target    VARCHAR,
            puid           VARCHAR,
            format_name    VARCHAR,
            format_version VARCHAR,
            mime           VARCHAR,
            id_basis       VARCHAR,
            id_warning     VARCHAR,
            magic_mime     VARCHAR,
            ext_mismatch   BOOLEAN,
            hash           VARCHAR,
            error          VARCHAR
        );
        -- One row per (rule, pattern): a rule may match several patterns.
        CREATE TABLE dechet_rules (
            rule_id       VARCHAR NOT NULL,
            rank          INTEGER NOT NULL,
            libelle       VARCHAR NOT NULL,
            categorie     VARCHAR NOT NULL,
            applies_to    VARCHAR NOT NULL,
            match_type    VARCHAR NOT NULL,
            pattern       VARCHAR,
            confiance     VARCHAR NOT NULL,
            justification VARCHAR NOT NULL,
            source        VARCHAR NOT NULL
        );
        """,
    ),
    (
        "0002_grid",
        """
        -- Identity of this catalogue, written into exported grids so an import can tell
        -- where a workbook comes from.
        CREATE TABLE catalogue_info (
            key   VARCHAR PRIMARY KEY,
            value VARCHAR
        );
        INSERT INTO catalogue_info VALUES ('catalogue_id', CAST(uuid() AS VARCHAR));
        -- Retention referential, refreshed from catalogue/rules/referentiel.csv on open.
        CREATE TABLE referentiel (
            code        VARCHAR PRIMARY KEY,
            domaine     VARCHAR,
            typologie   VARCHAR NOT NULL,
            description VARCHAR,
            dua_annees  INTEGER NOT NULL,
            dua_depart  VARCHAR,
            sort_final  VARCHAR NOT NULL,
            source      VARCHAR NOT NULL
        );
        -- One row per grid import that changed something (versioning of answers).
        CREATE SEQUENCE grid_import_ids START 1;
        CREATE TABLE grid_imports (
            import_id           INTEGER PRIMARY KEY DEFAULT nextval('grid_import_ids'),
            commune             VARCHAR NOT NULL,
            file_name           VARCHAR NOT NULL,
            file_sha256         VARCHAR NOT NULL,
            imported_at         TIMESTAMP NOT NULL,
            template_version    VARCHAR NOT NULL,
            exported_at         TIMESTAMP,
            export_catalogue_id VARCHAR,
            rempli_par          VARCHAR,
            rows_changed        INTEGER NOT NULL
        );
        -- Every version of every qualification: a new import adds rows, never updates.
        CREATE TABLE qualifications (
            import_id            INTEGER NOT NULL,
            commune              VARCHAR NOT NULL,
            dataset_id           VARCHAR NOT NULL,
            ajout                BOOLEAN NOT NULL,
            sheet_row            INTEGER,
            emplacement          VARCHAR,
            service              VARCHAR,
            typologie            VARCHAR,
            typologie_code       VARCHAR,
            typologie_autre      VARCHAR,
            activite             VARCHAR,
            environnement        VARCHAR,
            application          VARCHAR,
            hebergement          VARCHAR,
            valeur_juridique     VARCHAR,
            valeur_strategique   VARCHAR,
            valeur_patrimoniale  VARCHAR,
            signature            VARCHAR,
            donnees_personnelles VARCHAR,
            dua_annees           INTEGER,
            dua_depart           VARCHAR,
            sort_final           VARCHAR,
            priorite             VARCHAR,
            volume_annuel_go     DOUBLE,
            commentaire          VARCHAR,
            rempli_par           VARCHAR,
            date_saisie          DATE,
            dua_suggeree         BOOLEAN NOT NULL DEFAULT false,
            sort_suggere         BOOLEAN NOT NULL DEFAULT false,
            content_hash         VARCHAR NOT NULL
        );
        """,
    ),
    (
        "0003_applications",
        """
        -- Application scans (databases, mailboxes) are datasets named by their application.
        ALTER TABLE scans ADD COLUMN application VARCHAR;
        -- One row per table of a business database (scan-db): aggregates only, no content.
        CREATE TABLE db_tables (
            scan_id             INTEGER NOT NULL,
            commune             VARCHAR NOT NULL,
            application         VARCHAR NOT NULL,
            schema_name         VARCHAR,
            table_name          VARCHAR NOT NULL,
            row_count           BIGINT,
            row_count_estimated BOOLEAN,
            bytes               BIGINT,
            first_date          TIMESTAMP,
            last_date           TIMESTAMP,
            date_columns        STRUCT(column_name VARCHAR, min_value TIMESTAMP, max_value TIMESTAMP)[],
            binary_bytes        BIGINT,
            binary_columns      STRUCT(column_name VARCHAR, bytes BIGINT)[],
            error               VARCHAR
        );
        -- One row per mail folder (scan-mail): counts, volumes, dates; no body, no address.
        CREATE TABLE mail_folders (
            scan_id          INTEGER NOT NULL,
            commune          VARCHAR NOT NULL,
            application      VARCHAR NOT NULL,
            folder           VARCHAR NOT NULL,
            messages         BIGINT NOT NULL,
            bytes            BIGINT NOT NULL,
            first_date       TIMESTAMP,
            last_date        TIMESTAMP,
            attachments      BIGINT NOT NULL,
            attachment_bytes BIGINT NOT NULL,
            unreadable       BIGINT NOT NULL,
            error            VARCHAR
        );
        CREATE TABLE mail_attachment_formats (
            scan_id     INTEGER NOT NULL,
            commune     VARCHAR NOT NULL,
            application VARCHAR NOT NULL,
            folder      VARCHAR NOT NULL,
            puid        VARCHAR,
            format_name VARCHAR,
            mime        VARCHAR,
            attachments BIGINT NOT NULL,
            bytes       BIGINT NOT NULL
        );
        """,
    ),
    (
        "0004_incremental",
        """
        -- A file unchanged since the previous scan of the same root (same size, mtime and
        -- inode) takes its identification and hash from it instead of being read again.
        ALTER TABLE files ADD COLUMN reused BOOLEAN;
        """,
    ),
    (
        "0005_resume",
        """
        -- Directories whose entries a scan has fully stored, written in the same transaction
        -- as the entries: an interrupted scan resumes after them.
        CREATE TABLE scan_dirs_done (
            scan_id  INTEGER NOT NULL,
            path     VARCHAR NOT NULL,
            path_raw BLOB
        );
        """,
    ),
    (
        "0006_duplicates_searched",
        """
        -- Whether the scan looked for duplicates (not with --sans-doublons): a rescan trusts
        -- the previous scan's verdict on unchanged files only if it did.
        ALTER TABLE scans ADD COLUMN duplicates_searched BOOLEAN;
        """,
    ),
    (
        "0007_signatures",
        """
        -- Electronic signatures found by the scan (issue 17); NULL where not examined.
        ALTER TABLE files ADD COLUMN sig_kind VARCHAR;
        ALTER TABLE files ADD COLUMN sig_count INTEGER;
        ALTER TABLE files ADD COLUMN sig_signed_at TIMESTAMP;
        ALTER TABLE files ADD COLUMN sig_signer VARCHAR;
        ALTER TABLE files ADD COLUMN sig_issuer VARCHAR;
        ALTER TABLE files ADD COLUMN sig_not_after TIMESTAMP;
        ALTER TABLE files ADD COLUMN sig_error VARCHAR;
        -- A detached signature: the file_id of the document it signs (same scan).
        ALTER TABLE files ADD COLUMN signature_of BIGINT;
        -- True: carries a signature or a detached one pairs with it; false: examined, unsigned.
        ALTER TABLE files ADD COLUMN signed BOOLEAN;
        """,
    ),
    (
        "0008_grid_v3",
        """
        -- Grid template version 3 (issue 19): answers the référents give on each dataset.
        -- The current stock of a body of records no scan has seen (volume_annuel_go is the flow).
        ALTER TABLE qualifications ADD COLUMN volume_stock_go DOUBLE;
        ALTER TABLE qualifications ADD COLUMN support VARCHAR;
        ALTER TABLE qualifications ADD COLUMN communicabilite VARCHAR;
        ALTER TABLE qualifications ADD COLUMN editeur VARCHAR;
        ALTER TABLE qualifications ADD COLUMN editeur_version VARCHAR;
        ALTER TABLE qualifications ADD COLUMN export_possible VARCHAR;
        ALTER TABLE qualifications ADD COLUMN connecteur VARCHAR;
        ALTER TABLE qualifications ADD COLUMN operateur_hebergement VARCHAR;
        """,
    ),
    (
        "0009_referentiel_events",
        """
        -- Issue 19: the DUA's start event as a code (catalogue.referentiel.EVENTS; dua_depart
        -- keeps its French label) and the communicability delay with its own start and source.
        ALTER TABLE referentiel ADD COLUMN depart VARCHAR;
        ALTER TABLE referentiel ADD COLUMN communicabilite_annees INTEGER;
        ALTER TABLE referentiel ADD COLUMN communicabilite_depart VARCHAR;
        ALTER TABLE referentiel ADD COLUMN source_communicabilite VARCHAR;
        """,
    ),
    (
        "0010_identification_cache",
        """
        -- What identification found for a content (issue 21): a file of the same hash, size
        -- and extension is not read again, in this scan or a later one of the territory. The
        -- extension is part of the key since siegfried's verdict depends on it; `identifier`
        -- (siegfried, its signature files, libmagic) too, so new signatures identify again.
        CREATE TABLE identification_cache (
            hash           VARCHAR NOT NULL,
            size           BIGINT NOT NULL,
            extension      VARCHAR NOT NULL,   -- '' when the name has none
            identifier     VARCHAR NOT NULL,
            puid           VARCHAR,
            format_name    VARCHAR,
            format_version VARCHAR,
            mime           VARCHAR,
            id_basis       VARCHAR,
            id_warning     VARCHAR,
            magic_mime     VARCHAR,
            ext_mismatch   BOOLEAN,
            stored_at      TIMESTAMP
        );
        """,
    ),
]


def default_db_path() -> str:
    """The catalogue path: $CATALOGUE_DB, else ./catalogue.duckdb."""
    return os.environ.get("CATALOGUE_DB") or DEFAULT_DB


def connect(db_path: str | os.PathLike | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and if needed create and migrate) the catalogue."""
    path = str(db_path or default_db_path())
    if read_only and not Path(path).exists():
        raise CatalogueError(f"Catalogue introuvable : {path} (lancez d'abord « catalogue scan »).")
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


def create_views(con: duckdb.DuckDBPyConnection, *, temporary: bool = False) -> None:
    sql = (resources.files("catalogue") / "sql" / "views.sql").read_text(encoding="utf-8")
    rules = dict_rows(con.execute("SELECT * FROM dechet_rules"))
    sql = sql.replace("{{pattern_rules}}", pattern_case_sql(rules))
    if temporary:
        sql = sql.replace("CREATE OR REPLACE VIEW ", "CREATE OR REPLACE TEMP VIEW ")
        sql = sql.replace("CREATE OR REPLACE MACRO ", "CREATE OR REPLACE TEMP MACRO ")
    with transaction(con):
        con.execute(sql)


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
