"""Click in French: its own usage, help headings and error messages, and one example per command.

Click marks its strings with the standard library's ``gettext`` (``from gettext import
gettext as _`` in each module) and ships no translation. The stdlib resolves that global
domain only from ``.mo`` files chosen by the LANGUAGE/LC_*/LANG variables; we must not
change those (scanners run GNU tools whose output is parsed), nor depend on the user's
locale: the tool speaks French everywhere. So the French catalogue is a
``NullTranslations`` subclass whose ``gettext``/``ngettext`` replace the names click
imported (``install``). ``tests/test_clitext.py`` checks every message click marks is in it,
so a click upgrade that adds or rewords one fails the build rather than printing English.
"""

from __future__ import annotations

import ast
import gettext
import importlib

import click

# Click's msgid → French. Placeholders keep click's names; « !r » is dropped where a
# French quotation reads better.
FRENCH: dict[str, str] = {
    # help
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Positional arguments": "Arguments",
    "Commands": "Commandes",
    "Show this message and exit.": "Afficher cette aide et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "%(prog)s, version %(version)s": "%(prog)s, version %(version)s",
    "default: {default}": "défaut : {default}",
    "env var: {var}": "variable d'environnement : {var}",
    "required": "obligatoire",
    "(dynamic)": "(calculé)",
    "deprecated": "obsolète",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}":
        "Attention : la commande « {name} » est obsolète.{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}":
        "Attention : le paramètre « {name} » est obsolète.{extra_message}",
    # errors
    "Error: {message}": "Erreur : {message}",
    "Try '{command} {option}' for help.": "Pour l'aide : « {command} {option} ».",
    "Aborted!": "Abandon.",
    "Missing command.": "commande manquante.",
    "No such command {name!r}.": "commande inconnue : {name}",
    "No such option {name!r}.": "option inconnue : {name}",
    "Missing argument": "argument obligatoire manquant :",
    "Missing option": "option obligatoire manquante :",
    "Missing parameter": "paramètre obligatoire manquant :",
    "Missing {param_type}": "{param_type} obligatoire manquant :",
    "Missing parameter: {param_name}": "paramètre obligatoire manquant : {param_name}",
    "Invalid value: {message}": "valeur invalide : {message}",
    "Invalid value for {param_hint}: {message}": "valeur invalide pour {param_hint} : {message}",
    "Could not open file {filename!r}: {message}": "impossible d'ouvrir le fichier « {filename} » : {message}",
    "unknown error": "erreur inconnue",
    "Option {name!r} does not take a value.": "l'option {name} ne prend pas de valeur.",
    "Invalid start character for option ({option})": "caractère initial invalide pour une option ({option})",
    "Argument {name!r} takes {nargs} values.": "l'argument {name} prend {nargs} valeurs.",
    "Value must be an iterable.": "la valeur doit être une liste.",
    "Choose from:\n\t{choices}": "Choisir parmi :\n\t{choices}",
    "Choice({choices})": "Choix({choices})",
    "file": "fichier",
    "directory": "dossier",
    "path": "chemin",
    "{value!r} is not a valid {number_type}.": "« {value} » n'est pas un nombre valide.",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "« {value} » n'est pas un booléen valide. Valeurs reconnues : {states}",
    "{value!r} is not a valid UUID.": "« {value} » n'est pas un UUID valide.",
    "{name} {filename!r} does not exist.": "{name} « {filename} » introuvable.",
    "{name} {filename!r} is a file.": "{name} « {filename} » : c'est un fichier.",
    "{name} {filename!r} is a directory.": "{name} « {filename} » : c'est un dossier.",
    "{name} {filename!r} is not readable.": "{name} « {filename} » : lecture interdite.",
    "{name} {filename!r} is not writable.": "{name} « {filename} » : écriture interdite.",
    "{name} {filename!r} is not executable.": "{name} « {filename} » : exécution interdite.",
    "Error: invalid input": "Erreur : saisie invalide",
    "Error: The two entered values do not match.": "Erreur : les deux valeurs saisies diffèrent.",
    "Repeat for confirmation": "Répétez pour confirmer",
    "Do you want to continue?": "Voulez-vous continuer ?",
    "Confirm the action without prompting.": "Confirmer l'action sans la demander.",
    "d": "j",  # days, in a progress bar's remaining time
    "Press any key to continue...": "Appuyez sur une touche pour continuer…",
    "Unknown color {colour!r}": "couleur inconnue : {colour}",
    "Unknown standard stream '{name}'": "flux standard inconnu : {name}",
    "{editor}: Editing failed": "{editor} : échec de l'édition",
    "{editor}: Editing failed: {e}": "{editor} : échec de l'édition : {e}",
    "Windows error: {error}": "erreur Windows : {error}",
    "Shell completion is not supported for Bash versions older than 4.4.":
        "La complétion n'est pas disponible pour Bash avant la version 4.4.",
    "Couldn't detect Bash version, shell completion is not supported.":
        "Version de Bash inconnue : complétion non disponible.",
    # Programming errors in a command's declaration (never a user's): kept readable anyway.
    "Could not determine name for option with declarations {decls!r}":
        "nom introuvable pour l'option déclarée {decls!r}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead? "
    "Did you mean to pass '--{name}'?": "aucune option déclarée mais un nom donné ({name}).",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.":
        "un argument prend une seule déclaration, {length} reçues : {decls}.",
    "Name '{name}' defined twice": "nom « {name} » défini deux fois",
    "Boolean option {decl!r} cannot use the same flag for true/false.":
        "l'option booléenne {decl!r} ne peut pas utiliser le même drapeau pour vrai et faux.",
}

# Click's (singular, plural) → French (singular, plural).
FRENCH_PLURALS: dict[tuple[str, str], tuple[str, str]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        ("argument en trop : {args}", "arguments en trop : {args}"),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        ("(Vouliez-vous dire {possibility} ?)", "(Vouliez-vous dire l'un de : {possibilities} ?)"),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        ("l'option {name} demande une valeur.", "l'option {name} demande {nargs} valeurs."),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        ("{nargs} valeurs attendues, 1 reçue.", "{nargs} valeurs attendues, {len} reçues."),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        ("« {value} » n'est pas {choice}.", "« {value} » n'est pas l'un de : {choices}."),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."):
        ("« {value} » ne suit pas le format {format}.", "« {value} » ne suit aucun des formats {formats}."),
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."):
        ("{len_type} valeurs attendues, {len_value} reçue.", "{len_type} valeurs attendues, {len_value} reçues."),
}

# Click's modules that bind ``_`` (and ``ngettext``) from gettext at import time.
CLICK_MODULES = ("click.core", "click.decorators", "click.exceptions", "click.formatting", "click.parser",
                 "click.types", "click.termui", "click.utils", "click._termui_impl", "click.shell_completion")


SUGGESTIONS = ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)")


class FrenchQuotedSuggestions(str):
    """The « Vouliez-vous dire » template: click fills it with names it has already
    quoted with repr() (« '--jobs', '--quiet' »); formatting it re-quotes them the French
    way (« « --jobs », « --quiet » »)."""

    def format(self, *args: object, **kwargs: object) -> str:  # type: ignore[override]
        return str.format(self, *args, **{k: french_quotes(v) for k, v in kwargs.items()})


def french_quotes(value: object) -> object:
    """« 'a', 'b' » (click's repr-joined names) → « « a », « b » »; anything else as is."""
    if not isinstance(value, str):
        return value
    try:
        names = ast.literal_eval(f"[{value}]")
    except (ValueError, SyntaxError):
        return value
    if not names or not all(isinstance(n, str) for n in names):
        return value
    return ", ".join(f"« {n} »" for n in names)


class ClickFrench(gettext.NullTranslations):
    """Click's messages in French; an unknown message stays as click wrote it."""

    def gettext(self, message: str) -> str:
        return FRENCH.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        pair = FRENCH_PLURALS.get((msgid1, msgid2))
        if pair is None:
            return msgid1 if n == 1 else msgid2
        # French uses the singular for 0 and 1.
        text = pair[0] if n <= 1 else pair[1]
        return FrenchQuotedSuggestions(text) if (msgid1, msgid2) == SUGGESTIONS else text


def install() -> None:
    """Make click speak French in this process (idempotent)."""
    french = ClickFrench()
    for name in CLICK_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # pragma: no cover - a module click dropped
            continue
        if hasattr(module, "_"):
            module._ = french.gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = french.ngettext  # type: ignore[attr-defined]


# Value names shown in help (« --db FICHIER »), by click type name.
METAVARS = {"text": "TEXTE", "integer": "ENTIER", "integer range": "ENTIER", "float": "NOMBRE",
            "float range": "NOMBRE", "boolean": "OUI|NON"}


def french_metavar(param: click.Parameter) -> None:
    """Give an option or argument declared without a metavar a French one (TEXTE, ENTIER,
    FICHIER…): click would show the parameter's English name (ROOT, PATH)."""
    if param.metavar is not None or (isinstance(param, click.Option) and param.is_flag):
        return
    ptype = param.type
    if isinstance(param, click.Argument) and not isinstance(ptype, click.Path) and ptype.name not in METAVARS:
        param.metavar = "TEXTE"
    elif isinstance(ptype, click.Path):
        param.metavar = "FICHIER" if not ptype.dir_okay else "DOSSIER" if not ptype.file_okay else "CHEMIN"
    elif ptype.name in METAVARS:
        param.metavar = METAVARS[ptype.name]


# One example per command, shown at the end of its --help (key: the command's path).
EXAMPLES: dict[str, str] = {
    "": "catalogue scan /mnt/partage --commune 12345 --nom \"Saint-Aubin\"",
    "scan": "catalogue scan /mnt/partage-mairie --commune 12345 --nom \"Saint-Aubin\" --exclude \"*.iso\"",
    "scan-db": "catalogue scan-db postgresql://lecteur@serveur/etatcivil --commune 12345 "
               "--application \"État civil\"",
    "scan-mail": "catalogue scan-mail /srv/mail/mairie.mbox --commune 12345 --application \"Messagerie de la mairie\"",
    "import-droid": "catalogue import-droid inventaire-droid.csv --commune 12345",
    "ingest": "catalogue ingest scan-12345.parquet --db catalogue.duckdb",
    "sql": "catalogue sql \"SELECT commune, count(*) AS fichiers FROM files_current GROUP BY commune\" --format csv",
    "status": "catalogue status --db catalogue.duckdb",
    "demo": "catalogue demo --out /tmp/demo",
    "grid": "catalogue grid export --commune 12345 -o grille-12345.xlsx",
    "grid export": "catalogue grid export --commune 12345 -o grille-12345.xlsx",
    "grid import": "catalogue grid import grille-12345.xlsx grille-12346.xlsx",
    "report": "catalogue report --commune 12345 -o rapports",
    "referentiel": "catalogue referentiel export-vitam -o regles-vitam.csv",
    "referentiel export-vitam": "catalogue referentiel export-vitam -o regles-vitam.csv --services services.csv",
    "referentiel charger": "catalogue referentiel charger referentiel-12345.csv",
    "sip": "catalogue sip FS-0123456789AB --contrat IC-000001 -o paquets",
    "resip": "catalogue resip FS-0123456789AB -o metadata.csv --racine \"Z:\\Partage\"",
}


def command_key(ctx: click.Context) -> str:
    """The command's path under the root group (« grid export »), whatever the program name."""
    names: list[str] = []
    while ctx.parent is not None:
        names.append(ctx.command.name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def write_example(ctx: click.Context, formatter: click.HelpFormatter) -> None:
    example = EXAMPLES.get(command_key(ctx))
    if example:
        formatter.write_paragraph()
        # Written as is: wrapping would cut the command line in two.
        formatter.write(f"{'':>{formatter.current_indent}}Exemple : {example}\n")


class FrenchHelpFormatter(click.HelpFormatter):
    """Help headings with French punctuation (« Options : »)."""

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading} :\n")


class FrenchContext(click.Context):
    """A context whose help uses the French formatter."""

    formatter_class = FrenchHelpFormatter


class FrenchUsageError(click.UsageError):
    """A usage error already worded in French (exit 2, usage line and help hint)."""


def french_usage_message(exc: click.UsageError) -> str:
    """EXC's message in French, naming options as typed (« --commune », not « '--commune' »)."""
    param = getattr(exc, "param", None)
    hint = None
    if isinstance(param, click.Option):
        hint = " / ".join(param.opts)
    elif isinstance(param, click.Argument):
        hint = param.human_readable_name
    if isinstance(exc, click.MissingParameter) and param is not None and hint:
        kind = "option obligatoire manquante" if isinstance(param, click.Option) else "argument obligatoire manquant"
        return f"{kind} : {hint}"
    if isinstance(exc, click.BadParameter) and hint and getattr(exc, "param_hint", None) is None:
        return f"valeur invalide pour {hint} : {exc.message}"
    return exc.format_message()


def in_french(exc: click.UsageError) -> click.UsageError:
    """EXC with options named as typed: a bad or missing parameter is reworded; any other
    usage error is already French (its text went through the catalogue) and keeps its own
    display (a bare `catalogue` prints the help)."""
    if not isinstance(exc, click.BadParameter):
        return exc
    return FrenchUsageError(french_usage_message(exc), ctx=exc.ctx)


class FrenchHelp(click.Command):
    """Help that names values in French and ends with an example (commands and groups)."""

    context_class = FrenchContext

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            french_metavar(param)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        write_example(ctx, formatter)


class FrenchCommand(FrenchHelp):
    """A command whose help ends with an example and names values in French."""


class FrenchGroup(FrenchHelp, click.Group):
    """The root group (and its sub-groups): French help and messages, and no traceback.

    Every command runs inside `invoke`, and every option is parsed in `make_context` or in
    `invoke`: catching there turns click's usage errors into French ones and any other
    exception into one French line."""

    command_class = FrenchCommand
    group_class = type

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("subcommand_metavar", "COMMANDE [ARGUMENTS]...")
        super().__init__(*args, **kwargs)

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.BadParameter as exc:
            raise in_french(exc) from None

    def invoke(self, ctx: click.Context):
        from catalogue.clierrors import last_resort, quiet_matplotlib

        if ctx.parent is None:
            quiet_matplotlib()
        try:
            return super().invoke(ctx)
        except click.BadParameter as exc:
            raise in_french(exc) from None
        except Exception as exc:
            replacement = last_resort(exc)
            if replacement is None:
                raise
            raise replacement from None
