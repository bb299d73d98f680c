"""Writing one package: every file copied into the ZIP and digested (SHA-512) in the
same pass, read-only and chunk by chunk, then the manifest; and what a failed output
leaves behind (nothing) and says (a French reason)."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import stat
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from catalogue.sae.freshness import compare
from catalogue.sae.layout import member_name
from catalogue.sae.manifest import Package, write_manifest
from catalogue.sae.selection import PackFile, SaeError
from scanners.fsaccess import describe_oserror, open_path

CHUNK = 1 << 20


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
        if (why := compare(f, before)) is not None:
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
