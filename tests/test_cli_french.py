"""Click speaks French: usage, help headings, usage errors, one example per command."""

from __future__ import annotations

import ast
import importlib
import inspect
import re

import click
import pytest
from click.testing import CliRunner

from catalogue import clitext
from catalogue.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="catalogue")


def test_missing_option():
    result = run("scan", "/tmp")
    assert result.exit_code == 2
    assert result.stderr == ("Utilisation : catalogue scan [OPTIONS] DOSSIER\n"
                             "Pour l'aide : « catalogue scan --help ».\n\n"
                             "Erreur : option obligatoire manquante : --commune\n")


def test_unknown_option_and_command():
    result = run("scan", "/tmp", "--commune", "12345", "--quite")
    assert result.exit_code == 2
    assert result.stderr.endswith("Erreur : option inconnue : --quite (Vouliez-vous dire « --quiet » ?)\n")
    result = run("scna")
    assert result.exit_code == 2
    assert result.stderr == ("Utilisation : catalogue [OPTIONS] COMMANDE [ARGUMENTS]...\n"
                             "Pour l'aide : « catalogue --help ».\n\n"
                             "Erreur : commande inconnue : scna (Vouliez-vous dire « scan » ?)\n")
    result = run("grid", "exporter")
    assert result.exit_code == 2
    assert result.stderr.endswith("Erreur : commande inconnue : exporter (Vouliez-vous dire « export » ?)\n")


def test_several_suggestions_in_french_quotes():
    result = run("scan", "/tmp", "--commune", "12345", "--jbos", "2")
    assert result.exit_code == 2
    assert result.stderr.endswith("Erreur : option inconnue : --jbos (Vouliez-vous dire l'un de : « --db », « --jobs » ?)\n")


def test_bad_values():
    result = run("scan", "/tmp", "--commune", "12345", "--jobs", "beaucoup")
    assert result.exit_code == 2
    assert result.stderr.endswith("Erreur : valeur invalide pour --jobs : « beaucoup » n'est pas un nombre valide.\n")
    result = run("sql", "SELECT 1", "--format", "xml")
    assert result.stderr.endswith("Erreur : valeur invalide pour --format : « xml » n'est pas l'un de : "
                                  "'table', 'csv', 'json'.\n")
    result = run("ingest")
    assert result.stderr.endswith("Erreur : argument obligatoire manquant : LOT.parquet...\n")
    result = run("status", "en", "trop")
    assert result.stderr.endswith("Erreur : arguments en trop : en trop\n")


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, path + (name,))
        else:
            yield path + (name,), command


@pytest.mark.parametrize("path", [p for p, _ in _commands(main)], ids=lambda p: " ".join(p) or "catalogue")
def test_help_is_french_with_an_example(path):
    result = run(*path, "--help")
    assert result.exit_code == 0
    text = result.output
    assert text.startswith("Utilisation : catalogue")
    assert "Options :\n" in text and "Afficher cette aide et quitter." in text
    for english in ("Usage:", "Options:", "Commands:", "Show this message", r"\[required\]", "default:", r"\bTEXT\b",
                    r"\bINTEGER\b", r"\bFILE\b", r"\bDIRECTORY\b"):
        assert not re.search(english, text), (english, text)
    example = [line for line in text.splitlines() if line.startswith("Exemple : catalogue ")]
    assert len(example) == 1, text
    # The example is a command line of this very command.
    assert example[0].startswith(" ".join(("Exemple : catalogue",) + path)), example


def test_group_help_headings():
    text = run("--help").output
    assert "\nCommandes :\n" in text and "Afficher la version et quitter." in text
    assert "[obligatoire]" in run("scan", "--help").output
    assert "[défaut : 60;" in run("scan-db", "--help").output


def _click_messages() -> tuple[set[str], set[tuple[str, str]]]:
    """Every constant message click passes to gettext or ngettext, read from its source."""
    singles, plurals = set(), set()
    for name in clitext.CLICK_MODULES:
        try:
            tree = ast.parse(inspect.getsource(importlib.import_module(name)))
        except ImportError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id == "_" and texts:
                singles.add(texts[0])
            elif node.func.id == "ngettext" and len(texts) == 2:
                plurals.add((texts[0], texts[1]))
    return singles, plurals


def test_every_click_message_is_translated():
    """A click upgrade that adds or rewords a message fails here instead of printing English."""
    singles, plurals = _click_messages()
    assert len(singles) > 50 and len(plurals) > 5  # the source was read
    assert sorted(singles - set(clitext.FRENCH)) == []
    assert sorted(plurals - set(clitext.FRENCH_PLURALS)) == []
    # Placeholders survive the translation: click formats the French text with its own names.
    for msgid, french in clitext.FRENCH.items():
        for field in ("{default}", "{message}", "{name", "{value", "{param_hint}", "{filename"):
            if field in msgid:
                assert field in french, (msgid, french)


def test_bare_command_prints_help():
    for args in ((), ("grid",)):
        result = run(*args)
        assert result.exit_code == 2
        assert result.stderr.startswith("Utilisation : catalogue ") and "Erreur" not in result.stderr
        assert "Commandes :" in result.stderr


ENGLISH_ARGUMENTS = re.compile(r"\b(ROOT|PATH|URL_|QUERY|CSV_FILE|BUNDLES|FILES|FICHIER_|DATASET_IDS?)\b")


@pytest.mark.parametrize("path", [p for p, c in _commands(main) if not isinstance(c, click.Group)],
                         ids=lambda p: " ".join(p))
def test_arguments_have_french_names(path):
    """Every argument is named in French in the usage line, and the help text calls it so."""
    command = main
    for name in path:
        command = command.commands[name]
    text = run(*path, "--help").output
    usage = text.splitlines()[0]
    for param in command.params:
        if isinstance(param, click.Argument):
            assert param.metavar and param.metavar.split(".")[0].isupper(), param.name
            assert param.metavar in usage, (param.metavar, usage)
    assert not ENGLISH_ARGUMENTS.search(text), text


def test_no_undecided_plural_in_messages():
    """« 1 problème(s) », « 0 jeu(x) »: every count agrees with its noun through
    catalogue.formatting.plural (French takes the singular below 2)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    found = []
    for package in ("catalogue", "grids", "reports"):
        for source in sorted((root / package).rglob("*.py")):
            tree = ast.parse(source.read_text(encoding="utf-8"))
            # Docstrings are English, for developers: only the strings a program prints.
            docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                        and re.search(r"\w\((s|x)\)", node.value):
                    found.append(f"{source.relative_to(root)}:{node.lineno}: {node.value.strip()[:60]}")
    assert found == []


def test_commune_codes_are_named_code():
    for path in (("grid", "export"), ("grid", "import"), ("report",), ("scan",)):
        assert "--commune CODE" in run(*path, "--help").output, path
