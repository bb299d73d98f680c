"""French formatting of numbers, volumes and dates for messages and reports."""

from __future__ import annotations

from datetime import date, datetime

NBSP = "\u202f"  # narrow no-break space, the French thousands separator

_UNITS = ["octets", "Ko", "Mo", "Go", "To", "Po"]


def french_int(n: int | None) -> str:
    if n is None:
        return "—"
    return f"{n:,}".replace(",", NBSP)


def french_number(x: float | None, decimals: int = 1) -> str:
    if x is None:
        return "—"
    text = f"{x:,.{decimals}f}".replace(",", " ").replace(".", ",")
    return text.replace(" ", NBSP)


def french_bytes(n: int | None) -> str:
    """Decimal units (1 Go = 10⁹ octets), as storage is sold and as the SAE bills it."""
    if n is None:
        return "—"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            if unit == "octets":
                return plural(int(value), "octet")
            return f"{french_number(value)} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def french_date(d: date | datetime | None) -> str:
    return d.strftime("%d/%m/%Y") if d else "—"


def plural(n: int | None, singular: str, plural_form: str | None = None) -> str:
    """« 1 jeu de données », « 3 jeux de données », « 0 fichier »: French takes the singular
    below 2. The plural defaults to the singular with an « s » (an « x » after -au, -eu) on
    its first word; irregular ones are given."""
    if n is None:
        return "—"
    if plural_form is None:
        first, _, rest = singular.partition(" ")
        ending = "" if first.endswith(("s", "x", "z")) else "x" if first.endswith(("au", "eu")) else "s"
        plural_form = first + ending + (f" {rest}" if rest else "")
    return f"{french_int(n)} {singular if abs(n) < 2 else plural_form}"


def french_years(n: int | None) -> str:
    """A duration in years: « 1 an », « 10 ans »; « — » when unknown (a row still to qualify)."""
    return "—" if n is None else plural(n, "an")


def year_range(first: int | None, last: int | None) -> str:
    """« 2012 – 2024 », or the single year when both ends fall in it."""
    if first is None and last is None:
        return "—"
    if first is None or last is None or first == last:
        return str(first if last is None else last)
    return f"{first} – {last}"


def date_range(first: date | datetime | None, last: date | datetime | None) -> str:
    """Exact extreme dates: « du 03/01/2012 au 14/11/2024 », or « le 03/01/2012 » for one day."""
    if first is None or last is None:
        return french_date(first or last)
    a, b = french_date(first), french_date(last)
    return f"le {a}" if a == b else f"du {a} au {b}"


def commune_title(nom: str | None, code: str) -> str:
    """« Alpha-sur-Test (99201) », or the code alone when the commune has no name of its own."""
    return code if not nom or nom == code else f"{nom} ({code})"
