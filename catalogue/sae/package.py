"""`catalogue sip`: one SEDA transfer package (a ZIP: content/… then manifest.xml) per
dataset, split by size; this module plans each dataset's packages and writes them.

Everything is checked before anything is written: the datasets are known and qualified
(retention rule, service), their outputs do not exist (unless `remplacer`), and every file
to pack still has the size and modification time the scan saw (`freshness`). The files
are then split into packages and named (`layout`), and each package written (`zipwrite`)
under a temporary name, renamed when complete; on any failure (a full disk included) the
partial ZIP is removed.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from catalogue.errors import CatalogueError, DiskFullError, full_disk_cause
from catalogue.formatting import french_bytes, plural
from catalogue.progress import ScanProgress
from catalogue.sae.agencies import originating_agency, submission_agency
from catalogue.sae.freshness import changed_message, check_files
from catalogue.sae.layout import member_overhead, output_names, previous_outputs, split_parts
from catalogue.sae.manifest import Header, Package, Signing
from catalogue.sae.selection import (
    Dataset,
    LeftOut,
    PackFile,
    SaeError,
    Selection,
    check_qualified,
    load_dataset,
    select_files,
    write_left_out_csv,
)
from catalogue.sae.zipwrite import output_error, remove_quietly, write_zip
from catalogue.store import connect

DEFAULT_MAX = 10_000_000_000  # 10 Go
_UNITS = {"": 1, "o": 1, "b": 1, "k": 10**3, "ko": 10**3, "kb": 10**3, "m": 10**6, "mo": 10**6, "mb": 10**6,
          "g": 10**9, "go": 10**9, "gb": 10**9, "t": 10**12, "to": 10**12, "tb": 10**12}


@dataclass
class SipOptions:
    contract: str
    out_dir: Path
    seda: str = "2.2"
    max_bytes: int = DEFAULT_MAX
    replace: bool = False
    skip_changed: bool = False
    submission_agency: str | None = None    # service versant (default: the commune)
    originating_agency: str | None = None   # service producteur (default: the grid's service)
    archival_agency: str = "SAE"
    root: str | None = None                 # where the scanned root is mounted today
    quiet: bool = False
    now: dt.datetime | None = None


@dataclass
class SipPart:
    path: Path
    files: int
    bytes: int


@dataclass
class SipResult:
    dataset_id: str
    title: str
    parts: list[SipPart]
    left_out_csv: Path
    left_out: list[LeftOut]
    changed: list[LeftOut]
    oversized: int  # files bigger than the size limit on their own (one package each)


@dataclass
class _Plan:
    selection: Selection
    root: bytes
    parts: list[list[PackFile]]
    outputs: list[Path]
    left_out_csv: Path
    changed: list[LeftOut] = field(default_factory=list)
    signing: dict[int, Signing] = field(default_factory=dict)


def parse_size(text: str) -> int:
    """« 10GB », « 10 Go », « 500MB », « 1,5 Go », « 2048 » → bytes (decimal units)."""
    m = re.fullmatch(r"\s*(\d+(?:[.,]\d+)?)\s*([a-zA-Z]*)\s*", text or "")
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise CatalogueError(f"taille « {text} » illisible (exemples : 10GB, 500MB, 2Go).")
    value = int(float(m.group(1).replace(",", ".")) * _UNITS[unit])
    if value <= 0:
        raise CatalogueError(f"taille « {text} » : elle doit être positive.")
    return value


def build_sips(db: str | None, dataset_ids: Sequence[str], options: SipOptions) -> list[SipResult]:
    """Check every dataset, then write its package(s) and the list of files left out."""
    for name, value in (("--contrat", options.contract), ("--service-versant", options.submission_agency),
                        ("--service-producteur", options.originating_agency),
                        ("--service-archives", options.archival_agency)):
        if value is not None and not value.strip():
            raise CatalogueError(f"{name} vide : indiquez un identifiant.")
    con = connect(db, read_only=True)
    try:
        plans = [_plan(con, dataset_id, options) for dataset_id in dict.fromkeys(dataset_ids)]
    finally:
        con.close()
    results: list[SipResult] = []
    with ScanProgress(options.quiet) as progress:
        for plan in plans:
            results.append(_write_plan(plan, options, progress, done=results))
    return results


# --------------------------------------------------------------------------- plan


def _plan(con: duckdb.DuckDBPyConnection, dataset_id: str, options: SipOptions) -> _Plan:
    ds = load_dataset(con, dataset_id)
    missing = check_qualified(ds, options.originating_agency)
    if missing:
        raise SaeError(f"{dataset_id} : " + " ; ".join(missing) + " ; rien n'a été écrit.")
    sel = select_files(con, ds)
    if not sel.files:
        raise SaeError(f"{dataset_id} : aucun fichier à verser ({plural(len(sel.left_out), 'laissé')} de côté : "
                       "déchets ou copies redondantes) ; rien n'a été écrit.")
    root = os.fsencode(options.root or ds.root)
    problems = check_files(root, sel.files)
    changed = [LeftOut(ds.catalogue_path(f), f.size, why) for f, why in problems]
    if changed and not options.skip_changed:
        raise SaeError(changed_message(dataset_id, changed))
    if changed:
        bad = {id(f) for f, _ in problems}
        sel.files = [f for f in sel.files if id(f) not in bad]
        sel.left_out.extend(changed)
        if not sel.files:
            raise SaeError(f"{dataset_id} : plus aucun fichier à verser (tous modifiés ou disparus depuis le scan) ; "
                           "relancez un scan ; rien n'a été écrit.")
    parts = split_parts(sel.files, options.max_bytes)
    outputs = output_names(options.out_dir, dataset_id, len(parts))
    left_out_csv = options.out_dir / f"{dataset_id}-exclus.csv"
    existing = [p for p in (*outputs, left_out_csv, *previous_outputs(options.out_dir, dataset_id)) if p.exists()]
    if existing and not options.replace:
        raise SaeError(f"{existing[0]} existe déjà : ajoutez --remplacer pour le remplacer ; rien n'a été écrit.")
    return _Plan(sel, root, parts, outputs, left_out_csv, changed, signing_links(con, ds))


def signing_links(con: duckdb.DuckDBPyConnection, ds: Dataset) -> dict[int, Signing]:
    """What the signature phase of the scan knows of the dataset's files, as SEDA 2.3
    SigningInformation: a detached signature or time stamp points at the document it
    signs; a file that holds its own signature (PAdES, enveloped XAdES, ASiC, OOXML, ODF)
    is both the signed document and the signature."""
    rows = con.execute(
        """SELECT file_id, sig_kind, signature_of FROM files
           WHERE scan_id = ? AND kind = 'file' AND (sig_kind IS NOT NULL OR signed)""", [ds.scan_id]).fetchall()
    links: dict[int, Signing] = {}
    for file_id, kind, signature_of in rows:
        if kind == "timestamp":
            roles: tuple[str, ...] = ("Timestamp",)
        elif kind is not None and signature_of is not None:
            roles = ("Signature",)
        elif kind is not None:
            roles = ("SignedDocument", "Signature")
        else:
            roles = ("SignedDocument",)  # signed by a detached signature beside it
        links[file_id] = Signing(roles, signature_of)
    return links


# --------------------------------------------------------------------------- writing


def _write_plan(plan: _Plan, options: SipOptions, progress: ScanProgress, done: list[SipResult]) -> SipResult:
    ds = plan.selection.dataset
    temps = [p.with_name(p.name + ".partiel") for p in plan.outputs]
    csv_temp = plan.left_out_csv.with_name(plan.left_out_csv.name + ".partiel")
    now = options.now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    oversized = sum(1 for f in plan.selection.files if f.size + member_overhead(f) > options.max_bytes)
    parts: list[SipPart] = []
    try:
        options.out_dir.mkdir(parents=True, exist_ok=True)
        for i, (files, temp) in enumerate(zip(plan.parts, temps), start=1):
            label = f"SIP {ds.dataset_id}" + (f" ({i}/{len(temps)})" if len(temps) > 1 else "")
            with progress.phase(label, total=len(files)) as phase:
                header = _header(ds, options, now, i, len(temps))
                write_zip(temp, plan.root, files, _package(ds, header, files, i, len(temps), plan.signing),
                          phase.advance)
            parts.append(SipPart(plan.outputs[i - 1], len(files), sum(f.size for f in files)))
        write_left_out_csv(csv_temp, plan.selection.left_out)
        for old in previous_outputs(options.out_dir, ds.dataset_id):
            if old not in plan.outputs:
                old.unlink()
        for temp, final in zip([*temps, csv_temp], [*plan.outputs, plan.left_out_csv]):
            os.replace(temp, final)
    except BaseException as exc:
        for temp in [*temps, csv_temp]:
            remove_quietly(temp)
        if isinstance(exc, OSError) and full_disk_cause(exc) is not None:
            raise _disk_full(options.out_dir, ds.dataset_id, plan, done) from None
        if isinstance(exc, OSError):  # reading a scanned file is handled in copy_into: this is the output
            raise SaeError(f"écriture impossible dans {options.out_dir} ({output_error(exc)}) ; rien n'a été "
                           f"écrit pour {ds.dataset_id}.") from None
        raise
    return SipResult(ds.dataset_id, ds.title, parts, plan.left_out_csv, plan.selection.left_out, plan.changed,
                     oversized)


def _disk_full(out_dir: Path, dataset_id: str, plan: _Plan, done: list[SipResult]) -> DiskFullError:
    try:
        free = french_bytes(shutil.disk_usage(out_dir).free)
    except OSError:
        free = "espace libre inconnu"
    kept = f" ; les SIP déjà terminés ({', '.join(r.dataset_id for r in done)}) sont gardés" if done else ""
    need = plan.selection.bytes + sum(member_overhead(f) for f in plan.selection.files)
    return DiskFullError(f"disque plein dans {out_dir} ({free} libres) : le SIP partiel de {dataset_id} a été "
                         f"supprimé{kept} ; libérez au moins {french_bytes(need)} puis relancez la même commande "
                         "avec --remplacer.")


def _header(ds: Dataset, options: SipOptions, now: dt.datetime, part: int, parts: int) -> Header:
    suffix = f"-{part}-sur-{parts}" if parts > 1 else ""
    comment = f"Versement du jeu de données « {ds.title} » ({ds.dataset_id})"
    if parts > 1:
        comment += f", partie {part} sur {parts}"
    submission = submission_agency(ds, options.submission_agency)
    return Header(seda=options.seda, message_id=f"{ds.dataset_id}{suffix}", date=now, comment=comment,
                  contract=options.contract.strip(), archival_agency=options.archival_agency.strip(),
                  transferring_agency=submission,
                  originating_agency=originating_agency(ds, options.originating_agency), submission_agency=submission)


def _package(ds: Dataset, header: Header, files: list[PackFile], part: int, parts: int,
             signing: dict[int, Signing]) -> Package:
    title = ds.title + (f" (partie {part} sur {parts})" if parts > 1 else "")
    return Package(header, title, ds.description(), ds.management(), files, signing)
