"""Are the files to pack still those the scan saw? Size, modification time and kind are
compared with the catalogue's, and each file must be readable; the reasons are French."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from catalogue.formatting import french_int, plural
from catalogue.sae.selection import LeftOut, PackFile
from scanners.fsaccess import LONG_PATH, describe_oserror, join, open_path

SHOWN_PROBLEMS = 20


def changed_message(dataset_id: str, changed: list[LeftOut]) -> str:
    """The refusal when files changed since the scan: the first SHOWN_PROBLEMS, each with its reason."""
    files = plural(len(changed), "fichier modifié, disparu ou illisible", "fichiers modifiés, disparus ou illisibles")
    lines = [f"{dataset_id} : {files} depuis "
             "le scan ; rien n'a été écrit (relancez un scan, ou --ignorer-modifies pour verser les autres) :"]
    lines += [f"  {c.path} : {c.reason}" for c in changed[:SHOWN_PROBLEMS]]
    if len(changed) > SHOWN_PROBLEMS:
        lines.append(f"  … et {plural(len(changed) - SHOWN_PROBLEMS, 'autre')}")
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
    return compare(f, st)


def compare(f: PackFile, st: os.stat_result) -> str | None:
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
