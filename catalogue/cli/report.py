"""The report command: recensement per commune, territorial synthesis."""

from __future__ import annotations

import click

from catalogue.cli.base import check_requested_commune, db_option, main, user_errors


@main.command()
@click.option("--commune", default=None, metavar="CODE",
              help="Code de la collectivité : recensement et feuille de route.")
@click.option("--territoire", is_flag=True, help="Synthèse territoriale (toutes collectivités, chiffres agrégés).")
@click.option("-o", "--output", "output", type=click.Path(file_okay=False), default="rapports", show_default=True,
              help="Dossier où écrire les rapports.")
@click.option("--no-pdf", is_flag=True, help="N'écrire que le HTML (sans PDF).")
@click.option("--locataires", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Avec --territoire : fichier CSV commune,locataire (tenant Vitam) pour la projection des "
                   "coûts ; sans lui, chaque commune est son propre locataire.")
@click.option("--couts", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Avec --territoire : hypothèses de coût (CSV parametre,valeur,unite,libelle,source) à la place "
                   "de catalogue/rules/couts.csv.")
@click.option("--modeles", type=click.Path(file_okay=False, exists=True), default=None,
              help="Dossier de modèles Jinja2 : un modèle du même nom remplace celui fourni et peut "
                   "l'étendre ({% extends \"builtin:rapport_commune.html\" %}).")
@db_option
@user_errors
def report(commune, territoire, output, no_pdf, locataires, couts, modeles, db):
    """Écrire les rapports HTML et PDF (avec annexes CSV et XLSX)."""
    from reports.render import report_commune, report_territory

    if bool(commune) == territoire:
        raise click.UsageError("indiquez soit --commune CODE, soit --territoire.")
    if (locataires or couts) and not territoire:
        raise click.UsageError("--locataires et --couts ne s'emploient qu'avec --territoire.")
    if territoire:
        result = report_territory(db, output, pdf=not no_pdf, templates=modeles, tenants_file=locataires,
                                  costs_file=couts)
    else:
        check_requested_commune(db, commune)
        result = report_commune(db, commune, output, pdf=not no_pdf, templates=modeles)
    click.echo(f"{result.label} :")
    for path in result.files:
        click.echo(f"  {path}")
