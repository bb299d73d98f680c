"""`catalogue resip`: the metadata CSV that ReSIP (Vitam's sedalib) imports to build a
package from files on disk, for an archivist who finishes the package in ReSIP.

The sedalib convention (../shared/vitam/resip/metadata-gestion.csv): `;`-separated, a
header `Id;File;ParentId;` then SEDA paths (`Content.Title`, `Management.AppraisalRule.
Rule.0`…); one row per folder (RecordGrp) and per file (Item); `File` is the path ReSIP
opens; a row with an empty `ParentId` is a root. ReSIP reads the encoding chosen in its
import dialog, windows-1252 by default on Windows (where archivists run it), UTF-8
elsewhere: windows-1252 is the default here (a superset of the sample's ISO-8859-1 that
also holds ’ « » € œ), `utf-8` on request. A name the chosen encoding cannot write, or a
name that is not valid UTF-8, cannot be named in `File`: refused, with the list.

The same files as `catalogue sip` are listed (déchets and redundant copies left out).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from catalogue.errors import CatalogueError, DiskFullError, full_disk_cause
from catalogue.formatting import plural
from catalogue.sae.agencies import originating_agency
from catalogue.sae.manifest import content_date, folder_spans
from catalogue.sae.selection import (
    Dataset,
    LeftOut,
    PackFile,
    RuleRef,
    SaeError,
    check_qualified,
    load_dataset,
    select_files,
    write_left_out_csv,
)
from catalogue.sae.zipwrite import output_error, remove_quietly
from catalogue.store import connect

COLUMNS = ["Id", "File", "ParentId", "Content.DescriptionLevel", "Content.Title", "Content.Description",
           "Content.OriginatingAgency.Identifier", "Content.StartDate", "Content.EndDate",
           "Management.AppraisalRule.Rule.0", "Management.AppraisalRule.StartDate.0",
           "Management.AppraisalRule.FinalAction", "Management.AccessRule.Rule.0", "Management.AccessRule.StartDate.0"]
# Units below the top inherit its rules: their management cells stay empty.
NO_RULES = [""] * sum(c.startswith("Management.") for c in COLUMNS)
ENCODINGS = {"windows-1252": "cp1252", "utf-8": "utf-8"}
SHOWN_PROBLEMS = 20


@dataclass
class ResipResult:
    path: Path
    folders: int
    files: int
    left_out: list[LeftOut]
    left_out_csv: Path


def write_resip_csv(db: str | None, dataset_id: str, output: str | os.PathLike, *, root: str | None = None,
                    encoding: str = "windows-1252", replace: bool = False,
                    originating: str | None = None) -> ResipResult:
    """Write the ReSIP metadata CSV of one dataset; refused (nothing written) when the
    dataset is unknown or unqualified, a name cannot be written, or OUTPUT exists."""
    out = Path(output)
    left_out_csv = out.with_name(out.stem + "-exclus.csv")
    if not replace and (existing := next((p for p in (out, left_out_csv) if p.exists()), None)):
        raise SaeError(f"{existing} existe déjà : ajoutez --remplacer pour le remplacer ; rien n'a été écrit.")
    con = connect(db, read_only=True)
    try:
        ds = load_dataset(con, dataset_id)
        missing = check_qualified(ds, originating)
        if missing:
            raise SaeError(f"{dataset_id} : " + " ; ".join(missing) + " ; rien n'a été écrit.")
        sel = select_files(con, ds)
    finally:
        con.close()
    if not sel.files:
        raise SaeError(f"{dataset_id} : aucun fichier à décrire (tous laissés de côté) ; rien n'a été écrit.")
    rows = list(resip_rows(ds, sel.files, root or ds.root, originating))
    _check_writable(dataset_id, rows, sel.files, ENCODINGS[encoding])
    temp = out.with_name(out.name + ".partiel")
    try:
        with open(temp, "w", newline="", encoding=ENCODINGS[encoding]) as fh:
            # CRLF, as Windows writes it: the csv module then quotes a name holding a CR
            # or an LF, which ReSIP's parser reads back whole.
            writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        write_left_out_csv(left_out_csv, sel.left_out)
        os.replace(temp, out)
    except OSError as exc:
        remove_quietly(temp)
        if full_disk_cause(exc) is not None:
            raise DiskFullError(f"disque plein dans {out.parent} : {out.name} n'a pas été écrit ; libérez de la "
                                "place puis relancez la même commande.") from None
        raise SaeError(f"écriture impossible de {out} ({output_error(exc)}) ; rien n'a été écrit.") from None
    except BaseException:
        remove_quietly(temp)
        raise
    files = len(sel.files)
    return ResipResult(out, len(rows) - files, files, sel.left_out, left_out_csv)


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def _rule_cells(rule: RuleRef) -> tuple[str, str]:
    return rule.rule_id, _iso(rule.start_date)


def resip_rows(ds: Dataset, files: list[PackFile], root: str, originating: str | None = None) -> Iterator[list[str]]:
    """The dataset's folder, its sub-folders and files, parents first; management rules on
    the top row (inherited below it in ReSIP and in the SAE)."""
    sep = "\\" if "\\" in root else "/"
    top = root.rstrip(sep) + (sep + ds.path.replace("/", sep) if ds.path else "")
    spans = folder_spans(files)
    rules = ds.management()
    start, end = _dates(spans.get(()))
    yield ["1", top, "", "RecordGrp", ds.title, ds.description(), originating_agency(ds, originating), start, end,
           rules.appraisal.rule_id, _iso(rules.appraisal.start_date), rules.final_action,
           *(_rule_cells(rules.access[0]) if rules.access else ("", ""))]
    ids: dict[tuple[str, ...], int] = {(): 1}
    next_id = 2
    for f in files:
        for k in range(1, len(f.dirs) + 1):
            key = f.dirs[:k]
            if key not in ids:
                ids[key] = next_id
                start, end = _dates(spans.get(key))
                yield [str(next_id), sep.join((top, *key)), str(ids[key[:-1]]), "RecordGrp", key[-1], "", "",
                       start, end, *NO_RULES]
                next_id += 1
        start, end = _dates((f.mtime_us, f.mtime_us) if f.mtime_us is not None else None)
        yield [str(next_id), sep.join((top, *f.dirs, f.name)), str(ids[f.dirs]), "Item", f.name, "", "",
               start, end, *NO_RULES]
        next_id += 1


def _dates(span: tuple[int, int] | None) -> tuple[str, str]:
    return (content_date(span[0]), content_date(span[1])) if span else ("", "")


def _check_writable(dataset_id: str, rows: list[list[str]], files: list[PackFile], codec: str) -> None:
    """Names ReSIP could not open: not valid UTF-8 on disk, or not writable in CODEC."""
    problems = []
    for f in files:
        try:
            f.rel.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"  {f.display} : nom illisible en UTF-8 (renommez-le, ou versez avec « catalogue sip »)")
    top = rows[0][1]
    for row in rows:
        try:
            ";".join(row).encode(codec)
        except UnicodeEncodeError as exc:
            where = row[1][len(top) + 1:] or row[1]
            one = exc.end - exc.start < 2
            problems.append(f"  {where} : {'caractère' if one else 'caractères'} « {exc.object[exc.start:exc.end]} » "
                            f"{'impossible' if one else 'impossibles'} à écrire en "
                            f"{codec} (utilisez --encodage utf-8)")
    if problems:
        head = (f"{dataset_id} : {plural(len(problems), 'nom')} que ReSIP ne pourrait pas ouvrir ; "
                "rien n'a été écrit :")
        more = [f"  … et {plural(len(problems) - SHOWN_PROBLEMS, 'autre')}"] \
            if len(problems) > SHOWN_PROBLEMS else []
        raise CatalogueError("\n".join([head, *problems[:SHOWN_PROBLEMS], *more]))
