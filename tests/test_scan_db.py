"""scan-db on a real SQLite file and a real PostgreSQL server: aggregates per table,
estimates above the threshold, unreadable tables recorded, read-only, no password shown."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import query

PASSWORD = "s3cret-Catalogage"


def make_sqlite(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE actes (id INTEGER PRIMARY KEY, type TEXT, date_acte DATE, saisi_le DATETIME, scan BLOB);
        CREATE TABLE "tiers payeurs" (id INTEGER PRIMARY KEY, nom TEXT);
        CREATE VIEW v_actes AS SELECT * FROM actes;
    """)
    con.executemany("INSERT INTO actes (type, date_acte, saisi_le, scan) VALUES (?, ?, ?, ?)",
                    [("naissance", "2001-02-03", "2001-02-04 10:00:00", b"x" * 100),
                     ("décès", "2019-12-31", "2020-01-02 09:00:00", b"y" * 50),
                     ("mariage", None, None, None)])
    con.executemany('INSERT INTO "tiers payeurs" (nom) VALUES (?)', [("Martin",), ("Durand",)])
    con.commit()
    con.close()
    return path


def test_sqlite_database(cli, tmp_path):
    app = make_sqlite(tmp_path / "etat-civil.db")
    before = hashlib.sha256(app.read_bytes()).hexdigest()
    db = tmp_path / "c.duckdb"
    result = cli("scan-db", f"sqlite:///{app}", "--commune", "99401", "--application", "État civil", "--db", db)
    assert result.exit_code == 0, result.output
    assert f"Base sqlite:///{app} — application « État civil » — scan n° 1" in result.output
    assert "Tables : 2 ; lignes : 5" in result.output
    rows = {r[0]: r[1:] for r in query(db, "SELECT table_name, row_count, row_count_estimated, first_date, "
                                           "last_date, binary_bytes, error FROM db_tables")}
    assert set(rows) == {"actes", "tiers payeurs"}  # views are not tables
    count, estimated, first, last, binary, error = rows["actes"]
    assert (count, estimated, binary, error) == (3, False, 150, None)
    assert (first.isoformat(), last.isoformat()) == ("2001-02-03T00:00:00", "2020-01-02T09:00:00")
    assert hashlib.sha256(app.read_bytes()).hexdigest() == before  # never written
    # The application is one dataset, for the grid and the reports.
    ds = query(db, "SELECT dataset_id, path, files, source FROM datasets")
    assert len(ds) == 1 and ds[0][0].startswith("APP-") and ds[0][1:] == ("État civil", 2, "database")


def test_scanner_batch_is_the_stored_rows(cli, tmp_path):
    """scanners.database.to_batch (the scanner's Arrow output) holds what scan-db stores."""
    from scanners.database import DbOptions, open_engine, scan_tables, to_batch

    app = make_sqlite(tmp_path / "etat-civil.db")
    db = tmp_path / "c.duckdb"
    assert cli("scan-db", f"sqlite:///{app}", "--commune", "99401", "--application", "EC", "--db", db).exit_code == 0
    engine, url, _, _ = open_engine(f"sqlite:///{app}")
    try:
        batch = to_batch(scan_tables(engine, url, DbOptions()), "EC")
    finally:
        engine.dispose()
    expected = sorted((tuple(row.values()) for row in batch.to_pylist()), key=lambda row: row[2])
    assert query(db, f"SELECT {', '.join(batch.schema.names)} FROM db_tables ORDER BY table_name") == expected


def test_bad_addresses(cli, tmp_path):
    db = tmp_path / "c.duckdb"
    result = cli("scan-db", f"sqlite:///{tmp_path}/absente.db", "--commune", "99001", "--application", "X", "--db", db)
    assert result.exit_code == 1 and result.output == f"Erreur : Base SQLite introuvable : {tmp_path}/absente.db\n"
    result = cli("scan-db", "pas une adresse", "--commune", "99001", "--application", "X", "--db", db)
    assert result.exit_code == 1 and result.output.startswith("Erreur : Adresse de base de données invalide")
    result = cli("scan-db", "oracle+cx_oracle://u:p@h/db", "--commune", "99001", "--application", "X", "--db", db)
    assert result.exit_code == 1
    assert result.output == ("Erreur : Pilote manquant pour oracle : installez-le avec "
                             "« pip install 'catalogage[oracle]' ».\n")


def test_unknown_database_scheme(cli, tmp_path):
    db = tmp_path / "c.duckdb"
    result = cli("scan-db", "foo://bar", "--commune", "99001", "--application", "X", "--db", db)
    assert result.exit_code == 1
    assert result.output == ("Erreur : Type de base « foo » non pris en charge ; adresses acceptées : sqlite://…, "
                             "postgresql://…, mysql://…, mariadb://…, mssql://…, oracle://….\n")
    result = cli("scan-db", "postgresql+nodriver://u@h/base", "--commune", "99001", "--application", "X", "--db", db)
    assert result.exit_code == 1
    assert result.output == ("Erreur : Pilote « nodriver » inconnu pour postgresql : écrivez postgresql://… pour le "
                             "pilote par défaut.\n")
    assert not db.exists()


@pytest.mark.parametrize("address, drivername", [
    ("mysql://lecteur@serveur/base", "mysql+pymysql"), ("mariadb://lecteur@serveur/base", "mariadb+pymysql"),
    ("mssql://lecteur@serveur/base", "mssql+pymssql"), ("mysql+mysqldb://lecteur@serveur/base", "mysql+mysqldb"),
    ("postgresql://lecteur@serveur/base", "postgresql")])
def test_default_driver_is_the_one_our_extra_installs(address, drivername):
    """`pip install 'catalogage[mysql]'` installs PyMySQL, not SQLAlchemy's default MySQLdb:
    mysql:// must then use PyMySQL (and mssql://, pymssql); a driver named is kept."""
    from scanners.database import database_url

    assert database_url(address).drivername == drivername


# ---------------------------------------------------------------- PostgreSQL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A real PostgreSQL server on loopback, with password authentication."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL absent : « make test » l'installe (paquet Debian postgresql).")
    bindir = Path(found[-1]).parent
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="catalogage-pg-"))
    (base / "pw").write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(base / "pw", "postgres")
    port = _free_port()
    data, log = base / "data", base / "log"
    try:
        subprocess.run(as_pg + [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                                "--locale=C", "--auth=scram-sha-256", f"--pwfile={base / 'pw'}"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run(as_pg + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o",
                                f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL n'a pas pu démarrer : {exc}")
    url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("""
            CREATE SCHEMA finances;
            CREATE TABLE finances.mandats (id serial PRIMARY KEY, emis_le date, paye_le timestamptz,
                                           montant numeric, piece bytea);
            INSERT INTO finances.mandats (emis_le, paye_le, montant, piece)
                SELECT date '2015-01-01' + g, timestamptz '2015-01-10 12:00+00' + g * interval '1 day', g,
                       decode(repeat('ab', 10), 'hex') FROM generate_series(0, 999) g;
            CREATE TABLE finances.tiers (id serial PRIMARY KEY, nom text);
            INSERT INTO finances.tiers (nom) SELECT 'tiers ' || g FROM generate_series(1, 20) g;
            CREATE TABLE public.secret (id int);
            ANALYZE;
            CREATE ROLE lecteur LOGIN PASSWORD 'lecteur';
            GRANT USAGE ON SCHEMA finances TO lecteur;
            GRANT SELECT ON finances.mandats, finances.tiers TO lecteur;
        """)
    engine.dispose()
    yield {"url": url, "port": port}
    subprocess.run(as_pg + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def test_postgresql_database(cli, tmp_path, postgres):
    db = tmp_path / "c.duckdb"
    url = f"postgresql+psycopg://lecteur:lecteur@127.0.0.1:{postgres['port']}/postgres"
    result = cli("scan-db", url, "--commune", "99402", "--application", "Finances", "--seuil-estimation", "100",
                 "--db", db)
    assert result.exit_code == 0, result.output
    assert "lecteur:***@127.0.0.1" in result.output and "lecteur:lecteur" not in result.output
    rows = {(r[0], r[1]): r[2:] for r in query(db, "SELECT schema_name, table_name, row_count, row_count_estimated, "
                                                   "bytes, first_date, last_date, binary_bytes, error FROM db_tables")}
    count, estimated, size, first, last, binary, error = rows[("finances", "mandats")]
    # Above the threshold the engine's estimate (after ANALYZE) is kept, and said so.
    assert (count, estimated, error) == (1000, True, None)
    assert size > 0 and binary == 10_000
    assert first.isoformat() == "2015-01-01T00:00:00" and last.isoformat() == "2017-10-05T12:00:00"  # paye_le, in UTC
    assert rows[("finances", "tiers")][:2] == (20, False)
    # A table the account may not read is recorded; the scan goes on.
    assert rows[("public", "secret")][-1].startswith("lecture impossible : permission denied")
    assert "Tables illisibles : 1" in result.output
    assert query(db, "SELECT status, errors FROM scans") == [("complete", 1)]
    # Read-only session: nothing could be written (the role has no write right anyway;
    # the session setting is checked on the superuser below).
    import sqlalchemy as sa

    from scanners.database import DbOptions, configure_session

    engine = sa.create_engine(postgres["url"])
    with engine.connect() as conn:
        configure_session(conn, "postgresql", DbOptions(timeout_s=5))
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            conn.exec_driver_sql("CREATE TABLE finances.essai (id int)")
    engine.dispose()


def test_postgresql_wrong_password_is_not_printed(cli, tmp_path, postgres):
    url = f"postgresql+psycopg://postgres:mauvais-MotDePasse@127.0.0.1:{postgres['port']}/postgres"
    result = cli("scan-db", url, "--commune", "99403", "--application", "X", "--db", tmp_path / "c.duckdb")
    assert result.exit_code == 1
    assert result.output.startswith(f"Erreur : Connexion impossible à postgresql+psycopg://postgres:***@127.0.0.1:"
                                    f"{postgres['port']}/postgres : ")
    assert "mauvais-MotDePasse" not in result.output and len(result.output.splitlines()) == 1


# ---------------------------------------------------------------- SQLite hardening


def test_sqlite_with_a_thousand_tables(cli, tmp_path):
    """Listing 1,000 tables runs more SQLite instructions than one progress tick: the
    deadline must be set for that statement too, not left at zero (it was: « interrupted »)."""
    app = tmp_path / "grosse.db"
    con = sqlite3.connect(app)
    con.executescript("".join(f"CREATE TABLE t{i:04} (id INTEGER PRIMARY KEY, saisi_le DATE);" for i in range(1000)))
    con.execute("INSERT INTO t0999 (saisi_le) VALUES ('2024-05-06')")
    con.commit()
    con.close()
    db = tmp_path / "c.duckdb"
    result = cli("scan-db", f"sqlite:///{app}", "--commune", "99404", "--application", "Grosse", "--db", db)
    assert result.exit_code == 0, result.output
    assert "Tables : 1\u202f000 ; lignes : 1 ;" in result.output
    assert query(db, "SELECT count(*), count(error), sum(row_count) FROM db_tables") == [(1000, 0, 1)]
    assert query(db, "SELECT status, errors FROM scans") == [("complete", 0)]


def test_sqlite_statement_past_its_deadline(tmp_path):
    """A zero deadline interrupts any statement longer than one progress tick (10,000
    SQLite instructions, not a duration): the long one is recorded, the short one read."""
    from scanners.database import DatabaseScanError, DbOptions, open_engine, scan_tables

    app = tmp_path / "a.db"
    con = sqlite3.connect(app)
    con.executescript("CREATE TABLE courte (d DATE); CREATE TABLE longue (d DATE);"
                      "INSERT INTO courte VALUES ('2020-01-01');")
    con.executemany("INSERT INTO longue VALUES (?)", [("2021-01-01",)] * 50_000)
    con.commit()
    con.close()
    engine, url, _, _ = open_engine(f"sqlite:///{app}")
    rows = {r["table_name"]: r for r in scan_tables(engine, url, DbOptions(timeout_s=0))}
    assert rows["courte"]["error"] is None and rows["courte"]["row_count"] == 1
    assert rows["longue"]["error"] == "délai dépassé (0 s)"
    # A listing that cannot finish in time is one French line, not a traceback.
    con = sqlite3.connect(app)
    con.executescript("".join(f"CREATE TABLE t{i} (id INTEGER);" for i in range(1000)))
    con.close()
    with pytest.raises(DatabaseScanError, match=r"^Lecture de la liste des tables impossible : délai dépassé \(0 s\)$"):
        list(scan_tables(engine, url, DbOptions(timeout_s=0)))
    engine.dispose()


def _folder_state(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file of a folder: content hash and mtime in ns."""
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


NOT_SQLITE = ("ce fichier n'est pas une base SQLite (en-tête « SQLite format 3 » absent ; autre format, "
              "ou base chiffrée).")


@pytest.mark.parametrize("content, reason", [
    (os.urandom(8192), NOT_SQLITE),
    (b"Liste des agents\nDupont;Jean\n", NOT_SQLITE),
    (b"", "fichier vide (0 octet), aucune table à inventorier."),
], ids=["octets-aleatoires", "texte", "vide"])
def test_not_a_sqlite_file(cli, tmp_path, content, reason):
    folder = tmp_path / "appli"
    folder.mkdir()
    app = folder / "agents.db"
    app.write_bytes(content)
    os.utime(app, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = _folder_state(folder)
    db = tmp_path / "c.duckdb"
    result = cli("scan-db", f"sqlite:///{app}", "--commune", "99405", "--application", "Agents", "--db", db)
    assert result.exit_code == 1
    assert result.output == f"Erreur : {app} : {reason}\n"
    assert _folder_state(folder) == before  # same bytes, same mtime, nothing created beside it
    assert not db.exists()  # refused before the catalogue was opened


def _wal_db(path: Path, rows: int) -> sqlite3.Connection:
    """A WAL-mode database whose rows stay in its -wal (no checkpoint), writer left open."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE courriers (id INTEGER PRIMARY KEY, recu_le DATE)")
    con.execute("BEGIN")
    con.executemany("INSERT INTO courriers (recu_le) VALUES (?)", [("2023-01-02",)] * rows)
    con.execute("COMMIT")
    return con


def _scan_courriers(cli, tmp_path, app: Path) -> tuple[int, str]:
    """The rows counted in `courriers`, and how the file was read (recorded with the scan)."""
    db = tmp_path / "c.duckdb"
    result = cli("scan-db", f"sqlite:///{app}", "--commune", "99406", "--application", "Courrier", "--db", db)
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT count(error) FROM db_tables") == [(0,)]
    count = query(db, "SELECT row_count FROM db_tables WHERE table_name = 'courriers'")[0][0]
    return count, query(db, "SELECT identifier FROM scans")[0][0]


def test_wal_database_at_rest(cli, tmp_path):
    """Closed cleanly: no -wal beside it. Read as immutable, nothing created."""
    folder = tmp_path / "appli"
    folder.mkdir()
    app = folder / "courrier.db"
    _wal_db(app, 120).close()
    before = _folder_state(folder)
    assert list(before) == ["courrier.db"]
    assert _scan_courriers(cli, tmp_path, app) == (120, "SQLAlchemy sqlite (lecture seule, base au repos)")
    assert _folder_state(folder) == before


def test_wal_database_with_a_live_writer(cli, tmp_path):
    """A writer holds the database: committed rows still in its -wal are counted, the open
    transaction is not, and no file beside it is created or rewritten (-shm excepted:
    SQLite's shared-memory index, which every reader updates)."""
    folder = tmp_path / "appli"
    folder.mkdir()
    app = folder / "courrier.db"
    writer = _wal_db(app, 120)
    try:
        writer.execute("BEGIN")
        writer.execute("INSERT INTO courriers (recu_le) VALUES ('2024-01-01')")  # not committed
        before = _folder_state(folder)
        assert set(before) == {"courrier.db", "courrier.db-wal", "courrier.db-shm"}
        assert _scan_courriers(cli, tmp_path, app) == (
            120, "SQLAlchemy sqlite (lecture seule, WAL en cours d'utilisation)")
        after = _folder_state(folder)
        del before["courrier.db-shm"], after["courrier.db-shm"]
        assert after == before
    finally:
        writer.close()


@pytest.fixture
def work_tmp(tmp_path, monkeypatch):
    """A temporary folder of the test's own, to see the working copy come and go."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_wal_database_with_an_orphan_wal(cli, tmp_path, work_tmp):
    """A -wal without its -shm (a copied folder, a crash): its committed rows are read
    through a private copy, and nothing is created beside the database."""
    folder = tmp_path / "appli"
    folder.mkdir()
    live = tmp_path / "vivante.db"
    writer = _wal_db(live, 120)
    shutil.copyfile(live, folder / "courrier.db")
    shutil.copyfile(f"{live}-wal", folder / "courrier.db-wal")
    writer.close()
    before = _folder_state(folder)
    assert list(before) == ["courrier.db", "courrier.db-wal"]
    assert _scan_courriers(cli, tmp_path, folder / "courrier.db") == (
        120, "SQLAlchemy sqlite (copie de travail, journal WAL non fusionné sans son index -shm)")
    assert _folder_state(folder) == before
    assert list(work_tmp.iterdir()) == []  # the working copy is gone


def test_rollback_database_with_a_hot_journal(cli, tmp_path, work_tmp):
    """A writer killed mid-transaction left a hot -journal: read-only SQLite cannot roll
    it back, so a private copy is rolled back and read; the originals stay as they are."""
    folder = tmp_path / "appli"
    folder.mkdir()
    app = folder / "courrier.db"
    code = ("import os, sqlite3, sys\n"
            "con = sqlite3.connect(sys.argv[1])\n"
            "con.execute('CREATE TABLE courriers (id INTEGER PRIMARY KEY, recu_le DATE)')\n"
            "con.executemany('INSERT INTO courriers (recu_le) VALUES (?)', [('2023-01-02',)] * 120)\n"
            "con.commit()\n"
            "con.execute('PRAGMA cache_size=1')\n"
            "con.execute('BEGIN')\n"
            "con.executemany('INSERT INTO courriers (recu_le) VALUES (?)', [('2024-01-01',)] * 5000)\n"
            "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(app)], check=True)
    before = _folder_state(folder)
    assert list(before) == ["courrier.db", "courrier.db-journal"]
    assert _scan_courriers(cli, tmp_path, app) == (
        120, "SQLAlchemy sqlite (copie de travail, transaction interrompue à annuler dans le -journal)")
    assert _folder_state(folder) == before
    assert list(work_tmp.iterdir()) == []
