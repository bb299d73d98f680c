"""Numbers as a French reader expects them in reports: factors without useless decimals
(« 3 copies », « 1,58 »), tiny footprints in grams or Wh rather than « 0,00 kg », and
decimal commas in the `;`-separated CSV annexes Excel opens in French."""

from __future__ import annotations

from catalogue.formatting import french_int, french_number


def factor(x: float | None) -> str:
    """An integer as an integer, otherwise at most 2 decimals (trailing zeros dropped); a
    value below 1 keeps 2 significant digits (an emission factor of 0,052 is not 0,05)."""
    if x is None:
        return "—"
    if float(x).is_integer():
        return french_int(int(x))
    if abs(x) < 1:
        return french_number(float(f"{x:.2g}"), 10).rstrip("0").rstrip(",")
    return french_number(x, 2).rstrip("0").rstrip(",")


def _scaled(value: float, unit: str, thousandth: str) -> str:
    """`value` in `unit` down to 1, then in its thousandth down to 0,01, then « moins de 0,01 »."""
    if value == 0:
        return f"0 {unit}"
    if abs(value) >= 1:
        return f"{factor(round(value, 2))} {unit}"
    if abs(value * 1000) >= 0.01:
        return f"{factor(round(value * 1000, 2))} {thousandth}"
    return f"moins de 0,01 {thousandth}"


def mass_co2(kg: float) -> str:
    """« 12,5 kg CO2e », « 340 g CO2e », « moins de 0,01 g CO2e »."""
    return _scaled(kg, "kg CO2e", "g CO2e")


def energy(kwh: float) -> str:
    """« 3,2 kWh », « 45 Wh », « moins de 0,01 Wh »."""
    return _scaled(kwh, "kWh", "Wh")


def csv_decimal(value):
    """A float (euros) for a French CSV annex: two decimals, decimal comma, no thousands
    separator, as Excel and LibreOffice read a number in a French locale; others unchanged."""
    return f"{value:.2f}".replace(".", ",") if isinstance(value, float) else value
