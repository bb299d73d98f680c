"""The retention referential: every row sourced, the demo's services covered, a bad
file refused with its line, and the Vitam management-rules export."""

from __future__ import annotations

import csv
import io

import pytest

from catalogue.errors import CatalogueError
from catalogue.referentiel import COLUMNS, SORTS_FINAUX, VITAM_HEADER, load_referentiel
from catalogue.rulefiles import rules_path


def test_every_typology_has_a_source_and_a_dua():
    rows = load_referentiel()
    assert len(rows) >= 30
    for t in rows:
        assert t.source and ("Instruction" in t.source or "Note" in t.source or "Code" in t.source), t.code
        assert t.sort_final in SORTS_FINAUX and 0 < t.dua_annees <= 100 and t.dua_depart


def test_covers_the_services_of_a_commune():
    domaines = {t.domaine for t in load_referentiel()}
    assert {"Administration générale", "État civil", "Élections", "Urbanisme", "Marchés publics", "Finances",
            "Ressources humaines", "Affaires scolaires", "Action sociale / CCAS", "Police municipale",
            "Communication"} <= domaines
    labels = {t.typologie for t in load_referentiel()}
    assert {"Délibérations du conseil municipal", "Dossiers individuels des agents",
            "Bulletins de paie (doubles)", "Photographies"} <= labels


def test_malformed_referential_is_refused_with_its_line(tmp_path):
    good = rules_path("referentiel.csv").read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "referentiel.csv"
    bad.write_text("\n".join(good[:3] + ["X-1,Finances,Factures,desc,dix,fin,Détruire,"] + good[3:]) + "\n",
                   encoding="utf-8")
    with pytest.raises(CatalogueError) as err:
        load_referentiel(bad)
    assert str(err.value) == (f"{bad}, ligne 4 : DUA « dix » (attendu : un nombre d'années) ; sort final « Détruire » "
                              "(attendu : Conservation, Destruction, Tri) ; source manquante")
    bad.write_text(",".join(reversed(COLUMNS)) + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="en-têtes attendus"):
        load_referentiel(bad)


def test_export_vitam(cli, tmp_path):
    out = tmp_path / "regles.csv"
    result = cli("referentiel", "export-vitam", "-o", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == VITAM_HEADER
    referentiel = {t.code: t for t in load_referentiel()}
    assert len(rows) - 1 == len(referentiel)
    ids = [r[0] for r in rows[1:]]
    assert len(set(ids)) == len(ids)
    for rule_id, rule_type, value, description, duration, measurement in rows[1:]:
        t = referentiel[rule_id.removeprefix("APP-")]
        assert rule_type == "AppraisalRule" and measurement == "YEAR"
        assert value == t.typologie and int(duration) == t.dua_annees
        assert f"Sort final : {t.sort_final}" in description and t.source in description
    # Without -o, the CSV goes to standard output.
    assert cli("referentiel", "export-vitam").output == out.read_text(encoding="utf-8")
