"""The command group and what every command shares: the --db option, the French
one-line errors, --renommer."""

from __future__ import annotations

import os
from functools import wraps

import click

from catalogue import __version__, clitext
from catalogue.clierrors import UserError, user_error
from catalogue.store import connect, default_db_path
from catalogue.validation import COMMUNE_CODE, COMMUNE_CODE_HELP

clitext.install()


def db_option(func):
    """--db shared by every command that reads or writes the catalogue."""
    return click.option(
        "--db", "db", type=click.Path(dir_okay=False), default=None,
        help="Fichier du catalogue DuckDB (défaut : $CATALOGUE_DB, sinon ./catalogue.duckdb).",
    )(func)


def user_errors(func):
    """Library, OS and DuckDB errors become a one-line French message and exit code 1."""
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            error = user_error(exc, kwargs.get("db"))
            if error is None:
                raise
            raise error from None
    return wrapper


def check_requested_commune(db: str | None, code: str) -> None:
    """Refuse a --commune that follows no documented pattern (catalogue.validation) and
    that the catalogue does not hold, saying first that the code is invalid, then which
    communes are known. A stored code is accepted whatever its form: a catalogue made
    before codes were checked stays readable."""
    if COMMUNE_CODE.fullmatch(code.strip().upper()):
        return
    path = db or default_db_path()
    if not os.path.exists(path):
        return  # the command itself says the catalogue is missing
    con = connect(path, read_only=True)
    try:
        if con.execute("SELECT 1 FROM communes WHERE code = ?", [code]).fetchone():
            return
        known = ", ".join(r[0] for r in con.execute("SELECT code FROM communes ORDER BY code").fetchall())
    finally:
        con.close()
    raise UserError(f"code de commune invalide « {code} » : attendu un {COMMUNE_CODE_HELP} "
                    f"(communes connues : {known or 'aucune'}).")


renommer_option = click.option("--renommer", is_flag=True,
                               help="Renommer la collectivité déjà enregistrée sous un autre nom (avec --nom).")


@click.group(cls=clitext.FrenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, message="catalogue %(version)s")
def main() -> None:
    """Catalogage : inventaire des données numériques d'un territoire avant versement au SAE."""
