"""The command group and what every command shares: the --db option, the French
one-line errors, --renommer."""

from __future__ import annotations

from functools import wraps

import click

from catalogue import __version__, clitext
from catalogue.clierrors import user_error

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


renommer_option = click.option("--renommer", is_flag=True,
                               help="Renommer la collectivité déjà enregistrée sous un autre nom (avec --nom).")


@click.group(cls=clitext.FrenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, message="catalogue %(version)s")
def main() -> None:
    """Catalogage : inventaire des données numériques d'un territoire avant versement au SAE."""
