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
                return f"{french_int(int(value))} octets"
            return f"{french_number(value)} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def french_date(d: date | datetime | None) -> str:
    return d.strftime("%d/%m/%Y") if d else "—"
