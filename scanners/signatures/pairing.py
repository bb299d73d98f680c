"""Detached signatures and the documents they sign, by name, within one folder.

`acte.pdf.p7s` signs `acte.pdf` (that name only); `acte.p7s` signs `acte` or
`acte.<anything>`; the same for .sig, .tsr and .tst. Where the signature itself names its document (an ASiC-S
container's content, a detached XAdES's references: `SignatureInfo.signed_names`), those
names are used instead. Names match regardless of case (Windows shares), and an exact
name wins over a stem match. Pairing is by name only: whether the signature's digest
matches the document is not checked here.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

DETACHED_EXTENSIONS = frozenset({"p7s", "sig", "tsr", "tst"})


def _extension(name: str) -> str | None:
    base, dot, ext = name.rpartition(".")
    return ext.lower() if dot and base and ext else None


def signed_names_for(name: str) -> tuple[str, ...]:
    """fnmatch patterns, best first, of the document the detached signature NAME (a bare
    file name) may sign; () when NAME is not named like a detached signature."""
    base, dot, ext = name.rpartition(".")
    if not dot or not base or ext.lower() not in DETACHED_EXTENSIONS:
        return ()
    literal = glob.escape(base)
    if _extension(base) is not None:
        return (literal,)  # acte.pdf.p7s: the name says which document
    return (literal, literal + ".*")


@dataclass(frozen=True)
class DetachedPairs:
    """Signature ↔ document pairs of one folder, and signatures whose document is missing."""

    pairs: tuple[tuple[str, str], ...]
    orphans: tuple[str, ...]

    def documents_of(self, signature: str) -> list[str]:
        return [doc for sig, doc in self.pairs if sig == signature]

    def signatures_of(self, document: str) -> list[str]:
        return [sig for sig, doc in self.pairs if doc == document]


def pair_detached(paths: Iterable[str], signed_names: Mapping[str, Sequence[str]] | None = None) -> DetachedPairs:
    """Pair the detached signatures among PATHS (files of one folder, '/'-separated) with
    the documents beside them. SIGNED_NAMES maps a path to the patterns detect() gave it
    (SignatureInfo.signed_names); a path in it with no pattern signs nothing outside
    itself (an enveloping .p7s). Other paths are signatures when named like one."""
    paths = list(paths)
    names = {p: p.rsplit("/", 1)[-1] for p in paths}
    given = signed_names or {}
    documents = [p for p in paths if _extension(names[p]) not in DETACHED_EXTENSIONS]
    pairs: list[tuple[str, str]] = []
    orphans: list[str] = []
    for sig in paths:
        patterns = tuple(given[sig]) if sig in given else signed_names_for(names[sig])
        if not patterns:
            continue
        for pattern in patterns:
            wanted = pattern.casefold()
            matches = [d for d in documents if d != sig and fnmatchcase(names[d].casefold(), wanted)]
            if matches:
                pairs.extend((sig, d) for d in matches)
                break
        else:
            orphans.append(sig)
    return DetachedPairs(tuple(pairs), tuple(orphans))
