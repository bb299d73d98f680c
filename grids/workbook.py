"""The grid workbook as written: sheets, styles, data validation, print settings.

grids.export gathers the rows from the catalogue; this module lays them out. Every text
from file names or people is written as a string cell (catalogue.csvsafe), never a formula.
"""

from __future__ import annotations

from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from catalogue.csvsafe import put
from grids import paper, spec
from grids.spec import AUTRE, COLUMNS, SHEET_GRID, SHEET_GUIDE, SHEET_LISTS, SHEET_META, SHEET_REFERENTIEL, TYPOLOGIES

# Blank rows left unlocked under the datasets, for datasets no scan saw.
SPARE_ROWS = 200

FILL_PREFILLED = PatternFill("solid", start_color="FFE7E6E6")
FILL_TO_FILL = PatternFill("solid", start_color="FFDDEBF7")
FILL_MISSING = PatternFill("solid", start_color="FFF8CBAD", end_color="FFF8CBAD")
# Cells to fill are bordered: on paper there are boxes to write in, and LibreOffice prints
# the pages of empty answer columns (it skips pages without content or borders).
_SIDE = Side(style="thin", color="FFBFBFBF")
BORDER = Border(left=_SIDE, right=_SIDE, top=_SIDE, bottom=_SIDE)
GUIDE_WIDTH = 80  # about 150 mm: fits a portrait A4 page even where LibreOffice draws a wider font
DATA_ROW_LINES = 2  # the least height of a dataset's row, the height of a spare row
# A dataset's row grows to its longest text up to this; a pre-filled text longer still is
# cut with « … » (LibreOffice prints what a row cannot hold over the rows below it).
MAX_ROW_LINES = 6
PRINTED_SPARE_ROWS = 10  # blank rows printed under the datasets, to write in by hand
# Required on a row the référent adds (no identifier): where the data is, and how much.
REQUIRED_WHEN_ADDED = ("emplacement", "volume_stock_go", "volume_annuel_go")


def write_workbook(path: Path, rows: list[dict], referentiel: list[tuple], meta: dict[str, str]) -> None:
    """Write the grid workbook atomically: a reader never sees a half-written file."""
    wb = Workbook()
    _guide_sheet(wb.active, meta["commune"], meta["nom_commune"], meta.get("service"))
    lists = _lists_sheet(wb, [r[2] for r in referentiel])
    _grid_sheet(wb, rows, lists)
    _referentiel_sheet(wb, referentiel)
    _meta_sheet(wb, meta)
    wb.active = 1
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partiel")
    wb.save(tmp)
    tmp.replace(path)


def _guide_sheet(ws, commune: str, nom: str, service: str | None = None) -> None:
    ws.title = SHEET_GUIDE
    ws.column_dimensions["A"].width = GUIDE_WIDTH
    scope = f" — service {service}" if service else ""
    lines = [
        (f"Grille d'audit Catalogage — {nom} ({commune}){scope}", Font(bold=True, size=14)),
        ("", None),
        ("À quoi sert cette grille ?", Font(bold=True)),
        ("Chaque ligne de la feuille « Recensement » est un jeu de données repéré sur les serveurs de la commune "
         "(un dossier, une application). Vous seul pouvez dire ce qu'il contient et ce qu'il vaut : vos réponses "
         "décident de ce qui sera versé au système d'archivage électronique (SAE), conservé ou éliminé.", None),
        ("", None),
        ("Comment la remplir ?", Font(bold=True)),
        ("1. Les colonnes grises sont remplies par Catalogage (volumes, dates, formats) : elles sont verrouillées.",
         None),
        ("2. Remplissez les colonnes bleues. Les colonnes marquées d'une étoile (*) sont obligatoires ; tant "
         "qu'elles sont vides, elles restent surlignées en orange.", None),
        ("3. Quand une liste déroulante apparaît, choisissez une valeur de la liste. Cliquez sur une cellule pour "
         "lire l'aide.", None),
        ("4. Typologie : choisissez la plus proche dans la liste (la feuille « Référentiel » donne la durée "
         "d'utilité administrative et le sort final de chacune). Si aucune ne convient, choisissez « Autre » et "
         "décrivez-la dans la colonne suivante.", None),
        ("5. DUA et sort final : laissez-les vides pour reprendre ceux du référentiel ; ne les remplissez que si "
         "votre service applique une règle différente.", None),
        ("6. Des données ne figurent pas dans la liste (une application métier, une clé USB, une messagerie) ? "
         "Ajoutez une ligne sous les autres : laissez l'identifiant vide, indiquez l'emplacement, le volume "
         "actuel estimé (ce qui existe déjà) et le volume annuel estimé (ce qui s'ajoute chaque année), en Go, "
         "sans écrire l'unité.", None),
        ("7. Vous pouvez remplir la grille en plusieurs fois : une ligne laissée entièrement vide n'est pas "
         "importée, une ligne commencée doit être complète.", None),
        ("8. Enregistrez le fichier au format .xlsx (Excel ou LibreOffice) et renvoyez-le à l'archiviste.", None),
        ("", None),
        ("Exemple de ligne remplie", Font(bold=True)),
        ("Service producteur : Urbanisme — Typologie : Autorisations d'urbanisme accordées — Activité : instruction "
         "des permis de construire — Environnement : Application métier (Cart@DS) — Hébergement : Serveur de "
         "fichiers — Valeur juridique : Forte — Valeur stratégique : Moyenne — Valeur patrimoniale : Forte — "
         "Signées : Non — Données personnelles : Oui — DUA et sort final : vides (référentiel) — Priorité : "
         "Haute — Rempli par : Jeanne Martin, instructrice ADS — Date : 22/11/2026.", None),
        ("", None),
        ("Ne modifiez pas la structure de la feuille : les colonnes peuvent être déplacées, mais pas renommées.",
         Font(italic=True)),
    ]
    for i, (text, font) in enumerate(lines, start=1):
        cell = ws.cell(row=i, column=1)
        put(cell, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if font:
            cell.font = font
        size = font.sz if font is not None and font.sz else 11
        bold = bool(font is not None and font.b)
        ws.row_dimensions[i].height = paper.height_for(paper.wrapped_lines(text, GUIDE_WIDTH, size, bold), size)
    # One page: the guide is read, or printed, as a whole.
    paper.set_print(ws, landscape=False, tall=1)
    ws.protection.sheet = True


def _lists_sheet(wb: Workbook, typologies: list[str]) -> dict[str, str]:
    """Hidden sheet with one column per closed list; returns column key → range formula."""
    ws = wb.create_sheet(SHEET_LISTS)
    ws.sheet_state = "hidden"
    ranges = {}
    col_index = 0
    for column in COLUMNS:
        if column.kind != "choice":
            continue
        values = list(typologies) + [AUTRE] if column.choices == TYPOLOGIES else list(column.choices)
        col_index += 1
        letter = get_column_letter(col_index)
        put(ws.cell(row=1, column=col_index), column.header)
        for i, value in enumerate(values, start=2):
            put(ws.cell(row=i, column=col_index), value)
        ranges[column.key] = f"{quote_sheetname(SHEET_LISTS)}!${letter}$2:${letter}${len(values) + 1}"
    ws.protection.sheet = True
    return ranges


def _validation(column: spec.Column, lists: dict[str, str]) -> DataValidation:
    prompt = column.help[:255]  # Excel's limit for input messages
    title = column.header[:32]
    common = dict(allow_blank=True, showInputMessage=True, promptTitle=title, prompt=prompt,
                  showErrorMessage=True, errorTitle="Valeur non valide")
    if column.kind == "choice":
        return DataValidation(type="list", formula1=f"={lists[column.key]}",
                              error=column.error or f"{column.header} : choisissez une valeur de la liste.", **common)
    if column.kind == "int":
        return DataValidation(type="whole", operator="between", formula1="0", formula2="1000",
                              error=column.error or "Saisissez un nombre entier.", **common)
    if column.kind == "decimal":
        return DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                              error=column.error or "Saisissez un nombre positif, sans unité.", **common)
    if column.kind == "date":
        return DataValidation(type="date", operator="greaterThan", formula1="DATE(1970,1,1)",
                              error=column.error or "Saisissez une date (jj/mm/aaaa).", **common)
    return DataValidation(showErrorMessage=False, **{k: v for k, v in common.items() if k != "showErrorMessage"})


NUMBER_FORMATS = {"int": "#,##0", "decimal": "#,##0.0##", "date": "DD/MM/YYYY", "percent": "0.0%"}


def _grid_sheet(wb: Workbook, rows: list[dict], lists: dict[str, str]) -> None:
    ws = wb.create_sheet(SHEET_GRID, 1)
    last = len(rows) + 1
    last_open = last + SPARE_ROWS
    last_letter = get_column_letter(len(COLUMNS))
    header_lines = 1
    for j, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(j)
        head = ws.cell(row=1, column=j)
        put(head, column.title)
        head.font = Font(bold=True)
        head.fill = FILL_PREFILLED if column.prefilled else FILL_TO_FILL
        head.alignment = Alignment(wrap_text=True, vertical="top")
        header_lines = max(header_lines, paper.wrapped_lines(column.title, column.width, bold=True))
        ws.column_dimensions[letter].width = column.width
        dv = _validation(column, lists)
        ws.add_data_validation(dv)
        dv.add(f"{letter}2:{letter}{last_open}")
        _highlight_missing(ws, column, letter, last_open, last_letter)
    ws.row_dimensions[1].height = paper.height_for(header_lines)
    data_height = paper.height_for(DATA_ROW_LINES)
    styles = _CellStyles()
    for i, row in enumerate(rows, start=2):
        row = _fitted(row)
        ws.row_dimensions[i].height = paper.height_for(_row_lines(row))
        for j, column in enumerate(COLUMNS, start=1):
            cell = ws.cell(row=i, column=j)
            styles.apply(cell, column, open_=not column.prefilled, border=True)
            put(cell, row.get(column.key))  # after the style: it may set the cell's quote prefix
    # Spare rows: everything but the identifier can be typed in.
    for i in range(last + 1, last_open + 1):
        ws.row_dimensions[i].height = data_height
        printed = i <= last + PRINTED_SPARE_ROWS
        for j, column in enumerate(COLUMNS, start=1):
            if column.key in ("dataset_id", "commune", "etat") and not printed:
                continue
            styles.apply(ws.cell(row=i, column=j), column,
                         open_=column.key not in ("dataset_id", "commune", "etat"), border=printed)
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{last_letter}{max(last, 2)}"
    paper.set_print(ws, landscape=True, wide=grid_pages_wide(), title_rows="1:1",
                    area=f"A1:{last_letter}{last + PRINTED_SPARE_ROWS}")
    # Protected without password: pre-filled cells are locked, the rest stays editable,
    # and filtering, sorting and resizing still work.
    ws.protection.sheet = True
    ws.protection.autoFilter = False
    ws.protection.sort = False
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def _row_lines(row: dict) -> int:
    """Lines a dataset's row needs for its longest text, DATA_ROW_LINES to MAX_ROW_LINES."""
    needed = max((paper.wrapped_lines(value, c.width) for c in COLUMNS
                  if isinstance(value := row.get(c.key), str) and value), default=1)
    return min(max(needed, DATA_ROW_LINES), MAX_ROW_LINES)


def _fitted(row: dict) -> dict:
    """ROW with each pre-filled text cut to MAX_ROW_LINES lines of its column."""
    fitted = dict(row)
    for c in COLUMNS:
        value = row.get(c.key)
        if c.prefilled and isinstance(value, str):
            fitted[c.key] = paper.clip(value, c.width, MAX_ROW_LINES)
    return fitted


class _CellStyles:
    """The style of a grid cell, built once per (column, open, bordered) and then copied:
    assigning openpyxl style objects cell by cell hashes them each time, which took most
    of the export of a large grid."""

    # Wrapped and of fixed height: a long text stays in its cell (clipped), it never
    # spills over the empty orange cells beside it.
    WRAP = Alignment(wrap_text=True, vertical="top")

    def __init__(self) -> None:
        self._done: dict[tuple[str, bool, bool], StyleArray] = {}

    def apply(self, cell, column: spec.Column, *, open_: bool, border: bool) -> None:
        key = (column.key, open_, border)
        style = self._done.get(key)
        if style is not None:
            cell._style = copy(style)
            return
        cell.alignment = self.WRAP
        if border:
            cell.border = BORDER
        if column.kind in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[column.kind]
        if open_:
            cell.protection = Protection(locked=False)
        self._done[key] = copy(cell._style)


def grid_pages_wide() -> int:
    """Pages across the printed « Recensement » sheet (its print settings say so)."""
    return paper.pages_wide(sum(c.width for c in COLUMNS))


def _highlight_missing(ws, column: spec.Column, letter: str, last_open: int, last_letter: str) -> None:
    """Orange while a required cell is empty, on every row that holds something: the
    datasets, and the spare rows as soon as the référent starts one."""
    started = f"COUNTA($A2:${last_letter}2)>0"
    if column.required:
        formula = f"AND(LEN(TRIM({letter}2))=0,{started})"
    elif column.key in REQUIRED_WHEN_ADDED:
        formula = f"AND(LEN(TRIM({letter}2))=0,LEN(TRIM($A2))=0,{started})"  # column A: the identifier
    else:
        return
    ws.conditional_formatting.add(f"{letter}2:{letter}{last_open}",
                                  FormulaRule(formula=[formula], fill=FILL_MISSING, stopIfTrue=False))


def _referentiel_sheet(wb: Workbook, referentiel: list[tuple]) -> None:
    ws = wb.create_sheet(SHEET_REFERENTIEL)
    headers = ["Code", "Domaine", "Typologie", "DUA (années)", "Point de départ de la DUA", "Sort final", "Source"]
    widths = [12, 22, 48, 10, 28, 14, 70]
    for j, (h, w) in enumerate(zip(headers, widths), start=1):
        cell = ws.cell(row=1, column=j)
        put(cell, h)
        cell.font = Font(bold=True)
        ws.column_dimensions[get_column_letter(j)].width = w
    for i, rec in enumerate(referentiel, start=2):
        for j, value in enumerate(rec, start=1):
            put(ws.cell(row=i, column=j), value)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:G{len(referentiel) + 1}"
    paper.set_print(ws, landscape=True, title_rows="1:1")
    ws.protection.sheet = True
    ws.protection.autoFilter = False


def _meta_sheet(wb: Workbook, meta: dict[str, str]) -> None:
    ws = wb.create_sheet(SHEET_META)
    ws.sheet_state = "hidden"
    for i, (k, v) in enumerate(meta.items(), start=1):
        put(ws.cell(row=i, column=1), k)
        put(ws.cell(row=i, column=2), v)
    ws.protection.sheet = True
