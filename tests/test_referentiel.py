"""The retention referential: every row sourced with its line or article, the demo's
services covered, start events and communicability checked, a bad file refused with its
line (nothing stored), a commune's own rows, and the Vitam management-rules export."""

from __future__ import annotations

import csv
import io
import re

import pytest

from catalogue.errors import CatalogueError
from catalogue.referentiel import (
    COLUMNS,
    COMMUNICABILITE_ANNEES,
    EVENTS,
    SORTS_FINAUX,
    VITAM_HEADER,
    load_referentiel,
    start_event,
)
from catalogue.rulefiles import rules_path
from catalogue.store import connect
from tests.helpers import query

SHIPPED = rules_path("referentiel.csv")


def test_every_typology_has_a_source_a_start_event_and_a_dua():
    rows = load_referentiel()
    assert len(rows) >= 30
    for t in rows:
        assert t.source and ("Instruction" in t.source or "Décret" in t.source or "Code" in t.source), t.code
        # Its table line or article, or an honest « à vérifier »: never a bare instruction.
        assert re.search(r"ligne|art\. |article", t.source), t.code
        assert t.sort_final in SORTS_FINAUX and 0 < t.dua_annees <= 100 and t.depart in EVENTS
        assert t.dua_depart == EVENTS[t.depart].label
        assert t.communicabilite_annees in COMMUNICABILITE_ANNEES and "L213-" in t.source_communicabilite, t.code
        assert (t.communicabilite_depart in EVENTS) == (t.communicabilite_annees > 0), t.code


def test_attributions_fixed():
    """Council deliberations belong to the instruction on the services common to every
    collectivity (2009); PACS records to the decree that gave them to the mairies in 2017."""
    by_code = {t.code: t for t in load_referentiel()}
    assert by_code["ADM-DELIB"].source.startswith("Instruction DAF/DPACI/RES/2009/018 du 28/08/2009")
    assert "2014/006" not in by_code["ADM-DELIB"].source
    pacs = by_code["EC-PACS"]
    assert "2017-889" in pacs.source and "2016-1547" in pacs.source and "2014/006" not in pacs.source
    assert pacs.depart == "dissolution" and EVENTS["dissolution"].dated_by is None
    assert by_code["EC-REG"].communicabilite_annees == 75 and by_code["EC-REG"].communicabilite_depart == "cloture_registre"


def test_articles_read_in_the_texts_are_cited_and_unread_lines_stay_to_check():
    """The bordereau quotes these sources: an article read in the text is named; a table
    line nobody could read keeps « à vérifier » instead of a made-up number."""
    by_code = {t.code: t for t in load_referentiel()}
    pacs = by_code["EC-PACS"].source
    # Décret 2006-1806 as amended in 2017: art. 10 (the dedicated register) read on Légifrance;
    # the article keeping the papers five years is named by its Légifrance identifier.
    assert "art. 10" in pacs and "LEGIARTI000034777614" in pacs and "cinq ans à compter de la dissolution" in pacs
    registers = by_code["EC-REG"]
    assert "L212-11, 2°" in registers.source and "120 ans" in registers.source
    assert "4° e" in registers.source_communicabilite and "décret n° 2017-890" in registers.source_communicabilite
    for t in by_code.values():
        if t.source.startswith("Instruction"):
            assert "à vérifier" in t.source, t.code


def test_covers_the_services_of_a_commune():
    domaines = {t.domaine for t in load_referentiel()}
    assert {"Administration générale", "État civil", "Élections", "Urbanisme", "Marchés publics", "Finances",
            "Ressources humaines", "Affaires scolaires", "Action sociale / CCAS", "Police municipale",
            "Communication"} <= domaines
    labels = {t.typologie for t in load_referentiel()}
    assert {"Délibérations du conseil municipal", "Dossiers individuels des agents",
            "Bulletins de paie (doubles)", "Photographies"} <= labels


@pytest.mark.parametrize("text, code", [
    ("date_document", "date_document"), ("Date du document", "date_document"), ("  CLÔTURE  de l’exercice. ", "cloture_exercice"),
    ("cloture de l'exercice", "cloture_exercice"), ("fin de l'année", "fin_annee"), ("Dissolution du PACS", "dissolution"),
    ("date de naissance de l'agent", "date_naissance"), ("fin d'exécution du marché", "fin_marche"),
    ("quand le dossier est fini", None), ("", None), (None, None),
])
def test_start_event_from_a_grid_answer(text, code):
    event = start_event(text)
    assert (event.code if event else None) == code


def test_every_event_has_a_label_and_a_meaning():
    labels = [e.label for e in EVENTS.values()]
    assert len(set(labels)) == len(labels)
    for code, e in EVENTS.items():
        assert e.code == code and e.label and e.meaning and start_event(e.label) is e and start_event(code) is e
    assert {"date_document", "cloture_exercice", "fin_marche", "date_naissance", "dissolution", "deces",
            "fin_mandat", "date_seance", "fin_validite"} <= set(EVENTS)
    # Only what a file's modification date can bound is dated by the catalogue.
    assert {c for c, e in EVENTS.items() if e.dated_by} == {"date_document", "fin_annee", "cloture_exercice",
                                                          "fin_annee_scolaire"}


def _line(**over) -> str:
    """One row of the referential, as an archivist would write it, with OVER changed."""
    values = dict(code="X-1", domaine="Finances", typologie="Factures", description="desc", dua_annees="10",
                  depart="cloture_exercice", sort_final="Destruction", communicabilite_annees="25",
                  communicabilite_depart="date_document", source="Instruction X, ligne 3",
                  source_communicabilite="Code du patrimoine art. L213-2")
    values.update(over)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([values[c] for c in COLUMNS])
    return out.getvalue()


def _with_line(tmp_path, line: str, name: str = "referentiel.csv"):
    good = SHIPPED.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / name
    bad.write_text("\n".join(good[:3] + [line] + good[3:]) + "\n", encoding="utf-8")
    return bad


EVENT_CODES = ", ".join(EVENTS)
BAD_LINES = [
    (dict(source=" "), "source manquante"),
    (dict(depart=""), "point de départ de la DUA manquant"),
    (dict(depart="dissolution du pacte"), f"point de départ de la DUA « dissolution du pacte » inconnu (attendu : {EVENT_CODES})"),
    (dict(dua_annees="-5"), "DUA « -5 » (attendu : un nombre entier d'années, positif ou nul)"),
    (dict(dua_annees="2.5"), "DUA « 2.5 » (attendu : un nombre entier d'années, positif ou nul)"),
    (dict(dua_annees="dix", sort_final="Détruire", source=""),
     "DUA « dix » (attendu : un nombre entier d'années, positif ou nul) ; sort final « Détruire » "
     "(attendu : Conservation, Destruction, Tri) ; source manquante"),
    (dict(communicabilite_annees="30"), "communicabilité « 30 » (attendu : 0, 25, 50, 75, 100, 120 ans, 0 pour immédiate)"),
    (dict(communicabilite_depart="plus tard"),
     f"point de départ de la communicabilité « plus tard » inconnu (attendu : {EVENT_CODES})"),
    (dict(source_communicabilite=""), "source de la communicabilité manquante"),
]


@pytest.mark.parametrize("over, problem", BAD_LINES)
def test_bad_row_refused_with_file_and_line(tmp_path, over, problem):
    bad = _with_line(tmp_path, _line(**over))
    with pytest.raises(CatalogueError) as err:
        load_referentiel(bad)
    assert str(err.value) == f"{bad}, ligne 4 : {problem}"


def test_wrong_header_refused(tmp_path):
    bad = tmp_path / "referentiel.csv"
    bad.write_text(",".join(reversed(COLUMNS)) + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="en-têtes attendus"):
        load_referentiel(bad)


def test_immediate_communicability_needs_no_start(tmp_path):
    good = _with_line(tmp_path, _line(communicabilite_annees="0", communicabilite_depart=""))
    row = next(t for t in load_referentiel(good) if t.code == "X-1")
    assert row.communicabilite_annees == 0 and row.communicabilite_depart is None


# --- A commune's own rows -------------------------------------------------------------

def _commune_file(tmp_path, *lines: str):
    path = tmp_path / "referentiel-commune.csv"
    path.write_text("\n".join([",".join(COLUMNS), *lines]) + "\n", encoding="utf-8")
    return path


def test_commune_rows_replace_and_add(cli, tmp_path):
    local = _commune_file(tmp_path, _line(code="EC-PACS", typologie="Pactes civils de solidarité", dua_annees="6",
                                          depart="dissolution", source="Arrêté du maire, art. 2"),
                          _line(code="LOC-CIM", typologie="Concessions funéraires", depart="fin_validite"))
    db = tmp_path / "catalogue.duckdb"
    result = cli("referentiel", "charger", local, "--db", db)
    assert result.exit_code == 0, result.output
    assert result.output == "Référentiel de la commune enregistré : 1 ligne remplacée, 1 ajoutée.\n"
    # Kept in the catalogue: every later open applies it.
    connect(db).close()
    assert query(db, "SELECT dua_annees, source FROM referentiel WHERE code = 'EC-PACS'") == [(6, "Arrêté du maire, art. 2")]
    assert query(db, "SELECT dua_depart FROM referentiel WHERE code = 'LOC-CIM'") == [("fin de validité",)]
    assert query(db, "SELECT count(*) FROM referentiel")[0][0] == len(load_referentiel()) + 1
    # The Vitam rules of the same referential.
    rules = tmp_path / "regles.csv"
    assert cli("referentiel", "export-vitam", "-o", rules, "--referentiel", local).exit_code == 0
    rows = {r[0]: r for r in csv.reader(io.StringIO(rules.read_text(encoding="utf-8")))}
    assert rows["APP-EC-PACS"][4] == "6" and {"APP-LOC-CIM", "ACC-LOC-CIM"} <= set(rows)


@pytest.mark.parametrize("over, problem", BAD_LINES[:5])
def test_bad_commune_file_refused_nothing_stored(cli, tmp_path, over, problem):
    db = tmp_path / "catalogue.duckdb"
    connect(db).close()
    before = query(db, "SELECT * FROM referentiel ORDER BY code")
    local = _commune_file(tmp_path, _line(code="EC-PACS"), _line(**over))
    result = cli("referentiel", "charger", local, "--db", db)
    assert result.exit_code == 1
    assert result.output == f"Erreur : {local}, ligne 3 : {problem}\n"
    assert query(db, "SELECT * FROM referentiel ORDER BY code") == before
    assert query(db, "SELECT count(*) FROM catalogue_info WHERE key LIKE 'referentiel%'") == [(0,)]
    result = cli("referentiel", "export-vitam", "--referentiel", local)
    assert result.exit_code == 1 and result.output == f"Erreur : {local}, ligne 3 : {problem}\n"


def test_export_vitam(cli, tmp_path):
    out = tmp_path / "regles.csv"
    result = cli("referentiel", "export-vitam", "-o", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == VITAM_HEADER
    referentiel = {t.code: t for t in load_referentiel()}
    appraisal = [r for r in rows[1:] if r[1] == "AppraisalRule"]
    assert len(appraisal) == len(referentiel)
    ids = [r[0] for r in rows[1:]]
    assert len(set(ids)) == len(ids)
    for rule_id, _, value, description, duration, measurement in appraisal:
        t = referentiel[rule_id.removeprefix("APP-")]
        assert measurement == "YEAR"
        assert value == t.typologie and int(duration) == t.dua_annees
        assert f"Point de départ : {t.dua_depart}. Sort final : {t.sort_final}" in description
        assert t.source in description
    # Without -o, the CSV goes to standard output.
    assert cli("referentiel", "export-vitam").output == out.read_text(encoding="utf-8")
