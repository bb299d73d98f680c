"""The grid's columns, declared once: export and import both read this list.

Each column has its French header, the help shown as the cell's input message, a
type, its allowed values, whether it is required, and whether it is pre-filled from
the catalogue (and then locked) or filled by the référent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Bump when columns change; every earlier version listed here still imports.
# 2: « Part signée (scan) », and « Données signées » proposed « Oui » when the scan found signatures.
# 3: stock volume, support, communicabilité, software vendor and version, export, connector, hosting
#    operator (issue 19); « Activité » and « Environnement de production » required.
TEMPLATE_VERSION = "3"
SUPPORTED_VERSIONS = ("1", "2", "3")
GRID_FORMAT = "catalogage-grille"

SHEET_GUIDE = "Mode d'emploi"
SHEET_GRID = "Recensement"
SHEET_REFERENTIEL = "Référentiel"
SHEET_LISTS = "Listes"
SHEET_META = "_catalogage"

AUTRE = "Autre"
VALEURS = ("Forte", "Moyenne", "Faible", "Aucune")
ENVIRONNEMENTS = ("Bureautique", "Application métier", "Messagerie", "Parapheur électronique", "GED", AUTRE)
HEBERGEMENTS = ("Serveur de fichiers", "Application métier", "Cloud / SaaS", "Messagerie", "Poste de travail",
                "Support amovible")
OUI_NON_NSP = ("Oui", "Non", "Ne sait pas")
DONNEES_PERSONNELLES = ("Non", "Oui", "Oui, sensibles")
SORTS_FINAUX = ("Conservation", "Destruction", "Tri")
PRIORITES = ("Haute", "Moyenne", "Basse")
SUPPORTS = ("Nativement numérique", "Numérisé", "Mixte papier et numérique")
# Code du patrimoine, art. L213-1 (immediately communicable) and L213-2 (delays).
COMMUNICABILITES = ("Immédiate", "25 ans", "50 ans", "75 ans", "100 ans", "120 ans", "À déterminer")
OPERATEURS = ("Service informatique mutualisé", "Commune", "Prestataire SaaS", AUTRE)

# Row states shown in the pre-filled « État » column.
ETAT_NOUVEAU = "Nouveau"
ETAT_QUALIFIE = "Déjà qualifié"
ETAT_DISPARU = "Non retrouvé au dernier scan"
ETAT_AJOUT = "Ajouté par le référent"

TYPOLOGIES = "typologies"  # marker: the closed list comes from the retention referential


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    help: str
    kind: str = "text"  # text, int, decimal, date, choice, percent
    choices: tuple[str, ...] | str = ()
    required: bool = False
    prefilled: bool = False
    width: int = 18
    # The template version from which a required column is required: a grid of an
    # earlier version was filled under that version's rules.
    required_since: int = 1
    # The data validation's own error message; empty: the one of its kind.
    error: str = ""
    # The template version that brought the column in.
    since: int = 1

    @property
    def title(self) -> str:
        """Header as written in the sheet; a star marks required columns."""
        return f"{self.header} *" if self.required else self.header

    def required_in(self, version: str) -> bool:
        """Whether a grid of template `version` had to answer this column."""
        return self.required and at_least(version, self.required_since)


def at_least(version: str, number: int) -> bool:
    """Whether a grid's template version is `number` or later (an unreadable one counts as current)."""
    return not version.isdigit() or int(version) >= number


PREFILLED = [
    Column("dataset_id", "Identifiant", "Identifiant du jeu de données attribué par Catalogage. Ne pas modifier ; "
           "laisser vide sur une ligne ajoutée.", prefilled=True, width=17),
    Column("commune", "Commune", "Code de la collectivité.", prefilled=True, width=10),
    Column("etat", "État", "Nouveau, déjà qualifié, non retrouvé au dernier scan, ou ajouté par le référent.",
           prefilled=True, width=16),
    Column("emplacement", "Emplacement (chemin ou application)", "Dossier du partage ou application où se trouvent "
           "les données. Sur une ligne ajoutée, indiquez-le vous-même (ex. : application Cart@DS, clé USB du "
           "service).", prefilled=True, width=48),
    Column("fichiers", "Nombre de fichiers", "Fichiers comptés par le dernier scan.", "int", prefilled=True, width=11,
           error="Saisissez un nombre entier de fichiers."),
    Column("volume_mo", "Volume (Mo)", "Volume total des fichiers, en mégaoctets (1 Mo = 10⁶ octets).", "decimal",
           prefilled=True, width=11),
    Column("premiere_modif", "Première modification", "Date de modification la plus ancienne.", "date",
           prefilled=True, width=15),
    Column("derniere_modif", "Dernière modification", "Date de modification la plus récente.", "date",
           prefilled=True, width=15),
    Column("formats", "Principaux formats", "Formats les plus volumineux (identifiant PRONOM, nom, part du volume).",
           prefilled=True, width=40),
    Column("part_doublons", "Part de doublons", "Part du volume faite de copies redondantes d'autres fichiers.",
           "percent", prefilled=True, width=11),
    Column("part_dechets", "Part de déchets", "Part du volume repérée comme déchets (temporaires, vides, copies…).",
           "percent", prefilled=True, width=11),
    Column("part_signee", "Part signée (scan)", "Part du volume que le scan a trouvée signée électroniquement "
           "(PAdES, CAdES, XAdES, ASiC…). Si elle n'est pas nulle, « Données signées » est proposé à « Oui ».",
           "percent", prefilled=True, width=11),
    Column("croissance", "Volume par année", "Volume par année de dernière modification : la croissance "
           "du jeu de données.", prefilled=True, width=36),
]

TO_FILL = [
    Column("service", "Service producteur", "Service qui produit ou reçoit ces documents (ex. : Urbanisme).",
           required=True, width=22),
    Column("typologie", "Typologie documentaire", "Choisissez dans la liste (feuille Référentiel) ; sinon « Autre » "
           "et précisez dans la colonne suivante.", "choice", TYPOLOGIES, required=True, width=40),
    Column("typologie_autre", "Typologie (si Autre)", "À remplir seulement si vous avez choisi « Autre ».", width=24),
    Column("activite", "Activité / processus", "Activité ou procédure qui produit ces documents (contexte de "
           "production), ex. : instruction des permis de construire.", required=True, required_since=3, width=28),
    Column("environnement", "Environnement de production", "Outil avec lequel les documents sont produits.",
           "choice", ENVIRONNEMENTS, required=True, required_since=3, width=22),
    Column("application", "Nom de l'application", "Nom de l'application métier, si l'environnement est « Application "
           "métier » (ex. : Cart@DS, Berger-Levrault e.magnus).", width=22),
    Column("editeur", "Éditeur du logiciel", "Éditeur de l'application ou du logiciel qui produit les données "
           "(ex. : Berger-Levrault, JVS-Mairistem).", width=20, since=3),
    Column("editeur_version", "Version", "Version du logiciel en service (ex. : 4.2), si vous la connaissez.",
           width=10, since=3),
    Column("export_possible", "Export possible", "Le logiciel sait-il exporter les données et leurs métadonnées "
           "dans un format ouvert (CSV, XML, PDF/A) ?", "choice", OUI_NON_NSP, width=12, since=3),
    Column("connecteur", "Connecteur", "Nom du connecteur vers le SAE ou de l'export prévu par l'éditeur, s'il en "
           "existe un (ex. : connecteur Pastell).", width=18, since=3),
    Column("hebergement", "Hébergement", "Où les données sont stockées aujourd'hui.", "choice", HEBERGEMENTS,
           required=True, width=20),
    Column("operateur_hebergement", "Opérateur d'hébergement", "Qui exploite le serveur ou le service où sont "
           "les données.", "choice", OPERATEURS, width=20, since=3),
    Column("support", "Support", "Les documents sont-ils nés numériques, numérisés depuis le papier, ou un "
           "mélange des deux ?", "choice", SUPPORTS, width=16, since=3),
    Column("valeur_juridique", "Valeur juridique / probatoire", "Ces documents prouvent-ils un droit ou une "
           "obligation (actes, contrats, décisions) ?", "choice", VALEURS, required=True, width=15),
    Column("valeur_strategique", "Valeur stratégique", "Sont-ils utiles au pilotage de la collectivité ?", "choice",
           VALEURS, required=True, width=15),
    Column("valeur_patrimoniale", "Valeur patrimoniale / historique", "Intéresseront-ils l'histoire de la commune "
           "ou ses habitants dans 50 ans ?", "choice", VALEURS, required=True, width=15),
    Column("signature", "Données signées électroniquement", "Les documents portent-ils une signature électronique "
           "(parapheur, actes transmis au contrôle de légalité) ? « Oui » est proposé quand le scan en a trouvé ; "
           "corrigez si besoin.", "choice", OUI_NON_NSP, required=True, width=20),
    Column("donnees_personnelles", "Données à caractère personnel", "Contiennent-ils des données personnelles ? "
           "« Oui, sensibles » : santé, opinions, infractions, numéro de sécurité sociale…", "choice",
           DONNEES_PERSONNELLES, required=True, width=15),
    Column("communicabilite", "Communicabilité", "Délai après lequel ces documents sont communicables à tous "
           "(Code du patrimoine, art. L213-1 et L213-2) : immédiate, 25 ans (secret des affaires), 50 ans (vie "
           "privée), 75 ans (état civil), 100 ans (mineurs), 120 ans (dossiers médicaux).",
           "choice", COMMUNICABILITES, width=19, since=3),
    Column("dua_annees", "DUA (années)", "Durée d'utilité administrative en années. Laissez vide pour reprendre "
           "celle du référentiel.", "int", width=11, error="Saisissez un nombre entier d'années (0 à 1000)."),
    Column("dua_depart", "Point de départ de la DUA", "Événement à partir duquel la DUA court (ex. : clôture de "
           "l'exercice). Vide : celui du référentiel.", width=22),
    Column("sort_final", "Sort final", "Conservation, Destruction ou Tri à l'issue de la DUA. Vide : celui du "
           "référentiel.", "choice", SORTS_FINAUX, width=14),
    Column("priorite", "Priorité souhaitée", "Priorité de versement au SAE souhaitée par le service.", "choice",
           PRIORITES, width=12),
    Column("volume_stock_go", "Volume actuel estimé (Go)", "Pour les données qu'aucun scan n'a vues (lignes "
           "ajoutées) : volume déjà accumulé aujourd'hui (le stock), en Go, nombre seul. Le volume produit "
           "chaque année va dans la colonne suivante.", "decimal", width=12,
           error="Saisissez le stock en Go, nombre positif sans unité (ex. : 2,5).", since=3),
    Column("volume_annuel_go", "Volume annuel estimé (Go)", "Pour les données qu'aucun scan n'a vues (lignes "
           "ajoutées) : volume produit chaque année (le flux), en Go, nombre seul. Le volume déjà accumulé va "
           "dans la colonne précédente.", "decimal", width=12,
           error="Saisissez le flux annuel en Go, nombre positif sans unité (ex. : 0,5)."),
    Column("commentaire", "Commentaire", "Toute précision utile à l'archiviste.", width=30),
    Column("rempli_par", "Rempli par", "Vos prénom, nom et fonction.", required=True, width=20),
    Column("date_saisie", "Date", "Date de saisie (jj/mm/aaaa).", "date", required=True, width=12),
]

COLUMNS = PREFILLED + TO_FILL
BY_KEY = {c.key: c for c in COLUMNS}
FILL_KEYS = [c.key for c in TO_FILL]


def fold(text: str) -> str:
    """Comparison key: no accents, no case, single spaces, straight apostrophes."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "'").replace("‘", "'").replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text).strip().casefold()


def header_key(text: str) -> str:
    """Comparison key of a header: folded, without the required-column star."""
    return fold(str(text).replace("*", ""))


HEADER_INDEX = {header_key(c.header): c for c in COLUMNS}
