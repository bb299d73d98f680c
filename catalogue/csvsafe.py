"""Cells a spreadsheet reads as text: the one rule for every CSV and XLSX we write.

Excel and LibreOffice evaluate a cell whose text starts with =, +, -, @, a tab or a
carriage return (OWASP « CSV injection »): a commune named `=HYPERLINK(…)` would become
a live link. Names of files, folders, communes and référents' answers are data, so:
- in CSV, such a text gets a leading apostrophe, which spreadsheets show as text;
- in XLSX, text is always a string cell (never a formula), with the « quote prefix »
  style on such texts so that editing the cell keeps it text.
Numbers stay numbers (a negative volume is not a formula): only text is neutralised.

This module sits at the bottom layer (standard library and openpyxl only), so that
grids, roadmap and reports all use it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text a spreadsheet would evaluate gets a leading apostrophe; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer whose every text cell goes through `neutralise`."""

    def __init__(self, fh: IO[str], **fmt: Any):
        self._writer = csv.writer(fh, **fmt)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(fh: IO[str], **fmt: Any) -> SafeWriter:
    """The CSV writer of the project (same arguments as csv.writer)."""
    return SafeWriter(fh, **fmt)


def put(cell, value: Any) -> None:
    """Write a value into an openpyxl cell: text is always a string cell, never a formula,
    and characters XML cannot hold are shown escaped (\\x01) instead of breaking the file."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None:
        return
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
        cell.value = value
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True  # and Excel / LibreOffice keep it as text when edited
    else:
        cell.value = value
