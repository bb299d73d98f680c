"""Each kind of déchets rule on a hand-made tree; rules file checked for sources."""

from __future__ import annotations

import csv

import pytest

from catalogue.dechets import COLUMNS, load_dechet_rules
from catalogue.errors import CatalogueError
from catalogue.rulefiles import rules_path
from tests.conftest import query

EXPECTED = {
    "~$rapport.docx": "TMP-OFFICE",
    ".~lock.budget.ods#": "TMP-LOCK-LO",
    "~WRL1234.tmp": "TMP-GENERIC",
    "Thumbs.db": "SYS-THUMBS",
    "desktop.ini": "SYS-DESKTOP-INI",
    ".DS_Store": "SYS-DS-STORE",
    "._photo.jpg": "SYS-APPLEDOUBLE",
    "archive/__MACOSX": "SYS-MACOSX",
    "archive/__MACOSX/x.bin": "SYS-MACOSX",
    "$RECYCLE.BIN/S-1-5/doc.pdf": "SYS-RECYCLE",
    "raccourci.lnk": "SYS-LNK",
    "budget.xlsx.bak": "BAK-EXT",
    "Copie de budget.xlsx": "BAK-COPIE-DE",
    "budget - Copie.xlsx": "BAK-SUFFIXE-COPIE",
    "budget (2).xlsx": "BAK-NUMERO",
    "vide.txt": "VIDE-FICHIER",
    "dossier vide": "VIDE-DOSSIER",
    "dossier vide/sous-dossier vide": "VIDE-DOSSIER",
    "autre/budget-bis.xlsx": "DOUBLON",
}


def test_each_rule_matches(tmp_path, cli):
    root = tmp_path / "partage"
    root.mkdir()
    for rel, rule in EXPECTED.items():
        path = root / rel
        if rule == "VIDE-DOSSIER" or rel == "archive/__MACOSX":
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"" if rule == "VIDE-FICHIER" else f"contenu de {rel}".encode())
    (root / "budget.xlsx").write_bytes(b"budget original")
    (root / "autre" / "budget-bis.xlsx").write_bytes(b"budget original")
    (root / "Rapport (2019).pdf").write_bytes(b"pas une copie")  # a year is not a copy number
    (root / "Compte rendu 12.03.2019 réunion").write_bytes(b"pas d'extension")
    db = tmp_path / "c.duckdb"
    assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet").exit_code == 0
    found = dict(query(db, "SELECT path, rule_id FROM dechets"))
    # The recycle bin folders themselves are déchets too.
    assert found == EXPECTED | {"$RECYCLE.BIN": "SYS-RECYCLE", "$RECYCLE.BIN/S-1-5": "SYS-RECYCLE"}
    # Déchets are counted, never dropped from volumes.
    total = query(db, "SELECT files FROM volumes WHERE directory = ''")[0][0]
    assert total == query(db, "SELECT count(*) FROM files WHERE kind = 'file'")[0][0]


def test_every_rule_names_its_source():
    with open(rules_path("dechets.csv"), encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["source"].strip() and r["justification"].strip() for r in rows)
    assert len({r["rule_id"] for r in rows}) == len(rows)


def test_malformed_rules_file_is_refused(tmp_path):
    bad = tmp_path / "dechets.csv"
    bad.write_text(",".join(COLUMNS) + "\nX,Libellé,Cat,file,name_glob,*.x,peut-être,J,\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        load_dechet_rules(bad)
    assert str(exc.value) == f"{bad}, ligne 2 : confiance « peut-être » (attendu : certain ou à vérifier) ; source manquante"


def test_invalid_regex_is_refused_with_its_line(tmp_path):
    bad = tmp_path / "dechets.csv"
    bad.write_text(",".join(COLUMNS) + "\nX,Libellé,Cat,file,name_regex,(copie | ok$,certain,J,Source\n",
                   encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        load_dechet_rules(bad)
    assert str(exc.value) == f"{bad}, ligne 2 : expression régulière invalide « (copie »"


def test_prefilter_never_drops_a_match():
    """The one-regex-per-column prefilter of the déchets CASE gives the same rule as the
    CASE alone, on the shipped rules and on odd ones (?, classes, escapes, regex flags)."""
    import duckdb

    from catalogue.dechets import pattern_case_sql

    shipped = load_dechet_rules().to_pylist()
    odd = [("ODD-Q", "name_glob", "caf?.txt"), ("ODD-CLASS", "name_glob", "[ab]*.log"),
           ("ODD-ESC", "name_glob", "x\\*y"), ("ODD-PATH", "path_glob", "*/été/*"),
           ("ODD-DOT", "name_glob", "a.b*"), ("ODD-FLAG", "name_regex", "(?i)^brouillon"),
           ("ODD-CASE", "name_regex", "Final$"), ("ODD-EXT", "extension", "TMP2")]
    rules = shipped + [{"rule_id": r, "match_type": t, "pattern": p, "applies_to": "any", "rank": 100 + i}
                       for i, (r, t, p) in enumerate(odd)]
    paths = list(EXPECTED) + [
        "café.txt", "cafe.txt", "a.log", "c.log", "x*y", "xzy", "dossier/été/note.odt", "ete/note.odt",
        "aXb", "a.bc", "BROUILLON v2.odt", "version Final", "version final", "x.tmp2", "THUMBS.DB",
        "nom\navec saut", "~$nom\navec saut.docx", "dossier/$Recycle.Bin", "a/.Trash-1000/f", "é~",
        "<script>.tmp", "=SOMME(A1).bak", "Copie (3) de plan.pdf", "plan (12).pdf", "plan (123).pdf"]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (path VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[p] for p in paths])
    source = """FROM (SELECT path, 'file' AS kind, name, extension, lower(name) AS lname, '/' || path AS spath
                      FROM (SELECT path, string_split(path, '/')[-1] AS name,
                                   lower(nullif(regexp_extract(path, '\\.([^./]+)$', 1), '')) AS extension FROM t)) f"""
    with_prefilter = dict(con.execute(f"SELECT path, {pattern_case_sql(rules)} {source}").fetchall())
    alone = dict(con.execute(f"SELECT path, {pattern_case_sql(rules, prefilter=False)} {source}").fetchall())
    assert with_prefilter == alone
    # The odd rules do match something, so the comparison tests their prefilter too.
    assert {"ODD-Q", "ODD-CLASS", "ODD-ESC", "ODD-PATH", "ODD-DOT", "ODD-FLAG", "ODD-CASE", "ODD-EXT"} <= set(alone.values())
    assert alone["version final"] is None and alone["café.txt"] == "ODD-Q"


def test_glob_question_mark_is_one_character():
    """A déchets glob's ? is one character of a Unicode name, whatever DuckDB's own GLOB
    does (1.x: one byte; 2.x: one character); classes and escapes work on characters."""
    import duckdb

    from catalogue.dechets import glob_regex

    con = duckdb.connect()
    cases = [("caf?.txt", "café.txt", True), ("caf??.txt", "café.txt", False), ("caf?.txt", "cafe.txt", True),
             ("?t?.odt", "été.odt", True), ("[éè]t?.odt", "été.odt", True), ("[!é]t?.odt", "été.odt", False),
             ("[^a-d]*", "été", True), ("[a-d]*", "été", False), ("x\\*y", "x*y", True), ("x\\*y", "xzy", False),
             ("a?b", "a\nb", True), ("*~", "é~", True), ("~$*", "~$nom", True), ("[ab", "[ab", True),
             ("*.(1)", "x.(1)", True), ("*.(1)", "x.1", False), ("?", "日", True), ("??", "日", False)]
    for glob, name, expected in cases:
        got = con.execute("SELECT regexp_full_match(?, ?)", [name, glob_regex(glob)]).fetchone()[0]
        assert got is expected, (glob, name)


def test_invalid_glob_is_refused(tmp_path):
    bad = tmp_path / "dechets.csv"
    shipped = rules_path("dechets.csv").read_text(encoding="utf-8")
    header = shipped.splitlines()[0]
    bad.write_text(header + "\nX,Libellé,Cat,file,name_glob,[z-a]*,certain,Justif,Source\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        load_dechet_rules(bad)
    assert str(exc.value) == f"{bad}, ligne 2 : motif invalide « [z-a]* »"
