"""`catalogue sip`: one SEDA transfer package (a ZIP: content/… then manifest.xml) per
dataset, split by size.

Everything is checked before anything is written: the datasets are known and qualified
(retention rule, service), their outputs do not exist (unless `remplacer`), and every file
to pack still has the size and modification time the scan saw. Files are then opened
read-only (no atime update where the OS allows), each copied into the ZIP in one pass
that also computes its SHA-512, chunk by chunk: memory does not grow with file sizes.
A package is written under a temporary name and renamed when complete; on any failure
(a full disk included) the partial ZIP is removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import re
import shutil
import stat
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from catalogue.errors import CatalogueError, DiskFullError, full_disk_cause
from catalogue.formatting import french_bytes, french_int
from catalogue.progress import ScanProgress
from catalogue.sae.agencies import originating_agency, submission_agency
from catalogue.sae.manifest import Header, Package, Signing, write_manifest
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
from catalogue.store import connect
from scanners.fsaccess import LONG_PATH, describe_oserror, join, open_path

DEFAULT_MAX = 10_000_000_000  # 10 Go
CHUNK = 1 << 20
SHOWN_PROBLEMS = 20
MEMBER_MAX = 200          # characters of a ZIP member name before it falls back to a short one
COMPONENT_MAX = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
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


# --------------------------------------------------------------------------- checks


def _plan(con: duckdb.DuckDBPyConnection, dataset_id: str, options: SipOptions) -> _Plan:
    ds = load_dataset(con, dataset_id)
    missing = check_qualified(ds, options.originating_agency)
    if missing:
        raise SaeError(f"{dataset_id} : " + " ; ".join(missing) + " ; rien n'a été écrit.")
    sel = select_files(con, ds)
    if not sel.files:
        raise SaeError(f"{dataset_id} : aucun fichier à verser ({french_int(len(sel.left_out))} laissé(s) de côté : "
                       "déchets ou copies redondantes) ; rien n'a été écrit.")
    root = os.fsencode(options.root or ds.root)
    problems = check_files(root, sel.files)
    changed = [LeftOut(ds.catalogue_path(f), f.size, why) for f, why in problems]
    if changed and not options.skip_changed:
        raise SaeError(_changed_message(dataset_id, changed))
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


def _changed_message(dataset_id: str, changed: list[LeftOut]) -> str:
    lines = [f"{dataset_id} : {french_int(len(changed))} fichier(s) modifié(s), disparu(s) ou illisible(s) depuis "
             "le scan ; rien n'a été écrit (relancez un scan, ou --ignorer-modifies pour verser les autres) :"]
    lines += [f"  {c.path} : {c.reason}" for c in changed[:SHOWN_PROBLEMS]]
    if len(changed) > SHOWN_PROBLEMS:
        lines.append(f"  … et {french_int(len(changed) - SHOWN_PROBLEMS)} autre(s)")
    return "\n".join(lines)


def check_files(root: bytes, files: Sequence[PackFile]) -> list[tuple[PackFile, str]]:
    """Files that are no longer as the scan saw them (size, modification time, kind), or
    that cannot be read: with the reason, in French."""
    problems = []
    for f in files:
        reason = _unlike_scan(root, f)
        if reason:
            problems.append((f, reason))
    return problems


def _unlike_scan(root: bytes, f: PackFile) -> str | None:
    if f.error:
        return f"illisible lors du scan ({f.error})"
    try:
        st = _lstat(root, f.rel)
    except FileNotFoundError:
        return "disparu depuis le scan"
    except OSError as exc:
        return describe_oserror(exc)
    full = join(root, f.rel)
    if len(full) < LONG_PATH and not os.access(full, os.R_OK, effective_ids=os.access in os.supports_effective_ids):
        return "illisible (accès refusé)"
    return _compare(f, st)


def _compare(f: PackFile, st: os.stat_result) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return "n'est plus un fichier ordinaire"
    if st.st_size != f.size:
        return f"modifié depuis le scan (taille {french_int(f.size)} → {french_int(st.st_size)} octets)"
    if f.mtime_us is not None and st.st_mtime_ns // 1000 != f.mtime_us:
        return "modifié depuis le scan (date de modification différente)"
    return None


def _lstat(root: bytes, rel: bytes) -> os.stat_result:
    full = join(root, rel)
    if len(full) < LONG_PATH:
        return os.lstat(full)
    fd = open_path(root, rel)  # a path too long for one syscall: walked by directory
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- layout


def member_overhead(f: PackFile) -> int:
    """Bytes a file adds besides its content: ZIP headers and its lines in the manifest
    (generous, so that a package stays under the limit)."""
    return 2_000 + 8 * (len(f.rel) + len(f.name))


def split_parts(files: Sequence[PackFile], max_bytes: int) -> list[list[PackFile]]:
    """Consecutive runs of FILES (folders stay together as far as size allows) of at most
    MAX_BYTES each, headers included; a file bigger than that on its own is alone."""
    parts: list[list[PackFile]] = [[]]
    used = 10_000  # the manifest's fixed part
    for f in files:
        cost = f.size + member_overhead(f)
        if parts[-1] and used + cost > max_bytes:
            parts.append([])
            used = 10_000
        parts[-1].append(f)
        used += cost
    return parts


def output_names(out_dir: Path, dataset_id: str, count: int) -> list[Path]:
    if count == 1:
        return [out_dir / f"{dataset_id}.zip"]
    return [out_dir / f"{dataset_id}-partie-{i}-sur-{count}.zip" for i in range(1, count + 1)]


def previous_outputs(out_dir: Path, dataset_id: str) -> list[Path]:
    """Packages an earlier run wrote for this dataset (maybe split differently)."""
    if not out_dir.is_dir():
        return []
    return sorted({*out_dir.glob(f"{dataset_id}.zip"), *out_dir.glob(f"{dataset_id}-partie-*-sur-*.zip")})


def safe_component(text: str, keep_extension: bool = False) -> str:
    """A name every system unzips the same way: ASCII letters, digits, « . _ - », accents
    folded, the rest « _ », at most COMPONENT_MAX characters (extension kept)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE.sub("_", folded).strip(".") or "_"  # no hidden file, no « .. », no trailing dot (Windows)
    if len(name) > COMPONENT_MAX:
        stem, dot, ext = name.rpartition(".")
        if keep_extension and dot and 0 < len(ext) <= 10:
            name = stem[:COMPONENT_MAX - len(ext) - 1] + "." + ext
        else:
            name = name[:COMPONENT_MAX]
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = "_" + name
    return name


def member_name(f: PackFile, used: set[str]) -> str:
    """The file's place in the ZIP: content/ then its folders and name made safe (so the
    Uri needs no escaping and means the same to every SAE). A name already taken (two
    names folding alike, case ignored) or too long gets the file's id."""
    folders = [safe_component(d) for d in f.dirs]
    name = safe_component(f.name, keep_extension=True)
    candidates = ["/".join(["content", *folders, name]), "/".join(["content", *folders, f"{f.file_id}_{name}"]),
                  f"content/{f.file_id}_{name}"]
    member = next((m for m in candidates if len(m) <= MEMBER_MAX and m.lower() not in used), None)
    suffix = 1
    while member is None or member.lower() in used:  # a real file named like a generated name
        member = f"content/{f.file_id}-{suffix}_{name}"
        suffix += 1
    used.add(member.lower())
    return member


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


def remove_quietly(path: Path) -> None:
    """Remove a partial output if there is one (its folder may not even exist)."""
    with contextlib.suppress(OSError):
        path.unlink()


def output_error(exc: OSError) -> str:
    """Why an output could not be written, in French."""
    reasons = {errno.EACCES: "accès refusé", errno.EPERM: "accès refusé", errno.EROFS: "disque en lecture seule",
               errno.ENOTDIR: "un élément du chemin n'est pas un dossier", errno.EISDIR: "c'est un dossier",
               errno.ENAMETOOLONG: "chemin trop long"}
    return reasons.get(exc.errno or 0) or describe_oserror(exc)


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


def write_zip(path: Path, root: bytes, files: Sequence[PackFile], package: Package,
              advance: Callable[..., None] | None = None) -> None:
    """The package at PATH: every file copied (and digested) into content/…, then the
    manifest. Members are stored, not compressed: archives' formats mostly are already."""
    used: set[str] = set()
    buffer = bytearray(CHUNK)
    # Beyond 2 GiB of manifest (about a million files) the member needs ZIP64 up front.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for f in files:
            f.member = member_name(f, used)
            f.digest = copy_into(zf, root, f, buffer, advance)
            if advance:
                advance(1)
        with zf.open(_zip_info("manifest.xml", None), "w", force_zip64=len(files) > 500_000) as out:
            write_manifest(out, package)


def _zip_info(name: str, mtime_us: int | None, size: int = 0) -> zipfile.ZipInfo:
    when = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=mtime_us) if mtime_us is not None \
        else dt.datetime.now(dt.UTC)
    year = min(max(when.year, 1980), 2107)  # the range a ZIP header can hold
    info = zipfile.ZipInfo(name, (year, when.month, when.day, when.hour, when.minute, when.second))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.file_size = size
    return info


def copy_into(zf: zipfile.ZipFile, root: bytes, f: PackFile, buffer: bytearray,
              advance: Callable[..., None] | None = None) -> str:
    """Copy one scanned file into the ZIP as F.member, read once: the SHA-512 is computed on
    the bytes written. Refused when the file is no longer the one the scan saw, before or
    during the copy (nothing of it is then left in a package: the caller drops the ZIP)."""
    if f.member is None:
        raise AssertionError("member name not set")
    view = memoryview(buffer)
    digest = hashlib.sha512()
    copied = 0
    try:
        fd = open_path(root, f.rel)
    except OSError as exc:
        raise SaeError(f"{f.display} : {describe_oserror(exc)} pendant la préparation du SIP ; relancez la "
                       "commande.") from None
    with open(fd, "rb", buffering=0, closefd=True) as src:
        before = os.fstat(src.fileno())
        if (why := _compare(f, before)) is not None:
            raise SaeError(f"{f.display} : {why} pendant la préparation du SIP ; relancez la commande.")
        with zf.open(_zip_info(f.member, f.mtime_us, f.size), "w") as dst:
            while n := _read(src, view, f):
                chunk = view[:n]
                digest.update(chunk)
                dst.write(chunk)
                copied += n
                if advance:
                    advance(0, n)
        after = os.fstat(src.fileno())
    if copied != f.size or after.st_mtime_ns != before.st_mtime_ns:
        raise SaeError(f"{f.display} : modifié pendant la copie dans le SIP ; relancez la commande.")
    return digest.hexdigest()


def _read(src, view: memoryview, f: PackFile) -> int:
    """Read into VIEW; a failing read of a scanned file (a share gone, a bad sector) names the file."""
    try:
        return src.readinto(view) or 0
    except OSError as exc:
        raise SaeError(f"{f.display} : {describe_oserror(exc)} pendant la copie dans le SIP ; relancez la "
                       "commande.") from None
