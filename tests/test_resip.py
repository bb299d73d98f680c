"""`catalogue resip`: the sedalib metadata CSV, re-read by a CSV parser as ReSIP reads it
(`;`, quoted fields, the chosen encoding): one row per folder and file with the right
parent, the columns of Vitam's sample, the rules on the top row, and the refusals."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from catalogue.formatting import plural
from tests.conftest import query
from tests.saedata import BUDGETS, ETRANGES, PAIE, PERMIS, SHARED, dataset_id, need_shared, sae, sae_template

__all__ = ["sae", "sae_template"]  # fixtures used here


def read(path: Path, encoding: str = "cp1252") -> list[list[str]]:
    with open(path, newline="", encoding=encoding) as fh:
        return list(csv.reader(fh, delimiter=";"))


def test_one_row_per_folder_and_file_with_its_parent(cli, sae, tmp_path):
    share, db = sae
    ds = dataset_id(db, PERMIS)
    out = tmp_path / "metadata.csv"
    result = cli("resip", ds, "-o", out, "--db", db)
    assert result.exit_code == 0, result.output
    rows = read(out)
    header, body = rows[0], rows[1:]
    assert all(len(r) == len(header) for r in body)

    files = [p for (p,) in query(db, "SELECT path FROM dataset_files WHERE dataset_id = ? ORDER BY path", [ds])]
    left_out = {f"{PERMIS}/~$brouillon.docx", f"{PERMIS}/vide.txt", f"{PERMIS}/2024/archives/PC-2024-002.pdf"}
    packed = [p for p in files if p not in left_out]
    folders = {p.rsplit("/", k)[0] for p in packed for k in range(1, p.count("/") - PERMIS.count("/") + 1)}
    col = {name: i for i, name in enumerate(header)}
    by_file = {r[col["File"]]: r for r in body}
    assert set(by_file) == {f"{share}/{p}" for p in [*packed, *folders]}
    assert len(body) == len(packed) + len(folders)  # one row each, none twice
    assert result.output.splitlines()[0] == (f"CSV ReSIP écrit : {out} — {plural(len(folders), 'dossier')}, "
                                             f"{plural(len(packed), 'fichier')} (windows-1252, séparateur « ; »)")

    ids = [r[col["Id"]] for r in body]
    assert len(set(ids)) == len(ids)
    position = {r[col["Id"]]: i for i, r in enumerate(body)}
    for r in body:
        path = r[col["File"]]
        if path == f"{share}/{PERMIS}":
            assert r[col["ParentId"]] == ""  # the root: sedalib puts a unit without parent at the top
            assert r[col["Content.DescriptionLevel"]] == "RecordGrp" and r[col["Content.Title"]] == PERMIS
            assert r[col["Management.AppraisalRule.Rule.0"]] == "APP-URB-AUT"
            assert r[col["Management.AppraisalRule.FinalAction"]] == "Keep"
            assert r[col["Content.OriginatingAgency.Identifier"]] == "99101-URBANISME"
            continue
        parent = body[position[r[col["ParentId"]]]]
        assert parent[col["File"]] == os.path.dirname(path)          # the right parent…
        assert position[parent[col["Id"]]] < position[r[col["Id"]]]  # … written before it
        assert parent[col["Content.DescriptionLevel"]] == "RecordGrp"
        assert r[col["Content.Title"]] == os.path.basename(path)      # names as they are, \n included
        assert r[col["Content.DescriptionLevel"]] == ("Item" if path[len(str(share)) + 1:] in packed else "RecordGrp")
        assert r[col["Management.AppraisalRule.Rule.0"]] == ""        # inherited from the top
    assert by_file[f"{share}/{PERMIS}/noms/ligne\nnouvelle.txt"][col["Content.Title"]] == "ligne\nnouvelle.txt"
    assert by_file[f"{share}/{PERMIS}/noms/retour\rchariot.txt"][col["Content.Title"]] == "retour\rchariot.txt"
    assert by_file[f"{share}/{PERMIS}/noms/l’arrêté « 12 ».txt"][col["Content.StartDate"]] == "2022-06-15T10:30:00"
    left = read(tmp_path / "metadata-exclus.csv", "utf-8-sig")
    assert sorted(r[0] for r in left[1:]) == sorted(left_out)


def test_columns_follow_the_sedalib_sample(cli, sae, tmp_path):
    need_shared()
    _, db = sae
    out = tmp_path / "metadata.csv"
    assert cli("resip", dataset_id(db, BUDGETS), "-o", out, "--db", db, "--encodage", "utf-8").exit_code == 0
    ours = read(out, "utf-8")
    # The sample is ISO-8859-1 and parses with the same dialect: every row as wide as its header.
    sample = read(SHARED / "vitam" / "resip" / "metadata-gestion.csv", "iso-8859-1")
    assert all(len(r) == len(sample[0]) for r in sample)
    assert ours[0][:6] == sample[0][:6] == ["Id", "File", "ParentId", "Content.DescriptionLevel", "Content.Title",
                                            "Content.Description"]
    # Rules are named as the sample names its AccessRule columns.
    rules = [c for c in ours[0] if c.startswith("Management.")]
    assert [c.replace("AppraisalRule", "AccessRule") for c in rules[:2]] == \
        [c for c in sample[0] if c.startswith("Management.AccessRule.")][:2]
    assert all(re.fullmatch(r"(Id|File|ParentId|(Content|Management)(\.[A-Za-z]+(\.\d+)?)+)", c) for c in ours[0])
    top = dict(zip(ours[0], ours[1]))
    assert top["Management.AppraisalRule.StartDate.0"] == "2024-12-31"  # clôture de l'exercice 2024
    # Communicability, named as the sample's columns: budgets are communicable at once.
    assert [c for c in ours[0] if c.startswith("Management.AccessRule.")] == \
        [c for c in sample[0] if c.startswith("Management.AccessRule.")][:2]
    assert top["Management.AccessRule.Rule.0"] == "ACC-FIN-BUDG" and top["Management.AccessRule.StartDate.0"] == ""
    assert all(len(r) == len(ours[0]) for r in ours)
    assert top["Content.StartDate"] == "2023-01-15T10:30:00" and top["Content.EndDate"] == "2024-04-15T10:30:00"


def test_windows_root_for_the_archivists_workstation(cli, sae, tmp_path):
    _, db = sae
    out = tmp_path / "metadata.csv"
    result = cli("resip", dataset_id(db, BUDGETS), "-o", out, "--db", db, "--racine", "Z:\\Partage\\")
    assert result.exit_code == 0, result.output
    files = [r[1] for r in read(out)[1:]]
    assert files == ["Z:\\Partage\\Finances\\Budgets", "Z:\\Partage\\Finances\\Budgets\\BP-2023.csv",
                     "Z:\\Partage\\Finances\\Budgets\\CA-2023.pdf"]


def test_names_resip_cannot_open_are_refused(cli, sae, tmp_path):
    _, db = sae
    ds = dataset_id(db, ETRANGES)
    out = tmp_path / "metadata.csv"
    result = cli("resip", ds, "-o", out, "--db", db)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Erreur : {ds} : 2 noms que ReSIP ne pourrait pas ouvrir ; rien n'a été écrit :",
        "  caf\\xe9/menu\\xff.txt : nom illisible en UTF-8 (renommez-le, ou versez avec « catalogue sip »)",
        "  日本語.txt : caractères « 日本語 » impossibles à écrire en cp1252 (utilisez --encodage utf-8)"]
    assert not out.exists()
    result = cli("resip", ds, "-o", out, "--db", db, "--encodage", "utf-8")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Erreur : {ds} : 1 nom que ReSIP ne pourrait pas ouvrir ; rien n'a été écrit :",
        "  caf\\xe9/menu\\xff.txt : nom illisible en UTF-8 (renommez-le, ou versez avec « catalogue sip »)"]
    assert not out.exists()


def test_refusals_unqualified_and_existing_output(cli, sae, tmp_path):
    _, db = sae
    paie = dataset_id(db, PAIE)
    out = tmp_path / "metadata.csv"
    result = cli("resip", paie, "-o", out, "--db", db)
    assert result.exit_code == 1
    assert result.output.startswith(f"Erreur : {paie} : jeu non qualifié (importez sa grille remplie) ;")
    assert not out.exists()
    result = cli("resip", "FS-000000000000", "-o", out, "--db", db)
    assert result.exit_code == 1 and result.output.startswith("Erreur : jeu de données inconnu : FS-000000000000")

    budgets = dataset_id(db, BUDGETS)
    assert cli("resip", budgets, "-o", out, "--db", db).exit_code == 0
    before = out.read_bytes()
    result = cli("resip", budgets, "-o", out, "--db", db, "--encodage", "utf-8")
    assert result.exit_code == 1
    assert result.output == (f"Erreur : {out} existe déjà : ajoutez --remplacer pour le remplacer ; "
                             "rien n'a été écrit.\n")
    assert out.read_bytes() == before
    assert cli("resip", budgets, "-o", out, "--db", db, "--remplacer").exit_code == 0
    assert sorted(os.listdir(tmp_path)) == ["catalogue.duckdb", "metadata-exclus.csv", "metadata.csv"]


def test_unwritable_output_one_french_line(cli, sae, tmp_path):
    _, db = sae
    (tmp_path / "fichier").write_text("pas un dossier")
    out = tmp_path / "fichier" / "metadata.csv"
    result = cli("resip", dataset_id(db, BUDGETS), "-o", out, "--db", db)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : écriture impossible de {out} (un élément du chemin n'est pas un dossier) ; "
                             "rien n'a été écrit.\n")
