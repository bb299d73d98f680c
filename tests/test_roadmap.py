"""The roadmap's types and rules: typed actions, and weights that name only what can score."""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner

from catalogue.cli import main
from catalogue.errors import CatalogueError
from catalogue.roadmap import DERIVED_CRITERIA, GRID_CRITERIA, WEIGHT_CHOICES, Action, Kind, build_roadmap, load_weights
from catalogue.rulefiles import load_rule_file, rules_path
from catalogue.store import connect
from grids import spec


def test_every_action_has_a_label_and_a_kind():
    assert {a.kind for a in Action} == set(Kind)
    assert [a.label(2031) for a in Action] == ["À qualifier", "Éliminer (après visa)",
                                               "Conserver en service jusqu'en 2031", "Verser au SAE",
                                               "Verser au SAE (après tri)"]
    assert [k.label for k in Kind] == ["Verser au SAE", "Éliminer (après visa)", "Conserver en service",
                                       "À qualifier"]


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
                                    "valeur_patrimoniale, valeur_strategique, signature, hebergement, preparation, "
                                    "format_risque, donnees_personnelles_dua_echue, volume, seuil_versement)"),
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
    assert weights.get("signature", "Oui") == 20 and weights.get("valeur_juridique", "Aucune") == 0


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
