"""Reading what people type into a grid cell, tolerantly: case, accents and spaces
in listed values; dates as dates or text; numbers as numbers or text (French or not).

Each parser returns the typed value or raises ValueError with the French reason.
"""

from __future__ import annotations

import datetime as dt
import re

from catalogue.formatting import french_int
from grids.spec import fold

EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    return re.sub(r"[ \t]+", " ", str(value)).strip()


def _number_text(text: str) -> str:
    text = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if "," in text and "." in text:
        # The last separator is the decimal one: 1.234,5 or 1,234.5.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    return text.replace(",", ".")


MAX_DECIMAL = 1_000_000  # e.g. 1,000,000 Go a year: far above any dataset, and a volume stays a BIGINT
MAX_YEARS = 1000  # the grid's own data validation says 0 to 1000 years


def as_decimal(value, maximum: float = MAX_DECIMAL) -> float:
    if isinstance(value, bool):
        raise ValueError("n'est pas un nombre")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _number_text(str(value).strip())
        if re.search(r"[^\W\d_]", text.lower().replace("e", "")):
            # « 2 Go », « 500 Mo », « environ 3 »: the unit is the column's, and a unit other
            # than the column's must not be read as one.
            raise ValueError("contient du texte ou une unité : écrivez le nombre seul (la colonne est en Go)")
        try:
            number = float(text)
        except ValueError:
            raise ValueError("n'est pas un nombre") from None
    if number < 0 or number != number:
        raise ValueError("n'est pas un nombre positif")
    if number > maximum:  # also infinity (« 1e400 »)
        raise ValueError(f"dépasse le maximum admis ({french_int(int(maximum))})")
    return number


def as_int(value) -> int:
    if isinstance(value, str):
        value = re.sub(r"(?i)\s*ans?$", "", value.strip())
    try:
        number = as_decimal(value, maximum=float("inf"))
    except ValueError:
        raise ValueError("n'est pas un nombre entier d'années") from None
    if number == float("inf") or not number.is_integer():
        raise ValueError("n'est pas un nombre entier d'années")
    if number > MAX_YEARS:
        raise ValueError(f"dépasse {french_int(MAX_YEARS)} ans")
    return int(number)


DATE_PATTERNS = [
    (re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2})$"), ("d", "m", "yy")),
]


def as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 2958466:
        return (EXCEL_EPOCH + dt.timedelta(days=float(value))).date()  # a date cell read as its serial number
    text = str(value).strip()
    text = re.sub(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "", text)  # a time part is dropped
    for pattern, order in DATE_PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        parts = dict(zip(order, (int(g) for g in m.groups())))
        year = parts.get("y") or 2000 + parts["yy"]
        try:
            return dt.date(year, parts["m"], parts["d"])
        except ValueError:
            break
    raise ValueError("n'est pas une date (jj/mm/aaaa)")


def _loose(text: str) -> str:
    return re.sub(r"[\W_]+", "", fold(text))


class Choices:
    """A closed list matched tolerantly; `aliases` map other spellings (e.g. codes)."""

    def __init__(self, values: list[str], aliases: dict[str, str] | None = None):
        self.values = values
        self._exact = {fold(v): v for v in values}
        self._loose = {_loose(v): v for v in values}
        for alias, target in (aliases or {}).items():
            self._exact.setdefault(fold(alias), target)
            self._loose.setdefault(_loose(alias), target)

    def match(self, value) -> str:
        text = as_text(value)
        found = self._exact.get(fold(text)) or self._loose.get(_loose(text))
        if found is None:
            raise ValueError("n'est pas une valeur autorisée")
        return found
