"""Stored déchets hits (issue 21): the pattern and empty rules are evaluated once per scan
and rules version into `dechet_hits`; the view `dechets` must give exactly what live
evaluation gives, after a scan, an ingest, a rescan, and an edit of the rules file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import duckdb

from catalogue.store import connect, create_views
from tests.conftest import REPO, query

# Names the rules must meet exactly, and odd ones they must survive (quote, newline,
# bytes that are not UTF-8, emoji, brackets, leading dash).
JUNK = {
    "~$rapport.docx": b"x", "Thumbs.db": b"vignettes", "budget.xlsx.bak": b"ancien budget",
    "budget (2).xlsx": b"budget original", "budget.xlsx": b"budget original", "vide.txt": b"",
    "l'été/~$note d'été.docx": b"y", "l'été/Thumbs.db": b"", "saut\nde ligne.tmp": b"z",
    "emoji 📁/Copie de plan [1].pdf": b"plan", "-tiret.lnk": b"lien", "autre/budget-bis.xlsx": b"budget original",
    "sauvegarde/budget.xlsx.bak": b"ancien budget",
}


def make_tree(root, first_mtime: int = 1_700_000_000) -> None:
    """JUNK under ROOT, each file a second older than the next, from FIRST_MTIME: the copy
    a duplicate group keeps (the oldest) is known."""
    root.mkdir(parents=True, exist_ok=True)
    for i, (rel, content) in enumerate(JUNK.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.utime(path, (first_mtime + i, first_mtime + i))
    (root / "dossier vide" / "sous-dossier vide").mkdir(parents=True, exist_ok=True)
    # A name that is not UTF-8: stored with its raw bytes, shown escaped.
    os.makedirs(os.fsencode(root) + b"/latin-\xe9t\xe9", exist_ok=True)
    with open(os.fsencode(root) + b"/latin-\xe9t\xe9/~$lettre.doc", "wb") as fh:
        fh.write(b"w")


def scanned(tmp_path, cli, roots=("partage",), commune="99001"):
    db = tmp_path / "c.duckdb"
    for i, name in enumerate(roots):
        root = tmp_path / name
        if not root.exists():
            make_tree(root, 1_700_000_000 + 1000 * i)  # each root's copies newer than the last's
        assert cli("scan", root, "--commune", commune, "--db", db, "--quiet").exit_code == 0
    return db


ROWS = "SELECT * FROM dechets ORDER BY scan_id, file_id"


def stored_and_live(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[tuple]]:
    """The view's rows as the connection's views give them, then with every rule evaluated
    live (temporary views over the same catalogue)."""
    stored = con.execute(ROWS).fetchall()
    create_views(con, temporary=True, stored_hits=False)
    live = con.execute(ROWS).fetchall()
    return stored, live


def fresh_scans(con: duckdb.DuckDBPyConnection) -> set[int]:
    return {r[0] for r in con.execute("SELECT scan_id FROM dechet_hit_scans").fetchall()}


def test_stored_hits_give_what_live_evaluation_gives(tmp_path, cli):
    db = scanned(tmp_path, cli, roots=("partage", "copie"))
    con = connect(db)
    try:
        # Both scans were computed at their end: nothing is left to evaluate live.
        assert fresh_scans(con) == {1, 2}
        assert con.execute("SELECT count(*) FROM dechet_live_scans").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM dechet_own_hits").fetchone()[0] == 0
        stored, live = stored_and_live(con)
    finally:
        con.close()
    assert stored == live
    found = {(r[1], r[3]): r[8] for r in stored}
    assert found[(1, "~$rapport.docx")] == "TMP-OFFICE"
    assert found[(1, "saut\nde ligne.tmp")] == "TMP-GENERIC"
    assert found[(1, "l'été/Thumbs.db")] == "SYS-THUMBS"  # pattern rule ranked before the empty file
    assert found[(1, "dossier vide/sous-dossier vide")] == "VIDE-DOSSIER"
    assert found[(1, "latin-\\xe9t\\xe9/~$lettre.doc")] == "TMP-OFFICE"
    assert found[(2, "autre/budget-bis.xlsx")] == "DOUBLON"  # copies stay live, across scans
    # A redundant copy matched by a pattern rule too: the lower rank wins (DOUBLON is last).
    assert found[(1, "sauvegarde/budget.xlsx.bak")] == found[(2, "budget.xlsx.bak")] == "BAK-EXT"
    assert found[(2, "Thumbs.db")] == "SYS-THUMBS" and found[(2, "budget (2).xlsx")] == "BAK-NUMERO"
    assert (1, "budget (2).xlsx") in found and (1, "budget.xlsx") in found
    # The stored hits are what the view reads: a changed stored row shows in it.
    con = duckdb.connect(str(db))
    con.execute("UPDATE dechet_hits SET rule_id = 'SYS-LNK' WHERE scan_id = 1 AND path = '~$rapport.docx'")
    con.close()
    assert query(db, "SELECT rule_id FROM dechets WHERE scan_id = 1 AND path = '~$rapport.docx'") == [("SYS-LNK",)]


def test_a_rescan_and_a_new_open_leave_no_stale_hit(tmp_path, cli):
    db = scanned(tmp_path, cli)
    root = tmp_path / "partage"
    (root / "Thumbs.db").unlink()
    (root / "nouveau.tmp").write_bytes(b"n")
    assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet").exit_code == 0
    con = connect(db)
    try:
        # Only the latest scan's hits are kept; the first scan's went with it.
        assert fresh_scans(con) == {2}
        assert {r[0] for r in con.execute("SELECT DISTINCT scan_id FROM dechet_hits").fetchall()} == {2}
        stored, live = stored_and_live(con)
    finally:
        con.close()
    assert stored == live
    paths = {r[3] for r in stored}
    assert "nouveau.tmp" in paths and "Thumbs.db" not in paths and "l'été/Thumbs.db" in paths


def test_a_deleted_scan_leaves_no_stale_hit(tmp_path, cli):
    db = scanned(tmp_path, cli, roots=("partage", "autre-partage"))
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM files WHERE scan_id = 2")
    con.execute("DELETE FROM scans WHERE scan_id = 2")
    con.close()
    # Read before any writable open: its stored hits are not read.
    assert query(db, "SELECT DISTINCT scan_id FROM dechets") == [(1,)]
    con = connect(db)
    try:
        assert fresh_scans(con) == {1}
        assert con.execute("SELECT count(*) FROM dechet_hits WHERE scan_id = 2").fetchone()[0] == 0
    finally:
        con.close()


def test_an_ingested_bundle_gets_its_hits(tmp_path, cli):
    make_tree(tmp_path / "partage")
    bundle = tmp_path / "lot.parquet"
    assert cli("scan", tmp_path / "partage", "--commune", "99002", "--bundle", bundle, "--quiet").exit_code == 0
    db = tmp_path / "territoire.duckdb"
    assert cli("ingest", bundle, "--db", db).exit_code == 0
    con = duckdb.connect(str(db))
    try:
        assert fresh_scans(con) == {1}
        assert con.execute("SELECT count(*) FROM dechet_hits").fetchone()[0] > 0
    finally:
        con.close()
    con = connect(db)
    try:
        stored, live = stored_and_live(con)
    finally:
        con.close()
    assert stored == live and len(stored) > 10


def edited_install(tmp_path):
    """A copy of the catalogue package whose dechets.csv an archivist edited: redundant
    copies first, then a new rule (every .xlsx), the thumbnails rule removed."""
    site = tmp_path / "install"
    shutil.copytree(REPO / "catalogue", site / "catalogue", ignore=shutil.ignore_patterns("__pycache__"))
    rules = site / "catalogue" / "rules" / "dechets.csv"
    lines = rules.read_text(encoding="utf-8").splitlines()
    lines.insert(1, "X-TABLEUR,Tableur,Essai,file,extension,xlsx,à vérifier,Essai,hypothèse à valider")
    # Redundant copies ranked first: they now win over the stored pattern hits.
    lines.insert(1, next(line for line in lines if line.startswith("DOUBLON,")))
    lines = [line for line in lines if not line.startswith("SYS-THUMBS,")]
    lines = lines[:2] + [line for line in lines[2:] if not line.startswith("DOUBLON,")]
    rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return site


def rows_with(site, db, read_only: bool) -> dict[str, list]:
    """The view's rows, stored and live, as the edited install opens DB."""
    code = ("import json, sys; from catalogue.store import connect; from tests.test_dechet_hits import stored_and_live;"
            f"con = connect(sys.argv[1], read_only={read_only}); s, l = stored_and_live(con);"
            "print(json.dumps({'stored': s, 'live': l}, default=str))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    out = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, env=env,
                         check=True, cwd=site).stdout
    return json.loads(out)


def test_an_edited_rules_file_applies_at_the_next_open(tmp_path, cli):
    db = scanned(tmp_path, cli)
    site = edited_install(tmp_path)
    before = query(db, "SELECT path, rule_id FROM dechets")
    # Writable open with the edited file: the rules are loaded and the scan recomputed.
    got = rows_with(site, db, read_only=False)
    assert got["stored"] == got["live"]
    after = {r[3]: r[8] for r in got["stored"]}
    # The group keeps « budget (2).xlsx » (oldest): the other two are redundant copies.
    assert after["budget (2).xlsx"] == "X-TABLEUR" and after["budget.xlsx"] == "DOUBLON"
    assert after["sauvegarde/budget.xlsx.bak"] == "DOUBLON" and after["budget.xlsx.bak"] == "BAK-EXT"
    assert "Thumbs.db" not in after and after["l'été/Thumbs.db"] == "VIDE-FICHIER"
    # Stored under the edited rules: nothing left to evaluate live.
    assert query(db, "SELECT count(*) FROM dechet_live_scans") == [(0,)]
    assert query(db, "SELECT count(*) FROM dechet_hit_scans") == [(1,)]
    # Read-only, by the same install and by this one (the catalogue keeps the rules loaded last).
    assert rows_with(site, db, read_only=True) == got
    assert {(r[3], r[8]) for r in got["stored"]} == set(query(db, "SELECT path, rule_id FROM dechets"))
    # Writable open with the shipped file: back to the first result.
    connect(db).close()
    assert sorted(query(db, "SELECT path, rule_id FROM dechets")) == sorted(before)


def test_hits_stored_under_other_rules_are_not_read(tmp_path, cli):
    """Rules loaded without recomputing the hits (a tool of an earlier version opening the
    catalogue): a read-only open evaluates every scan live, under the rules loaded."""
    db = scanned(tmp_path, cli)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM dechet_rules WHERE rule_id = 'SYS-THUMBS'")
    con.execute("UPDATE dechet_rules SET pattern = 'aucun-*' WHERE rule_id = 'TMP-OFFICE'")
    con.execute("UPDATE dechet_rules SET rank = 0 WHERE rule_id = 'TMP-GENERIC'")
    con.close()
    con = connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM dechet_live_scans").fetchone()[0] == 1
        stored, live = stored_and_live(con)
    finally:
        con.close()
    assert stored == live
    found = {r[3]: r[8] for r in stored}
    # The stored hits said TMP-OFFICE and SYS-THUMBS: not read.
    assert "~$rapport.docx" not in found and "Thumbs.db" not in found
    assert found["l'été/Thumbs.db"] == "VIDE-FICHIER" and found["saut\nde ligne.tmp"] == "TMP-GENERIC"
