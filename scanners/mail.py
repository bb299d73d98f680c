"""Mailboxes: mbox, Maildir, folders of .eml, Outlook .msg (extract-msg) and .pst (pypff).

Per mail folder: message count, volume, first and last dates, attachment count, volume
and formats (PUID, through siegfried on a private temporary copy of each attachment).
No body, subject or address is stored. A message that cannot be parsed is counted as
unreadable and the scan goes on; a folder that cannot be opened is recorded with its error.

What counts as a message: a non-empty file (or mailbox entry) in which the email package
parses at least one of the header fields From, Sender, To, Date, Subject or Message-ID.
Anything else (an empty file, random bytes, a text note named .eml) is unreadable, with
its reason. A .pst that cannot be read in a folder tree (pypff absent, damaged file) is
recorded as an error of its own and the rest of the tree is read.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import errno
import mailbox
import os
import stat
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from catalogue.errors import CatalogueError, DiskFullError
from scanners.schemas import MAIL_FOLDERS, MAIL_FOLDERS_SCHEMA, MAIL_FORMATS, MAIL_FORMATS_SCHEMA, ScannerInfo
from scanners.siegfried import pygfried

SCANNER = ScannerInfo("mail", (MAIL_FOLDERS, MAIL_FORMATS))

ID_BATCH = 256
MESSAGE_HEADERS = ("From", "Sender", "To", "Date", "Subject", "Message-ID")
NOT_A_MESSAGE = "pas un message (aucun en-tête " + ", ".join(MESSAGE_HEADERS[:-1]) + f" ni {MESSAGE_HEADERS[-1]})"
MAX_REASONS = 10
MAILBOX_SUFFIXES = (".eml", ".msg", ".mbox", ".pst", ".ost")


@dataclass
class FolderStats:
    folder: str
    messages: int = 0
    bytes: int = 0
    first_date: dt.datetime | None = None
    last_date: dt.datetime | None = None
    attachments: int = 0
    attachment_bytes: int = 0
    unreadable: int = 0
    error: str | None = None
    formats: Counter = field(default_factory=Counter)        # (puid, name, mime) → count
    format_bytes: Counter = field(default_factory=Counter)   # (puid, name, mime) → bytes
    reasons: list[str] = field(default_factory=list)         # why messages were unreadable (the first few)

    def unreadable_item(self, name: str, reason: str) -> None:
        self.unreadable += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(f"{name} : {reason}")

    def describe(self) -> str | None:
        """The folder's error and the reasons its messages were unreadable, on one line."""
        parts = ([self.error] if self.error else []) + self.reasons
        hidden = self.unreadable - len(self.reasons)
        if hidden > 0 and self.reasons:
            parts.append(f"et {hidden} autre(s)")
        return " ; ".join(parts) or None

    def date(self, when: dt.datetime | None) -> None:
        if when is None:
            return
        if when.tzinfo is not None:
            when = when.astimezone(dt.UTC).replace(tzinfo=None)
        self.first_date = when if self.first_date is None else min(self.first_date, when)
        self.last_date = when if self.last_date is None else max(self.last_date, when)


class _Identifier:
    """Attachments written to our own temporary folder, identified by siegfried in batches."""

    def __init__(self, tmp: str):
        self.tmp = tmp
        self.pending: list[tuple[str, int, FolderStats]] = []

    def add(self, stats: FolderStats, data: bytes, filename: str | None) -> None:
        ext = Path(filename or "").suffix[:11].lower() if filename else ""
        path = os.path.join(self.tmp, f"{len(self.pending)}{ext if ext.isascii() else ''}")
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            raise DiskFullError(f"Disque plein dans le dossier temporaire {self.tmp} (pièces jointes à identifier) : "
                                "libérez de la place ou choisissez un autre dossier avec la variable TMPDIR, "
                                "puis relancez la même commande.") from None
        self.pending.append((path, len(data), stats))
        if len(self.pending) >= ID_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        identified = pygfried.identify_many([p for p, _, _ in self.pending])["files"]
        results: dict[str, Any] = {r["filename"]: r for r in identified}
        for path, size, stats in self.pending:
            match = (results.get(path, {}).get("matches") or [{}])[0]
            key = (match.get("id") or "UNKNOWN", match.get("format") or None, match.get("mime") or None)
            stats.formats[key] += 1
            stats.format_bytes[key] += size
            os.unlink(path)
        self.pending = []


def _message_date(msg) -> dt.datetime | None:
    value = msg.get("Date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None


def _eml_message(raw: bytes, stats: FolderStats, ident: _Identifier, name: str) -> None:
    stats.bytes += len(raw)
    if not raw:
        stats.unreadable_item(name, "fichier vide")
        return
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        if not any(msg.get(header) is not None for header in MESSAGE_HEADERS):
            stats.unreadable_item(name, NOT_A_MESSAGE)
            return
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            filename = part.get_filename()
            if part.get_content_disposition() == "attachment" or filename:
                payload = part.get_payload(decode=True)  # bytes, or None when there is none
                parts.append((payload if isinstance(payload, bytes) else b"", filename))
    except Exception as exc:  # a malformed message: counted, never fatal
        stats.unreadable_item(name, f"message mal formé ({type(exc).__name__})")
        return
    stats.messages += 1
    stats.date(_message_date(msg))
    for data, filename in parts:
        stats.attachments += 1
        stats.attachment_bytes += len(data)
        ident.add(stats, data, filename)


def _scan_mailbox(box, stats: FolderStats, ident: _Identifier) -> None:
    for number, key in enumerate(box.iterkeys(), start=1):
        try:
            raw = box.get_bytes(key)
        except Exception as exc:
            stats.unreadable_item(f"message n° {number}", f"lecture impossible ({type(exc).__name__})")
            continue
        _eml_message(raw, stats, ident, f"message n° {number}")


def _scan_msg_file(path: Path, stats: FolderStats, ident: _Identifier) -> None:
    try:
        import extract_msg
    except ImportError:
        raise CatalogueError("Lecture des fichiers .msg : installez l'extension « pip install 'catalogage[mail]' ».") \
            from None
    try:
        msg: Any = extract_msg.openMsg(str(path))  # a message, or another Outlook item (no date: unreadable)
        try:
            when = msg.date
            attachments = [(a.data if isinstance(a.data, bytes) else b"", a.longFilename or a.shortFilename)
                           for a in msg.attachments]
        finally:
            msg.close()
    except Exception as exc:
        stats.unreadable_item(path.name, f"fichier Outlook .msg illisible ({type(exc).__name__})")
        stats.bytes += path.stat().st_size
        return
    stats.messages += 1
    stats.bytes += path.stat().st_size
    stats.date(when if isinstance(when, dt.datetime) else None)
    for data, filename in attachments:
        stats.attachments += 1
        stats.attachment_bytes += len(data)
        ident.add(stats, data, filename)


def _pst_folders(path: Path, ident: _Identifier, prefix: str = ""):
    try:
        import pypff
    except ImportError:
        raise CatalogueError("Lecture des fichiers .pst : installez libpff-python (« pip install libpff-python »).") \
            from None
    pst = pypff.file()
    try:
        pst.open(str(path))
    except OSError as exc:
        raise CatalogueError(f"{path.name} : fichier .pst illisible ({exc}).") from None

    def walk(folder, name):
        label = f"{prefix}/{name}" if prefix and name else (prefix or name or "(racine)")
        stats = FolderStats(label)
        for i in range(folder.get_number_of_sub_messages()):
            try:
                message = folder.get_sub_message(i)
                stats.messages += 1
                stats.bytes += message.get_size() if hasattr(message, "get_size") else 0
                stats.date(message.get_delivery_time() or message.get_client_submit_time())
                for k in range(message.get_number_of_attachments()):
                    att = message.get_attachment(k)
                    size = att.get_size()
                    stats.attachments += 1
                    stats.attachment_bytes += size
                    ident.add(stats, att.read_buffer(size), None)
            except OSError:
                stats.unreadable += 1
        if stats.messages or stats.unreadable:
            yield stats
        for i in range(folder.get_number_of_sub_folders()):
            sub = folder.get_sub_folder(i)
            yield from walk(sub, f"{name}/{sub.get_name()}" if name else sub.get_name())

    try:
        yield from walk(pst.get_root_folder(), "")
    finally:
        pst.close()


def _is_maildir(path: Path) -> bool:
    return all((path / d).is_dir() for d in ("cur", "new"))


def _looks_like_mbox(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(5) == b"From "


def _is_regular(path: Path) -> bool:
    """Never open a FIFO, socket or device found in a tree (open() on a FIFO blocks)."""
    return stat.S_ISREG(path.stat().st_mode)


def _sniff_mbox(path: Path) -> bool:
    """An extension-less regular file starting with « From » (Thunderbird's Inbox, Sent…)."""
    try:
        return _is_regular(path) and _looks_like_mbox(path)
    except OSError:
        return False


def scan_mail(path: str | Path) -> Iterator[FolderStats]:
    """Yield one FolderStats per mail folder under `path` (a file or a directory);
    a folder holding no mailbox at all is refused before anything is yielded."""
    root = Path(path)
    if not root.exists():
        raise CatalogueError(f"Messagerie introuvable : {root}")
    found = False
    with tempfile.TemporaryDirectory(prefix="catalogage-pj-") as tmp:
        ident = _Identifier(tmp)
        for stats in _folders(root, ident):
            ident.flush()
            found = True
            yield stats
    if not found:
        raise CatalogueError(f"{root} : aucune messagerie dans ce dossier (ni mbox, Maildir, .eml, .msg ou .pst).")


def to_batches(folders: list[FolderStats], application: str) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """The `mail_folders` and `mail_attachment_formats` rows of the folders `scan_mail` yielded, for APPLICATION."""
    rows = pa.RecordBatch.from_pylist([
        {"application": application, "folder": s.folder, "messages": s.messages, "bytes": s.bytes,
         "first_date": s.first_date, "last_date": s.last_date, "attachments": s.attachments,
         "attachment_bytes": s.attachment_bytes, "unreadable": s.unreadable, "error": s.describe()}
        for s in folders], schema=MAIL_FOLDERS_SCHEMA)
    formats = [{"application": application, "folder": s.folder, "puid": puid, "format_name": name, "mime": mime,
                "attachments": count, "bytes": s.format_bytes[(puid, name, mime)]}
               for s in folders for (puid, name, mime), count in sorted(s.formats.items(), key=lambda kv: str(kv[0]))]
    return rows, pa.RecordBatch.from_pylist(formats, schema=MAIL_FORMATS_SCHEMA)


def _folders(root: Path, ident: _Identifier) -> Iterator[FolderStats]:
    if root.is_file():
        yield from _file_folders(root, ident)
    elif _is_maildir(root):
        yield from _maildir(root, ident)
    else:
        yield from _tree_folders(root, ident)


def _file_folders(root: Path, ident: _Identifier) -> Iterator[FolderStats]:
    """A mailbox in one file: a .pst's folders, or one folder (.msg, .eml, mbox)."""
    suffix = root.suffix.lower()
    if suffix == ".pst" or suffix == ".ost":
        yield from _pst_folders(root, ident)
        return
    stats = FolderStats(root.name)
    if suffix == ".msg":
        _scan_msg_file(root, stats, ident)
    elif suffix == ".eml":
        _eml_message(root.read_bytes(), stats, ident, root.name)
    elif suffix == ".mbox" or _looks_like_mbox(root):
        _open_mbox(root, stats, ident)
    else:
        raise CatalogueError(f"{root.name} : format de messagerie non reconnu (attendu : mbox, Maildir, "
                             "dossier de .eml, .msg ou .pst).")
    yield stats


def _tree_folders(root: Path, ident: _Identifier) -> Iterator[FolderStats]:
    """A folder tree: each folder's .eml and .msg files form a mail folder; each mbox
    file and each Maildir is a folder of its own."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        rel = here.relative_to(root).as_posix()
        if _is_maildir(here):
            yield from _maildir(here, ident, prefix="" if rel == "." else rel)
            dirnames[:] = []
            continue
        dirnames.sort()
        stats = FolderStats("(racine)" if rel == "." else rel)
        for name in sorted(filenames):
            yield from _tree_file(here / name, name if rel == "." else f"{rel}/{name}", stats, ident)
        if stats.messages or stats.unreadable:
            yield stats


def _tree_file(file: Path, label: str, stats: FolderStats, ident: _Identifier):
    """One file of a folder tree: a message added to `stats`, or mail folders of its own."""
    suffix = file.suffix.lower()
    if suffix not in MAILBOX_SUFFIXES and not (suffix == "" and _sniff_mbox(file)):
        return
    try:
        if not _is_regular(file):
            stats.unreadable_item(file.name, "pas un fichier ordinaire")
        elif suffix == ".eml":
            _eml_message(file.read_bytes(), stats, ident, file.name)
        elif suffix == ".msg":
            _scan_msg_file(file, stats, ident)
        elif suffix in (".pst", ".ost"):
            yield from _pst_in_tree(file, label, ident)
        else:  # .mbox, or an extension-less mbox
            sub = FolderStats(label)
            _open_mbox(file, sub, ident)
            yield sub
    except OSError as exc:
        stats.unreadable_item(file.name, exc.strerror or str(exc))
    except DiskFullError:
        raise  # no room for our own temporary files: the scan cannot go on
    except CatalogueError as exc:  # a missing optional library (.msg): this file is unread, the rest goes on
        stats.unreadable_item(file.name, str(exc))


def _pst_in_tree(file: Path, label: str, ident: _Identifier):
    try:
        yield from _pst_folders(file, ident, prefix=label)
    except DiskFullError:
        raise
    except (CatalogueError, OSError) as exc:
        reason = str(exc) if isinstance(exc, CatalogueError) else (exc.strerror or str(exc))
        yield FolderStats(label, error=reason if reason.startswith(f"{file.name} : ") else f"{file.name} : {reason}")


def _open_mbox(path: Path, stats: FolderStats, ident: _Identifier) -> None:
    try:
        box = mailbox.mbox(str(path), create=False)
        try:
            _scan_mailbox(box, stats, ident)
        finally:
            box.close()
    except (OSError, mailbox.Error) as exc:
        stats.error = f"lecture impossible : {exc}"


def _maildir(path: Path, ident: _Identifier, prefix: str = ""):
    box = mailbox.Maildir(str(path), factory=None, create=False)
    stats = FolderStats(prefix or "Boîte de réception")
    _scan_mailbox(box, stats, ident)
    yield stats
    for name in sorted(box.list_folders()):
        sub = FolderStats(f"{prefix}/{name}" if prefix else name)
        try:
            _scan_mailbox(box.get_folder(name), sub, ident)
        except (OSError, mailbox.Error) as exc:
            sub.error = f"lecture impossible : {exc}"
        yield sub
