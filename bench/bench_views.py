"""The views behind the reports at territory scale, on a synthetic catalogue of ROWS
`files` rows (bench_ingest's bundles, ingested once and kept in WORK).

    python bench/bench_views.py [--rows 10000000] [--work bench/out/views] [--repetitions 3]
                                [--reference REV]

The catalogue is first opened writable (migrated, rules loaded, déchets hits stored: what
`catalogue` does at its next writable open); the script then times the one-time computation
of the stored déchets hits of every scan (as after an edit of dechets.csv) and of one scan of
SCAN_ROWS entries in a catalogue of its own (what a scan's end adds).

Each view is counted REPETITIONS times (median kept). With `--reference REV`, the
`dechets` view of that git revision's catalogue/sql/views.sql is created beside the current
one (a temporary view on the same catalogue) and the two run in turn, each pair under the
same load: the ratio reported is the median of the pairs'. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import duckdb  # noqa: E402

from bench.bench_ingest import VIEWS, write_bundle  # noqa: E402
from catalogue.bundle import ingest_bundle  # noqa: E402
from catalogue.dbtools import dict_rows  # noqa: E402
from catalogue.store import connect, create_views, refresh_dechet_hits  # noqa: E402


def territory(work: Path, rows: int, bundles: int) -> Path:
    """A catalogue of ROWS files rows in BUNDLES communes, made once."""
    db = work / f"territoire-{rows}.duckdb"
    if db.exists():
        return db
    work.mkdir(parents=True, exist_ok=True)
    per = rows // bundles
    con = connect(db)
    for b in range(bundles):
        path = work / f"lot-{b:02d}.parquet"
        write_bundle(path, f"9{b:04d}", b * per, (b + 1) * per)
        ingest_bundle(con, str(path))
        path.unlink()
    con.close()
    return db


def _at(rev: str, path: str) -> str:
    return subprocess.run(["git", "-C", str(HERE.parent), "show", f"{rev}:{path}"],
                          capture_output=True, text=True, check=True).stdout


def reference_dechets(con: duckdb.DuckDBPyConnection, rev: str) -> None:
    """REV's `dechets` view (its views.sql, its patterns from its catalogue/dechets.py), as
    the temporary view `dechets_reference`."""
    sql = _at(rev, "catalogue/sql/views.sql")
    start = sql.index("CREATE OR REPLACE VIEW dechets AS")
    body = sql[start:sql.index(";\n", start)]
    old = types.ModuleType("dechets_reference")
    exec(compile(_at(rev, "catalogue/dechets.py"), f"{rev}:catalogue/dechets.py", "exec"), old.__dict__)
    rules = dict_rows(con.execute("SELECT * FROM dechet_rules"))
    body = body.replace("{{pattern_rules}}", old.pattern_case_sql(rules))
    con.execute(body.replace("CREATE OR REPLACE VIEW dechets AS", "CREATE OR REPLACE TEMP VIEW dechets_reference AS"))


def hits_seconds(db: Path) -> tuple[float, float, int]:
    """The writable open of DB (stores what is missing), then the recomputation of every
    scan's stored déchets hits, as after an edit of the rules: seconds of each, and scans."""
    t = time.perf_counter()
    con = connect(db)
    opened = time.perf_counter() - t
    try:
        con.execute("DELETE FROM dechet_hit_scans")
        t = time.perf_counter()
        scans = refresh_dechet_hits(con)
        return opened, time.perf_counter() - t, scans
    finally:
        con.close()


def scan_end_seconds(work: Path, rows: int) -> float:
    """Seconds to store the déchets hits of one scan of ROWS entries (a bundle of its own
    ingested into an empty catalogue, then recomputed alone, as at the end of its scan)."""
    db, path = work / f"un-scan-{rows}.duckdb", work / f"un-scan-{rows}.parquet"
    db.unlink(missing_ok=True)
    write_bundle(path, "91000", 0, rows)
    con = connect(db)
    try:
        ingest_bundle(con, str(path))
        con.execute("DELETE FROM dechet_hit_scans")
        t = time.perf_counter()
        refresh_dechet_hits(con)
        return time.perf_counter() - t
    finally:
        con.close()
        path.unlink()
        db.unlink()


def timed(con: duckdb.DuckDBPyConnection, view: str, where: str = "") -> tuple[float, int]:
    t = time.perf_counter()
    count = con.execute(f"SELECT count(*) FROM (SELECT * FROM {view}{where})").fetchone()[0]
    return time.perf_counter() - t, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--bundles", type=int, default=10)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "views")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--reference", help="révision git dont la vue dechets sert de référence")
    parser.add_argument("--scan-rows", type=int, default=100_000)
    args = parser.parse_args()
    db = territory(args.work, args.rows, args.bundles)
    opened, recomputed, scans = hits_seconds(db)
    scan_end = scan_end_seconds(args.work, args.scan_rows)
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    create_views(con, temporary=True)  # this version's views, whichever made the catalogue
    names = list(VIEWS)
    if args.reference:
        reference_dechets(con, args.reference)
        names.insert(names.index("dechets"), "dechets_reference")
    one = f" WHERE commune = '{90000}'"  # bench's own literal: the first commune, as a report asks
    per_commune = [n for n in names if n.startswith("dechets")]
    times: dict[str, list[float]] = {name: [] for name in names + [f"{n} (une commune)" for n in per_commune]}
    counts: dict[str, int] = {}
    for _ in range(args.repetitions):
        for name in names:
            seconds, counts[name] = timed(con, name)
            times[name].append(seconds)
        for name in per_commune:
            times[f"{name} (une commune)"].append(timed(con, name, one)[0])
    differ = None
    if args.reference:
        differ = con.execute("""SELECT count(*) FROM (
            (SELECT * FROM dechets EXCEPT ALL SELECT * FROM dechets_reference)
            UNION ALL (SELECT * FROM dechets_reference EXCEPT ALL SELECT * FROM dechets))""").fetchone()[0]
    con.close()
    print(f"Catalogue synthétique de {args.rows:_} lignes `files` ({args.bundles} communes) ; "
          f"machine {platform.machine()}, {os.cpu_count()} cœurs, DuckDB {duckdb.__version__} ; "
          f"médiane de {args.repetitions} exécutions.")
    print()
    print(f"Correspondances de déchets enregistrées (`dechet_hits`) : ouverture en écriture {opened:.2f} s ; "
          f"calcul pour les {scans} scans (une fois, après une modification des règles) {recomputed:.2f} s ; "
          f"pour un scan de {args.scan_rows:_} entrées (fin de scan) {scan_end:.2f} s.")
    print()
    print("| vue | temps médian (s) | plus rapide – plus lente (s) | lignes |")
    print("| --- | ---: | ---: | ---: |")
    for name, ts in times.items():
        print(f"| `{name}` | {statistics.median(ts):.2f} | {min(ts):.2f} – {max(ts):.2f} | "
              f"{counts.get(name, '')} |")
    if args.reference:
        pairs = [a / b for a, b in zip(times["dechets"], times["dechets_reference"])]
        print()
        print(f"`dechets` / `dechets` de {args.reference} : médiane des exécutions appariées "
              f"{statistics.median(pairs):.2f} (de {min(pairs):.2f} à {max(pairs):.2f}) ; "
              f"lignes différentes entre les deux : {differ}.")


if __name__ == "__main__":
    main()
