"""Commands that fill the catalogue: scan a share, a business database, a mailbox; import a
DROID or siegfried listing; ingest scan bundles made elsewhere."""

from __future__ import annotations

import click

from catalogue.cli.base import db_option, main, renommer_option, user_errors
from catalogue.clierrors import UserError
from catalogue.formatting import french_bytes, french_int, plural
from catalogue.store import default_db_path
from catalogue.validation import COMMUNE, check_commune_name


@main.command()
@click.argument("root", metavar="DOSSIER", type=click.Path(file_okay=True, dir_okay=True, path_type=str))
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
    """Inventorier l'arborescence DOSSIER (disque local ou partage monté) en lecture seule."""
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
        print_summary(summary)
        click.echo(f"Lot écrit : {bundle} (à charger avec « catalogue ingest »).")
        return
    from catalogue.scan import run_scan

    summary = run_scan(root, commune, nom=nom, db=db, jobs=jobs, listers=listages, readers=lectures,
                       excludes=list(excludes),
                       dataset_depth=dataset_depth, quiet=quiet, restart=recommencer, resume_only=reprendre,
                       identify=not sans_identification, find_duplicates=not sans_doublons,
                       signatures=not sans_signatures)
    print_summary(summary)
    click.echo(f"Catalogue : {db or default_db_path()}")


def print_summary(s) -> None:
    """The scan's summary, counts agreeing with their nouns (« 1 groupe », « 0 entrée »)."""
    click.echo(f"Scan n° {s.scan_id} — commune {s.commune} — {s.root}"
               + (" (reprise du scan interrompu)" if getattr(s, "resumed", False) else ""))
    click.echo(f"  Fichiers : {french_int(s.files)} ({french_bytes(s.bytes)}), "
               f"entrées au total : {french_int(s.entries)}")
    click.echo(f"  Doublons : {plural(s.duplicate_groups, 'groupe')}, "
               f"volume récupérable : {french_bytes(s.duplicate_wasted)}")
    click.echo(f"  Déchets : {plural(s.dechets, 'entrée')}, {french_bytes(s.dechets_bytes)}")
    if getattr(s, "signed_files", 0):
        click.echo(f"  Signés électroniquement : {plural(s.signed_files, 'fichier')}, {french_bytes(s.signed_bytes)}")
    if getattr(s, "reused", 0):
        click.echo(f"  Inchangés depuis le scan précédent (non relus) : {plural(s.reused, 'fichier')}")
    click.echo(f"  Erreurs (entrées illisibles) : {french_int(s.errors)}"
               + (f" ; exclues : {french_int(s.excluded)}" if s.excluded else ""))


@main.command("scan-db")
@click.argument("url", metavar="URL")
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
    """Inventorier en lecture seule la base de données métier à l'adresse URL (tables, lignes, volumes, périodes)."""
    check_commune_name(db, commune, nom, renommer)
    from catalogue.appscans import scan_db as run

    r = run(url, commune, application, nom=nom, db=db, timeout_s=delai, exact_threshold=seuil_estimation)
    click.echo(f"Base {r.source} — application « {r.application} » — scan n° {r.scan_id}")
    estimated = plural(r.estimated, "table estimée", "tables estimées")
    click.echo(f"  Tables : {french_int(r.tables)} ; lignes : {french_int(r.rows)}"
               + (f" (dont {estimated} par le moteur)" if r.estimated else "")
               + f" ; volume : {french_bytes(r.bytes)}")
    click.echo(f"  Tables illisibles : {french_int(len(r.errors))}")
    for line in r.errors:
        click.echo(f"    {line}")


@main.command("scan-mail")
@click.argument("path", metavar="MESSAGERIE", type=click.Path(path_type=str))
@click.option("--commune", required=True, type=COMMUNE, help="Code INSEE ou SIREN de la collectivité.")
@click.option("--application", required=True, help="Nom de la messagerie (ex. « Messagerie de la mairie »).")
@click.option("--nom", default=None, help="Nom de la collectivité.")
@renommer_option
@db_option
@user_errors
def scan_mail(path, commune, application, nom, renommer, db):
    """Inventorier la MESSAGERIE (fichier mbox, .eml, .msg, .pst ou dossier Maildir) : volumes, dates,
    pièces jointes."""
    check_commune_name(db, commune, nom, renommer)
    from catalogue.appscans import scan_mailbox

    r = scan_mailbox(path, commune, application, nom=nom, db=db)
    click.echo(f"Messagerie « {r.application} » — scan n° {r.scan_id} — {plural(r.folders, 'dossier')}")
    click.echo(f"  Messages : {french_int(r.messages)} ({french_bytes(r.bytes)}) ; pièces jointes : "
               f"{french_int(r.attachments)} ({french_bytes(r.attachment_bytes)})")
    click.echo(f"  Messages illisibles : {french_int(r.unreadable)}")
    for line in r.errors:
        click.echo(f"    {line}")


@main.command("import-droid")
@click.argument("csv_file", metavar="FICHIER.csv", type=click.Path(dir_okay=False))
@click.option("--commune", required=True, type=COMMUNE, help="Code INSEE ou SIREN de la collectivité inventoriée.")
@click.option("--nom", default=None, help="Nom de la collectivité.")
@renommer_option
@db_option
@user_errors
def import_droid(csv_file, commune, nom, renommer, db):
    """Importer l'inventaire DROID ou siegfried FICHIER.csv comme un scan de partage."""
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
@click.argument("bundles", metavar="LOT.parquet...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--renommer", is_flag=True,
              help="Accepter qu'un lot renomme une collectivité déjà enregistrée sous un autre nom.")
@db_option
@user_errors
def ingest(bundles, renommer, db):
    """Charger un ou plusieurs LOT.parquet produits par « catalogue scan --bundle »."""
    from catalogue.bundle import check_bundle, ingest_bundle
    from catalogue.bundle.ingest import check_names
    from catalogue.store import connect

    # Every bundle is checked before the catalogue is opened: a bad one writes nothing.
    checked = [check_bundle(path) for path in bundles]
    con = connect(db)
    try:
        if not renommer:
            check_names(con, checked)
        for path, bundle in zip(bundles, checked):
            result = ingest_bundle(con, bundle)
            if result.skipped:
                click.echo(f"{path} : déjà chargé (scan n° {result.scan_id}), ignoré.")
            else:
                click.echo(f"{path} : {french_int(result.rows)} entrées chargées "
                           f"(commune {result.commune}, scan n° {result.scan_id}).")
    finally:
        con.close()
