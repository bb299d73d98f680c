"""What a file given as a grid really is, from its first bytes, so that a refusal names
the type found and says what to do (a référent sends back an .ods, an old .xls, a CSV
renamed .xlsx, a workbook saved with a password…), instead of a ZIP library's error.

Only the head of the file and, for a ZIP, its list of members are read.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from catalogue.errors import CatalogueError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file: .xls, .doc, encrypted OOXML
ZIP_MAGIC = b"PK\x03\x04"
HEAD = 1 << 16
CHUNK = 1 << 20

SAVE_AS_XLSX = ("ouvrez-le dans Excel ou LibreOffice et enregistrez-le au format « Classeur Excel (.xlsx) », "
                "puis importez ce fichier")
START_AGAIN = "repartez de la grille envoyée (produite par « catalogue grid export »)"


class NotAWorkbookError(CatalogueError):
    """The file given as a grid is not an .xlsx workbook; the message names what it is."""


def check_is_xlsx(path: Path) -> None:
    """Refuse, in one French line, a file that is not an Office Open XML workbook."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD)
    problem = _describe(path, head)
    if problem:
        raise NotAWorkbookError(f"{path.name} : {problem}.")


def _describe(path: Path, head: bytes) -> str | None:
    """Why the file is not an .xlsx (None if it looks like one)."""
    if not head:
        return f"fichier vide (0 octet) : le fichier a été mal copié ou mal enregistré ; {START_AGAIN}"
    if head.startswith(OLE_MAGIC):
        return _ole(path)
    if head.startswith(ZIP_MAGIC):
        return _zip(path)
    if head.lstrip().startswith(b"%PDF"):
        return f"document PDF, pas un classeur ; {START_AGAIN}"
    if head.lstrip()[:100].lower().startswith((b"<!doctype html", b"<html")):
        return f"page web (HTML) renommée en .xlsx ; {SAVE_AS_XLSX}"
    if _is_text(head):
        return f"fichier texte (CSV ?) renommé en .xlsx, pas un classeur ; {SAVE_AS_XLSX}"
    return f"ce fichier n'est pas un classeur Excel (.xlsx) ; {START_AGAIN}"


def _ole(path: Path) -> str:
    # Directory entry names are UTF-16LE; an encrypted OOXML workbook holds its real ZIP in
    # an « EncryptedPackage » stream described by « EncryptionInfo » (MS-OFFCRYPTO).
    if _contains(path, "EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le")):
        return ("classeur protégé par un mot de passe, que l'import ne peut pas ouvrir ; ouvrez-le, retirez le "
                "mot de passe (Excel : Fichier > Informations > Protéger le classeur ; LibreOffice : Enregistrer "
                "sous, sans cocher « Enregistrer avec mot de passe ») et importez-le à nouveau")
    if _contains(path, "Workbook".encode("utf-16-le"), "Book".encode("utf-16-le")):
        return f"classeur Excel 97-2003 (.xls), ancien format ; {SAVE_AS_XLSX}"
    return f"document Office d'ancien format (OLE), pas un classeur .xlsx ; {START_AGAIN}"


def _contains(path: Path, *needles: bytes) -> bool:
    """Whether any of `needles` occurs in the file, read in chunks: the directory of a
    compound file may sit anywhere in it."""
    overlap = max(map(len, needles)) - 1
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            data = tail + chunk
            if any(n in data for n in needles):
                return True
            tail = data[-overlap:]
    return False


def _zip(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            mimetype = z.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, KeyError):
        return f"archive ZIP abîmée ou incomplète (fichier tronqué ?) ; {START_AGAIN}"
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return ("classeur OpenDocument (.ods) de LibreOffice ; dans LibreOffice, Fichier > Enregistrer sous, type "
                "« Excel 2007-365 (.xlsx) », puis importez ce fichier")
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        return f"document OpenDocument qui n'est pas un classeur ; {START_AGAIN}"
    if "xl/workbook.xml" in names:
        return None
    if "word/document.xml" in names:
        return f"document Word (.docx), pas un classeur ; {START_AGAIN}"
    return f"archive ZIP qui n'est pas un classeur Excel (.xlsx) ; {START_AGAIN}"


def _is_text(head: bytes) -> bool:
    """Whether the head reads as text (UTF-8, UTF-16 with BOM or a single-byte charset)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    printable = sum(1 for b in head if b >= 0x20 or b in (0x09, 0x0A, 0x0D))
    return printable >= 0.95 * len(head)
