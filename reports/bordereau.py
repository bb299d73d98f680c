"""The draft bordereau d'élimination (XLSX) of a commune, as the Archives départementales
expect one: title, collectivité, services, one line per dataset with its typology, date
range, volume in Mo, DUA and the text it comes from, then the two visa blocks (the
producing service's and the director of archives'), printable on A4 landscape.

No public record may be destroyed without the visa of the person in charge of the
State's scientific and technical control of archives (Code du patrimoine, art. R212-14):
the tool prepares the list, it never deletes. Rows are written as they come (write-only
workbook), however many datasets are to be eliminated. A second sheet lists the déchets
(candidates found by the scan's rules), by category, in Ko.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from catalogue import csvsafe
from catalogue.formatting import french_date, french_int, french_number
from grids.paper import height_for, wrapped_lines

SHEET = "Bordereau d'élimination"
SHEET_DECHETS = "Déchets"
TITLE = "Bordereau d'élimination d'archives publiques"
LEGAL = ("Code du patrimoine, art. R212-14 : toute élimination d'archives publiques est interdite sans le visa "
         "de la personne chargée du contrôle scientifique et technique de l'État sur les archives.")
MB = 1e6
KB = 1e3
# The year the DUA is over (catalogue.roadmap.dua_end): a DUA counted « from the end of the
# year » 2019 for 5 years runs through 31/12/2024, and elimination becomes possible in 2025.
ELIMINABLE = "Année d'élimination possible"
# (header, width in characters): the dataset table.
COLUMNS = [
    ("N°", 5), ("Service producteur", 20), ("Typologie documentaire", 32), ("Dates extrêmes", 12),
    ("Volume (Mo)", 11), ("DUA (années)", 9), ("Point de départ de la DUA", 20), (ELIMINABLE, 12),
    ("Source de la DUA", 40), ("Emplacement", 36), ("Identifiant", 17),
]
HEADING_SERVICES = 8  # beyond, the heading counts the services instead of naming them
HEADER_ROW = 10  # the table's header (after 9 rows of heading): repeated on every printed page
VISA_LINES = ("Nom et qualité :", "Date :", "Signature :")
PRODUCER_VISA = "Visa du service producteur"
ARCHIVES_VISA = "Visa du directeur des Archives départementales"
SERVICE_DUA = "DUA fixée par le service producteur (grille d'audit), à justifier"

_SIDE = Side(style="thin", color="FF808080")
_BOX = Border(left=_SIDE, right=_SIDE, top=_SIDE, bottom=_SIDE)
_HEAD_FILL = PatternFill("solid", start_color="FFD9D9D9")


def dataset_dates(con: duckdb.DuckDBPyConnection, commune: str) -> dict[str, tuple[Any, Any]]:
    """Oldest and newest modification date of each dataset of the commune, as scanned."""
    rows = con.execute("SELECT dataset_id, first_mtime, last_mtime FROM datasets WHERE commune = ?",
                       [commune]).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def date_range(first: Any, last: Any) -> str:
    """« 2015–2019 », « 2019 » when one year, « non mesurées » without a scan."""
    if first is None or last is None:
        return "non mesurées"
    return str(first.year) if first.year == last.year else f"{first.year}–{last.year}"


def write_bordereau(path: Path, ctx: dict, dates: dict[str, tuple[Any, Any]]) -> Path:
    """Write the bordereau of the commune report's context; returns its path."""
    wb = Workbook(write_only=True)
    sheet = _Sheet(wb, SHEET, [w for _, w in COLUMNS], title_rows=f"{HEADER_ROW}:{HEADER_ROW}")
    lines = [_line(n, e, ctx["referentiel"], dates) for n, e in enumerate(ctx["annexes"]["bordereau_datasets"], 1)]
    _heading(sheet, ctx, lines)
    sheet.row([h for h, _ in COLUMNS], font=Font(bold=True), fill=_HEAD_FILL)
    for line in lines:
        sheet.row(line)
    if not lines:
        sheet.row(["", "Aucun jeu de données n'est à éliminer à ce jour."], border=False)
    _visas(sheet)
    _dechets_sheet(wb, ctx["bordereau_dechets"])
    wb.save(path)
    return path


def _line(number: int, entry: Any, referentiel: dict, dates: dict) -> list:
    facts, answers = entry.facts, entry.facts.answers or {}
    first, last = dates.get(facts.dataset_id, (None, None))
    if facts.dataset_id in dates:
        volume = facts.bytes / MB
    else:  # a dataset the référent added: the current stock he declared, if any
        stock = answers.get("volume_stock_go")
        volume = stock * 1000 if stock is not None else facts.bytes / MB
    typology = answers.get("typologie")
    if typology == "Autre" and answers.get("typologie_autre"):
        typology = f"Autre : {answers['typologie_autre']}"
    return [number, answers.get("service"), typology, date_range(first, last), round(volume, 3),
            answers.get("dua_annees"), answers.get("dua_depart"), entry.dua_end,
            _dua_source(answers, referentiel), facts.emplacement, facts.dataset_id]


def _dua_source(answers: dict, referentiel: dict) -> str:
    """The text the DUA comes from: the referential's row when the DUA is its own."""
    rule = referentiel.get(answers.get("typologie_code") or "")
    if rule is not None and (answers.get("dua_suggeree") or answers.get("dua_annees") == rule.get("dua_annees")):
        return rule["source"]
    return SERVICE_DUA


def _heading(sheet: _Sheet, ctx: dict, lines: list[list]) -> None:
    """Rows 1 to HEADER_ROW - 1: title, status of the draft, the law, then who and what."""
    commune = ctx["commune"]
    services = sorted({str(line[1]) for line in lines if line[1]}, key=str.casefold)
    years = [y for line in lines for y in _years(line[3])]
    total = sum(line[4] or 0 for line in lines)
    generated = ctx.get("generated") or dt.date.today()
    sheet.row([TITLE], font=Font(bold=True, size=14), border=False)
    sheet.row([f"Projet établi par Catalogage le {french_date(generated)} : à vérifier, compléter, viser et "
               "signer avant toute élimination."], font=Font(italic=True), border=False)
    sheet.row([LEGAL], font=Font(italic=True), border=False)
    sheet.row([], border=False)
    facts = [("Collectivité :", f"{commune['nom']} ({commune['code']})"),
             ("Services :", (" ; ".join(services) or "—") if len(services) <= HEADING_SERVICES
              else f"{french_int(len(services))} services (colonne « Service producteur »)"),
             ("Articles :", french_int(len(lines))),
             ("Volume total :", f"{french_number(total, 1)} Mo"),
             ("Dates extrêmes :", f"{min(years)}–{max(years)}" if years else "—")]
    for label, value in facts:
        sheet.row(["", label, value], font=Font(bold=True), border=False)


def _years(text: str) -> list[int]:
    return [int(part) for part in str(text).split("–") if part.isdigit()]


def _visas(sheet: _Sheet) -> None:
    """Two boxes side by side: the producing service's visa, the director of archives'."""
    sheet.row([], border=False)
    sheet.row([], border=False)
    left, right = 0, 6  # first column of each box (0-based): A and G
    title = [""] * len(COLUMNS)
    title[left], title[right] = PRODUCER_VISA, ARCHIVES_VISA
    sheet.row(title, font=Font(bold=True), border=False, boxed=(left, right), edge="top")
    for label in VISA_LINES:
        cells = [""] * len(COLUMNS)
        cells[left], cells[right] = label, label
        # Room to write by hand: a signature takes several lines.
        last = label == VISA_LINES[-1]
        sheet.row(cells, border=False, boxed=(left, right), lines=4 if last else 2, edge="bottom" if last else "")


def _dechets_sheet(wb: Workbook, dechets: Iterable[dict]) -> None:
    # In Ko, to the octet: most déchets (temporary files, thumbnails, empty folders' markers)
    # weigh a few Ko, and a category holding something must never read 0.
    headers = [("Catégorie", 24), ("Règle", 36), ("Confiance", 11), ("Entrées", 10), ("Volume (Ko)", 12),
               ("Justification", 50), ("Source", 40)]
    sheet = _Sheet(wb, SHEET_DECHETS, [w for _, w in headers], title_rows="1:1")
    sheet.row([h for h, _ in headers], font=Font(bold=True), fill=_HEAD_FILL)
    for d in dechets:
        sheet.row([d["categorie"], d["libelle"], d["confiance"], d["entries"], round((d["bytes"] or 0) / KB, 3),
                   d["justification"], d["source"]])


_WRAP = Alignment(wrap_text=True, vertical="top")
_BOX_WIDTH = 5  # columns of a visa box


class _Sheet:
    """A write-only sheet set for A4 landscape, one page wide, its table header on every
    page; rows are appended with a height that fits their wrapped text (LibreOffice does
    not compute it for a file it opens)."""

    def __init__(self, wb: Workbook, title: str, widths: list[int], title_rows: str):
        self.ws = wb.create_sheet(title)
        self.widths = widths
        self.count = 0
        for j, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(j)].width = width
        setup = self.ws.page_setup
        setup.paperSize, setup.orientation = Worksheet.PAPERSIZE_A4, Worksheet.ORIENTATION_LANDSCAPE
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        setup.fitToWidth, setup.fitToHeight = 1, 0
        self.ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.2, footer=0.3)
        self.ws.print_title_rows = title_rows
        self.ws.oddFooter.center.text = "&A — page &P / &N"

    def row(self, values: list, *, font: Font | None = None, fill: PatternFill | None = None, border: bool = True,
            boxed: tuple[int, ...] = (), edge: str = "", lines: int = 1) -> None:
        """One row of cells, as strings or numbers, never formulas (catalogue.csvsafe).
        `boxed`: 0-based columns where a visa box starts, `edge` the box's edge this row
        draws (« top », « bottom »); `lines`: the least height in lines."""
        boxes = _box_borders(boxed, edge)
        values = values + [""] * (max(boxes, default=-1) + 1 - len(values))
        cells = []
        for j, value in enumerate(values):
            cell = WriteOnlyCell(self.ws)
            csvsafe.put(cell, None if value == "" else value)
            if font is not None and value not in ("", None):
                cell.font = font
            if fill is not None:
                cell.fill = fill
            if isinstance(value, float):
                # Up to the Ko (Mo) or the octet (Ko): a small volume never reads 0.00.
                cell.number_format = "#,##0.00#"
            if border:
                cell.border = _BOX
            elif j in boxes:
                cell.border = boxes[j]
            if border:
                cell.alignment = _WRAP
                lines = max(lines, wrapped_lines(str(value), self.widths[j], bold=font is not None and font.b))
            cells.append(cell)
        self.count += 1
        if lines > 1:
            self.ws.row_dimensions[self.count].height = height_for(lines)
        self.ws.append(cells)


def _box_borders(starts: tuple[int, ...], edge: str) -> dict[int, Border]:
    """The border of each cell of a row crossing boxes _BOX_WIDTH columns wide: sides on
    the first and last column, top or bottom on the whole width when the row is an edge."""
    borders = {}
    for start in starts:
        for j in range(start, start + _BOX_WIDTH):
            borders[j] = Border(left=_SIDE if j == start else None,
                                right=_SIDE if j == start + _BOX_WIDTH - 1 else None,
                                top=_SIDE if edge == "top" else None, bottom=_SIDE if edge == "bottom" else None)
    return borders
