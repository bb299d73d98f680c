"""What goes into a dataset's transfer: the dataset and its qualification, the files to
pack, the files left out (déchets, redundant copies) and why.

A redundant copy is left out only when the copy that is kept belongs to the same dataset:
a copy whose original lies in another dataset is packed, since that other dataset may
never be transferred (destroyed after its DUA, or not yet qualified).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from catalogue import csvsafe
from catalogue.errors import CatalogueError
from catalogue.formatting import french_years
from catalogue.referentiel import EVENTS, access_rule_id, appraisal_rule_id, event_start, start_event

# Application datasets (business databases, mailboxes) hold no files to pack.
FILE_SOURCES = ("filesystem", "droid", "siegfried")

# A rule's StartDate is written only for a start event the catalogue dates from the
# dataset's last modification (catalogue.referentiel.EVENTS: the newest document, the end
# of its year…); for the others (a birth, a dissolution…) the SAE is told nothing it cannot know.
FINAL_ACTIONS = {"Conservation": "Keep", "Destruction": "Destroy", "Tri": "Keep"}


class SaeError(CatalogueError):
    """A dataset cannot be transferred as asked (unknown, unqualified, files changed…)."""


@dataclass(frozen=True)
class RuleRef:
    """A management rule applied to an archive unit: its id in the SAE's referential and,
    when known, the date its duration runs from."""
    rule_id: str
    start_date: dt.date | None = None


@dataclass(frozen=True)
class Management:
    """The rules written at the top of a package, inherited by every unit below it:
    the typology's DUA (AppraisalRule) and communicability (AccessRule)."""
    appraisal: RuleRef
    final_action: str  # Keep or Destroy
    access: tuple[RuleRef, ...] = ()


@dataclass(frozen=True)
class Dataset:
    dataset_id: str
    commune: str
    commune_nom: str | None
    scan_id: int
    source: str
    root: str
    path: str
    last_mtime: dt.datetime | None
    service: str | None
    typologie: str | None
    typologie_code: str | None
    dua_annees: int | None
    dua_depart: str | None
    sort_final: str | None
    referentiel_dua: int | None  # the referential's DUA for the typology, when it is still there
    referentiel_depart: str | None = None        # the typology's DUA start event (code)
    communicabilite_annees: int | None = None    # the typology's communicability delay
    communicabilite_depart: str | None = None    # and its start event (code)

    @property
    def title(self) -> str:
        return self.path or Path(self.root).name or self.root

    def catalogue_path(self, f: PackFile) -> str:
        """F's path relative to the scan root, as the catalogue (and the list of files left out) shows it."""
        return f"{self.path}/{f.display}" if self.path else f.display

    def management(self) -> Management:
        """AppraisalRule and AccessRule of the typology, each with its StartDate when the
        catalogue dates its start event."""
        if not self.typologie_code or self.referentiel_dua is None or self.sort_final not in FINAL_ACTIONS:
            raise AssertionError("management() on a dataset that check_qualified() refused")
        # The grid's start first (the service may correct it), else the typology's.
        appraisal = RuleRef(appraisal_rule_id(self.typologie_code),
                            self._start(self.dua_depart or self.referentiel_depart))
        access: tuple[RuleRef, ...] = ()
        if self.communicabilite_annees is not None:
            access = (RuleRef(access_rule_id(self.typologie_code), self._start(self.communicabilite_depart)),)
        return Management(appraisal, FINAL_ACTIONS[self.sort_final], access)

    def _start(self, event_text: str | None) -> dt.date | None:
        event = start_event(event_text)
        if event is None or self.last_mtime is None:
            return None
        return event_start(event, self.last_mtime.date())

    def _depart_label(self) -> str:
        if self.dua_depart:
            return self.dua_depart
        return EVENTS[self.referentiel_depart].label if self.referentiel_depart in EVENTS else "non précisé"

    def description(self) -> str:
        """What the archivist reads at the top of the package: origin, typology, DUA, sort
        final, and what SEDA cannot say (« Tri », a DUA the service changed)."""
        parts = [f"Jeu de données « {self.title} » de la collectivité {self.commune_nom or self.commune} "
                 f"({self.commune}), inventorié par Catalogage ({self.dataset_id})",
                 f"typologie : {self.typologie}",
                 f"DUA : {french_years(self.dua_annees)} à compter de : {self._depart_label()}",
                 f"sort final : {self.sort_final}"]
        if self.sort_final == "Tri":
            parts.append("sort final « Tri » : conserver après tri à l'issue de la DUA (écrit Keep)")
        if self.dua_annees != self.referentiel_dua:
            parts.append(f"DUA fixée par le service ({french_years(self.dua_annees)}) différente de celle du "
                         f"référentiel ({french_years(self.referentiel_dua)}) pour la règle "
                         f"{appraisal_rule_id(self.typologie_code or '')}")
        return " ; ".join(parts) + "."


class PackFile:
    """One file of a dataset as the catalogue saw it; `digest` and `member` are set once packed."""

    __slots__ = ("file_id", "rel", "dirs", "name", "size", "mtime_us", "puid", "format_name", "mime", "error",
                 "digest", "member")

    def __init__(self, file_id: int, rel: bytes, dirs: tuple[str, ...], name: str, size: int, mtime_us: int | None,
                 puid: str | None, format_name: str | None, mime: str | None, error: str | None) -> None:
        self.file_id = file_id
        self.rel = rel          # path relative to the scan root, exact bytes
        self.dirs = dirs        # folders between the dataset's folder and the file (display text)
        self.name = name        # file name as the catalogue shows it (invalid UTF-8 as \xNN)
        self.size = size
        self.mtime_us = mtime_us
        self.puid = puid
        self.format_name = format_name
        self.mime = mime
        self.error = error
        self.digest: str | None = None
        self.member: str | None = None

    @property
    def display(self) -> str:
        return "/".join((*self.dirs, self.name))


@dataclass(frozen=True)
class LeftOut:
    """A file of the dataset not packed, and why (French, for the list beside the SIP)."""
    path: str
    size: int | None
    reason: str


@dataclass
class Selection:
    dataset: Dataset
    files: list[PackFile] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


DATASET_SQL = """
SELECT d.dataset_id, d.commune, c.nom, d.scan_id, d.source, d.root, d.path, d.last_mtime,
       q.service, q.typologie, q.typologie_code, q.dua_annees, q.dua_depart, q.sort_final, r.dua_annees,
       r.depart, r.communicabilite_annees, r.communicabilite_depart
FROM datasets d
LEFT JOIN communes c ON c.code = d.commune
LEFT JOIN qualifications_current q ON q.commune = d.commune AND q.dataset_id = d.dataset_id
LEFT JOIN referentiel r ON r.code = q.typologie_code
WHERE d.dataset_id = ?
"""

# Every file of the dataset, in the order of its exact path bytes: the files of a folder
# then come together, so the archive-unit tree is written in one pass. Déchets carry their
# rule; duplicates their kept copy within the dataset (hard links are one copy).
FILES_SQL = """
WITH d AS (
    SELECT scan_id, file_id, path, coalesce(path_raw, encode(path)) AS rel, name, size,
           epoch_us(mtime) AS mtime_us, puid, format_name, coalesce(mime, magic_mime) AS mime, hash,
           device, inode, error, dataset_path
    FROM dataset_files
    WHERE dataset_id = $dataset_id
), dup AS (
    SELECT scan_id, file_id, first_value(path) OVER w AS kept_path,
           first_value((device, inode)) OVER w <> (device, inode) AS redundant
    FROM d
    WHERE hash IS NOT NULL AND size > 0 AND error IS NULL
    WINDOW w AS (PARTITION BY hash, size ORDER BY mtime_us, length(path), path)
), waste AS (
    -- The catalogue's own « copie redondante » rule compares copies across the whole
    -- commune: here the dataset-local comparison above replaces it.
    SELECT x.scan_id, x.file_id, x.rule_id, x.libelle
    FROM dechets x
    WHERE x.scan_id = (SELECT max(scan_id) FROM d)
      AND x.rule_id NOT IN (SELECT rule_id FROM dechet_rules WHERE match_type = 'redundant_copy')
)
SELECT d.file_id, d.rel, d.path, d.dataset_path, d.name, d.size, d.mtime_us, d.puid, d.format_name, d.mime,
       d.error, w.rule_id, w.libelle, dup.kept_path, coalesce(dup.redundant, false) AS redundant
FROM d
LEFT JOIN waste w USING (scan_id, file_id)
LEFT JOIN dup USING (scan_id, file_id)
ORDER BY d.rel
"""


def load_dataset(con: duckdb.DuckDBPyConnection, dataset_id: str) -> Dataset:
    """The dataset and its current qualification; a French refusal when it is unknown or
    is an application (nothing to pack)."""
    row = con.execute(DATASET_SQL, [dataset_id]).fetchone()
    if row is None:
        raise SaeError(f"jeu de données inconnu : {dataset_id} (les identifiants sont dans la grille ou "
                       "« catalogue sql \"SELECT dataset_id, commune, path FROM datasets\" »).")
    ds = Dataset(*row)
    if ds.source not in FILE_SOURCES:
        raise SaeError(f"{dataset_id} est l'application « {ds.path} » ({ds.source}) : aucun fichier à verser "
                       "(exportez ses données depuis l'application).")
    return ds


def check_qualified(ds: Dataset, service_override: str | None) -> list[str]:
    """What is missing to describe the dataset in the SAE (French, one item each)."""
    missing = []
    if ds.typologie is None:
        missing.append("jeu non qualifié (importez sa grille remplie)")
    elif not ds.typologie_code:
        missing.append(f"aucune règle de conservation (typologie « {ds.typologie} » hors référentiel ; "
                       "choisissez une typologie du référentiel dans la grille)")
    elif ds.referentiel_dua is None:
        missing.append(f"aucune règle de conservation (la typologie {ds.typologie_code} n'est plus au référentiel)")
    elif ds.sort_final not in FINAL_ACTIONS or ds.dua_annees is None:
        missing.append("DUA ou sort final manquant dans la grille")
    if not (ds.service or "").strip() and not service_override:
        missing.append("aucun service producteur (colonne « Service producteur » de la grille, "
                       "ou --service-producteur)")
    return missing


def select_files(con: duckdb.DuckDBPyConnection, ds: Dataset) -> Selection:
    """The files to pack and those left out, with their reason."""
    sel = Selection(ds)
    cur = con.execute(FILES_SQL, {"dataset_id": ds.dataset_id})
    while rows := cur.fetchmany(10_000):
        for (file_id, rel, path, dataset_path, name, size, mtime_us, puid, format_name, mime, error,
             rule_id, libelle, kept_path, redundant) in rows:
            if rule_id is not None:
                sel.left_out.append(LeftOut(path, size, f"déchet : {libelle} ({rule_id})"))
            elif redundant:
                sel.left_out.append(LeftOut(path, size, f"copie redondante de {kept_path}"))
            else:
                inner = path[len(dataset_path) + 1:] if dataset_path else path
                dirs = tuple(inner.split("/")[:-1])
                sel.files.append(PackFile(file_id, bytes(rel), dirs, name, size or 0, mtime_us, puid,
                                          format_name, _bare_mime(mime), error))
    return sel


def _bare_mime(mime: str | None) -> str | None:
    """« text/plain; charset=utf-8 » → « text/plain »: SEDA's MimeType is the type alone."""
    return mime.split(";")[0].strip() or None if mime else None


def write_left_out_csv(path: Path, left_out: list[LeftOut]) -> None:
    """The files not packed, for the archivist (`;`-separated, UTF-8 with BOM for Excel)."""
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csvsafe.writer(fh, delimiter=";")
        writer.writerow(["chemin", "taille_octets", "motif"])
        for item in left_out:
            writer.writerow([item.path, item.size, item.reason])
