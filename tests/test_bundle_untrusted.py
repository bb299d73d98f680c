"""Bundles come from other servers: `catalogue ingest` treats them as untrusted input.

Each test crafts a bundle from a genuine one (same Parquet rows, rewritten metadata or
rows) and checks the refusal is one French line, exit 1, and that nothing was written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from catalogue.bundle import META_KEY
from tests.conftest import REPO, catalogue_cmd, query


@pytest.fixture
def genuine(tmp_path, cli):
    """A real bundle of commune 99001 (4 files, 1 folder), made by `scan --bundle`."""
    root = tmp_path / "serveur"
    (root / "Urbanisme").mkdir(parents=True)
    (root / "Urbanisme" / "permis.txt").write_text("permis de construire")
    (root / "Urbanisme" / "permis (1).txt").write_text("permis de construire")
    (root / "note.txt").write_text("note")
    (root / "vide.txt").write_text("")
    bundle = tmp_path / "99001.parquet"
    result = cli("scan", root, "--commune", "99001", "--nom", "Saint-Aubin", "--bundle", bundle, "--quiet")
    assert result.exit_code == 0, result.output
    return bundle


@pytest.fixture
def territory(tmp_path, cli):
    """A territory catalogue already holding another commune's scan (the data to protect)."""
    root = tmp_path / "autre"
    (root / "Finances").mkdir(parents=True)
    (root / "Finances" / "budget.csv").write_text("a;b\n1;2\n")
    db = tmp_path / "territoire.duckdb"
    result = cli("scan", root, "--commune", "99003", "--nom", "Montclar", "--db", db, "--quiet")
    assert result.exit_code == 0, result.output
    return db


def meta_of(bundle) -> dict:
    return json.loads(pq.read_metadata(bundle).metadata[META_KEY.encode()])


def rewrite(src, dst, *, meta: dict | list | bytes | None = None, rows=None):
    """Copy bundle SRC to DST with other metadata (a JSON value or raw bytes) and/or rows."""
    table = rows if rows is not None else pq.read_table(src)
    if meta is None:
        meta = meta_of(src)
    raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    pq.write_table(table.replace_schema_metadata({META_KEY: raw}), dst)
    return dst


def set_column(table: pa.Table, name: str, values) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), pa.array(values, type=table.schema.field(i).type))


def file_digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dump(db) -> dict:
    """Every row of every table, to compare a catalogue before and after."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()]
        return {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}
    finally:
        con.close()


def refused(cli, bundle, db, expected: str) -> None:
    """Ingest is refused with exactly one French line and leaves the catalogue byte-identical."""
    before = file_digest(db) if db.exists() else None
    result = cli("ingest", bundle, "--db", db)
    assert result.exit_code == 1, result.output
    assert result.output == f"Erreur : {bundle} : {expected}\n"
    assert (file_digest(db) if db.exists() else None) == before


def test_injection_through_metadata_keys_leaves_catalogue_byte_identical(genuine, territory, tmp_path, cli):
    meta = meta_of(genuine)
    scan = meta["scan"]
    # The key closes the column list, runs its own statements, then reopens an INSERT
    # whose columns line up with the remaining keys (what the crafted bundle did).
    evil = ("host) SELECT 'x' WHERE false; DELETE FROM files WHERE commune <> '99001'; "
            "UPDATE communes SET nom = 'pwned'; INSERT INTO scans (host")
    meta["scan"] = {evil: scan.pop("host"), **scan}
    bundle = rewrite(genuine, tmp_path / "piege.parquet", meta=meta)
    files_before = query(territory, "SELECT count(*) FROM files")
    refused(cli, bundle, territory, f"métadonnées invalides : champ inconnu « scan.{evil[:60]}… ».")
    assert query(territory, "SELECT count(*) FROM files") == files_before
    assert query(territory, "SELECT nom FROM communes") == [("Montclar",)]


def test_rows_of_another_commune_are_refused(genuine, territory, tmp_path, cli):
    meta = meta_of(genuine)
    meta["scan"]["commune"] = "99005"
    bundle = rewrite(genuine, tmp_path / "faux.parquet", meta=meta)
    refused(cli, bundle, territory,
            "5 entrées d'une autre commune que 99005 (celle des métadonnées) ; lot refusé.")
    assert query(territory, "SELECT code FROM communes") == [("99003",)]


def test_totals_are_recomputed_from_the_rows(genuine, territory, tmp_path, cli):
    meta = meta_of(genuine)
    meta["scan"].update(entries=999_999_999, files=999_999_999, bytes=10**15, errors=7)
    bundle = rewrite(genuine, tmp_path / "gonfle.parquet", meta=meta)
    result = cli("ingest", bundle, "--db", territory)
    assert result.exit_code == 0, result.output
    assert result.output == f"{bundle} : 5 entrées chargées (commune 99001, scan n° 2).\n"
    assert query(territory, "SELECT entries, files, bytes, errors FROM scans WHERE commune = '99001'") == \
        [(5, 4, 44, 0)]
    status = cli("status", "--db", territory).output
    assert "999" not in status and "  99001 Saint-Aubin : 4 fichiers, 44 octets" in status


def test_only_complete_scans_are_loaded(genuine, territory, tmp_path, cli):
    meta = meta_of(genuine)
    meta["scan"]["status"] = "running"
    bundle = rewrite(genuine, tmp_path / "encours.parquet", meta=meta)
    refused(cli, bundle, territory,
            "le scan n'est pas terminé (statut « running ») : seul un scan terminé peut être chargé.")


def test_negative_size_is_refused(genuine, territory, tmp_path, cli):
    table = pq.read_table(genuine)
    table = set_column(table, "size", [-1] + table.column("size").to_pylist()[1:])
    bundle = rewrite(genuine, tmp_path / "negatif.parquet", rows=table)
    refused(cli, bundle, territory, "1 entrée de taille négative ; lot refusé.")


def test_absurd_size_is_refused(genuine, territory, tmp_path, cli):
    table = pq.read_table(genuine)
    table = set_column(table, "size", [2**62] + table.column("size").to_pylist()[1:])
    bundle = rewrite(genuine, tmp_path / "enorme.parquet", rows=table)
    refused(cli, bundle, territory, "1 entrée de taille supérieure à 1 Eio ; lot refusé.")


def test_inconsistent_paths_are_refused(genuine, territory, tmp_path, cli):
    table = pq.read_table(genuine)
    paths = table.column("path").to_pylist()
    table = set_column(table, "path", ["../../etc/passwd"] + paths[1:])
    bundle = rewrite(genuine, tmp_path / "chemin.parquet", rows=table)
    refused(cli, bundle, territory,
            "1 entrée au chemin invalide (vide, absolu, avec « . » ou « .. », ou sans rapport avec "
            "parent, name et depth) ; lot refusé.")


def test_duplicate_entries_are_refused(genuine, territory, tmp_path, cli):
    table = pq.read_table(genuine)
    bundle = rewrite(genuine, tmp_path / "double.parquet", rows=pa.concat_tables([table, table.slice(0, 1)]))
    refused(cli, bundle, territory, "1 entrée en double (même file_id ou même chemin) ; lot refusé.")


def test_unknown_kind_is_refused(genuine, territory, tmp_path, cli):
    table = pq.read_table(genuine)
    table = set_column(table, "kind", ["fichier"] + table.column("kind").to_pylist()[1:])
    bundle = rewrite(genuine, tmp_path / "genre.parquet", rows=table)
    refused(cli, bundle, territory,
            "1 entrée de type inconnu (attendu : file, directory, symlink, other) ; lot refusé.")


def test_same_uuid_with_other_content_is_refused(genuine, territory, tmp_path, cli):
    assert cli("ingest", genuine, "--db", territory).exit_code == 0
    uuid = meta_of(genuine)["scan"]["scan_uuid"]
    before = dump(territory)
    # Same metadata, one size changed.
    table = pq.read_table(genuine)
    sizes = table.column("size").to_pylist()
    table = set_column(table, "size", [sizes[0] + 1] + sizes[1:])
    other_rows = rewrite(genuine, tmp_path / "modifie.parquet", rows=table)
    # Same rows, another root in the metadata.
    meta = meta_of(genuine)
    meta["scan"]["root"] = "/ailleurs"
    other_meta = rewrite(genuine, tmp_path / "racine.parquet", meta=meta)
    for bundle in (other_rows, other_meta):
        result = cli("ingest", bundle, "--db", territory)
        assert result.exit_code == 1
        assert result.output == (f"Erreur : {bundle} : le scan {uuid} est déjà chargé (scan n° 2) avec un "
                                 "contenu différent ; lot refusé (deux lots différents ne peuvent pas porter "
                                 "le même identifiant de scan).\n")
        assert dump(territory) == before
    # The same content under another file name is still « déjà chargé »: idempotent.
    copy = rewrite(genuine, tmp_path / "copie.parquet")
    result = cli("ingest", copy, "--db", territory)
    assert result.exit_code == 0 and result.output == f"{copy} : déjà chargé (scan n° 2), ignoré.\n"
    assert dump(territory) == before


MALFORMED = [
    (b"{pas du json", "métadonnées illisibles (JSON invalide)."),
    (b'{"bundle_version": 1, "commune_nom": "Saint-\xe9tienne"}', "métadonnées illisibles (texte qui n'est pas de l'UTF-8)."),
    ([1, 2, 3], "métadonnées invalides : un objet JSON est attendu."),
    ({"bundle_version": 1}, "métadonnées invalides : champ « scan » absent."),
    ({"bundle_version": "1", "scan": {}}, 'version de lot non prise en charge ("1").'),
    ({"bundle_version": 1, "scan": []}, "métadonnées invalides : « scan » doit être un objet JSON."),
    (b'{"bundle_version": 1, "scan": {}, "scan": {}}', "champ « scan » en double."),
    (b"[" * 100_000, "métadonnées illisibles (JSON invalide)."),
    (b'{"bundle_version": 1, "commune_nom": "' + b"x" * (1 << 20) + b'"}', "métadonnées de plus de 1024 Kio."),
]


@pytest.mark.parametrize("meta, expected", MALFORMED, ids=["json", "utf8", "liste", "sans-scan", "version", "scan-liste", "double", "profond", "enorme"])
def test_malformed_metadata_is_one_french_line(genuine, tmp_path, cli, meta, expected):
    db = tmp_path / "territoire.duckdb"
    bundle = rewrite(genuine, tmp_path / "abime.parquet", meta=meta)
    refused(cli, bundle, db, expected)
    assert not db.exists()  # checked before the catalogue is even opened


SCAN_FIELD_CASES = [
    (lambda s: s.pop("commune"), "métadonnées invalides : champ « scan.commune » absent."),
    (lambda s: s.pop("started_at"), "métadonnées invalides : champ « scan.started_at » absent."),
    (lambda s: s.update(files="beaucoup"), "métadonnées invalides : champ « scan.files » : nombre entier attendu."),
    (lambda s: s.update(entries=True), "métadonnées invalides : champ « scan.entries » : nombre entier attendu."),
    (lambda s: s.update(entries=-3), "métadonnées invalides : champ « scan.entries » : nombre négatif."),
    (lambda s: s.update(started_at=12), "métadonnées invalides : champ « scan.started_at » : date ISO 8601 attendue."),
    (lambda s: s.update(started_at="hier"), "métadonnées invalides : champ « scan.started_at » : date ISO 8601 attendue."),
    (lambda s: s.update(commune=["99001"]), "métadonnées invalides : champ « scan.commune » : texte attendu."),
    (lambda s: s.update(commune=""), "métadonnées invalides : champ « scan.commune » : texte vide."),
    (lambda s: s.update(excludes=[1]), "métadonnées invalides : champ « scan.excludes » : liste de textes attendue."),
    (lambda s: s.update(dataset_depth=0), "métadonnées invalides : champ « scan.dataset_depth » : entre 1 et 20 attendu."),
    (lambda s: s.update(scan_uuid="pas-un-uuid"), "métadonnées invalides : champ « scan.scan_uuid » : UUID attendu."),
    (lambda s: s.update(source="database"), "métadonnées invalides : champ « scan.source » : « filesystem » attendu."),
    (lambda s: s.update(finished_at=None), "métadonnées invalides : champ « scan.finished_at » absent."),
    (lambda s: s.update(finished_at="2000-01-01T00:00:00"),
     "métadonnées invalides : champ « scan.finished_at » : antérieur au début du scan."),
    (lambda s: s.update({"x\ny": 1}), "métadonnées invalides : champ inconnu « scan.x\\ny »."),
    (lambda s: s.update(root="/srv\x00/etc"), "métadonnées invalides : champ « scan.root » : caractère nul dans le texte."),
]


@pytest.mark.parametrize("change, expected", SCAN_FIELD_CASES)
def test_scan_metadata_is_checked_field_by_field(genuine, tmp_path, cli, change, expected):
    db = tmp_path / "territoire.duckdb"
    meta = meta_of(genuine)
    change(meta["scan"])
    bundle = rewrite(genuine, tmp_path / "abime.parquet", meta=meta)
    refused(cli, bundle, db, expected)
    assert not db.exists()


def test_parquet_columns_are_checked(genuine, tmp_path, cli):
    db = tmp_path / "territoire.duckdb"
    table = pq.read_table(genuine)
    extra = rewrite(genuine, tmp_path / "extra.parquet", rows=table.append_column("scan_id", pa.array([1] * 5)))
    refused(cli, extra, db, "colonne inconnue « scan_id » ; lot refusé.")
    missing = rewrite(genuine, tmp_path / "manque.parquet", rows=table.drop_columns(["hash"]))
    refused(cli, missing, db, "colonne « hash » absente ; lot refusé.")
    i = table.schema.get_field_index("size")
    as_text = table.set_column(i, "size", pc.cast(table.column("size"), pa.string()))
    wrong = rewrite(genuine, tmp_path / "type.parquet", rows=as_text)
    refused(cli, wrong, db, "colonne « size » de type VARCHAR au lieu de BIGINT ; lot refusé.")


def test_a_bad_bundle_among_several_loads_none(genuine, territory, tmp_path, cli):
    meta = meta_of(genuine)
    meta["scan"]["status"] = "failed"
    bad = rewrite(genuine, tmp_path / "echoue.parquet", meta=meta)
    before = file_digest(territory)
    result = cli("ingest", genuine, bad, "--db", territory)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : {bad} : le scan n'est pas terminé (statut « failed ») : "
                             "seul un scan terminé peut être chargé.\n")
    assert file_digest(territory) == before


def test_refusal_on_stderr_without_traceback(genuine, tmp_path):
    """The real command in its own process: stderr is the one line, stdout is empty."""
    bundle = rewrite(genuine, tmp_path / "abime.parquet", meta=b"\xff\xfe")
    db = tmp_path / "territoire.duckdb"
    proc = subprocess.run(catalogue_cmd() + ["ingest", str(bundle), "--db", str(db)], capture_output=True,
                          text=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == f"Erreur : {bundle} : métadonnées illisibles (texte qui n'est pas de l'UTF-8).\n"


def test_hostile_names_still_round_trip(tmp_path, cli):
    """The row checks accept every name a filesystem allows."""
    root = tmp_path / "serveur"
    odd = root / " Dossier\navec retour" / "..point" / "a\\b"
    odd.mkdir(parents=True)
    (odd / "caf\udce9 .txt").write_text("x")
    (root / "-").write_text("y")
    (root / "'; DROP TABLE files; --").write_text("z")
    bundle = tmp_path / "lot.parquet"
    assert cli("scan", root, "--commune", "99002", "--bundle", bundle, "--quiet").exit_code == 0
    db = tmp_path / "t.duckdb"
    result = cli("ingest", bundle, "--db", db)
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT count(*), count(path_raw) FROM files") == [(6, 1)]
    assert query(db, "SELECT entries, files, bytes FROM scans") == [(6, 3, 3)]


def test_every_scans_column_has_a_checker():
    """A migration adding a `scans` column of a new type must say how a bundle's value is checked."""
    from catalogue.bundle import CONVERTERS, LOCAL, schema

    assert {c.type for name, c in schema()["scans"].items() if name not in LOCAL} <= set(CONVERTERS)


@pytest.mark.parametrize("name, decoy", [("lot*.parquet", "lotA.parquet"), ("lot?.parquet", "lotB.parquet"),
                                         ("lot[AB].parquet", "lotA.parquet")])
def test_a_bundle_file_name_is_never_a_glob(genuine, tmp_path, cli, name, decoy):
    """DuckDB's read_parquet expands * ? [ ]: a bundle named lot*.parquet is that file only."""
    meta = meta_of(genuine)
    meta["scan"]["scan_uuid"] = "00000000-0000-4000-8000-000000000000"
    rewrite(genuine, tmp_path / decoy, meta=meta)  # another valid bundle the glob would match
    bundle = tmp_path / name
    bundle.write_bytes(genuine.read_bytes())
    db = tmp_path / "t.duckdb"
    result = cli("ingest", bundle, "--db", db)
    assert result.exit_code == 0, result.output
    assert result.output == f"{bundle} : 5 entrées chargées (commune 99001, scan n° 1).\n"
    assert query(db, "SELECT count(*) FROM files") == [(5,)]


def test_damaged_rows_are_one_french_line(tmp_path, cli):
    """A bundle whose footer is intact but whose data pages are damaged (a bad transfer)."""
    root = tmp_path / "serveur"
    root.mkdir()
    for i in range(300):
        (root / f"document numéro {i:04d}.txt").write_text(f"contenu {i}")
    bundle = tmp_path / "lot.parquet"
    assert cli("scan", root, "--commune", "99001", "--bundle", bundle, "--quiet").exit_code == 0
    data = bytearray(bundle.read_bytes())
    data[100:2100] = b"\xff" * 2000  # pages only: the footer (metadata, schema) is at the end
    bundle.write_bytes(bytes(data))
    db = tmp_path / "t.duckdb"
    result = cli("ingest", bundle, "--db", db)
    assert result.exit_code == 1
    assert result.output.startswith(f"Erreur : {bundle} : lot illisible (")
    assert len(result.output.splitlines()) == 1 and not db.exists()
