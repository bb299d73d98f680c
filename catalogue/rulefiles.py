"""Small archivist-editable rule files under catalogue/rules/: format risks, priority
weights, environmental hypotheses. Each is checked (every row has its source) and
returned as plain rows; the store also loads them as tables so SQL can use them."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

from catalogue.errors import CatalogueError

SPECS = {
    "formats_risque.csv": (["puid", "format", "risque", "motif", "source"], {"risque": {"élevé", "moyen", "faible"}}),
    "priorites.csv": (["critere", "valeur", "points", "explication", "source"], {}),
    "environnement.csv": (["parametre", "valeur", "unite", "libelle", "source"], {}),
}
NUMERIC = {"priorites.csv": "points", "environnement.csv": "valeur"}


def rules_path(name: str) -> Path:
    """Path of a data file shipped under catalogue/rules/."""
    return Path(str(resources.files("catalogue") / "rules" / name))


def load_rule_file(name: str, path: Path | None = None) -> list[dict]:
    path = path or rules_path(name)
    columns, allowed = SPECS[name]
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != columns:
            raise CatalogueError(f"{path} : en-têtes attendus {', '.join(columns)}")
        rows = []
        for line, rec in enumerate(reader, start=2):
            if None in rec or any(rec[c] is None for c in columns):
                raise CatalogueError(f"{path}, ligne {line} : nombre de colonnes incorrect (guillemets manquants ?)")
            if not rec["source"].strip():
                raise CatalogueError(f"{path}, ligne {line} : source manquante")
            for column, values in allowed.items():
                if rec[column] not in values:
                    raise CatalogueError(f"{path}, ligne {line} : {column} « {rec[column]} » "
                                         f"(attendu : {', '.join(sorted(values))})")
            if name in NUMERIC:
                try:
                    rec[NUMERIC[name]] = float(rec[NUMERIC[name]])
                except ValueError:
                    raise CatalogueError(f"{path}, ligne {line} : {NUMERIC[name]} « {rec[NUMERIC[name]]} » "
                                         "n'est pas un nombre") from None
            rows.append(rec)
    return rows
