"""Commune codes are INSEE codes or SIRENs; a commune is renamed only with --renommer;
the scan summary counts the duplicate groups of its own commune."""

from __future__ import annotations

import pytest

from catalogue.errors import CommuneCodeError
from catalogue.validation import check_commune_code
from tests.helpers import query

EXPECTED = ("un code INSEE de 5 caractères (chiffres, ou 2A/2B suivi de 3 chiffres pour la Corse) "
            "ou numéro SIREN de 9 chiffres.")


@pytest.mark.parametrize("code, normal", [("12345", "12345"), ("2A004", "2A004"), ("2b033", "2B033"),
                                          ("97411", "97411"), ("200046977", "200046977")])
def test_valid_codes(code, normal):
    assert check_commune_code(code) == normal


@pytest.mark.parametrize("code", ["", "abc!!", "1234", "123456", "2C004", "12 345", "C1", "20004697"])
def test_invalid_codes(code):
    with pytest.raises(CommuneCodeError):
        check_commune_code(code)


@pytest.mark.parametrize("command", [["scan", "{root}"], ["scan-mail", "{root}", "--application", "X"],
                                     ["scan-db", "sqlite:///{root}/x.db", "--application", "X"],
                                     ["import-droid", "{root}/droid.csv"]])
@pytest.mark.parametrize("code, shown", [("", "code de commune vide"),
                                         ("abc!!", "« abc!! » n'est pas un code de commune")])
def test_commands_refuse_bad_codes(runner, tmp_path, command, code, shown):
    from catalogue.cli import main

    db = tmp_path / "c.duckdb"
    args = [a.format(root=tmp_path) for a in command] + ["--commune", code, "--db", str(db)]
    result = runner.invoke(main, args, prog_name="catalogue")
    assert result.exit_code == 2
    assert result.stderr.endswith(f"Erreur : valeur invalide pour --commune : {shown} : attendu {EXPECTED}\n")
    assert not db.exists()


@pytest.fixture
def share(tmp_path):
    root = tmp_path / "partage" / "Service" / "Activite"
    root.mkdir(parents=True)
    (root / "a.txt").write_text("contenu a\n")
    (root / "b.txt").write_text("contenu a\n")
    (root / "c.txt").write_text("autre\n")
    return tmp_path / "partage"


def test_rename_needs_renommer(cli, share, tmp_path):
    db = tmp_path / "c.duckdb"
    assert cli("scan", share, "--commune", "2a004", "--nom", "Ajaccio", "--db", db, "-q").exit_code == 0
    assert query(db, "SELECT code, nom FROM communes") == [("2A004", "Ajaccio")]
    result = cli("scan", share, "--commune", "2A004", "--nom", "Ajacio", "--db", db, "-q")
    assert result.exit_code == 1
    assert result.output == ("Erreur : la commune 2A004 est enregistrée sous le nom « Ajaccio », pas « Ajacio » : "
                             "vérifiez le code, ou ajoutez --renommer pour la renommer.\n")
    assert query(db, "SELECT count(*) FROM scans") == [(1,)]  # refused before scanning
    # The same name, or none, is no renaming.
    assert cli("scan", share, "--commune", "2A004", "--nom", "Ajaccio", "--db", db, "-q").exit_code == 0
    assert cli("scan", share, "--commune", "2A004", "--db", db, "-q").exit_code == 0
    result = cli("scan", share, "--commune", "2A004", "--renommer", "--db", db, "-q")
    assert result.exit_code == 1 and result.output == "Erreur : --renommer demande le nouveau nom avec --nom.\n"
    result = cli("scan", share, "--commune", "2A004", "--nom", "Aiacciu", "--renommer", "--db", db, "-q")
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT code, nom FROM communes") == [("2A004", "Aiacciu")]


def test_rename_refused_for_application_scans(cli, share, tmp_path):
    db = tmp_path / "c.duckdb"
    assert cli("scan", share, "--commune", "12345", "--nom", "Saint-Aubin", "--db", db, "-q").exit_code == 0
    result = cli("scan-mail", share, "--commune", "12345", "--nom", "Saint-Albin", "--application", "X", "--db", db)
    assert result.exit_code == 1 and "enregistrée sous le nom « Saint-Aubin », pas « Saint-Albin »" in result.output
    assert query(db, "SELECT nom FROM communes") == [("Saint-Aubin",)]


def test_summary_duplicate_groups_per_commune(cli, share, tmp_path):
    """The same folder scanned under three codes: each summary gives its own commune's
    duplicate groups, as the catalogue counts them (issue 20)."""
    db = tmp_path / "c.duckdb"
    for code in ("11111", "22222", "33333"):
        result = cli("scan", share, "--commune", code, "--db", db, "-q")
        assert result.exit_code == 0
        groups, wasted = query(db, "SELECT count(*), sum(wasted_bytes) FROM duplicates WHERE commune = ?", [code])[0]
        assert (groups, wasted) == (1, 10)
        assert "  Doublons : 1 groupe, volume récupérable : 10 octets" in result.output.splitlines()
