"""No traceback on a user error: output folders, HOME, DuckDB, and the last resort."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from catalogue.clierrors import user_error
from tests.helpers import REPO, budget_share, can_drop_privileges, catalogue_cmd, unprivileged

needs_permissions = pytest.mark.skipif(not can_drop_privileges(), reason="chmod is not enforced for this user")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "CATALOGUE_DEBUG")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def _run(*args: object, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(unprivileged(catalogue_cmd() + [str(a) for a in args]), capture_output=True, text=True,
                          env=_env(**env), cwd=REPO, timeout=300)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    base = tmp_path_factory.mktemp("cat")
    db = base / "c.duckdb"
    result = _run("scan", budget_share(base), "--commune", "99001", "--nom", "Saint-Aubin", "--db", db, "-q")
    assert result.returncode == 0, result.stderr
    return db


@needs_permissions
def test_unwritable_output_folder(catalogue, tmp_path):
    locked = tmp_path / "verrou"
    locked.mkdir()
    locked.chmod(0o555)
    result = _run("report", "--commune", "99001", "--no-pdf", "-o", locked / "rapports", "--db", catalogue)
    assert result.returncode == 1
    assert result.stderr == f"Erreur : accès impossible à {locked / 'rapports'} : permission refusée.\n"
    result = _run("grid", "export", "--commune", "99001", "-o", locked / "grille.xlsx", "--db", catalogue)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Erreur : accès impossible à {locked / 'grille.xlsx'}")
    assert result.stderr.endswith(" : permission refusée.\n") and len(result.stderr.splitlines()) == 1
    result = _run("referentiel", "export-vitam", "-o", locked / "regles.csv")
    assert (result.returncode, result.stderr) == (1, f"Erreur : accès impossible à {locked / 'regles.csv'} : "
                                                     "permission refusée.\n")


def test_output_folder_under_a_file(catalogue, tmp_path):
    """-o below a file: the folder cannot exist."""
    (tmp_path / "fichier.txt").write_text("x")
    target = tmp_path / "fichier.txt" / "rapports"
    result = _run("report", "--commune", "99001", "--no-pdf", "-o", target, "--db", catalogue)
    assert result.returncode == 1
    assert result.stderr == f"Erreur : accès impossible à {target} : un élément du chemin n'est pas un dossier.\n"
    result = _run("grid", "export", "--commune", "99001", "-o", tmp_path / "fichier.txt" / "g.xlsx", "--db", catalogue)
    assert result.returncode == 1
    assert result.stderr == f"Erreur : accès impossible à {tmp_path / 'fichier.txt'} : c'est un fichier, pas un dossier.\n"


@needs_permissions
def test_unwritable_home_is_quiet(catalogue, tmp_path):
    """Matplotlib's English warning about its config folder never reaches the user."""
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = _run("report", "--commune", "99001", "--no-pdf", "-o", tmp_path / "rapports", "--db", catalogue,
                  HOME=str(home), TMPDIR=str(scratch))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / "rapports" / "rapport-99001.html").exists()
    assert list(scratch.iterdir()) == []  # Matplotlib's temporary folder is gone


BOOM = """
import sys
from catalogue.cli import main

@main.command("panne")
def panne():
    raise RuntimeError("une panne imprévue\\nsur deux lignes")

main(["panne"], prog_name="catalogue")
"""


def test_last_resort_is_one_french_line():
    result = subprocess.run([sys.executable, "-c", BOOM], capture_output=True, text=True, env=_env(), cwd=REPO)
    assert result.returncode == 1
    assert result.stderr == ("Erreur interne : RuntimeError: une panne imprévue ; relancez avec CATALOGUE_DEBUG=1 "
                             "pour le détail.\n")
    debug = subprocess.run([sys.executable, "-c", BOOM], capture_output=True, text=True,
                           env=_env(CATALOGUE_DEBUG="1"), cwd=REPO)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and "RuntimeError: une panne imprévue" in debug.stderr


def test_duckdb_errors_in_french():
    con = duckdb.connect()
    try:
        con.execute("SELECT 'abc'::INTEGER")
    except duckdb.Error as exc:
        error = user_error(exc, None)
    finally:
        con.close()
    assert error is not None
    assert error.format_message() == (
        "le catalogue DuckDB a refusé l'opération : une valeur ne peut pas être convertie "
        "(détail de DuckDB : Conversion Error: Could not convert string 'abc' to INT32)."
    )
