"""Portable Parquet bundles: scan on a commune's server, ingest at the territory's pilot."""

from __future__ import annotations

from tests.conftest import query


def test_bundle_round_trip_and_idempotent_ingest(tmp_path, cli):
    root = tmp_path / "serveur"
    (root / "État civil" / "Actes").mkdir(parents=True)
    (root / "État civil" / "Actes" / "acte.txt").write_text("acte")
    (root / "État civil" / "Actes" / "acte (1).txt").write_text("acte")
    (root / "caf\udce9.txt").write_text("nom latin-1")  # invalid UTF-8 name
    bundle = tmp_path / "99002.parquet"
    result = cli("scan", root, "--commune", "99002", "--nom", "Montclar", "--bundle", bundle, "--quiet")
    assert result.exit_code == 0, result.output
    assert f"Lot écrit : {bundle}" in result.output
    assert not list(tmp_path.glob("*.partiel")) and not list(tmp_path.glob("catalogage-bundle-*"))

    db = tmp_path / "territoire.duckdb"
    result = cli("ingest", bundle, "--db", db)
    assert result.exit_code == 0
    assert result.output == f"{bundle} : 5 entrées chargées (commune 99002, scan n° 1).\n"
    result = cli("ingest", bundle, "--db", db)
    assert result.output == f"{bundle} : déjà chargé (scan n° 1), ignoré.\n"
    assert query(db, "SELECT count(*) FROM files") == [(5,)]
    assert query(db, "SELECT code, nom FROM communes") == [("99002", "Montclar")]
    assert query(db, "SELECT status, source FROM scans") == [("complete", "filesystem")]
    assert query(db, "SELECT copies FROM duplicates") == [(2,)]
    assert query(db, "SELECT rule_id FROM dechets") == [("BAK-NUMERO",)]
    raw = query(db, "SELECT path_raw FROM files WHERE path_raw IS NOT NULL")
    assert [bytes(r[0]) for r in raw] == [b"caf\xe9.txt"]


def test_ingest_refuses_what_is_not_a_bundle(tmp_path, cli):
    db = tmp_path / "territoire.duckdb"
    missing = tmp_path / "absent.parquet"
    result = cli("ingest", missing, "--db", db)
    assert result.exit_code == 1 and result.output == f"Erreur : Lot introuvable : {missing}\n"
    text = tmp_path / "texte.parquet"
    text.write_text("pas du parquet")
    result = cli("ingest", text, "--db", db)
    assert result.exit_code == 1 and result.output == f"Erreur : {text} n'est pas un fichier Parquet lisible.\n"
    import duckdb

    foreign = tmp_path / "autre.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS a) TO '{foreign}' (FORMAT parquet)")
    result = cli("ingest", foreign, "--db", db)
    assert result.exit_code == 1
    assert result.output == f"Erreur : {foreign} n'est pas un lot Catalogage (métadonnées de scan absentes).\n"
    assert not db.exists()  # bundles are checked before the catalogue is opened


def test_ingest_does_not_rename_a_commune_silently(tmp_path, cli):
    """A bundle naming a known commune differently is refused, nothing loaded, unless
    --renommer (as `scan --nom` does)."""
    root = tmp_path / "serveur"
    root.mkdir()
    (root / "note.txt").write_text("note")
    db = tmp_path / "territoire.duckdb"
    assert cli("scan", root, "--commune", "99002", "--nom", "Montclar", "--db", db, "-q").exit_code == 0
    bundle = tmp_path / "99002.parquet"
    assert cli("scan", root, "--commune", "99002", "--nom", "Montclard", "--bundle", bundle, "-q").exit_code == 0
    result = cli("ingest", bundle, "--db", db)
    assert result.exit_code == 1
    assert "enregistrée sous le nom « Montclar », le lot la nomme « Montclard »" in result.output
    assert "Traceback" not in result.output
    assert query(db, "SELECT count(*) FROM scans") == [(1,)]
    assert query(db, "SELECT nom FROM communes") == [("Montclar",)]
    result = cli("ingest", bundle, "--renommer", "--db", db)
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT count(*) FROM scans") == [(2,)]
    assert query(db, "SELECT nom FROM communes") == [("Montclard",)]
