"""The grid on screen in LibreOffice and on paper: row heights computed from the text
(LibreOffice does not grow a row for wrapped text it reads from an .xlsx, so lines
overlapped), and print settings (A4, orientation, pages wide, repeated header row).

Column widths are in characters of the default font (Calibri 11, Excel's unit); a line
of that font takes 15 points.
"""

from __future__ import annotations

import math

from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

LINE_POINTS = 15.0
PADDING_POINTS = 3.0
# Characters of the default font across an A4 page at 100 %, within 1 cm margins:
# 277 mm landscape, 190 mm portrait, at about 1.85 mm a character.
CHARS_LANDSCAPE = 150
CHARS_PORTRAIT = 102
# Without Calibri, LibreOffice draws a wider font (DejaVu Sans): fewer characters a line.
FALLBACK_FONT = 0.85
MIN_SCALE = 0.55  # below this a printed grid is no longer readable: the grid spreads over more pages wide


def wrapped_lines(text: str, width: float, size: float = 11, bold: bool = False) -> int:
    """How many lines `text` takes once wrapped in a column `width` characters wide."""
    capacity = max(1, int((width - 1) * 11 / size * (0.92 if bold else 1.0) * FALLBACK_FONT))
    lines = 0
    for paragraph in str(text).split("\n"):
        used, count = 0, 1
        for word in paragraph.split():
            length = len(word)
            while length > capacity:  # a word longer than the column is cut anywhere
                count += 1 if used else 0
                length -= capacity
                used = 0
            if used and used + 1 + length > capacity:
                count += 1
                used = length
            else:
                used += (1 if used else 0) + length
        lines += count
    return max(lines, 1)


def clip(text: str, width: float, lines: int) -> str:
    """TEXT cut, at a word, to what `lines` lines of a column `width` wide hold, ending
    with « … »: LibreOffice prints a wrapped text taller than its row over the rows below."""
    if wrapped_lines(text, width) <= lines:
        return text
    words = str(text).split()
    low, high = 0, len(words)  # the most words that fit with the ellipsis
    while low < high:
        mid = (low + high + 1) // 2
        if wrapped_lines(" ".join(words[:mid]) + " …", width) <= lines:
            low = mid
        else:
            high = mid - 1
    return " ".join(words[:low] + ["…"])


def height_for(lines: int, size: float = 11) -> float:
    """Row height in points for `lines` lines of a font of `size` points."""
    return round(lines * LINE_POINTS * size / 11 + PADDING_POINTS, 1)


def pages_wide(total_width: float, landscape: bool = True) -> int:
    """Pages across the sheet needs so that it prints at MIN_SCALE or larger."""
    per_page = (CHARS_LANDSCAPE if landscape else CHARS_PORTRAIT) / MIN_SCALE
    return max(1, math.ceil(total_width / per_page))


def set_print(ws: Worksheet, *, landscape: bool, wide: int = 1, tall: int = 0, title_rows: str | None = None,
              area: str | None = None) -> None:
    """A4, the orientation given, `wide` pages across and `tall` down (0: as many as it
    takes), the header rows on every page, page numbers in the footer."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE if landscape else ws.ORIENTATION_PORTRAIT
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = wide
    ws.page_setup.fitToHeight = tall
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.2, footer=0.3)
    ws.print_options.horizontalCentered = False
    ws.page_setup.pageOrder = "overThenDown"
    if title_rows:
        ws.print_title_rows = title_rows
    if area:
        ws.print_area = area
    ws.print_options.gridLines = True  # rows to write in by hand on paper
    ws.oddFooter.center.text = "&A — page &P / &N"
