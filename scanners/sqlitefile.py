"""Opening a SQLite file for `scan-db` without writing anything in its folder.

`mode=ro` alone is not enough: on a WAL-mode database a read-only connection creates
the `-wal` and `-shm` files when they are missing (and leaves them), and it cannot roll
back a hot journal. So the way in is chosen from the file's header and its companions:

- not a SQLite file (empty, wrong header, unreadable catalogue): refused, nothing opened;
- rollback-journal mode: `mode=ro`; a hot `-journal` left by a crashed writer cannot be
  rolled back read-only, so a private copy (database + journal) is rolled back and read;
- WAL mode, no `-wal` (or an empty one) and no live index: every committed page is in
  the main file and no connection is using it, so `immutable=1` reads it with no lock
  and no companion file. (A writer that opens it during the scan is not seen: scan an
  application at rest, or through a copy, for an exact snapshot.)
- WAL mode, `-wal` and `-shm` both present (a live writer, or one that did not close):
  plain `mode=ro` uses them as SQLite's own readers do, sees the last committed
  transaction, and creates nothing (only the `-shm` shared-memory index is updated,
  as by any reader). `immutable=1` would be wrong here: it ignores the `-wal`, whose
  committed transactions may not be in the main file yet.
- WAL mode, a non-empty `-wal` without its `-shm` (a copied folder, a crash): the `-wal`
  may hold committed transactions, and reading it needs an index SQLite would create
  beside the file, so a private copy (database + `-wal`) is read instead.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from catalogue.errors import CatalogueError, DiskFullError
from catalogue.formatting import french_bytes

HEADER = b"SQLite format 3\x00"
SQLITE_READONLY_ROLLBACK = 776


class SqliteFileError(CatalogueError):
    """The file is not a SQLite database that can be read without changing it."""


@dataclass
class SqliteSource:
    """What SQLAlchemy opens for one SQLite file, and the private copy to delete after."""

    uri: str
    how: str
    copy_dir: Path | None = None

    def close(self) -> None:
        if self.copy_dir is not None:
            shutil.rmtree(self.copy_dir, ignore_errors=True)
            self.copy_dir = None


def _uri(path: Path, params: str) -> str:
    return f"file:{quote(str(path))}?{params}"


def _header(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(100)
    except OSError as exc:
        raise SqliteFileError(f"{path} : lecture impossible ({exc.strerror or exc}).") from None


def _probe(uri: str) -> None:
    """Read the schema once, so a damaged file is refused before anything is written."""
    con = sqlite3.connect(uri, uri=True)
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        con.close()


def _private_copy(path: Path, companion: Path, why: str) -> SqliteSource:
    tmp = Path(tempfile.gettempdir())
    needed = path.stat().st_size + companion.stat().st_size
    free = shutil.disk_usage(tmp).free
    if needed > free:
        raise DiskFullError(f"{path} : {why}, il faudrait une copie de travail de {french_bytes(needed)} "
                            f"mais {tmp} n'a que {french_bytes(free)} de libre (variable TMPDIR).")
    copy_dir = Path(tempfile.mkdtemp(prefix="catalogage-sqlite-"))
    try:
        copy = copy_dir / path.name
        shutil.copyfile(path, copy)
        shutil.copyfile(companion, copy_dir / (path.name + companion.name[len(path.name):]))
    except OSError as exc:
        shutil.rmtree(copy_dir, ignore_errors=True)
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(f"{path} : {why}, et le disque de {tmp} est plein pour sa copie de travail "
                                f"({french_bytes(needed)}) ; libérez de la place ou choisissez un autre dossier "
                                "avec la variable TMPDIR.") from None
        raise SqliteFileError(f"{path} : copie de travail impossible ({exc.strerror or exc}).") from None
    # Read-write on our copy only: SQLite replays the -wal or rolls the journal back there.
    return SqliteSource(_uri(copy, "mode=rw"), f"copie de travail, {why}", copy_dir)


def _choose(path: Path, header: bytes) -> SqliteSource:
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if 2 in (header[18], header[19]):  # WAL mode
        if wal.exists() and shm.exists():
            return SqliteSource(_uri(path, "mode=ro"), "lecture seule, WAL en cours d'utilisation")
        if wal.exists() and wal.stat().st_size > 0:
            return _private_copy(path, wal, "journal WAL non fusionné sans son index -shm")
        return SqliteSource(_uri(path, "mode=ro&immutable=1"), "lecture seule, base au repos")
    return SqliteSource(_uri(path, "mode=ro"), "lecture seule")


def open_sqlite(path: Path) -> SqliteSource:
    """How to read `path` without creating or changing any file beside it; refuses non-SQLite files."""
    header = _header(path)
    if not header:
        raise SqliteFileError(f"{path} : fichier vide (0 octet), aucune table à inventorier.")
    if len(header) < 100 or not header.startswith(HEADER):
        raise SqliteFileError(f"{path} : ce fichier n'est pas une base SQLite (en-tête « SQLite format 3 » "
                              "absent ; autre format, ou base chiffrée).")
    source = _choose(path, header)
    try:
        try:
            _probe(source.uri)
        except sqlite3.Error as exc:
            journal = Path(f"{path}-journal")
            if getattr(exc, "sqlite_errorcode", None) != SQLITE_READONLY_ROLLBACK or not journal.is_file():
                raise
            source = _private_copy(path, journal, "transaction interrompue à annuler dans le -journal")
            _probe(source.uri)
    except sqlite3.Error as exc:
        source.close()
        raise SqliteFileError(f"{path} : base SQLite illisible ({exc}).") from None
    return source
