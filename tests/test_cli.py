"""CLI contracts: exit codes and exact French messages, sql/status, locking, Ctrl-C, rescans."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from tests.helpers import budget_share, held_scan, query


@pytest.fixture
def scanned(tmp_path, cli):
    root = budget_share(tmp_path)
    db = tmp_path / "c.duckdb"
    result = cli("scan", root, "--commune", "99001", "--nom", "Saint-Aubin", "--db", db, "--quiet")
    assert result.exit_code == 0, result.output
    return root, db


def test_scan_summary_in_french(scanned, cli, tmp_path):
    root, db = scanned
    result = cli("scan", root, "--commune", "99001", "--db", db, "--quiet")
    lines = result.output.splitlines()
    assert lines[0] == f"Scan n° 2 — commune 99001 — {root}"
    assert lines[1] == "  Fichiers : 3 (116 octets), entrées au total : 5"
    assert lines[2] == "  Doublons : 1 groupe, volume récupérable : 8 octets"
    assert lines[3] == "  Déchets : 2 entrées, 108 octets"
    # A rescan of the same root: nothing changed, nothing read again.
    assert lines[4] == "  Inchangés depuis le scan précédent (non relus) : 3 fichiers"
    assert lines[5] == "  Erreurs (entrées illisibles) : 0"


def test_sql_formats(scanned, cli):
    _, db = scanned
    result = cli("sql", "SELECT name, size FROM files WHERE kind = 'file' ORDER BY name", "--db", db, "--format", "csv")
    assert result.exit_code == 0
    assert result.output == "name,size\nCopie de bp2024.csv,8\nThumbs.db,100\nbp2024.csv,8\n"
    result = cli("sql", "SELECT rule_id, size FROM dechets ORDER BY rule_id", "--db", db, "--format", "json")
    assert json.loads(result.output) == [{"rule_id": "BAK-COPIE-DE", "size": 8}, {"rule_id": "SYS-THUMBS", "size": 100}]
    result = cli("sql", "SELECT commune, files FROM datasets ORDER BY path", "--db", db)
    assert result.exit_code == 0 and "2 lignes" in result.output


def test_sql_errors_are_one_line(scanned, cli, tmp_path):
    _, db = scanned
    result = cli("sql", "SELEC 1", "--db", db)
    assert result.exit_code == 1
    assert result.output == ("Erreur : Requête refusée : la requête n'est pas du SQL valide ; "
                             "détail de DuckDB : Parser Error: syntax error at or near \"SELEC\"\n")
    result = cli("sql", "SELECT nope FROM files", "--db", db)
    assert result.exit_code == 1
    assert result.output.startswith("Erreur : Requête refusée : colonne inconnue ou types incompatibles ; "
                                    "détail de DuckDB : Binder Error: Referenced column \"nope\" not found")
    assert len(result.output.splitlines()) == 1
    result = cli("sql", "DELETE FROM files", "--db", db)
    assert result.exit_code == 1 and "Requête refusée" in result.output
    assert query(db, "SELECT count(*) FROM files")[0][0] == 5
    missing = tmp_path / "absent.duckdb"
    result = cli("sql", "SELECT 1", "--db", missing)
    assert result.exit_code == 1
    assert result.output == f"Erreur : Catalogue introuvable : {missing} (lancez d'abord « catalogue scan »).\n"
    assert not missing.exists()


def test_not_a_catalogue(tmp_path, cli):
    bogus = tmp_path / "faux.duckdb"
    bogus.write_text("ceci n'est pas une base")
    result = cli("status", "--db", bogus)
    assert result.exit_code == 1 and result.output.startswith(f"Erreur : {bogus} n'est pas un catalogue DuckDB lisible")


def test_status(scanned, cli):
    _, db = scanned
    result = cli("status", "--db", db)
    assert result.exit_code == 0
    assert "  99001 Saint-Aubin : 3 fichiers, 116 octets (derniers scans terminés)" in result.output
    assert "— terminé," in result.output
    # Counts agree with their nouns: « 0 erreur », never « 0 erreurs ».
    assert result.output.splitlines()[-1].endswith(", 3 fichiers, 116 octets, 0 erreur")


def test_usage_error_is_exit_2(cli):
    result = cli("scan", "/tmp")
    assert result.exit_code == 2 and "--commune" in result.output


def test_database_env_variable(scanned, cli, monkeypatch):
    _, db = scanned
    monkeypatch.setenv("CATALOGUE_DB", str(db))
    result = cli("sql", "SELECT count(*) AS n FROM communes", "--format", "csv")
    assert result.output == "n\n1\n"


def test_second_writer_gets_clear_error(scanned, cli):
    root, db = scanned
    # Holds the catalogue open until killed.
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('ok', flush=True); sys.stdin.read()", str(db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        result = cli("scan", root, "--commune", "99001", "--db", db, "--quiet")
        assert result.exit_code == 1
        assert result.output == (f"Erreur : Le catalogue {db} est déjà ouvert par un autre processus "
                                 "(un scan en cours ?) ; réessayez quand il aura terminé.\n")
    finally:
        holder.kill()
        holder.communicate()
    # Nothing corrupted: the catalogue still opens with its single scan.
    assert query(db, "SELECT count(*), min(status) FROM scans") == [(1, "complete")]


def test_rescan_keeps_history_and_views_use_latest_complete(scanned, cli):
    root, db = scanned
    (root / "Finances" / "Budgets" / "nouveau.txt").write_text("nouveau")
    assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet").exit_code == 0
    assert query(db, "SELECT scan_id, status FROM scans ORDER BY scan_id") == [(1, "complete"), (2, "complete")]
    assert query(db, "SELECT scan_id FROM latest_scans") == [(2,)]
    assert query(db, "SELECT count(*) FROM files WHERE scan_id = 1")[0][0] == 5
    assert query(db, "SELECT sum(files) FROM datasets") == [(4,)]
    # A dataset keeps its id across rescans (grid answers are matched on it).
    ids = query(db, "SELECT DISTINCT 'FS-' || upper(substr(md5(commune || '|' || root || '|' || 'Finances/Budgets'), "
                    "1, 12)) FROM scans")
    assert query(db, "SELECT dataset_id FROM datasets WHERE path = 'Finances/Budgets'") == ids


def test_exclude(tmp_path, cli):
    root = tmp_path / "partage"
    (root / "iso").mkdir(parents=True)
    (root / "iso" / "disque.iso").write_bytes(b"x" * 10)
    (root / "garde.txt").write_text("x")
    (root / "jette.iso").write_text("x")
    db = tmp_path / "c.duckdb"
    result = cli("scan", root, "--commune", "99001", "--db", db, "--quiet", "--exclude", "*.iso", "--exclude", "iso")
    assert "exclues : 2" in result.output
    assert query(db, "SELECT path FROM files") == [("garde.txt",)]
    assert query(db, "SELECT excludes, excluded FROM scans") == [(["*.iso", "iso"], 2)]


def test_ctrl_c_marks_scan_interrupted(tmp_path):
    root = tmp_path / "partage"
    for d in range(40):
        folder = root / f"d{d}"
        folder.mkdir(parents=True)
        for i in range(50):
            (folder / f"f{i}.txt").write_text(f"fichier {d} {i}\n" * (i % 7 + 1))
    db = tmp_path / "c.duckdb"
    # Ctrl-C once the walk and the duplicates are stored, as identification begins (the
    # progress display on: an interruption must not leave a traceback in it either).
    proc = held_scan("scan", root, "--commune", "99001", "--db", db, event="identify")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert "Scan interrompu :" in err and "Traceback" not in err
    assert query(db, "SELECT status, finished_at IS NOT NULL FROM scans") == [("interrupted", True)]
    assert query(db, "SELECT count(*) FROM files")[0][0] == 40 * 50 + 40
    # Interrupted scans are history, not figures.
    assert query(db, "SELECT count(*) FROM datasets") == [(0,)]


def test_sql_wide_results_fold(scanned, cli, monkeypatch):
    """Past six columns, or wider than the terminal, one block per record instead of a table."""
    _, db = scanned
    monkeypatch.setenv("COLUMNS", "100")
    sql = "SELECT path, kind, size, extension, depth, name, commune FROM files WHERE name = 'Thumbs.db'"
    result = cli("sql", sql, "--db", db)
    assert result.exit_code == 0
    assert result.output == ("── ligne 1 ──\n"
                             "path      : Thumbs.db\n"
                             "kind      : file\n"
                             "size      : 100\n"
                             "extension : db\n"
                             "depth     : 1\n"
                             "name      : Thumbs.db\n"
                             "commune   : 99001\n"
                             "1 ligne, une fiche par ligne (résultat trop large pour un tableau : "
                             "--format csv pour un tableur)\n")
    # Six narrow columns stay a table; the same, too wide for a 40-column terminal, fold.
    narrow = "SELECT kind, size, extension, depth, name, commune FROM files WHERE name = 'Thumbs.db'"
    assert "┃ kind" in cli("sql", narrow, "--db", db).output
    monkeypatch.setenv("COLUMNS", "40")
    assert cli("sql", narrow, "--db", db).output.startswith("── ligne 1 ──\nkind      : file\n")


def test_report_of_an_invalid_code_says_so_first(scanned, cli, tmp_path):
    _, db = scanned
    result = cli("report", "--commune", "1234", "--no-pdf", "-o", tmp_path / "r", "--db", db)
    assert result.exit_code == 1
    assert result.output.startswith("Erreur : code de commune invalide « 1234 » : attendu un code INSEE")
    assert result.output.endswith("(communes connues : 99001).\n")
    assert not (tmp_path / "r").exists()
