"""The grid group: export a commune's Excel grid, import the filled ones."""

from __future__ import annotations

import click

from catalogue.cli.base import check_requested_commune, db_option, main, user_errors
from catalogue.clierrors import UserError
from catalogue.formatting import french_int, plural


@main.group()
def grid() -> None:
    """Grille d'audit : exporter la grille Excel d'une commune, importer les grilles remplies."""


@grid.command("export")
@click.option("--commune", required=True, metavar="CODE", help="Code de la collectivité dont on exporte la grille.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Fichier .xlsx à écrire (défaut : grille-CODE.xlsx).")
@click.option("--service", default=None, metavar="SERVICE",
              help="Limiter la grille aux jeux de données d'un service (séance collective).")
@db_option
@user_errors
def grid_export(commune, output, service, db):
    """Écrire la grille d'audit pré-remplie d'une commune (un classeur Excel)."""
    from grids.export import export_grid

    check_requested_commune(db, commune)
    r = export_grid(db, commune, output, service=service)
    click.echo(f"Grille écrite : {r.path} — {plural(r.rows, 'jeu de données', 'jeux de données')} "
               f"({plural(r.nouveaux, 'nouveau')}, {plural(r.qualifies, 'déjà qualifié', 'déjà qualifiés')}, "
               f"{plural(r.disparus, 'non retrouvé', 'non retrouvés')} au dernier scan, {plural(r.ajouts, 'ajouté')}).")


@grid.command("import")
@click.argument("files", metavar="GRILLE.xlsx...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--commune", default=None, metavar="CODE",
              help="Refuser une grille qui n'est pas celle de cette commune.")
@click.option("--partiel", is_flag=True,
              help="Importer les lignes valides même si d'autres ont des problèmes (signalés).")
@db_option
@user_errors
def grid_import(files, commune, partiel, db):
    """Vérifier puis importer une ou plusieurs GRILLE.xlsx remplies (tout ou rien, sauf --partiel)."""
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
                       f"{plural(r.unqualified, 'jeu', 'jeux')} encore à qualifier.")
        else:
            click.echo(f"{r.path.name} : import n° {r.import_id} — commune {r.commune} — "
                       f"{plural(r.changed, 'ligne enregistrée', 'lignes enregistrées')} dont "
                       f"{plural(r.added, 'ajoutée')}, {plural(r.unchanged, 'inchangée')}, "
                       f"{french_int(r.unqualified)} encore à qualifier.")
        if r.skipped_rows:
            skipped = plural(r.skipped_rows, "ligne non importée", "lignes non importées")
            click.echo(f"{r.path.name} : {skipped} à cause des problèmes ci-dessus (--partiel).")
        for line in r.overwrites:
            click.echo(f"  Modifié : {line}")
