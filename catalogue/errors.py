"""Errors the library raises; the CLI turns each into a one-line French message."""

import errno


class CatalogueError(Exception):
    """A user-facing problem: its message is French, one line, and shown as is."""


class DatabaseLockedError(CatalogueError):
    """Another process holds the catalogue open for writing."""


class NotADirectoryRootError(CatalogueError):
    """The scan root is missing or is not a directory."""


class BundleError(CatalogueError):
    """A scan bundle is unreadable or is not a Catalogage bundle."""


class DiskFullError(CatalogueError):
    """The disk holding the catalogue (or an output or a working folder) is full: what was
    stored before is kept."""


def disk_full(exc: BaseException, fallback: str | None = None) -> DiskFullError | None:
    """A DiskFullError for EXC when it (or what caused it) is a full disk, else None.

    DuckDB reports it in English, in an IOException, a FatalException or, when the WAL
    fails at commit, a TransactionException: only the OS sentence tells. The message names
    the folder (from the error when it quotes a file, else FALLBACK's), its free space and
    what to free: twice the catalogue's size, since a checkpoint writes a new copy of the
    blocks it changes before the old ones are released, and at least 100 MB."""
    import os
    import re
    import shutil

    from catalogue.formatting import french_bytes

    cause = full_disk_cause(exc)
    if cause is None:
        return None
    quoted = re.search(r'"([^"]+)"', str(cause))
    target = getattr(cause, "filename", None) or (quoted.group(1) if quoted else None) or fallback or "."
    folder = os.path.dirname(os.path.abspath(os.fsdecode(target))) or "."
    try:
        free = french_bytes(shutil.disk_usage(folder).free)
    except OSError:
        free = "espace libre inconnu"
    need = max(2 * _size_on_disk(fallback), 100_000_000)
    return DiskFullError(
        f"disque plein dans {folder} ({free} libres) : libérez au moins {french_bytes(need)} puis relancez la "
        "même commande ; ce qui était enregistré est conservé et un scan reprend où il s'est arrêté.")


def full_disk_cause(exc: BaseException | None) -> BaseException | None:
    """The exception in EXC's chain that is a full disk, however DuckDB or the OS words it
    (ENOSPC, an IOException, a failed COMMIT), or None."""
    import errno

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in str(exc):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _size_on_disk(db: str | None) -> int:
    """Bytes of a DuckDB catalogue and its write-ahead log (0 when absent)."""
    import os

    total = 0
    for path in ([db, db + ".wal"] if db else []):
        try:
            total += os.path.getsize(path)
        except OSError:
            pass
    return total


class CommuneCodeError(CatalogueError):
    """A commune code that is neither an INSEE code nor a SIREN."""


class CommuneRenameError(CatalogueError):
    """A scan names an existing commune differently without --renommer."""


# DuckDB's exception classes (by name, so that this module imports nothing) → what went
# wrong, in French; DuckDB's own English detail follows it in the messages.
DUCKDB_REASONS = {
    "ParserException": "la requête n'est pas du SQL valide",
    "CatalogException": "table, vue, colonne ou fonction inconnue (voir docs/schema.md)",
    "BinderException": "colonne inconnue ou types incompatibles",
    "ConversionException": "une valeur ne peut pas être convertie",
    "InvalidInputException": "donnée ou paramètre invalide",
    "OutOfRangeException": "valeur hors limites",
    "PermissionException": "accès refusé (seul le catalogue peut être lu)",
    "IOException": "erreur de lecture ou d'écriture du catalogue",
    "ConstraintException": "contrainte du catalogue non respectée",
    "TransactionException": "transaction interrompue",
    "InterruptException": "opération interrompue",
    "OutOfMemoryException": "mémoire insuffisante",
    "NotImplementedException": "opération non prise en charge par DuckDB",
}

# errno → French reason, for the OSError a user meets (output folder, HOME, a share).
OS_REASONS = {
    errno.EPERM: "opération non permise", errno.ENOENT: "fichier ou dossier introuvable",
    errno.EIO: "erreur d'entrée-sortie du disque", errno.EACCES: "permission refusée",
    errno.EEXIST: "existe déjà", errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EISDIR: "c'est un dossier", errno.EMFILE: "trop de fichiers ouverts", errno.ENOSPC: "disque plein",
    errno.EROFS: "système de fichiers en lecture seule", errno.ENAMETOOLONG: "nom trop long",
    errno.ENOTEMPTY: "dossier non vide", errno.ETIMEDOUT: "délai d'attente dépassé (partage réseau ?)",
    errno.ESTALE: "descripteur de fichier périmé (partage réseau démonté ?)", errno.EDQUOT: "quota disque dépassé",
}


def duckdb_detail(exc: BaseException) -> str:
    """DuckDB's first line for EXC (its English detail), without trailing blanks."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def duckdb_reason(exc: BaseException) -> str:
    """A French sentence saying what kind of DuckDB error EXC is."""
    return DUCKDB_REASONS.get(type(exc).__name__, "DuckDB n'a pas pu exécuter l'opération")


def os_error_line(exc: OSError) -> str:
    """One French line for an OSError: the file it names and why, in French."""
    import os

    reason = OS_REASONS.get(exc.errno or 0) or exc.strerror or str(exc)
    name = exc.filename
    if name is None:
        return f"erreur du système : {reason}."
    target = os.fsdecode(name)
    if exc.errno == errno.EEXIST and os.path.exists(target) and not os.path.isdir(target):
        # mkdir(exist_ok=True) on a file: an output folder named like an existing file.
        reason = "c'est un fichier, pas un dossier"
    if exc.filename2 is not None:
        target += f" → {os.fsdecode(exc.filename2)}"
    return f"accès impossible à {target} : {reason}."
