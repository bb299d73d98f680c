"""The filesystem scan, one module per phase, and the scan-row lifecycle every scan shares.

    options     ScanOptions (the user's choices), Tuning (sizes, delays, the event hook)
    lifecycle   scan rows: begin, resume, finish, summary (also database, mail, imports, bundles)
    phases      the phase list (progress labels, timings) and ScanRun, one scan under way
    walkstore   walk: GNU find or the Python walk, a writer thread, the re-check of what find missed
    reuse       incremental rescans: unchanged files keep their identification and hash
    duplicates  size groups → partial hash → full hash → hard links
    identify    siegfried and libmagic
    signatures  electronic signatures in candidate files, detached ones paired
    rows        what the phases share to read and write `files` rows
    pipeline    run_scan: the phases in order, Ctrl-C and failures marked on the scan row

Imports of this package's names are deferred until first use, so that the application
scans, which only need `lifecycle`, do not load siegfried and libmagic with it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalogue.scan.lifecycle import ScanInterrupted, ScanSummary
    from catalogue.scan.options import ScanOptions, Tuning, tuned
    from catalogue.scan.pipeline import check_root, run_scan, scan_with

__all__ = ["ScanInterrupted", "ScanOptions", "ScanSummary", "Tuning", "check_root", "run_scan", "scan_with", "tuned"]

_HOMES = {"ScanInterrupted": "lifecycle", "ScanSummary": "lifecycle", "ScanOptions": "options", "Tuning": "options",
          "tuned": "options", "check_root": "pipeline", "run_scan": "pipeline", "scan_with": "pipeline"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'catalogue.scan' has no attribute {name!r}")
    return getattr(import_module(f"catalogue.scan.{home}"), name)
