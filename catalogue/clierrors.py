"""What the user sees when something goes wrong: one French line, exit 1, never a traceback.

`user_error` turns the library's exceptions (CatalogueError), the OS's (an unwritable output
folder, a missing one) and DuckDB's into a `UserError`; `last_resort` turns anything else
into « Erreur interne : … » unless CATALOGUE_DEBUG=1 asks for the traceback.
"""

from __future__ import annotations

import atexit
import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path

import click
import duckdb

from catalogue.errors import CatalogueError, disk_full, duckdb_detail, duckdb_reason, os_error_line

DEBUG_VARIABLE = "CATALOGUE_DEBUG"


class UserError(click.ClickException):
    """A library error shown to the user: « Erreur : » then the French message, exit 1."""

    def show(self, file=None) -> None:
        click.echo(f"Erreur : {self.format_message()}", file=file or sys.stderr)


def debug() -> bool:
    """True when the user asked for Python's own tracebacks."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


def user_error(exc: BaseException, db: str | None) -> UserError | None:
    """The one-line French error for EXC, or None when EXC is not one a user can cause."""
    if isinstance(exc, CatalogueError):
        return UserError(str(exc))
    if isinstance(exc, duckdb.OutOfMemoryException):
        return UserError("Mémoire insuffisante pour DuckDB : augmentez CATALOGUE_MEMOIRE_DUCKDB "
                         "(par ex. 1GB) et relancez la même commande, qui reprendra le scan.")
    if isinstance(exc, (duckdb.Error, OSError)):
        from catalogue.store import default_db_path

        full = disk_full(exc, db or default_db_path())
        if full is not None:
            return UserError(str(full))
    if isinstance(exc, OSError) and exc.errno != errno.EPIPE:
        return UserError(os_error_line(exc))
    if isinstance(exc, duckdb.Error):
        return UserError(f"le catalogue DuckDB a refusé l'opération : {duckdb_reason(exc)} "
                         f"(détail de DuckDB : {duckdb_detail(exc)}).")
    return None


class InternalError(UserError):
    """An exception no code path expected: « Erreur interne : », exit 1."""

    def show(self, file=None) -> None:
        click.echo(self.format_message(), file=file or sys.stderr)


def internal_error(exc: BaseException) -> InternalError:
    """The last resort: an unexpected exception as one French line."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return InternalError(f"Erreur interne : {what} ; relancez avec {DEBUG_VARIABLE}=1 pour le détail.")


def last_resort(exc: Exception) -> UserError | None:
    """What to raise instead of EXC escaping from a command, or None to let it through
    (click's own exceptions, a broken pipe, or CATALOGUE_DEBUG set)."""
    if isinstance(exc, (click.ClickException, click.exceptions.Exit, click.Abort)) or debug():
        return None
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
        return None  # click's main quiets a closed pipe (catalogue sql … | head)
    return user_error(exc, None) or internal_error(exc)


def _writable_dir(path: Path) -> bool:
    """True when PATH is a writable folder or could be created (its first existing ancestor
    is a writable folder); nothing is created."""
    while not path.exists():
        if path.parent == path:
            return False
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def quiet_matplotlib() -> None:
    """Point Matplotlib at a private temporary folder when its config or cache folder
    (under HOME) cannot be written: otherwise it prints an English warning on first import.
    Matplotlib uses MPLCONFIGDIR for both; the folder goes at exit."""
    if os.environ.get("MPLCONFIGDIR"):
        return
    home = Path.home()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib"
    if _writable_dir(config) and _writable_dir(cache):
        return
    folder = tempfile.mkdtemp(prefix="catalogue-matplotlib-")
    os.environ["MPLCONFIGDIR"] = folder
    atexit.register(shutil.rmtree, folder, True)
