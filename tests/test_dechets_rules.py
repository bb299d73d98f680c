"""Each kind of déchets rule on a hand-made tree; rules file checked for sources."""

from __future__ import annotations

import csv

import pytest

from catalogue.dechets import COLUMNS, load_dechet_rules
from catalogue.errors import CatalogueError
from catalogue.store import rules_path
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
    assert cli("scan", root, "--commune", "C1", "--db", db, "--quiet").exit_code == 0
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
