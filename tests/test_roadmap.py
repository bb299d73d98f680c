"""The roadmap's types and rules: typed actions, and weights that name only what can score."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.errors import CatalogueError
from catalogue.roadmap import (
    Action,
    DatasetFacts,
    Kind,
    RoadmapEntry,
    build_roadmap,
    roadmap_order,
    score_and_action,
)
from catalogue.rulefiles import load_rule_file, rules_path
from catalogue.store import connect
from catalogue.weights import DERIVED_CRITERIA, GRID_CRITERIA, WEIGHT_CHOICES, load_weights
from grids import spec


def test_every_action_has_a_label_and_a_kind():
    assert {a.kind for a in Action} == set(Kind)
    assert [a.label(2031, "décès") for a in Action] == [
        "À qualifier", "Éliminer (après visa)", "Élimination à vérifier : point de départ « décès » inconnu",
        "Conserver en service jusqu'en 2031", "Verser au SAE", "Verser au SAE (après tri)"]
    assert [k.label for k in Kind] == ["Verser au SAE", "Éliminer (après visa)", "Élimination à vérifier",
                                       "Conserver en service", "À qualifier"]


def test_shipped_weights_are_grid_choices():
    """Every (critere, valeur) of priorites.csv is a choice of the grid column it scores,
    or one of the few values the roadmap derives itself (format risk, volume, thresholds)."""
    rows = load_rule_file("priorites.csv")
    assert rows
    for row in rows:
        criterion, value = row["critere"], row["valeur"]
        if criterion in GRID_CRITERIA:
            column = spec.BY_KEY[GRID_CRITERIA[criterion]]
            assert column.kind == "choice" and value in column.choices, (criterion, value)
        else:
            assert value in DERIVED_CRITERIA[criterion], (criterion, value)
    # Every criterion the code scores is weighted in the shipped file.
    assert {r["critere"] for r in rows} == set(WEIGHT_CHOICES)


@pytest.fixture
def catalogue_db(tmp_path):
    db = tmp_path / "catalogue.duckdb"
    con = connect(db)
    con.execute("INSERT INTO communes VALUES ('99301', 'Gamma')")
    yield db, con
    con.close()


BAD_ROWS = [
    (("valeur_juridique", "Très forte"),
     "valeur « Très forte » inconnue pour le critère valeur_juridique (attendu : Forte, Moyenne, Faible, Aucune)"),
    (("valeur juridique", "Forte"), "critère « valeur juridique » inconnu (attendu : valeur_juridique, "
                                    "valeur_patrimoniale, valeur_strategique, hebergement, preparation, "
                                    "format_risque, donnees_personnelles_dua_echue, volume, seuil_versement, "
                                    "seuil_signature)"),
    (("signature", "Oui"), "critère « signature » inconnu (attendu : valeur_juridique, "
                           "valeur_patrimoniale, valeur_strategique, hebergement, preparation, "
                           "format_risque, donnees_personnelles_dua_echue, volume, seuil_versement, "
                           "seuil_signature)"),
]


@pytest.mark.parametrize("row, problem", BAD_ROWS)
def test_unknown_weight_is_refused_with_its_line(catalogue_db, row, problem):
    """A weight no answer can match used to score 0 in silence; now it is refused."""
    _, con = catalogue_db
    lines = con.execute("SELECT count(*) FROM priorites").fetchone()[0] + 1  # header + rows
    con.execute("INSERT INTO priorites VALUES (?, ?, 40, 'essai', 'essai')", list(row))
    with pytest.raises(CatalogueError) as err:
        build_roadmap(con, None, 2026)
    assert str(err.value) == f"{rules_path('priorites.csv')}, ligne {lines + 1} : {problem}"


def test_unknown_weight_is_one_french_line_in_report(catalogue_db, tmp_path):
    db, con = catalogue_db
    con.execute("UPDATE priorites SET valeur = 'élevée' WHERE critere = 'format_risque' AND valeur = 'élevé'")
    shipped = rules_path("priorites.csv").read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(shipped, start=1) if text.startswith("format_risque,élevé,"))
    con.close()
    result = CliRunner().invoke(main, ["report", "--commune", "99301", "--no-pdf", "-o", str(tmp_path / "r"),
                                       "--db", str(db)])
    assert result.exit_code == 1
    assert result.output == (f"Erreur : {rules_path('priorites.csv')}, ligne {line} : valeur « élevée » inconnue "
                             "pour le critère format_risque (attendu : élevé, moyen)\n")


def test_shipped_weights_load(catalogue_db):
    _, con = catalogue_db
    weights = load_weights(con)
    assert weights.get("valeur_juridique", "Forte") == 30 and weights.get("valeur_juridique", "Aucune") == 0
    assert weights.get("signature", "Oui") == 0  # a rule, not a weight
    assert weights.signed_threshold() == 0.10


@pytest.mark.parametrize("source, root, path, expected", [
    ("filesystem", "/srv/partage", "Urbanisme/Permis", "/srv/partage/Urbanisme/Permis"),
    ("filesystem", "/srv/partage", "", "/srv/partage"),
    ("filesystem", "/", "Urbanisme/Permis", "/Urbanisme/Permis"),  # the root itself: no « // »
    ("droid", "/mnt/export/", "Finances", "/mnt/export/Finances"),
    ("mail", "/srv/courrier.mbox", "Messagerie", "Application Messagerie (/srv/courrier.mbox)"),
    ("database", "sqlite:///gf.db", "Gestion financière", "Application Gestion financière (sqlite:///gf.db)"),
])
def test_one_definition_of_a_dataset_location(catalogue_db, source, root, path, expected):
    _, con = catalogue_db
    assert con.execute("SELECT dataset_location(?, ?, ?)", [source, root, path]).fetchone()[0] == expected


def test_read_only_open_sees_this_versions_views(tmp_path):
    """Reports open the catalogue read-only: views stored by an earlier version (without
    `emplacement`) must not hide this version's from them."""
    db = tmp_path / "ancien.duckdb"
    con = connect(db)
    con.execute("INSERT INTO communes VALUES ('99301', 'Gamma')")
    # As the previous version left it: a datasets view without the location column.
    sql = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'datasets'").fetchone()[0]
    con.execute(sql.replace("VIEW datasets", "VIEW datasets_complet", 1))
    con.execute("CREATE OR REPLACE VIEW datasets AS SELECT * EXCLUDE (emplacement) FROM datasets_complet")
    con.close()
    con = connect(db, read_only=True)
    try:
        assert "emplacement" in [d[0] for d in con.execute("SELECT * FROM datasets LIMIT 0").description]
        assert build_roadmap(con, "99301", 2026) == []
    finally:
        con.close()
    # Nothing was written: the stored view is still the old one.
    stored = duckdb.connect(str(db), read_only=True)
    try:
        assert "emplacement" not in [d[0] for d in stored.execute("SELECT * FROM datasets LIMIT 0").description]
    finally:
        stored.close()


# --- Signed data first: a rule above every score -------------------------------------

def _answers(**over) -> dict:
    a = {"valeur_juridique": "Faible", "valeur_patrimoniale": "Faible", "valeur_strategique": "Aucune",
         "signature": "Non", "hebergement": "Serveur de fichiers", "donnees_personnelles": "Non",
         "dua_annees": 10, "sort_final": "Conservation", "priorite": "Basse"}
    a.update(over)
    return a


def _plan(con, facts: list[DatasetFacts], year: int = 2026):
    weights = load_weights(con)
    return sorted((score_and_action(f, weights, year) for f in facts), key=roadmap_order)


def test_signed_arretes_go_before_an_unsigned_plu_of_strong_value(catalogue_db):
    """Before, a signature weighed 20 points, less than one « Forte »: the unsigned PLU came first."""
    _, con = catalogue_db
    plu = DatasetFacts("D-PLU", "99301", "/srv/Urbanisme/PLU", bytes=10**9, last_year=2025,
                       answers=_answers(valeur_juridique="Forte", valeur_patrimoniale="Forte",
                                        valeur_strategique="Forte", priorite="Haute"))
    arretes = DatasetFacts("D-ARR", "99301", "/srv/Arretes", bytes=10**6, last_year=2025, signed_share=0.8,
                           first_cert_expiry=dt.date(2027, 3, 4), answers=_answers())
    plan = _plan(con, [plu, arretes])
    assert [e.facts.dataset_id for e in plan] == ["D-ARR", "D-PLU"]
    assert plan[1].score > plan[0].score  # the order is the rule's, not the score's
    first = plan[0]
    assert first.signed_first and first.kind is Kind.TRANSFER and first.target_year == 2026
    assert first.reasons[0] == ("données signées électroniquement (80 % du volume) : versement prioritaire, "
                                "certificat expirant le 04/03/2027")
    assert not plan[1].signed_first


def test_signed_datasets_ordered_by_earliest_certificate_expiry(catalogue_db):
    _, con = catalogue_db
    late = DatasetFacts("D-LATE", "99301", "/a", signed_share=1.0, first_cert_expiry=dt.date(2030, 1, 1),
                        answers=_answers(valeur_juridique="Forte"))
    soon = DatasetFacts("D-SOON", "99301", "/b", signed_share=0.5, first_cert_expiry=dt.date(2026, 6, 30),
                        answers=_answers())
    unknown = DatasetFacts("D-UNK", "99301", "/c", answers=_answers(signature="Oui", valeur_juridique="Forte",
                                                                    valeur_patrimoniale="Forte"))
    plain = DatasetFacts("D-PLAIN", "99301", "/d", answers=_answers(valeur_juridique="Forte",
                                                                    valeur_patrimoniale="Forte"))
    plan = _plan(con, [unknown, plain, late, soon])
    assert [e.facts.dataset_id for e in plan] == ["D-SOON", "D-LATE", "D-UNK", "D-PLAIN"]
    assert plan[2].reasons[0] == "données signées électroniquement (selon le service) : versement prioritaire"
    assert plan[3].target_year == 2026  # 60 points: this year too, but after the signed ones


def test_signed_threshold_read_from_the_rules_file(catalogue_db):
    _, con = catalogue_db
    facts = DatasetFacts("D-1", "99301", "/a", signed_share=0.15, answers=_answers())
    assert _plan(con, [facts])[0].signed_first  # 15 % >= shipped 10 %
    con.execute("UPDATE priorites SET points = 20 WHERE critere = 'seuil_signature'")
    entry = _plan(con, [facts])[0]
    assert not entry.signed_first and entry.target_year == 2028  # low score: in two years
    assert not any("signées" in r for r in entry.reasons)


def test_signed_threshold_must_be_a_percentage(catalogue_db):
    _, con = catalogue_db
    con.execute("UPDATE priorites SET points = 150 WHERE critere = 'seuil_signature'")
    line = next(n for n, text in enumerate(rules_path("priorites.csv").read_text(encoding="utf-8").splitlines(),
                                             start=1) if text.startswith("seuil_signature,"))
    with pytest.raises(CatalogueError) as err:
        load_weights(con)
    assert str(err.value) == (f"{rules_path('priorites.csv')}, ligne {line} : seuil_signature 150 : "
                              "un pourcentage entre 0 (exclu) et 100 est attendu")


@pytest.mark.parametrize("answers", [_answers(sort_final="Destruction", signature="Oui", dua_annees=5),
                                     _answers(sort_final=None, signature="Oui")])
def test_signed_dataset_not_to_keep_is_not_transferred(catalogue_db, answers):
    """The rule applies to data to keep: a signed dataset to destroy (or not yet sorted) is not transferred."""
    _, con = catalogue_db
    facts = DatasetFacts("D-1", "99301", "/a", last_year=2010, signed_share=1.0,
                         first_cert_expiry=dt.date(2026, 1, 1), answers=answers)
    entry = _plan(con, [facts])[0]
    assert entry.kind is not Kind.TRANSFER and not entry.signed_first
    assert not any("signées" in r for r in entry.reasons)


# --- DUA start events: an elimination only on a date the catalogue holds ---------------

def _destroy(**over) -> dict:
    return _answers(sort_final="Destruction", **over)


@pytest.mark.parametrize("depart, last, dua, this_year, expected", [
    # The newest document's own date: a 10-year DUA from 15 June 2015 is over on 16 June 2025.
    ("date du document", dt.date(2015, 6, 15), 10, 2025, (Action.ELIMINATE, 2025)),
    ("date_document", dt.date(2016, 6, 15), 10, 2025, (Action.KEEP, 2026)),
    # The end of the budget year: a 2015 voucher with a 10-year DUA runs to 31/12/2025.
    ("clôture de l'exercice", dt.date(2015, 3, 1), 10, 2025, (Action.KEEP, 2026)),
    ("Cloture de l’EXERCICE.", dt.date(2015, 3, 1), 10, 2026, (Action.ELIMINATE, 2026)),
    ("fin de l'année", dt.date(2020, 12, 30), 5, 2026, (Action.ELIMINATE, 2026)),
    # A school year ends on 31 August: October 2020 is in 2020-2021, over on 1/09/2026.
    ("fin de l'année scolaire", dt.date(2020, 10, 1), 5, 2026, (Action.ELIMINATE, 2026)),
    ("fin_annee_scolaire", dt.date(2020, 5, 1), 5, 2025, (Action.ELIMINATE, 2025)),
])
def test_dated_start_events(catalogue_db, depart, last, dua, this_year, expected):
    _, con = catalogue_db
    facts = DatasetFacts("D-1", "99301", "/a", last_year=last.year, last_date=last,
                         answers=_destroy(dua_annees=dua, dua_depart=depart))
    entry = _plan(con, [facts], this_year)[0]
    assert (entry.action, entry.target_year) == expected


@pytest.mark.parametrize("depart, label", [
    ("dissolution du pacte", "dissolution"), ("DÉCÈS", "décès"), ("date de naissance de l'agent", "date de naissance"),
    ("fin_marche", "fin d'exécution du marché"), ("fin du mandat", "fin du mandat"),
    ("date de la séance", "date de la séance"), ("fin de validité", "fin de validité"),
    ("date de la décision", "date de la décision"), ("notification du marché", "notification du marché"),
    ("5 ans après la dissolution", "5 ans après la dissolution"), (None, "non renseigné"),
])
def test_undated_start_events_are_never_given_a_year(catalogue_db, depart, label):
    """A start the files cannot date: « à vérifier », whatever the last modification says."""
    _, con = catalogue_db
    facts = DatasetFacts("D-1", "99301", "/a", last_year=1990, last_date=dt.date(1990, 1, 1),
                         answers=_destroy(dua_annees=1, dua_depart=depart))
    entry = _plan(con, [facts])[0]
    assert entry.action is Action.VERIFY and entry.kind is Kind.VERIFY
    assert entry.target_year is None and entry.dua_end is None
    assert entry.label == f"Élimination à vérifier : point de départ « {label} » inconnu"


def test_a_row_added_by_a_referent_runs_from_this_year(catalogue_db):
    """No scan saw it: its documents may be of today, so its DUA cannot be over yet."""
    _, con = catalogue_db
    facts = DatasetFacts("AJOUT-1", "99301", "/a", answers=_destroy(dua_annees=2, dua_depart="date du document"))
    entry = _plan(con, [facts], 2026)[0]
    assert (entry.action, entry.target_year) == (Action.KEEP, 2029)


# Hand-made datasets: (folder, newest file's date, typology, grid answers) → action and
# year planned in 2025 and in 2026 (None: « à vérifier », the start named).
EVENT_CASES = [
    ("Etat civil/PACS", (2019, 3), "Pactes civils de solidarité", {},
     "dissolution", None, None),
    ("Finances/Pieces comptables", (2015, 11), "Mandats et titres (pièces comptables)", {},
     "cloture_exercice", (Action.KEEP, 2026), (Action.ELIMINATE, 2026)),
    ("Etat civil/Mentions", (2015, 2), "Avis de mention et pièces justificatives",
     dict(dua_annees=10, dua_depart="Date du document"), "date_document", (Action.ELIMINATE, 2025),
     (Action.ELIMINATE, 2026)),
    ("Ressources humaines/Paie", (2020, 12), "Bulletins de paie (doubles)", {},
     "fin_annee", (Action.KEEP, 2026), (Action.ELIMINATE, 2026)),
    ("Ecoles/Inscriptions", (2020, 10), "Inscriptions scolaires et dérogations", {},
     "fin_annee_scolaire", (Action.KEEP, 2026), (Action.ELIMINATE, 2026)),
    ("Urbanisme/Refus", (2010, 1), "Autorisations d'urbanisme refusées ou sans suite", {},
     "date de la décision", None, None),
    ("Marches/Consultations", (2010, 1), "Consultations et candidatures non retenues",
     dict(dua_annees=5, dua_depart="FIN DU MARCHÉ"), "fin d'exécution du marché", None, None),
    ("Ressources humaines/Candidatures", (2010, 1), "Candidatures non retenues",
     dict(dua_annees=2, dua_depart="au départ de l'agent"), "au départ de l'agent", None, None),
]


def test_start_events_on_a_scanned_and_qualified_share(cli, tmp_path):
    """A real share scanned by the CLI, its grid answered and imported: the PACS folder
    last modified in 2019 (5 years from the dissolution) is never eliminated on that date;
    the vouchers of 2015 (10 years from the end of the budget year) are in 2026, not 2025;
    a start the files cannot date, or a wording that names no event, is « à vérifier »."""
    from openpyxl import load_workbook

    from tests.saedata import put, when
    from tests.test_grid import GOOD, export, fill, rows_by_location

    share = tmp_path / "partage"
    for folder, (year, month), *_ in EVENT_CASES:
        put(share, folder + "/piece.txt", f"{folder}\n".encode(), when(year, month))
    db = tmp_path / "catalogue.duckdb"
    assert cli("scan", share, "--commune", "99301", "--nom", "Gamma", "--db", db, "--quiet").exit_code == 0
    grid = export(cli, db, tmp_path / "grille.xlsx", commune="99301")
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    rows = rows_by_location(ws)
    for folder, _, typologie, answers, *_ in EVENT_CASES:
        fill(ws, rows[folder], dict(GOOD, service=folder.split("/")[0], typologie=typologie, **answers))
    wb.save(grid)
    result = cli("grid", "import", grid, "--db", db)
    assert result.exit_code == 0, result.output
    con = connect(db)
    try:
        def plan(year: int) -> dict[str, RoadmapEntry]:
            return {"/".join(e.facts.emplacement.split("/")[-2:]): e for e in build_roadmap(con, "99301", year)}

        plans = {year: plan(year) for year in (2024, 2025, 2026, 2040)}
    finally:
        con.close()
    for folder, _, _, _, start, in_2025, in_2026 in EVENT_CASES:
        if in_2025 is None:
            for year, entries in plans.items():
                entry = entries[folder]
                assert (entry.action, entry.target_year) == (Action.VERIFY, None), (folder, year)
                assert entry.label == f"Élimination à vérifier : point de départ « {start} » inconnu"
        else:
            for year, expected in ((2025, in_2025), (2026, in_2026)):
                entry = plans[year][folder]
                assert (entry.action, entry.target_year) == expected, (folder, year, start)
