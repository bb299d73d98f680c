"""`catalogue demo`: generate the demo territory and run the pipeline on it."""

from __future__ import annotations

from pathlib import Path

from catalogue.scan import ScanSummary, run_scan


def run_demo(out: str, *, quiet: bool = False) -> list[ScanSummary]:
    from data.sample.generate import generate

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "catalogue.duckdb"
    if db.exists():
        db.unlink()  # the demo catalogue is ours to rebuild, never a user's
    summaries = []
    for code, nom, share in generate(out_dir):
        summaries.append(run_scan(str(share), code, nom=nom, db=str(db), quiet=quiet))
    return summaries
