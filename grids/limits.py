"""Size limits of an imported grid, checked before openpyxl loads it.

An .xlsx is a ZIP of XML files: 352 Ko on disk can hold a 300 Mo cell, which openpyxl
would load whole (3.5 Go of memory) and the import would store. So, before loading:
- the uncompressed size of the members, read from the ZIP central directory (Python's
  zipfile never inflates a member beyond the size declared there), is capped;
- each worksheet's declared dimension is capped in rows and columns;
- the XML is streamed once, in chunks, looking for a text longer than a cell can hold.
After loading, the real extent of every sheet and the length of every text cell are
checked again (a dimension can be missing or lie). Every refusal is one French line
naming the file, and the cell when it is a cell.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from xml.parsers import expat

from openpyxl.utils import get_column_letter, range_boundaries

from catalogue.errors import CatalogueError
from catalogue.formatting import french_bytes, french_int

MAX_CELL_CHARS = 32_767  # Excel's own limit: a référent cannot type more in one cell
MAX_UNCOMPRESSED = 200_000_000  # a grid of 100,000 answered datasets is about 170 Mo
MAX_ROWS = 150_000
MAX_COLUMNS = 200  # the grid has about 30 columns; a référent may add a few
# A cell of MAX_CELL_CHARS characters takes at most 6 bytes a character in the XML
# ("&quot;"), so a longer run of bytes without "<" is certainly an oversized text.
_MAX_TEXT_BYTES = 6 * MAX_CELL_CHARS
_CHUNK = 1 << 20
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"([^\"]+)\"")
_ATTR = re.compile(r'([\w:]+)="([^"]*)"')


class GridTooLargeError(CatalogueError):
    """A workbook, a sheet or a cell is beyond the documented size of a grid."""


class _Found(Exception):
    def __init__(self, where: str):
        self.where = where


def check_archive(path: Path) -> None:
    """Refuse a workbook that would expand beyond a grid's size, before it is loaded."""
    name = path.name
    with zipfile.ZipFile(path) as z:
        infos = [i for i in z.infolist() if not i.is_dir()]
        total = sum(i.file_size for i in infos)
        if total > MAX_UNCOMPRESSED:
            raise GridTooLargeError(
                f"{name} : classeur trop volumineux une fois décompressé ({french_bytes(total)} ; limite "
                f"{french_bytes(MAX_UNCOMPRESSED)}, soit environ 100 000 jeux de données) ; repartez d'une grille "
                "exportée par « catalogue grid export ».")
        sheets = _sheet_names(z)
        xml = [i for i in infos if i.filename in sheets or i.filename.endswith((".xml", ".rels", ".vml"))]
        for info in xml:
            with z.open(info) as fh:
                head = fh.read(1 << 16)
            dimension = _DIMENSION.search(head)
            if dimension:
                _check_extent(name, sheets.get(info.filename, info.filename),
                              dimension.group(1).decode("ascii", "replace"))
        for info in xml:
            if _has_long_text(z, info):
                cell = _locate_long_text(z, info, sheets)
                if cell:
                    raise GridTooLargeError(
                        f"{name} : cellule {cell} trop longue (plus de {french_int(MAX_CELL_CHARS)} caractères, "
                        "la limite d'Excel) ; raccourcissez-la.")
                raise GridTooLargeError(
                    f"{name} : texte de plus de {french_int(MAX_CELL_CHARS)} caractères dans {info.filename} ; "
                    "ce classeur n'est pas une grille exportée par « catalogue grid export ».")


def check_loaded(wb, name: str) -> None:
    """The same limits on the loaded workbook: real extent of each sheet, length of each text."""
    for ws in wb.worksheets:
        if ws.max_row > MAX_ROWS or ws.max_column > MAX_COLUMNS:
            _refuse_extent(name, ws.title, ws.max_row, ws.max_column)
        for cell in ws._cells.values():  # every stored cell, without creating empty ones
            if isinstance(cell.value, str) and len(cell.value) > MAX_CELL_CHARS:
                raise GridTooLargeError(
                    f"{name} : cellule {ws.title}!{cell.coordinate} trop longue ({french_int(len(cell.value))} "
                    f"caractères ; limite {french_int(MAX_CELL_CHARS)}, celle d'Excel) ; raccourcissez-la.")


def _check_extent(name: str, sheet: str, ref: str) -> None:
    try:
        _, _, max_col, max_row = range_boundaries(ref.split(":")[-1])
    except (ValueError, TypeError):
        return  # a dimension openpyxl cannot read either: the loaded extent is checked later
    if (max_row or 0) > MAX_ROWS or (max_col or 0) > MAX_COLUMNS:
        _refuse_extent(name, sheet, max_row or 0, max_col or 0)


def _refuse_extent(name: str, sheet: str, rows: int, columns: int) -> None:
    raise GridTooLargeError(
        f"{name} : la feuille « {sheet} » s'étend jusqu'à la ligne {french_int(rows)} et la colonne "
        f"{get_column_letter(min(max(columns, 1), 18278))} (limite : {french_int(MAX_ROWS)} lignes et "
        f"{MAX_COLUMNS} colonnes) ; supprimez les lignes et colonnes en trop ou repartez d'une grille exportée.")


def _has_long_text(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether the member holds a run of more than _MAX_TEXT_BYTES bytes without "<" (streamed)."""
    run = 0
    with z.open(info) as fh:
        while data := fh.read(_CHUNK):
            pieces = data.split(b"<")
            if len(pieces) == 1:
                run += len(data)
            else:
                if run + len(pieces[0]) > _MAX_TEXT_BYTES or max(map(len, pieces[1:-1]), default=0) > _MAX_TEXT_BYTES:
                    return True
                run = len(pieces[-1])
            if run > _MAX_TEXT_BYTES:
                return True
    return False


def _locate_long_text(z: zipfile.ZipFile, info: zipfile.ZipInfo, sheets: dict[str, str]) -> str | None:
    """Which cell holds the oversized text (« Feuille!B5 »), by a streaming parse of that
    member and, for a shared string, of the worksheets that use it. Only ever run on a
    workbook being refused; None when the text is not in a cell."""
    sheet = sheets.get(info.filename)
    if sheet is not None:
        return _scan(z, info, _CellLength(sheet))
    if info.filename.endswith("sharedStrings.xml"):
        index = _scan(z, info, _SharedStringLength())
        if index is not None:
            for member, title in sheets.items():
                if member in z.NameToInfo:
                    found = _scan(z, z.getinfo(member), _SharedStringUse(title, index))
                    if found:
                        return found
            return f"(texte partagé n° {int(index) + 1}, dans aucune feuille)"
    return None


def _scan(z: zipfile.ZipFile, info: zipfile.ZipInfo, handler) -> str | None:
    parser = expat.ParserCreate()
    parser.buffer_text = False  # text comes in pieces: it is counted, never held
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.text
    parser.StartDoctypeDeclHandler = _no_doctype  # no entity may expand (billion laughs)
    try:
        with z.open(info) as fh:
            while data := fh.read(_CHUNK):
                parser.Parse(data, False)
            parser.Parse(b"", True)
    except _Found as found:
        return found.where
    except (expat.ExpatError, ValueError):  # malformed: openpyxl will say so, or refuse it
        return None
    return None


def _no_doctype(*_args) -> None:
    raise expat.ExpatError("DOCTYPE refused")


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


class _CellLength:
    """Raises _Found("Feuille!B5") at the first cell whose text exceeds the limit."""

    def __init__(self, sheet: str):
        self.sheet, self.cell, self.length, self.in_cell = sheet, "", 0, False
        self.row, self.column = 0, 0

    def start(self, tag: str, attrs: dict) -> None:
        tag = _local(tag)
        if tag == "row":
            self.row = int(attrs["r"]) if attrs.get("r", "").isdigit() else self.row + 1
            self.column = 0
        elif tag == "c":
            # Without « r », cells follow one another from column A.
            self.column = range_boundaries(attrs["r"])[0] if attrs.get("r") else self.column + 1
            self.cell = attrs.get("r") or f"{get_column_letter(self.column)}{self.row}"
            self.length, self.in_cell = 0, True

    def end(self, tag: str) -> None:
        if _local(tag) == "c":
            self.in_cell = False

    def text(self, data: str) -> None:
        if self.in_cell:
            self.length += len(data)
            if self.length > MAX_CELL_CHARS:
                raise _Found(f"{self.sheet}!{self.cell}")


class _SharedStringLength:
    """Raises _Found(index) at the first shared string whose text exceeds the limit."""

    def __init__(self):
        self.index, self.length = -1, 0

    def start(self, tag: str, attrs: dict) -> None:
        if _local(tag) == "si":
            self.index += 1
            self.length = 0

    def end(self, tag: str) -> None:
        pass

    def text(self, data: str) -> None:
        self.length += len(data)
        if self.length > MAX_CELL_CHARS:
            raise _Found(str(self.index))


class _SharedStringUse:
    """Raises _Found("Sheet!B5") at the first cell of type « s » holding that index."""

    def __init__(self, sheet: str, index: str):
        self.sheet, self.index = sheet, index
        self.cell, self.shared, self.in_value, self.value = "", False, False, ""

    def start(self, tag: str, attrs: dict) -> None:
        tag = _local(tag)
        if tag == "c":
            self.cell, self.shared = attrs.get("r", "?"), attrs.get("t") == "s"
        elif tag == "v":
            self.in_value, self.value = True, ""

    def end(self, tag: str) -> None:
        if _local(tag) == "v":
            self.in_value = False
            if self.shared and self.value.strip() == self.index:
                raise _Found(f"{self.sheet}!{self.cell}")

    def text(self, data: str) -> None:
        if self.in_value and len(self.value) < 20:
            self.value += data


def _sheet_names(z: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet member → sheet title, from workbook.xml and its relationships (small files)."""
    try:
        workbook = _small(z, "xl/workbook.xml")
        rels = _small(z, "xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {}
    for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
        attrs = dict(_ATTR.findall(tag))
        target = attrs.get("Target", "")
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[attrs.get("Id")] = member
    names = {}
    for tag in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", workbook):
        attrs = dict(_ATTR.findall(tag))
        rid = next((v for k, v in attrs.items() if _local(k) == "id" and k != "sheetId"), None)
        if rid in targets:
            names[targets[rid]] = _unescape(attrs.get("name", ""))
    return names


def _small(z: zipfile.ZipFile, member: str) -> str:
    info = z.getinfo(member)
    if info.file_size > 1 << 20:
        return ""
    return z.read(info).decode("utf-8", "replace")


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))
