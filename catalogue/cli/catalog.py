"""Commands that read the catalogue (sql, status) and build the demo territory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from catalogue.cli.base import db_option, main, user_errors
from catalogue.cli.scans import print_summary
from catalogue.formatting import french_int, plural


@main.command()
@click.argument("query", metavar="REQUÊTE")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True,
              help="Format de sortie. En csv, pour un tableur, un texte commençant par = + - @ est précédé "
                   "d'une apostrophe (jamais de formule) ; json donne les valeurs exactes.")
@db_option
@user_errors
def sql(query, fmt, db):
    """Exécuter la REQUÊTE SQL de lecture (SELECT…) sur le catalogue, sans pouvoir le modifier."""
    from catalogue.query import run_query

    columns, rows = run_query(db, query)
    if fmt == "csv":
        from catalogue import csvsafe

        writer = csvsafe.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        click.echo(json.dumps([dict(zip(columns, r)) for r in rows], ensure_ascii=False, default=str, indent=2))
    else:
        from shutil import get_terminal_size

        from rich.console import Console
        from rich.table import Table

        from catalogue.query import cell, folded, is_wide

        if is_wide(columns, rows, get_terminal_size().columns):
            for line in folded(columns, rows):
                click.echo(line)
            click.echo(f"{plural(len(rows), 'ligne')}, une fiche par ligne (résultat trop large pour un "
                       "tableau : --format csv pour un tableur)")
            return
        table = Table(*columns)
        for r in rows:
            # markup=False: a file named "[bold]x" must print as is.
            table.add_row(*[cell(v) for v in r])
        Console(markup=False, highlight=False, emoji=False).print(table)
        click.echo(plural(len(rows), "ligne"))


@main.command()
@db_option
@user_errors
def status(db):
    """Afficher l'état du catalogue : communes, scans, volumes."""
    from catalogue.query import catalogue_status

    for line in catalogue_status(db):
        click.echo(line)


@main.command()
@click.option("--out", type=click.Path(file_okay=False), default="demo", show_default=True,
              help="Dossier où créer le territoire de démonstration et son catalogue.")
@click.option("--quiet", "-q", is_flag=True, help="Ne pas afficher la progression.")
@click.option("--schemas-seda", "seda_xsd", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, help="Dossier des schémas SEDA (seda-2.2/, w3c/) pour vérifier les paquets de transfert.")
@user_errors
def demo(out, quiet, seda_xsd):
    """Générer le territoire de démonstration et dérouler toute la chaîne."""
    from catalogue.demo import run_demo

    result = run_demo(out, quiet=quiet, seda_xsd=seda_xsd)
    for summary in result.scans:
        print_summary(summary)
    for app in result.applications:
        click.echo(f"Application « {app.application} » inventoriée (scan n° {app.scan_id}).")
    for exported, filled in zip(result.grids, result.filled):
        click.echo(f"Grille exportée : {exported} ; remplie et importée : {filled}")
    for produced in result.reports:
        click.echo(f"Rapports — {produced.label} :")
        for path in produced.files:
            click.echo(f"  {path}")
    click.echo(f"Paquets de transfert SEDA de l'année ({french_int(len(result.sips))}), {result.sip_check} :")
    for sip in result.sips:
        click.echo(f"  {sip}")
    click.echo(f"Catalogue de démonstration : {out}/catalogue.duckdb")
    click.echo(f"Pour l'interroger : catalogue sql --db {out}/catalogue.duckdb \"SELECT * FROM volumes\"")
