"""Checks on what identifies a commune: its code (INSEE or SIREN) and its stored name.

A code is the key of every figure in the catalogue: a typo (« abc!! », an empty string)
would create a commune of its own. A name given again for a known commune must be the
same unless the user asks to rename it (--renommer): a slip must not rename silently.
"""

from __future__ import annotations

import os
import re

import click

from catalogue.errors import CommuneCodeError, CommuneRenameError

# INSEE code officiel géographique: five characters, digits, or 2A/2B and three digits
# for Corsica's two départements; or a SIREN (nine digits) for an EPCI or a syndicate.
COMMUNE_CODE = re.compile(r"(?:\d{5}|2[AB]\d{3}|\d{9})")
COMMUNE_CODE_HELP = ("code INSEE de 5 caractères (chiffres, ou 2A/2B suivi de 3 chiffres pour la Corse) "
                     "ou numéro SIREN de 9 chiffres")


def check_commune_code(code: str) -> str:
    """CODE, upper-cased (« 2a004 » → « 2A004 »), when it is an INSEE code or a SIREN."""
    normal = code.strip().upper()
    if not COMMUNE_CODE.fullmatch(normal):
        shown = f"« {code} » n'est pas un code de commune" if code else "code de commune vide"
        raise CommuneCodeError(f"{shown} : attendu un {COMMUNE_CODE_HELP}.")
    return normal


class CommuneCode(click.ParamType):
    """--commune: refused at parse time (exit 2) when not an INSEE code or a SIREN."""

    name = "code"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "CODE"

    def convert(self, value, param, ctx) -> str:
        try:
            return check_commune_code(str(value))
        except CommuneCodeError as exc:
            self.fail(str(exc), param, ctx)


COMMUNE = CommuneCode()


def check_commune_name(db: str | None, code: str, nom: str | None, rename: bool) -> None:
    """Refuse a NOM that differs from the one stored for CODE, unless RENAME; refuse
    RENAME without a NOM. A catalogue that does not exist yet has no name to keep."""
    if rename and not nom:
        raise CommuneRenameError("--renommer demande le nouveau nom avec --nom.")
    if not nom or rename:
        return
    from catalogue.store import connect, default_db_path

    path = db or default_db_path()
    if not os.path.exists(path):
        return
    con = connect(path, read_only=True)
    try:
        row = con.execute("SELECT nom FROM communes WHERE code = ?", [code]).fetchone()
    finally:
        con.close()
    stored = row[0] if row else None
    if stored and stored != nom:
        raise CommuneRenameError(
            f"la commune {code} est enregistrée sous le nom « {stored} », pas « {nom} » : vérifiez le code, "
            f"ou ajoutez --renommer pour la renommer.")
