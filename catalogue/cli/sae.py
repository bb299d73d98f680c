"""The SAE hand-off: the retention referential for Vitam, SEDA packages (sip), ReSIP CSV."""

from __future__ import annotations

from pathlib import Path

import click

from catalogue.cli.base import db_option, main, user_errors
from catalogue.formatting import french_bytes, french_int, plural


@main.group()
def referentiel() -> None:
    """Référentiel de conservation (typologies, DUA, sort final, sources)."""


@referentiel.command("export-vitam")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Fichier CSV à écrire (défaut : sortie standard).")
@click.option("--services", "services", type=click.Path(dir_okay=False), default=None,
              help="Écrire aussi dans ce fichier le référentiel des services agents (communes et services "
                   "nommés dans les grilles).")
@click.option("--referentiel", "local", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Référentiel de la commune (même format) dont les lignes remplacent ou complètent "
                   "celles du référentiel fourni.")
@db_option
@user_errors
def referentiel_export_vitam(output, services, local, db):
    """Écrire le référentiel au format CSV des règles de gestion Vitam (et, avec --services, les services agents)."""
    from catalogue.referentiel import load_referentiel, vitam_rules, vitam_rules_csv

    rows = load_referentiel(override=local)
    text = vitam_rules_csv(rows)
    if services:
        _export_agencies(services, db)
    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        click.echo(f"{french_int(len(vitam_rules(rows)))} règles écrites dans {output}.", err=True)
    else:
        click.echo(text, nl=False)


@referentiel.command("charger")
@click.argument("fichier", metavar="FICHIER.csv", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@user_errors
def referentiel_charger(fichier, db):
    """Enregistrer dans le catalogue le référentiel de la commune FICHIER.csv (ses lignes remplacent ou
    complètent celles du référentiel fourni) ; un fichier réduit à l'en-tête revient au référentiel fourni."""
    from catalogue.referentiel import load_referentiel
    from catalogue.store import connect, save_local_referentiel

    local = {t.code for t in load_referentiel(fichier)}  # checked before the catalogue is opened
    shipped = {t.code for t in load_referentiel()}
    con = connect(db)
    try:
        save_local_referentiel(con, fichier)
    finally:
        con.close()
    replaced = plural(len(local & shipped), "ligne remplacée", "lignes remplacées")
    click.echo(f"Référentiel de la commune enregistré : {replaced}, {plural(len(local - shipped), 'ajoutée')}.")


def _export_agencies(path: str, db: str | None) -> None:
    from catalogue.query import read_only_connection
    from catalogue.referentiel import vitam_agencies_csv
    from catalogue.sae.agencies import vitam_agencies

    con = read_only_connection(db)
    try:
        agencies = vitam_agencies(con)
    finally:
        con.close()
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(vitam_agencies_csv(agencies))
    click.echo(f"{french_int(len(agencies))} services agents écrits dans {path}.", err=True)


@main.command()
@click.argument("dataset_ids", nargs=-1, required=True, metavar="JEU...")
@click.option("--contrat", required=True, help="Identifiant du contrat d'entrée dans le SAE (ArchivalAgreement).")
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False),
              help="Dossier où écrire les SIP (un ZIP par jeu de données) et la liste des fichiers écartés.")
@click.option("--seda", type=click.Choice(["2.2", "2.3"]), default="2.2", show_default=True,
              help="Version du SEDA du bordereau.")
@click.option("--taille-max", "taille_max", default="10GB", show_default=True,
              help="Taille maximale d'un SIP ; un jeu plus gros est découpé en plusieurs SIP (ex. 500MB, 2Go).")
@click.option("--remplacer", is_flag=True, help="Remplacer les SIP déjà écrits pour ces jeux de données.")
@click.option("--ignorer-modifies", "ignorer_modifies", is_flag=True,
              help="Verser les autres fichiers quand certains ont changé ou disparu depuis le scan (listés à part).")
@click.option("--service-versant", default=None,
              help="Identifiant du service versant (défaut : le code de la commune).")
@click.option("--service-producteur", default=None,
              help="Identifiant du service producteur (défaut : tiré du service nommé dans la grille).")
@click.option("--service-archives", default="SAE", show_default=True,
              help="Identifiant du service d'archives destinataire (ArchivalAgency).")
@click.option("--racine", default=None, type=click.Path(file_okay=False),
              help="Dossier où se trouve aujourd'hui la racine scannée, si le partage est monté ailleurs.")
@click.option("--quiet", "-q", is_flag=True, help="Ne pas afficher la progression.")
@db_option
@user_errors
def sip(dataset_ids, contrat, output, seda, taille_max, remplacer, ignorer_modifies, service_versant,
        service_producteur, service_archives, racine, quiet, db):
    """Écrire le paquet de transfert SEDA (SIP) de chaque jeu de données, prêt pour le SAE."""
    from pathlib import Path

    from catalogue.sae.package import SipOptions, build_sips, parse_size

    options = SipOptions(contract=contrat, out_dir=Path(output), seda=seda, max_bytes=parse_size(taille_max),
                         replace=remplacer, skip_changed=ignorer_modifies, submission_agency=service_versant,
                         originating_agency=service_producteur, archival_agency=service_archives, root=racine,
                         quiet=quiet)
    for r in build_sips(db, dataset_ids, options):
        for part in r.parts:
            click.echo(f"SIP écrit : {part.path} — {plural(part.files, 'fichier')}, "
                       f"{french_bytes(part.bytes)} (SEDA {seda})")
        if r.oversized:
            click.echo(f"  Attention : {plural(r.oversized, 'fichier dépasse', 'fichiers dépassent')} à eux "
                       "seuls --taille-max (un SIP chacun).")
        if r.changed:
            click.echo(f"  Modifiés ou disparus depuis le scan, non versés : {plural(len(r.changed), 'fichier')}.")
        click.echo(f"  Fichiers écartés : {french_int(len(r.left_out))} (liste : {r.left_out_csv})")


@main.command()
@click.argument("dataset_id", metavar="JEU")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="Fichier CSV de métadonnées à écrire (ex. metadata.csv).")
@click.option("--racine", default=None,
              help="Chemin de la racine scannée vu du poste où ReSIP s'exécute (ex. Z:\\Partage) ; "
                   "défaut : celui du scan.")
@click.option("--encodage", type=click.Choice(["windows-1252", "utf-8"]), default="windows-1252",
              show_default=True, help="Encodage du CSV, à choisir aussi dans ReSIP à l'import.")
@click.option("--service-producteur", default=None,
              help="Identifiant du service producteur (défaut : tiré du service nommé dans la grille).")
@click.option("--remplacer", is_flag=True, help="Remplacer le fichier s'il existe.")
@db_option
@user_errors
def resip(dataset_id, output, racine, encodage, service_producteur, remplacer, db):
    """Écrire le CSV de métadonnées qu'importe ReSIP pour un jeu de données (arbre, titres, règles)."""
    from catalogue.sae.resip import write_resip_csv

    r = write_resip_csv(db, dataset_id, output, root=racine, encoding=encodage, replace=remplacer,
                        originating=service_producteur)
    click.echo(f"CSV ReSIP écrit : {r.path} — {plural(r.folders, 'dossier')}, {plural(r.files, 'fichier')} "
               f"({encodage}, séparateur « ; »)")
    click.echo(f"  Fichiers écartés : {french_int(len(r.left_out))} (liste : {r.left_out_csv})")
