"""Where each file goes: a dataset's files split into packages by size, the packages'
file names, and each file's ZIP member name (safe on every system, unique)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from catalogue.sae.selection import PackFile

MEMBER_MAX = 200          # characters of a ZIP member name before it falls back to a short one
COMPONENT_MAX = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


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
