"""Command line: a thin layer over the library. Messages and help are French."""

from __future__ import annotations

import json
import sys
from functools import wraps
from pathlib import Path

import click

from catalogue import __version__, clitext
from catalogue.clierrors import UserError, user_error
from catalogue.formatting import french_bytes, french_int
from catalogue.store import default_db_path
from catalogue.validation import COMMUNE, check_commune_name

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


@main.command()
@click.argument("root", type=click.Path(file_okay=True, dir_okay=True, path_type=str))
@click.option("--commune", required=True, type=COMMUNE,
              help="Code INSEE de la commune (5 caractères, 2A/2B pour la Corse) ou SIREN (9 chiffres).")
@click.option("--nom", default=None, help="Nom de la collectivité.")
@renommer_option
@db_option
@click.option("--jobs", type=click.IntRange(1, 256), default=None,
              help="Nombre de tâches parallèles pour l'identification et les empreintes (défaut : nombre de cœurs).")
@click.option("--listages", type=click.IntRange(1, 256), default=None,
              help="Dossiers listés en parallèle (défaut : 32 sur un partage réseau NFS, SMB ou FUSE, "
                   "sur un disque local, un processus find par cœur, 4 au plus ; 1 pour un disque à plateaux).")
@click.option("--lectures", type=click.IntRange(1, 256), default=None,
              help="Fichiers lus en parallèle pour les doublons (défaut : --jobs ; 1 pour un disque à plateaux).")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB",
              help="Motif de nom ou de chemin relatif à ignorer (répétable), par ex. « *.iso ».")
@click.option("--dataset-depth", type=click.IntRange(1, 20), default=2, show_default=True,
              help="Profondeur des dossiers considérés comme jeux de données (2 = Service/Activité).")
@click.option("--bundle", type=click.Path(dir_okay=False), default=None,
              help="Écrire un lot Parquet portable au lieu d'alimenter le catalogue.")
@click.option("--sans-identification", is_flag=True,
              help="Ne pas identifier les formats (inventaire rapide des volumes ; formats « non identifiés »).")
@click.option("--sans-doublons", is_flag=True, help="Ne pas rechercher les doublons (aucun contenu lu).")
@click.option("--sans-signatures", is_flag=True,
              help="Ne pas rechercher les signatures électroniques (PDF, CAdES, XAdES, ASiC, documents bureautiques).")
@click.option("--reprendre", is_flag=True,
              help="Reprendre le scan interrompu de cette racine (fait d'office ; avec cette option, "
                   "erreur s'il n'y en a aucun).")
@click.option("--recommencer", is_flag=True,
              help="Ne pas reprendre un scan interrompu de la même racine : repartir de zéro.")
@click.option("--quiet", "-q", is_flag=True, help="Ne pas afficher la progression.")
@user_errors
def scan(root, commune, nom, renommer, db, jobs, listages, lectures, excludes, dataset_depth, bundle,
         sans_identification, sans_doublons, sans_signatures, reprendre, recommencer, quiet):
    """Inventorier l'arborescence ROOT (disque local ou partage monté) en lecture seule."""
    if reprendre and recommencer:
        raise UserError("--reprendre et --recommencer s'excluent : choisissez l'un des deux.")
    if not bundle:
        check_commune_name(db, commune, nom, renommer)
    if bundle:
        from catalogue.bundle import scan_to_bundle

        summary = scan_to_bundle(root, commune, bundle, nom=nom, jobs=jobs, listers=listages, readers=lectures,
                                 excludes=list(excludes),
                                 dataset_depth=dataset_depth, quiet=quiet, restart=recommencer,
                                 resume_only=reprendre, identify=not sans_identification,
                                 find_duplicates=not sans_doublons, signatures=not sans_signatures)
        _print_summary(summary)
        click.echo(f"Lot écrit : {bundle} (à charger avec « catalogue ingest »).")
        return
    from catalogue.scan import run_scan

    summary = run_scan(root, commune, nom=nom, db=db, jobs=jobs, listers=listages, readers=lectures,
                       excludes=list(excludes),
                       dataset_depth=dataset_depth, quiet=quiet, restart=recommencer, resume_only=reprendre,
                       identify=not sans_identification, find_duplicates=not sans_doublons,
                       signatures=not sans_signatures)
    _print_summary(summary)
    click.echo(f"Catalogue : {db or default_db_path()}")


def _print_summary(s) -> None:
    click.echo(f"Scan n° {s.scan_id} — commune {s.commune} — {s.root}"
               + (" (reprise du scan interrompu)" if getattr(s, "resumed", False) else ""))
    click.echo(f"  Fichiers : {french_int(s.files)} ({french_bytes(s.bytes)}), "
               f"entrées au total : {french_int(s.entries)}")
    click.echo(f"  Doublons : {french_int(s.duplicate_groups)} groupes, "
               f"{french_bytes(s.duplicate_wasted)} récupérables")
    click.echo(f"  Déchets : {french_int(s.dechets)} entrées, {french_bytes(s.dechets_bytes)}")
    if getattr(s, "signed_files", 0):
        click.echo(f"  Signés électroniquement : {french_int(s.signed_files)} fichiers, {french_bytes(s.signed_bytes)}")
    if getattr(s, "reused", 0):
        click.echo(f"  Inchangés depuis le scan précédent (non relus) : {french_int(s.reused)} fichiers")
    click.echo(f"  Erreurs (entrées illisibles) : {french_int(s.errors)}"
               + (f" ; exclues : {french_int(s.excluded)}" if s.excluded else ""))


@main.command("scan-db")
@click.argument("url")
@click.option("--commune", required=True, type=COMMUNE, help="Code INSEE ou SIREN de la collectivité.")
@click.option("--application", required=True, help="Nom de l'application métier (ex. « État civil »).")
@click.option("--nom", default=None, help="Nom de la collectivité.")
@renommer_option
@click.option("--delai", type=click.IntRange(1, 86400), default=60, show_default=True,
              help="Durée maximale de chaque requête, en secondes.")
@click.option("--seuil-estimation", type=click.IntRange(0), default=1_000_000, show_default=True,
              help="Au-delà de ce nombre de lignes estimé par le moteur, garder l'estimation au lieu de compter.")
@db_option
@user_errors
def scan_db(url, commune, application, nom, renommer, delai, seuil_estimation, db):
    """Inventorier une base de données métier en lecture seule (tables, lignes, volumes, périodes)."""
    check_commune_name(db, commune, nom, renommer)
    from catalogue.appscans import scan_db as run

    r = run(url, commune, application, nom=nom, db=db, timeout_s=delai, exact_threshold=seuil_estimation)
    click.echo(f"Base {r.source} — application « {r.application} » — scan n° {r.scan_id}")
    click.echo(f"  Tables : {french_int(r.tables)} ; lignes : {french_int(r.rows)}"
               + (f" (dont {french_int(r.estimated)} table(s) estimée(s) par le moteur)" if r.estimated else "")
               + f" ; volume : {french_bytes(r.bytes)}")
    click.echo(f"  Tables illisibles : {french_int(len(r.errors))}")
    for line in r.errors:
        click.echo(f"    {line}")


@main.command("scan-mail")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--commune", required=True, type=COMMUNE, help="Code INSEE ou SIREN de la collectivité.")
@click.option("--application", required=True, help="Nom de la messagerie (ex. « Messagerie de la mairie »).")
@click.option("--nom", default=None, help="Nom de la collectivité.")
@renommer_option
@db_option
@user_errors
def scan_mail(path, commune, application, nom, renommer, db):
    """Inventorier une messagerie (mbox, Maildir, .eml, .msg, .pst) : volumes, dates, pièces jointes."""
    check_commune_name(db, commune, nom, renommer)
    from catalogue.appscans import scan_mailbox

    r = scan_mailbox(path, commune, application, nom=nom, db=db)
    click.echo(f"Messagerie « {r.application} » — scan n° {r.scan_id} — {french_int(r.folders)} dossier(s)")
    click.echo(f"  Messages : {french_int(r.messages)} ({french_bytes(r.bytes)}) ; pièces jointes : "
               f"{french_int(r.attachments)} ({french_bytes(r.attachment_bytes)})")
    click.echo(f"  Messages illisibles : {french_int(r.unreadable)}")
    for line in r.errors:
        click.echo(f"    {line}")


@main.command("import-droid")
@click.argument("csv_file", type=click.Path(dir_okay=False))
@click.option("--commune", required=True, type=COMMUNE, help="Code INSEE ou SIREN de la collectivité inventoriée.")
@click.option("--nom", default=None, help="Nom de la collectivité.")
@renommer_option
@db_option
@user_errors
def import_droid(csv_file, commune, nom, renommer, db):
    """Importer un inventaire DROID ou siegfried (CSV) comme un scan de partage."""
    check_commune_name(db, commune, nom, renommer)
    from catalogue.appscans import import_inventory

    r = import_inventory(csv_file, commune, nom=nom, db=db)
    outil = "DROID" if r.kind == "droid" else "siegfried"
    click.echo(f"Inventaire {outil} importé : scan n° {r.scan_id} — commune {commune} — racine {r.root or '(aucune)'}")
    click.echo(f"  Entrées : {french_int(r.entries)} dont {french_int(r.files)} fichiers ({french_bytes(r.bytes)})")
    if r.in_archives:
        click.echo(f"  Fichiers contenus dans des archives (non listés) : {french_int(r.in_archives)}")
    click.echo("  Empreintes : " + (f"{r.hash_algorithm} (doublons détectables)" if r.hash_algorithm
                                   else "absentes (doublons non détectables)"))
    click.echo(f"  Erreurs de lecture signalées : {french_int(r.errors)}")
    for line in r.problems:
        click.echo(f"  Ligne ignorée, {line}")


@main.command()
@click.argument("bundles", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option
@user_errors
def ingest(bundles, db):
    """Charger un ou plusieurs lots Parquet produits par « catalogue scan --bundle »."""
    from catalogue.bundle import check_bundle, ingest_bundle
    from catalogue.store import connect

    # Every bundle is checked before the catalogue is opened: a bad one writes nothing.
    checked = [check_bundle(path) for path in bundles]
    con = connect(db)
    try:
        for path, bundle in zip(bundles, checked):
            result = ingest_bundle(con, bundle)
            if result.skipped:
                click.echo(f"{path} : déjà chargé (scan n° {result.scan_id}), ignoré.")
            else:
                click.echo(f"{path} : {french_int(result.rows)} entrées chargées "
                           f"(commune {result.commune}, scan n° {result.scan_id}).")
    finally:
        con.close()


@main.command()
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True,
              help="Format de sortie. En csv, pour un tableur, un texte commençant par = + - @ est précédé "
                   "d'une apostrophe (jamais de formule) ; json donne les valeurs exactes.")
@db_option
@user_errors
def sql(query, fmt, db):
    """Exécuter une requête SQL de lecture (SELECT…) sur le catalogue, sans pouvoir le modifier."""
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
            click.echo(f"{french_int(len(rows))} ligne(s), une fiche par ligne (résultat trop large pour un "
                       "tableau : --format csv pour un tableur)")
            return
        table = Table(*columns)
        for r in rows:
            # markup=False: a file named "[bold]x" must print as is.
            table.add_row(*[cell(v) for v in r])
        Console(markup=False, highlight=False, emoji=False).print(table)
        click.echo(f"{french_int(len(rows))} ligne(s)")


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
        _print_summary(summary)
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


@main.command()
@click.option("--commune", default=None, help="Code de la collectivité : recensement et feuille de route.")
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
        result = report_commune(db, commune, output, pdf=not no_pdf, templates=modeles)
    click.echo(f"{result.label} :")
    for path in result.files:
        click.echo(f"  {path}")


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
@click.argument("fichier", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@user_errors
def referentiel_charger(fichier, db):
    """Enregistrer dans le catalogue le référentiel de la commune (ses lignes remplacent ou complètent celles
    du référentiel fourni) ; un fichier réduit à l'en-tête revient au référentiel fourni."""
    from catalogue.referentiel import load_referentiel
    from catalogue.store import connect, save_local_referentiel

    local = {t.code for t in load_referentiel(fichier)}  # checked before the catalogue is opened
    shipped = {t.code for t in load_referentiel()}
    con = connect(db)
    try:
        save_local_referentiel(con, fichier)
    finally:
        con.close()
    click.echo(f"Référentiel de la commune enregistré : {french_int(len(local & shipped))} ligne(s) remplacée(s), "
               f"{french_int(len(local - shipped))} ajoutée(s).")


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
            click.echo(f"SIP écrit : {part.path} — {french_int(part.files)} fichier(s), "
                       f"{french_bytes(part.bytes)} (SEDA {seda})")
        if r.oversized:
            click.echo(f"  Attention : {french_int(r.oversized)} fichier(s) dépassent à eux seuls --taille-max "
                       "(un SIP chacun).")
        if r.changed:
            click.echo(f"  Modifiés ou disparus depuis le scan, non versés : {french_int(len(r.changed))} fichier(s).")
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
    click.echo(f"CSV ReSIP écrit : {r.path} — {french_int(r.folders)} dossier(s), {french_int(r.files)} fichier(s) "
               f"({encodage}, séparateur « ; »)")
    click.echo(f"  Fichiers écartés : {french_int(len(r.left_out))} (liste : {r.left_out_csv})")


if __name__ == "__main__":
    main()
