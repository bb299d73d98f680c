"""Report size is bounded: a commune with tens of thousands of qualified datasets gets
a PDF of a few pages whose tables stop after a fixed number of rows, and the annexes
carry every row. The report runs in a subprocess under an address-space limit, so a
regression fails instead of eating the machine."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from openpyxl import load_workbook

from catalogue.roadmap import Action
from catalogue.store import connect
from reports.context import TABLE_ROWS

DATASETS = 20_000
SERVICES = 400  # first-level folders: the services table grows too
COMMUNE = "99401"
MEMORY_LIMIT = 3 * 1024**3  # address space, not RSS: DuckDB and WeasyPrint map a lot up front


def big_catalogue(db: Path, datasets: int = DATASETS) -> None:
    """One scan of `datasets` folders Service/Jeu holding two files each, every dataset
    qualified: a third to destroy (DUA over), the rest to transfer. Generated in SQL."""
    con = connect(db)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO communes VALUES ($c, 'Grande-Ville')", {"c": COMMUNE})
        con.execute("""INSERT INTO scans (scan_uuid, commune, source, root, started_at, finished_at, status,
                                          dataset_depth, entries, files, bytes)
                       VALUES ('big', $c, 'filesystem', '/partage', now(), now(), 'complete', 2, $n, $n, 0)""",
                    {"c": COMMUNE, "n": 2 * datasets})
        con.execute("""
            INSERT INTO files (scan_id, file_id, commune, path, parent, name, extension, kind, size, mtime,
                               depth, device, inode, nlink, hash, error)
            SELECT 1, i, $c, parent || '/' || name, parent, name, 'txt', 'file', 1000 + i,
                   TIMESTAMP '2005-01-01' + to_days(CAST(i % 7000 AS INTEGER)), 3, 1, i, 1,
                   -- every file of dataset 0-99 is a copy of one file: duplicates too
                   CASE WHEN i < 200 THEN 'h' ELSE 'h' || i END,
                   -- and a few unreadable entries of many kinds
                   CASE WHEN i % 500 = 1 THEN 'Permission refusée (' || i || ')' END
            FROM (SELECT i, 'Service ' || (i // 2 % $s) || '/Jeu ' || (i // 2) AS parent,
                         CASE WHEN i % 2 = 0 THEN 'piece.txt' ELSE '~$brouillon.docx' END AS name
                  FROM range(2 * $n) t(i))""", {"c": COMMUNE, "n": datasets, "s": SERVICES})
        con.execute("""INSERT INTO grid_imports (commune, file_name, file_sha256, imported_at, template_version,
                                                 rows_changed)
                       VALUES ($c, 'grille.xlsx', 'x', now(), '1', $n)""", {"c": COMMUNE, "n": datasets})
        con.execute("""
            INSERT INTO qualifications (import_id, commune, dataset_id, ajout, emplacement, service, typologie,
                                        typologie_code, valeur_juridique, valeur_strategique, valeur_patrimoniale,
                                        signature, donnees_personnelles, dua_annees, dua_depart, sort_final,
                                        priorite, content_hash)
            SELECT 1, commune, dataset_id, false, NULL, 'Service', typologie, code, 'Forte', 'Moyenne', 'Forte',
                   'Non', 'Non', 10, 'clôture de l''exercice', sort_final, 'Haute', dataset_id
            FROM (SELECT d.commune, d.dataset_id,
                         CASE WHEN row_number() OVER (ORDER BY d.path) % 3 = 0 THEN 'FIN-PJ' ELSE 'URB-AUT' END
                             AS code
                  FROM datasets d) q
            JOIN (SELECT code, typologie, sort_final FROM referentiel) r USING (code)""")
        con.execute("COMMIT")
    finally:
        con.close()


RUN = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    from catalogue.cli import main
    main(sys.argv[1:])
""")


def run_limited(args: list[str], limit: int = MEMORY_LIMIT) -> subprocess.CompletedProcess:
    """The real CLI in a child process whose address space is capped."""
    # One BLAS thread: OpenBLAS reserves buffers per core, which would count against the cap.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", RUN.format(limit=limit), *args], capture_output=True,
                          text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("grand")
    db = base / "catalogue.duckdb"
    big_catalogue(db)
    out = base / "rapports"
    commune = run_limited(["report", "--commune", COMMUNE, "-o", str(out), "--db", str(db)])
    territory = run_limited(["report", "--territoire", "-o", str(out), "--db", str(db)])
    return {"db": db, "out": out, "commune": commune, "territory": territory}


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _text(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return re.sub(r"[\u202f\u00a0 ]+", " ", text)


def test_big_commune_report_is_bounded(big):
    assert big["commune"].returncode == 0, big["commune"].stderr[-2000:]
    pdf = big["out"] / f"rapport-{COMMUNE}.pdf"
    assert _pages(pdf) <= 40
    text = _text(pdf)
    # Each long table says how many rows it leaves to the annexes.
    assert f"… et {DATASETS - TABLE_ROWS:,} autres".replace(",", " ") in text
    assert f"jeux-de-donnees-{COMMUNE}.csv" in text and f"feuille-de-route-{COMMUNE}.csv" in text
    html = (big["out"] / f"rapport-{COMMUNE}.html").read_text(encoding="utf-8")
    # Every table stops at TABLE_ROWS rows, however large the commune.
    bodies = re.findall(r"<tbody>(.*?)</tbody>", html, re.S)
    assert bodies and all(body.count("<tr") <= TABLE_ROWS for body in bodies)
    assert html.count("<tr") < 20 * TABLE_ROWS


def test_big_commune_annexes_hold_every_row(big):
    assert big["commune"].returncode == 0, big["commune"].stderr[-2000:]
    out = big["out"]
    rows = {}
    for name in (f"feuille-de-route-{COMMUNE}.csv", f"jeux-de-donnees-{COMMUNE}.csv"):
        with open(out / name, newline="", encoding="utf-8-sig") as fh:
            rows[name] = list(csv.reader(fh, delimiter=";"))
        assert len(rows[name]) == DATASETS + 1, name
        assert len({r[0] for r in rows[name][1:]}) == DATASETS, name
    roadmap = rows[f"feuille-de-route-{COMMUNE}.csv"]
    to_destroy = {r[0] for r in roadmap[1:] if r[roadmap[0].index("action")] == Action.ELIMINATE.label()}
    assert len(to_destroy) > TABLE_ROWS
    wb = load_workbook(out / f"bordereau-elimination-{COMMUNE}.xlsx", read_only=True)
    from reports.bordereau import COLUMNS, HEADER_ROW, SHEET

    ident = [h for h, _ in COLUMNS].index("Identifiant")
    listed = [r[ident] for r in wb[SHEET].iter_rows(min_row=HEADER_ROW + 1, values_only=True)
              if r and isinstance(r[0], int)]  # numbered lines; the visa blocks follow
    wb.close()
    assert sorted(listed) == sorted(to_destroy)


def test_big_territory_report_is_bounded(big):
    assert big["territory"].returncode == 0, big["territory"].stderr[-2000:]
    assert _pages(big["out"] / "synthese-territoriale.pdf") <= 10
