"""The grid group: export a commune's Excel grid, import the filled ones."""

from __future__ import annotations

import click

from catalogue.cli.base import db_option, main, user_errors
from catalogue.clierrors import UserError
from catalogue.formatting import french_int


@main.group()
def grid() -> None:
    """Grille d'audit : exporter la grille Excel d'une commune, importer les grilles remplies."""


@grid.command("export")
@click.option("--commune", required=True, help="Code de la collectivité dont on exporte la grille.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Fichier .xlsx à écrire (défaut : grille-CODE.xlsx).")
@click.option("--service", default=None, help="Limiter la grille aux jeux de données d'un service (séance collective).")
@db_option
@user_errors
def grid_export(commune, output, service, db):
    """Écrire la grille d'audit pré-remplie d'une commune (un classeur Excel)."""
    from grids.export import export_grid

    r = export_grid(db, commune, output, service=service)
    click.echo(f"Grille écrite : {r.path} — {french_int(r.rows)} jeu(x) de données "
               f"({french_int(r.nouveaux)} nouveau(x), {french_int(r.qualifies)} déjà qualifié(s), "
               f"{french_int(r.disparus)} non retrouvé(s) au dernier scan, {french_int(r.ajouts)} ajouté(s)).")


@grid.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--commune", default=None, help="Refuser une grille qui n'est pas celle de cette commune.")
@click.option("--partiel", is_flag=True,
              help="Importer les lignes valides même si d'autres ont des problèmes (signalés).")
@db_option
@user_errors
def grid_import(files, commune, partiel, db):
    """Vérifier puis importer une ou plusieurs grilles remplies (tout ou rien, sauf --partiel)."""
    from grids.importer import GridValidationError, import_grids

    try:
        results = import_grids(db, list(files), commune=commune, partiel=partiel)
    except GridValidationError as exc:
        raise UserError(str(exc)) from None
    for r in results:
        for line in r.warnings:
            click.echo(f"Attention : {line}")
        for problem in r.problems:
            click.echo(str(problem))
        if r.import_id is None:
            click.echo(f"{r.path.name} : aucune modification (réponses identiques à celles déjà importées) ; "
                       f"{french_int(r.unqualified)} jeu(x) encore à qualifier.")
        else:
            click.echo(f"{r.path.name} : import n° {r.import_id} — commune {r.commune} — "
                       f"{french_int(r.changed)} ligne(s) enregistrée(s) dont {french_int(r.added)} ajoutée(s), "
                       f"{french_int(r.unchanged)} inchangée(s), {french_int(r.unqualified)} encore à qualifier.")
        if r.skipped_rows:
            click.echo(f"{r.path.name} : {french_int(r.skipped_rows)} ligne(s) non importée(s) à cause des problèmes "
                       "ci-dessus (--partiel).")
        for line in r.overwrites:
            click.echo(f"  Modifié : {line}")
