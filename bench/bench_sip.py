"""SIP benchmark: `catalogue sip` against `zip -0` followed by `sha512sum` on the same
files, in the same run.

    python bench/bench_sip.py [--files 10000] [--bytes 1000000000] [--work bench/out/sip] [--repetitions 3]

A share is generated (incompressible files, sizes spread from 1 kB to a few MB, in
folders), scanned and qualified through the real grid, then packed by our command and by
the two peer commands (zip stores the files with their CRC-32, sha512sum digests them: the
two jobs `catalogue sip` does in one pass). The cache is warm for all (a `cat` of every
file first), runs are interleaved and the median kept. A second dataset of the same volume
in 40 big files shows that memory does not follow file sizes. Every digest of our
manifest is checked against sha512sum's. Writes docs/benchmarks-sip.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.bench_scan import _median_run, measure  # noqa: E402

COMMUNE = "99001"
SMALL = "Urbanisme/Permis de construire"
BIG = "Urbanisme/PLU"
BIG_FILES = 40


def n(x: float) -> str:
    return f"{x:,.0f}".replace(",", "\u202f")


def sizes(count: int, total: int, seed: int = 18) -> list[int]:
    """COUNT sizes summing to TOTAL, log-uniform from 1 kB (office documents to scans)."""
    rng = random.Random(seed)
    raw = [10 ** rng.uniform(3, 6.7) for _ in range(count)]
    scale = total / sum(raw)
    out = [max(1, int(r * scale)) for r in raw]
    out[-1] += total - sum(out)
    return out


def generate(share: Path, files: int, total: int) -> None:
    small = share / SMALL
    for i, size in enumerate(sizes(files, total)):
        folder = small / f"dossier-{i % 97:03d}" / f"sous-dossier-{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"piece-{i:05d}.bin").write_bytes(os.urandom(size))
    big = share / BIG
    big.mkdir(parents=True, exist_ok=True)
    for i in range(BIG_FILES):
        with open(big / f"plan-{i:02d}.bin", "wb") as fh:
            for _ in range(total // BIG_FILES // (1 << 20)):
                fh.write(os.urandom(1 << 20))


def qualify(db: Path, work: Path) -> None:
    """Through the real grid: export, answer both datasets as a référent would, import."""
    from openpyxl import load_workbook

    from grids import spec
    from grids.export import export_grid
    from grids.importer import import_grids

    grid = work / "grille.xlsx"
    export_grid(str(db), COMMUNE, grid)
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    col = {spec.HEADER_INDEX[spec.header_key(c.value)].key: c.column for c in ws[1] if c.value}
    answers = {"service": "Urbanisme", "typologie": "Autorisations d'urbanisme accordées",
               "hebergement": "Serveur de fichiers", "valeur_juridique": "Forte", "valeur_strategique": "Moyenne",
               "valeur_patrimoniale": "Forte", "signature": "Non", "donnees_personnelles": "Oui",
               "rempli_par": "Banc d'essai", "date_saisie": dt.date(2026, 1, 5)}
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, col["dataset_id"]).value:
            for key, value in answers.items():
                ws.cell(r, col[key]).value = value
    wb.save(grid)
    import_grids(str(db), [str(grid)])


def dataset_id(db: Path, path: str) -> str:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT dataset_id FROM datasets WHERE path = ?", [path]).fetchone()[0]
    finally:
        con.close()


def ours(db: Path, ds: str, out: Path) -> dict:
    return measure([sys.executable, "-m", "catalogue.cli", "sip", ds, "--contrat", "IC-BENCH", "-o", str(out),
                    "--db", str(db), "--quiet", "--remplacer"])


def peers(folder: Path, out: Path) -> tuple[dict, dict]:
    target = out / "pair.zip"
    target.unlink(missing_ok=True)  # zip would update an existing archive
    zipped = measure(["zip", "-0", "-r", "-q", str(target), str(folder)])
    digests = out / "sha512sum.txt"
    summed = measure(["sh", "-c", f"find '{folder}' -type f -print0 | xargs -0 sha512sum > '{digests}'"])
    return zipped, summed


def check_digests(sip: Path, digests: Path, share: Path) -> int:
    """Every MessageDigest of the manifest is the one sha512sum computed for that file."""
    from lxml import etree

    expected = {}
    for line in digests.read_text().splitlines():
        digest, _, path = line.partition("  ")
        expected[os.path.basename(path)] = digest
    with zipfile.ZipFile(sip) as zf:
        root = etree.fromstring(zf.read("manifest.xml"))
    checked = 0
    for bdo in root.iter("{*}BinaryDataObject"):
        name = bdo.find("{*}FileInfo/{*}Filename").text
        assert bdo.find("{*}MessageDigest").text == expected[name], name
        checked += 1
    return checked


def prepare(args) -> None:
    """Generate, scan and qualify (in a child process: the measuring parent stays small, so
    that the memory of a command it starts is that command's, not a copy of its own)."""
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    share, db = work / "partage", work / "catalogue.duckdb"
    (work / "sorties").mkdir(parents=True)
    generate(share, args.files, args.bytes)
    from catalogue.scan import run_scan

    run_scan(str(share), COMMUNE, nom="Commune de banc d'essai", db=str(db), identify=False, quiet=True)
    qualify(db, work)
    (work / "jeux.txt").write_text(f"{dataset_id(db, SMALL)}\n{dataset_id(db, BIG)}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--bytes", type=int, default=1_000_000_000)
    parser.add_argument("--work", default=str(HERE / "out" / "sip"))
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--doc", default=str(HERE.parent / "docs" / "benchmarks-sip.md"))
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        return prepare(args)
    if not shutil.which("zip") or not shutil.which("sha512sum"):
        raise SystemExit("zip et sha512sum sont nécessaires (Debian : apt-get install zip coreutils).")
    os.environ["PYTHONPATH"] = str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")
    subprocess.run([sys.executable, __file__, "--prepare", "--files", str(args.files), "--bytes", str(args.bytes),
                    "--work", args.work], check=True)
    work = Path(args.work)
    share, db, out = work / "partage", work / "catalogue.duckdb", work / "sorties"
    small, big = (work / "jeux.txt").read_text().split()
    measure(["find", str(share), "-type", "f", "-exec", "cat", "{}", "+"])  # warm cache for everyone

    runs: dict[str, list[dict]] = {"ours": [], "zip": [], "sha": [], "big": []}
    for _ in range(args.repetitions):
        runs["ours"].append(ours(db, small, out))
        zipped, summed = peers(share / SMALL, out)
        runs["zip"].append(zipped)
        runs["sha"].append(summed)
        runs["big"].append(ours(db, big, out))
    # The process's own footprint (Python, DuckDB, Arrow) without packing anything.
    runs["baseline"] = [measure([sys.executable, "-m", "catalogue.cli", "sql", "SELECT 1", "--db", str(db)])]
    checked = check_digests(out / f"{small}.zip", out / "sha512sum.txt", share)
    assert checked == args.files, checked
    med = {k: _median_run(v) for k, v in runs.items()}
    totals = [o["wall"] / (z["wall"] + s["wall"]) for o, z, s in zip(runs["ours"], runs["zip"], runs["sha"])]
    ratio = sorted(totals)[(len(totals) - 1) // 2]
    write_doc(Path(args.doc), args, med, ratio, totals, checked, (out / f"{small}.zip").stat().st_size)
    print(Path(args.doc).read_text())


def write_doc(doc: Path, args, med: dict, ratio: float, totals: list[float], checked: int, sip_bytes: int) -> None:
    import duckdb

    peer_wall = med["zip"]["wall"] + med["sha"]["wall"]
    rows = [
        ("`catalogue sip`", med["ours"]),
        ("`zip -0 -r`", med["zip"]),
        ("`find | xargs sha512sum`", med["sha"]),
    ]
    lines = [
        "# Paquets de transfert SEDA : `catalogue sip` face à `zip -0` puis `sha512sum`",
        "",
        f"Produit par `python bench/bench_sip.py --files {args.files} --bytes {args.bytes} "
        f"--repetitions {args.repetitions}`.",
        f"Machine : {platform.machine()}, {os.cpu_count()} cœurs, Linux {platform.release()}, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}.",
        "Machines partagées : les temps absolus varient d'une exécution à l'autre ; le rapport compte.",
        "",
        f"- Jeu de données : {n(args.files)} fichiers incompressibles, {n(args.bytes)} octets, de 1 ko à quelques "
        "Mo, dans 97 × 7 dossiers ; scanné puis qualifié par la vraie grille.",
        "- Cache chaud pour tous (un `cat` de chaque fichier avant les mesures) ; exécutions entrelacées, "
        f"{args.repetitions} de chaque, médiane retenue.",
        "- `catalogue sip` fait en une passe ce que font les deux commandes de référence : il copie chaque "
        "fichier dans le ZIP (non compressé, CRC-32 compris) et en calcule le SHA-512, après avoir vérifié "
        "taille et date de chaque fichier ; il écrit aussi le bordereau. Son temps inclut le démarrage de "
        "Python et l'ouverture du catalogue.",
        f"- Contrôle : les {n(checked)} empreintes du bordereau sont celles de `sha512sum`. "
        f"SIP de {n(sip_bytes)} octets.",
        "",
        "| commande | temps (s) | CPU (s) | mémoire max (Mo) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, r in rows:
        lines.append(f"| {label} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['tree_mb']:.0f} |")
    lines += [
        f"| `zip -0` + `sha512sum` | {peer_wall:.2f} | {med['zip']['cpu'] + med['sha']['cpu']:.2f} | — |",
        "",
        f"**Rapport `catalogue sip` / (`zip -0` + `sha512sum`) : {ratio:.2f}** (médiane des rapports de chaque "
        f"répétition : {', '.join(f'{t:.2f}' for t in totals)} ; rapport des temps médians : "
        f"{med['ours']['wall'] / peer_wall:.2f} ; objectif : 1,5 au plus). Les temps dépassent le temps CPU : "
        "l'écriture d'1 Go sur le disque partagé de la machine domine, pour nous comme pour `zip`.",
        "",
        "## Mémoire",
        "",
        f"Le même volume en {BIG_FILES} fichiers de {n(args.bytes // BIG_FILES)} octets : `catalogue sip` "
        f"en {med['big']['wall']:.2f} s, mémoire maximale {med['big']['tree_mb']:.0f} Mo, contre "
        f"{med['ours']['tree_mb']:.0f} Mo pour les {n(args.files)} petits fichiers ; le même processus qui "
        f"n'écrit rien (`catalogue sql \"SELECT 1\"` : Python, DuckDB, Arrow chargés) occupe déjà "
        f"{med['baseline']['tree_mb']:.0f} Mo. Le contenu passe par un tampon "
        "d'1 Mio : la mémoire ne suit pas la taille des fichiers (test `test_memory_flat_while_packing_a_big_file`). "
        "Elle croît un peu avec le nombre de fichiers d'un jeu : leurs métadonnées (chemin, taille, date, "
        "format, empreinte, quelques centaines d'octets chacun) sont gardées pour écrire le bordereau, qui "
        "lui est écrit en flux.",
        "",
    ]
    doc.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
