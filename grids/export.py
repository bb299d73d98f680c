"""`catalogue grid export`: one workbook per commune, pre-filled from the catalogue.

Sheets: « Mode d'emploi », « Recensement » (one row per dataset, pre-filled columns
locked, dropdowns, required cells highlighted), « Référentiel », a hidden « Listes »
feeding the dropdowns and a hidden « _catalogage » holding where the file comes from.
Every text from file names or people is written as a string cell, never a formula.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from catalogue import __version__
from catalogue.csvsafe import put
from catalogue.errors import CatalogueError
from catalogue.formatting import french_bytes, french_number
from catalogue.store import connect
from grids import spec
from grids.spec import AUTRE, COLUMNS, SHEET_GRID, SHEET_GUIDE, SHEET_LISTS, SHEET_META, SHEET_REFERENTIEL, TYPOLOGIES

# Blank rows left unlocked under the datasets, for datasets no scan saw.
SPARE_ROWS = 200
MB = 1e6

FILL_PREFILLED = PatternFill("solid", start_color="FFE7E6E6")
FILL_TO_FILL = PatternFill("solid", start_color="FFDDEBF7")
FILL_MISSING = PatternFill("solid", start_color="FFF8CBAD", end_color="FFF8CBAD")


@dataclass
class ExportResult:
    path: Path
    commune: str
    rows: int
    nouveaux: int
    qualifies: int
    disparus: int
    ajouts: int


DATASET_STATS_SQL = """
WITH df AS (
    SELECT * FROM dataset_files WHERE commune = $commune
), redundant AS (
    SELECT scan_id, file_id FROM duplicate_files WHERE commune = $commune AND redundant
), waste AS (
    SELECT scan_id, file_id FROM dechets WHERE commune = $commune AND kind = 'file'
), shares AS (
    SELECT df.dataset_id,
           sum(CASE WHEN r.file_id IS NOT NULL THEN df.size ELSE 0 END) AS duplicate_bytes,
           sum(CASE WHEN w.file_id IS NOT NULL THEN df.size ELSE 0 END) AS dechet_bytes
    FROM df
    LEFT JOIN redundant r USING (scan_id, file_id)
    LEFT JOIN waste w USING (scan_id, file_id)
    GROUP BY df.dataset_id
), fmt AS (
    SELECT dataset_id, list({'puid': puid, 'name': name, 'bytes': bytes} ORDER BY bytes DESC, puid) AS formats
    FROM (SELECT dataset_id, coalesce(puid, 'inconnu') AS puid, max(format_name) AS name, sum(size) AS bytes
          FROM df WHERE size > 0 AND error IS NULL GROUP BY ALL)
    GROUP BY dataset_id
), years AS (
    SELECT dataset_id, list({'year': y, 'bytes': b} ORDER BY y) AS per_year
    FROM (SELECT dataset_id, year(mtime) AS y, sum(size) AS b FROM df WHERE mtime IS NOT NULL GROUP BY ALL)
    GROUP BY dataset_id
)
SELECT d.dataset_id, d.source, d.root, d.path, d.files, d.bytes, d.first_mtime, d.last_mtime,
       s.duplicate_bytes, s.dechet_bytes, f.formats, y.per_year, d.signed_files, d.signed_share
FROM datasets d
LEFT JOIN shares s USING (dataset_id)
LEFT JOIN fmt f USING (dataset_id)
LEFT JOIN years y USING (dataset_id)
WHERE d.commune = $commune
ORDER BY d.root, d.path
"""


def dataset_stats(con: duckdb.DuckDBPyConnection, commune: str) -> list[dict]:
    """The pre-filled part of each dataset row of a commune, from the catalogue views."""
    cur = con.execute(DATASET_STATS_SQL, {"commune": commune})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _location(source: str, root: str, path: str) -> str:
    if source in ("database", "mail"):
        return f"Application {path} ({root})"  # path is the application's name
    return f"{root.rstrip('/')}/{path}" if path else root


def _formats_text(formats: list[dict] | None, total: int) -> str | None:
    if not formats or not total:
        return None
    parts = []
    for f in formats[:3]:
        share = french_number(100 * f["bytes"] / total, 0)
        name = f["name"] or "format non identifié"
        parts.append(f"{f['puid']} {name} ({share} %)")
    return " ; ".join(parts)


def _growth_text(per_year: list[dict] | None) -> str | None:
    if not per_year:
        return None
    return " ; ".join(f"{p['year']} : {french_bytes(p['bytes'])}" for p in per_year)


def _prefilled_row(stats: dict, commune: str) -> dict:
    total = stats["bytes"] or 0
    return {
        "dataset_id": stats["dataset_id"],
        "commune": commune,
        "emplacement": _location(stats["source"], stats["root"], stats["path"]),
        "fichiers": stats["files"],
        "volume_mo": round(total / MB, 3),
        "premiere_modif": stats["first_mtime"].date() if stats["first_mtime"] else None,
        "derniere_modif": stats["last_mtime"].date() if stats["last_mtime"] else None,
        "formats": _formats_text(stats["formats"], total),
        "part_doublons": (stats["duplicate_bytes"] or 0) / total if total else None,
        "part_dechets": (stats["dechet_bytes"] or 0) / total if total else None,
        "part_signee": stats["signed_share"] or 0.0,
        "croissance": _growth_text(stats["per_year"]),
    }


def _current_answers(con: duckdb.DuckDBPyConnection, commune: str) -> dict[str, dict]:
    cur = con.execute("SELECT * FROM qualifications_current WHERE commune = ?", [commune])
    names = [d[0] for d in cur.description]
    return {r["dataset_id"]: r for r in (dict(zip(names, row)) for row in cur.fetchall())}


def grid_rows(con: duckdb.DuckDBPyConnection, commune: str) -> list[dict]:
    """Rows of the commune's grid: scanned datasets, then earlier answers no scan matches."""
    answers = _current_answers(con, commune)
    referentiel = dict(con.execute("SELECT code, dua_depart FROM referentiel").fetchall())
    rows = []
    for stats in dataset_stats(con, commune):
        row = _prefilled_row(stats, commune)
        previous = answers.pop(row["dataset_id"], None)
        row["etat"] = spec.ETAT_QUALIFIE if previous else spec.ETAT_NOUVEAU
        if previous:
            row.update(_answers(previous, referentiel))
        if (stats["signed_files"] or 0) > 0 and row.get("signature") in (None, "Ne sait pas"):
            # The scan settles the question; the référent can still answer otherwise.
            row["signature"] = "Oui"
        rows.append(row)
    # Answers are never dropped: a dataset gone from the latest scan, or one the
    # référent added, stays in the grid with its values.
    for dataset_id, previous in sorted(answers.items(), key=lambda kv: (kv[1]["ajout"], kv[0])):
        row = {"dataset_id": dataset_id, "commune": commune, "emplacement": previous["emplacement"],
               "etat": spec.ETAT_AJOUT if previous["ajout"] else spec.ETAT_DISPARU}
        row.update(_answers(previous, referentiel))
        rows.append(row)
    return rows


def _answers(previous: dict, departs: dict[str, str]) -> dict:
    """Earlier answers as the référent gave them: values taken from the referential
    (the DUA or sort final left empty) are left empty again, so that re-importing the
    re-exported grid changes nothing and a referential update still applies."""
    answers = {k: previous[k] for k in spec.FILL_KEYS}
    if previous.get("dua_suggeree"):
        answers["dua_annees"] = None
        if answers["dua_depart"] == departs.get(previous.get("typologie_code") or ""):
            answers["dua_depart"] = None
    if previous.get("sort_suggere"):
        answers["sort_final"] = None
    return answers


def export_grid(db: str | None, commune: str, out: str | Path | None = None) -> ExportResult:
    """Write the commune's grid workbook; returns where and what it holds."""
    con = connect(db)
    try:
        found = con.execute("SELECT nom FROM communes WHERE code = ?", [commune]).fetchone()
        if found is None:
            known = ", ".join(r[0] for r in con.execute("SELECT code FROM communes ORDER BY code").fetchall())
            raise CatalogueError(f"Commune {commune} absente du catalogue (communes connues : {known or 'aucune'}).")
        nom = found[0] or commune
        rows = grid_rows(con, commune)
        referentiel = con.execute(
            "SELECT code, domaine, typologie, dua_annees, dua_depart, sort_final, source FROM referentiel ORDER BY code"
        ).fetchall()
        info = con.execute("SELECT value FROM catalogue_info WHERE key = 'catalogue_id'").fetchone()
        catalogue_id = info[0] if info else ""  # written by the first migration: always there
    finally:
        con.close()

    path = Path(out or f"grille-{commune}.xlsx")
    wb = Workbook()
    _guide_sheet(wb.active, commune, nom)
    lists = _lists_sheet(wb, [r[2] for r in referentiel])
    _grid_sheet(wb, rows, lists)
    _referentiel_sheet(wb, referentiel)
    _meta_sheet(wb, commune, nom, catalogue_id)
    wb.active = 1
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partiel")
    wb.save(tmp)
    tmp.replace(path)  # a reader never sees a half-written workbook
    states = [r["etat"] for r in rows]
    return ExportResult(path=path, commune=commune, rows=len(rows), nouveaux=states.count(spec.ETAT_NOUVEAU),
                        qualifies=states.count(spec.ETAT_QUALIFIE), disparus=states.count(spec.ETAT_DISPARU),
                        ajouts=states.count(spec.ETAT_AJOUT))


def _guide_sheet(ws, commune: str, nom: str) -> None:
    ws.title = SHEET_GUIDE
    ws.column_dimensions["A"].width = 110
    lines = [
        (f"Grille d'audit Catalogage — {nom} ({commune})", Font(bold=True, size=14)),
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
    for j, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(j)
        head = ws.cell(row=1, column=j)
        put(head, column.title)
        head.font = Font(bold=True)
        head.fill = FILL_PREFILLED if column.prefilled else FILL_TO_FILL
        head.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[letter].width = column.width
        dv = _validation(column, lists)
        ws.add_data_validation(dv)
        dv.add(f"{letter}2:{letter}{last_open}")
        if column.required and len(rows):
            ws.conditional_formatting.add(
                f"{letter}2:{letter}{last}",
                FormulaRule(formula=[f"LEN(TRIM({letter}2))=0"], fill=FILL_MISSING, stopIfTrue=False),
            )
    ws.row_dimensions[1].height = 45
    for i, row in enumerate(rows, start=2):
        for j, column in enumerate(COLUMNS, start=1):
            cell = ws.cell(row=i, column=j)
            put(cell, row.get(column.key))
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
            if not column.prefilled:
                cell.protection = Protection(locked=False)
    # Spare rows: everything but the identifier can be typed in.
    for i in range(last + 1, last_open + 1):
        for j, column in enumerate(COLUMNS, start=1):
            if column.key in ("dataset_id", "commune", "etat"):
                continue
            cell = ws.cell(row=i, column=j)
            cell.protection = Protection(locked=False)
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(last, 2)}"
    # Protected without password: pre-filled cells are locked, the rest stays editable,
    # and filtering, sorting and resizing still work.
    ws.protection.sheet = True
    ws.protection.autoFilter = False
    ws.protection.sort = False
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


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
    ws.protection.sheet = True
    ws.protection.autoFilter = False


def _meta_sheet(wb: Workbook, commune: str, nom: str, catalogue_id: str) -> None:
    ws = wb.create_sheet(SHEET_META)
    ws.sheet_state = "hidden"
    meta = [
        ("format", spec.GRID_FORMAT),
        ("version_modele", spec.TEMPLATE_VERSION),
        ("commune", commune),
        ("nom_commune", nom),
        ("date_export", dt.datetime.now().replace(microsecond=0).isoformat()),
        ("catalogue_id", catalogue_id),
        ("version_outil", __version__),
    ]
    for i, (k, v) in enumerate(meta, start=1):
        put(ws.cell(row=i, column=1), k)
        put(ws.cell(row=i, column=2), v)
    ws.protection.sheet = True
