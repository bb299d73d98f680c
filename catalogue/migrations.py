"""The catalogue's schema, as ordered DuckDB migrations (catalogue.store applies them).

Each is (name, SQL), applied once in list order inside its own transaction and recorded in
`_migrations`. Append only: a catalogue made by any earlier version must open with this one.
"""

from __future__ import annotations

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
    (
        "0011_dechet_hits",
        """
        -- Issue 21: the pattern and empty déchets rules depend only on a scan's own entries
        -- and on the rules, so each entry's best (lowest rank) such rule is stored once per
        -- scan and rules version instead of being evaluated at every read of `dechets`.
        -- The columns the view shows are copied, so that it need not join back to `files`.
        CREATE TABLE dechet_hits (
            commune  VARCHAR NOT NULL,
            scan_id  INTEGER NOT NULL,
            file_id  BIGINT NOT NULL,
            path     VARCHAR NOT NULL,
            name     VARCHAR NOT NULL,
            kind     VARCHAR NOT NULL,
            size     BIGINT,
            mtime    TIMESTAMP,
            rule_id  VARCHAR NOT NULL,
            rank     INTEGER NOT NULL
        );
        -- Under which rules (a hash of `dechet_rules` and of the SQL applying them) the
        -- hits of a scan were computed: the view uses them only while that is current.
        CREATE TABLE dechet_hit_scans (
            scan_id     INTEGER PRIMARY KEY,
            fingerprint VARCHAR NOT NULL,
            computed_at TIMESTAMP NOT NULL
        );
        """,
    ),
]
