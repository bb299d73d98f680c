"""What is wrong with a filled grid, as data: one `Problem` per cell (sheet, cell, row,
column, message), and `GridValidationError` carrying all of them at once, in the manner
of bagit's `BagValidationError` and its details. The French text the CLI prints is
derived from these objects; callers that want the cells read `problems`.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalogue.errors import CatalogueError
from catalogue.formatting import plural


@dataclass(frozen=True)
class Problem:
    """One problem of a grid: where it is, and the French sentence saying what is wrong.

    `cell` is the coordinate (« B5 ») when the problem is in a cell, else None (a missing
    column is reported on its header row); `column` is the grid column's key (see
    grids.spec), None when unknown; `file` is the workbook's name.
    """

    sheet: str
    cell: str | None
    row: int
    column: str | None
    message: str
    file: str = ""

    @property
    def where(self) -> str:
        """« Recensement!B5 », or « Recensement, ligne 1 » when no single cell is at fault."""
        return f"{self.sheet}!{self.cell}" if self.cell else f"{self.sheet}, ligne {self.row}"

    def __str__(self) -> str:
        return f"{self.where} : {self.message}"

    def text(self, with_file: bool = False) -> str:
        """The French line shown to the user, prefixed with the file's name when several are imported."""
        return f"{self.file} — {self}" if with_file and self.file else str(self)


class GridValidationError(CatalogueError):
    """Filled grids have problems; carries every one of them (`problems`), with sheet and cell."""

    def __init__(self, problems: list[Problem], files: int = 1):
        self.problems = list(problems)
        self.files = files
        head = (f"{plural(len(self.problems), 'problème')} : rien n'a été importé "
                "(corrigez la grille, ou utilisez --partiel pour importer les lignes valides).")
        super().__init__("\n".join([head] + self.lines()))

    def lines(self) -> list[str]:
        """One French line per problem, naming the file when several workbooks were imported."""
        return [p.text(with_file=self.files > 1) for p in self.problems]
