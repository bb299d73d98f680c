"""Scan benchmark, side by side with peer tools on the same tree in the same run.

    python bench/bench_scan.py [--files 100000] [--work bench/out] [--jobs N] [--repetitions 3] [--complet 3]

Measures wall time, CPU time (user + system), peak RSS of each command's largest process
(the kernel's rusage) and peak PSS of the command and all its descendants together
(bench/measure.py, /proc/PID/smaps_rollup: a page shared between them counts once), on a
warm cache (a first `find` pass loads the metadata, a `cat` of every file the contents, for
every tool alike). The walk and duplicate commands run several times, interleaved. Our scan
runs three ways, each in a fresh catalogue: metadata only, metadata + duplicates (both
without the signature phase), and complete; the complete scan is paired with siegfried alone
on the same files, in batches of the scan's size with as many workers. Peers: `find -printf`
and `du` for the walk, `rdfind`, `jdupes` and `rmlint` for duplicates (Debian packages).
Every ratio is the median of the ratios of paired runs. It also splits our commands' CPU time
by process and thread (each names itself, scanners/osname.py), gives the scan process's
memory at the full scan's peak by kind of mapping (code of each library, heap, anonymous),
and states each target of issue 21 as met or not, with the least wall time the measured CPU
allows on this machine's cores. Writes docs/benchmarks.md.
Ratios matter, not absolute times: the machines are shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.gen_tree import generate  # noqa: E402
from bench.measure import (  # noqa: E402
    content_sample,
    fr,
    measure,
    median_run,
    resident_fraction,
    warm_contents,
)


def jdupes_groups(text: str, root: Path) -> set[frozenset[str]]:
    groups, current = set(), []
    for line in text.splitlines() + [""]:
        if line.strip():
            current.append(os.path.relpath(line, root))
        elif current:
            groups.add(frozenset(current))
            current = []
    return groups


def rdfind_groups(results: Path, root: Path) -> set[frozenset[str]]:
    """rdfind's results.txt: each first occurrence is followed by its duplicates."""
    groups, current = [], []
    for line in results.read_text(errors="replace").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split(" ", 7)
        if parts[0] == "DUPTYPE_FIRST_OCCURRENCE":
            if current:
                groups.append(current)
            current = [parts[7]]
        elif parts[0] == "DUPTYPE_WITHIN_SAME_TREE":
            current.append(parts[7])
    if current:
        groups.append(current)
    return {frozenset(os.path.relpath(p, root) for p in g) for g in groups}


def rmlint_groups(report: Path, root: Path) -> set[frozenset[str]]:
    """rmlint's JSON report: duplicate files share a checksum."""
    by_sum = defaultdict(set)
    for item in json.loads(report.read_text(errors="replace")):
        if item.get("type") == "duplicate_file":
            by_sum[item["checksum"]].add(os.path.relpath(item["path"], root))
    return {frozenset(v) for v in by_sum.values()}


OUR_SCRIPT = ("import json, sys; from catalogue.scan import run_scan; "
              "s = run_scan(sys.argv[1], 'BENCH', db=sys.argv[2], jobs=int(sys.argv[3]), quiet=True, "
              "identify=sys.argv[4] == '1', find_duplicates=sys.argv[5] == '1', signatures=sys.argv[4] == '1'); "
              "print(json.dumps({'seconds': s.seconds, 'files': s.files, 'groups': s.duplicate_groups, "
              "'copies': s.identification_copies}))")
FULL = "catalogue scan (complet)"
SF_ALONE = "siegfried seul (mêmes fichiers, lots et workers)"
IMPORTS = "imports seuls (processus de scan au repos)"
# Process names (comm) in the memory at the full scan's peak.
_ROLES = {"scan": "processus du scan (Python, DuckDB, libmagic)", "siegfried": "siegfried",
          "python": "serveur de processus et suivi des ressources"}


# Who used the CPU (bench/measure.py: processes and threads by the name they carry).
_JOBS = {"find": "find (ses processus)", "scan/lecture-find": "lecture de la sortie de find",
         "scan/analyse-find": "analyse de la sortie de find (Arrow)", "scan/ecriture-duckdb": "écriture dans DuckDB",
         "empreintes": "lecture et empreintes (processus de calcul)",
         "scan/identification": "libmagic et contrôles (fils d'identification)", "siegfried": "siegfried (son processus)",
         "scan/signatures": "signatures électroniques (fils)",
         "scan/principal": "fil principal (Python ; requêtes DuckDB des phases)",
         "scan/empreintes": "empreintes complètes (fils de lecture)", "scan/listage": "listage des dossiers (parcours Python)",
         "calcul": "processus de calcul",
         "scan/autres": "autres fils d'exécution du scan (DuckDB, Arrow)",
         "scan/jemalloc_bg_thd": "autres fils d'exécution du scan (DuckDB, Arrow)",
         "scan/non attribué": "fils d'exécution du scan finis entre deux relevés",
         "enfants finis entre deux relevés": "processus enfants finis entre deux relevés",
         "python": "serveur de processus et suivi des ressources"}
WALK = "catalogue scan --sans-identification --sans-doublons (parcours)"
DUPS = "catalogue scan --sans-identification (parcours + doublons)"


def cpu_table(rows: dict[str, dict], names: list[str], cores: int) -> list[str]:
    """Where the CPU time of our commands went, by process and thread, and the least wall
    time that CPU allows on this machine's cores."""
    heads = {WALK: "parcours seul", DUPS: "parcours + doublons", FULL: "scan complet"}
    jobs: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for name in names:
        for job, seconds in rows[name].get("cpu_jobs", {}).items():
            jobs[_JOBS.get(job, job)][name] += seconds
    lines = ["| CPU (s) | " + " | ".join(heads[n] for n in names) + " |", "| --- |" + " ---: |" * len(names)]
    for job, by_name in sorted(jobs.items(), key=lambda kv: -max(kv[1].values())):
        if max(by_name.values()) >= 0.05:
            lines.append(f"| {job} | " + " | ".join(f"{by_name.get(n, 0):.2f}" for n in names) + " |")
    lines.append("| **total** | " + " | ".join(f"**{rows[n]['cpu']:.2f}**" for n in names) + " |")
    lines.append(f"| temps réel minimal sur {cores} cœurs (CPU / {cores}) | "
                 + " | ".join(f"{rows[n]['cpu'] / cores:.2f}" for n in names) + " |")
    lines.append("| temps réel mesuré | " + " | ".join(f"{rows[n]['wall']:.2f}" for n in names) + " |")
    return lines


def pairs(runs: dict[str, list[dict]], ours: str, peer: str) -> list[float]:
    """The ratios of the runs made one after the other (same load on the machine)."""
    return sorted(a["wall"] / b["wall"] for a, b in zip(runs[ours], runs[peer]))


def paired_ratio(runs: dict[str, list[dict]], ours: str, peer: str) -> str:
    """The median of the paired ratios, and their range."""
    ratios = pairs(runs, ours, peer)
    text = f"**{statistics.median(ratios):.2f}**"
    if len(ratios) > 1:
        text += f" ({len(ratios)} paires, de {ratios[0]:.2f} à {ratios[-1]:.2f})"
    return text


def dec(x: float, digits: int = 2) -> str:
    """A decimal number written the French way (comma)."""
    return f"{x:.{digits}f}".replace(".", ",")


def targets(rows: dict[str, dict], dup_ratios: dict[str, float], walk_ratio: float, full_ratio: float,
            cores: int) -> list[str]:
    """Issue 21's targets at this size: met or not, and where the time or memory goes."""
    def verdict(ok: bool) -> str:
        return "**tenu**" if ok else "**non tenu**"

    def top(name: str, count: int = 3) -> str:
        jobs: dict[str, float] = defaultdict(float)
        for job, seconds in rows[name].get("cpu_jobs", {}).items():
            jobs[_JOBS.get(job, job)] += seconds
        return ", ".join(f"{j} {dec(v, 1)} s" for j, v in sorted(jobs.items(), key=lambda kv: -kv[1])[:count])

    def peer(name: str) -> str:
        return name.split(" (")[0]

    find_wall = rows["find -printf (parcours)"]["wall"]
    walk_floor = rows[WALK]["cpu"] / cores / find_wall
    dup_floor = {p: rows[DUPS]["cpu"] / cores / rows[p]["wall"] for p in dup_ratios}
    tree = rows[FULL]["tree_mb"]
    parts = sorted((rows[FULL].get("at_peak_mb") or {}).items(), key=lambda kv: -kv[1])
    return [
        "Objectifs du ticket 21 à cette taille (temps minimal : le CPU mesuré divisé par le nombre de cœurs, "
        "le temps qu'il faudrait même sans aucune attente) :", "",
        f"- scan complet ≤ 1,2 × siegfried seul : {dec(full_ratio)}, {verdict(full_ratio <= 1.2)}.",
        "- parcours + doublons ≤ 0,5 × rdfind et jdupes : "
        + ", ".join(f"{dec(r)} ({peer(p)})" for p, r in dup_ratios.items())
        + f", {verdict(all(r <= 0.5 for r in dup_ratios.values()))}. Avec le CPU qu'il consomme, le temps minimal "
        "serait " + ", ".join(f"{dec(f)} × {peer(p)}" for p, f in dup_floor.items())
        + f". Son CPU, par ordre décroissant : {top(DUPS)}.",
        f"- parcours ≤ 1,3 × `find -printf` : {dec(walk_ratio)}, {verdict(walk_ratio <= 1.3)}. Le temps minimal, "
        f"avec son CPU, serait {dec(walk_floor)} × ; les processus `find` du scan y consomment déjà "
        f"{dec(rows[WALK].get('cpu_jobs', {}).get('find', 0) / find_wall)} fois le temps de `find -printf`. "
        f"Son CPU, par ordre décroissant : {top(WALK)}.",
        f"- PSS max ≤ 300 Mo : {tree:.0f} Mo, {verdict(tree <= 300)}. Au pic : "
        + ", ".join(f"{_ROLES.get(k, k)} {v:.0f} Mo" for k, v in parts) + ".",
    ]


def run_ours(tree: Path, db: Path, jobs: int, identify: bool, duplicates: bool) -> tuple[dict, dict]:
    out_file = db.with_suffix(".json")
    with open(out_file, "w") as fh:
        result = measure([sys.executable, "-c", OUR_SCRIPT, str(tree), str(db), str(jobs),
                          "1" if identify else "0", "1" if duplicates else "0"], stdout=fh)
    printed = out_file.read_text().strip().splitlines()
    if len(printed) > 1:
        print("Sortie inattendue du scan :", *printed[:-1][:5], sep="\n  ", file=sys.stderr)
    return result, json.loads(printed[-1])


# Siegfried alone on the files our scan identifies (regular, not empty), listed by a Python
# walk, in batches of the scan's size with as many Go workers: the identification reference.
SF_SCRIPT = """
import os, stat, sys
from scanners.siegfried import pygfried
root, jobs, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
paths, done = [], 0
for parent, _, names in os.walk(root):
    for name in names:
        full = os.path.join(parent, name)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_size > 0:
            paths.append(full)
        if len(paths) >= batch:
            done += len(pygfried.identify_many(paths, workers=jobs)["files"])
            paths = []
if paths:
    done += len(pygfried.identify_many(paths, workers=jobs)["files"])
print(done)
"""

# What the scan process holds before it reads anything: Python, pyarrow, DuckDB, siegfried.
IMPORTS_SCRIPT = ("import time, catalogue.scan.pipeline, scanners.siegfried, duckdb; "
                  "con = duckdb.connect(); con.execute('SELECT 1').fetchall(); time.sleep(1.5)")


def run_siegfried(tree: Path, jobs: int, batch: int) -> dict:
    return measure([sys.executable, "-c", SF_SCRIPT, str(tree), str(jobs), str(batch)])


def paired_full_runs(tree: Path, db: Path, jobs: int, count: int, runs: dict[str, list[dict]],
                     warm: Callable[[], None]) -> dict:
    """The full scan and siegfried alone, COUNT times each, paired: each pair under the same
    load, the first of the two alternating. The last scan's catalogue stays in DB. Returns
    the scans' figures, the phase times as medians."""
    from catalogue.scan.options import Tuning

    infos: list[dict] = []

    def full() -> None:
        db.unlink(missing_ok=True)
        result, info = run_ours(tree, db, jobs, True, True)
        runs[FULL].append(result)
        infos.append(info)

    def alone() -> None:
        runs[SF_ALONE].append(run_siegfried(tree, jobs, Tuning().id_batch))

    for rep in range(count):
        for run in ([full, alone] if rep % 2 == 0 else [alone, full]):
            warm()
            run()
    runs[IMPORTS].append(measure([sys.executable, "-c", IMPORTS_SCRIPT]))
    return {"files": infos[-1]["files"],
            "seconds": {k: statistics.median(i["seconds"][k] for i in infos) for k in infos[-1]["seconds"]},
            "copies": statistics.median(i.get("copies", 0) for i in infos)}


def groups_and_views(db: Path) -> tuple[set[frozenset[str]], dict[str, float]]:
    """The duplicate groups of the catalogue DB, and how long each view takes on it."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    members = defaultdict(set)
    for h, path in con.execute("SELECT hash, path FROM duplicate_files").fetchall():
        members[h].add(path)
    view_times = {}
    for view in ["volumes", "formats", "duplicates", "dechets", "datasets"]:
        t = time.perf_counter()
        con.execute(f"SELECT count(*) FROM (SELECT * FROM {view})").fetchall()
        view_times[view] = time.perf_counter() - t
    con.close()
    return {frozenset(v) for v in members.values()}, view_times


NETWORK_FILES = 5_000
KEEP_MARKER = "<!-- Mesures ponctuelles : conservées par bench_scan.py -->"


def network_section(work: Path, delay_ms: float) -> list[str]:
    """The walk over a FUSE mount answering each request after DELAY_MS (a slow share):
    `find` against our scan listing one directory at a time and 32 at a time."""
    try:
        import fuse  # noqa: F401
    except (ImportError, OSError) as exc:
        return ["", f"Partage réseau simulé : non mesuré (fusepy/libfuse indisponible : {exc})."]
    source = work / f"arbre-reseau-{NETWORK_FILES}"
    if not (source / ".complet").exists():
        shutil.rmtree(source, ignore_errors=True)
        generate(source, NETWORK_FILES)
        (source / ".complet").touch()
    mnt = Path(tempfile.mkdtemp(dir=work, prefix="montage-"))
    server = subprocess.Popen([sys.executable, str(HERE / "latencyfs.py"), str(source), str(mnt), "--ms", str(delay_ms)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.ismount(mnt):
                break
            time.sleep(0.1)
        else:
            return ["", "Partage réseau simulé : non mesuré (montage FUSE impossible)."]
        rows = {"find -printf": measure(["find", str(mnt), "-printf", "%P\t%s\t%T@\n"])}
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            for listers in (1, 8, 32):
                rows[f"catalogue scan --listages {listers}"] = measure(
                    [sys.executable, "-m", "catalogue.cli", "scan", str(mnt), "--commune", "99999", "--db",
                     str(Path(tmp) / f"l{listers}.duckdb"), "--quiet", "--sans-identification", "--sans-doublons",
                     "--sans-signatures",
                     "--listages", str(listers)])
    finally:
        subprocess.run(["fusermount", "-u", str(mnt)], check=False)
        server.wait(timeout=30)
        mnt.rmdir()
    find_wall = rows["find -printf"]["wall"]
    lines = ["", f"## Partage réseau simulé ({delay_ms:g} ms par requête)", "",
             f"{NETWORK_FILES} fichiers derrière un montage FUSE (`bench/latencyfs.py`) qui répond à chaque requête "
             f"(lookup, getattr, readdir, read) après {delay_ms:g} ms, caches du noyau désactivés : l'équivalent d'un "
             "partage SMB ou NFS distant. Parcours seul (`--sans-identification --sans-doublons`).", "",
             "| commande | temps réel (s) | rapport à `find` |", "| --- | ---: | ---: |"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['wall']:.2f} | {r['wall'] / find_wall:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=HERE / "out")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--doc", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    parser.add_argument("--repetitions", type=int, default=3,
                        help="exécutions de chaque commande de parcours et de doublons (médiane retenue)")
    parser.add_argument("--complet", type=int, default=3,
                        help="exécutions appariées du scan complet et de siegfried seul (médiane des rapports)")
    parser.add_argument("--reseau-ms", type=float, default=2.0,
                        help="latence du partage réseau simulé, en ms (0 : ne pas le mesurer)")
    args = parser.parse_args()

    tree = args.work / f"arbre-{args.files}"
    if not (tree / ".complet").exists():
        print(f"Génération de {args.files} fichiers dans {tree}…", file=sys.stderr)
        shutil.rmtree(tree, ignore_errors=True)
        generate(tree, args.files)
        (tree / ".complet").touch()
    # Warm the cache for everyone: metadata, then contents (the first tool to read the files
    # would otherwise pay for the disk alone; a tree larger than the free memory stays cold).
    measure(["find", str(tree), "-printf", ""])
    warm_contents(tree)
    sample = content_sample(tree)
    rewarms = 0

    def warm_if_evicted() -> None:
        # This machine's page cache holds a 1M-file tree with little to spare: the
        # catalogues written meanwhile can evict part of it, and the next duplicate command
        # would pay for the disk alone. Each one starts from the same warm cache.
        nonlocal rewarms
        fraction = resident_fraction(sample)
        if fraction is not None and fraction < 0.99:
            print(f"Contenus en cache : {fraction:.1%}, relecture de l'arbre.", file=sys.stderr)
            warm_contents(tree)
            rewarms += 1

    # The walk and duplicate commands run REPETITIONS times, interleaved (a burst of load on
    # the shared machine then hits every tool alike); each keeps its median run.
    runs: dict[str, list[dict]] = defaultdict(list)
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        for rep in range(args.repetitions):
            runs["find -printf (parcours)"].append(measure(["find", str(tree), "-printf", "%P\t%s\t%T@\n"]))
            runs["du -s (volume)"].append(measure(["du", "-s", "--bytes", str(tree)]))
            db = Path(tmp) / f"r{rep}-walk.duckdb"
            runs[WALK].append(run_ours(tree, db, args.jobs, False, False)[0])
            db.unlink()
            results = Path(tmp) / "rdfind.txt"
            jd_out = Path(tmp) / "jdupes.txt"

            def ours_dups() -> None:
                db = Path(tmp) / f"r{rep}-dups.duckdb"
                runs[DUPS].append(
                    run_ours(tree, db, args.jobs, False, True)[0])
                db.unlink()

            def rdfind() -> None:
                runs["rdfind -dryrun (doublons)"].append(measure(
                    ["rdfind", "-dryrun", "true", "-outputname", str(results), str(tree)]))

            def jdupes() -> None:
                with open(jd_out, "w") as fh:
                    runs["jdupes -r (doublons)"].append(measure(["jdupes", "-r", "-q", str(tree)], stdout=fh))

            # Each duplicate finder goes first in one repetition: none always inherits the
            # cache as the previous one left it.
            order = [ours_dups, rdfind, jdupes]
            for run in order[rep % 3:] + order[:rep % 3]:
                warm_if_evicted()
                run()
            rm_out = Path(tmp) / "rmlint.json"
            if rep == 0 and shutil.which("rmlint"):  # several times slower than the others: once
                warm_if_evicted()
                runs["rmlint -T df (doublons)"].append(measure(["rmlint", "-T", "df", "-o", f"json:{rm_out}",
                                                                "--hidden", str(tree)]))
        rd_groups = rdfind_groups(results, tree)
        jd_groups = jdupes_groups(jd_out.read_text(errors="replace"), tree)
        rm_groups = rmlint_groups(rm_out, tree) if rm_out.exists() else None
        rows = {name: median_run(rs) for name, rs in runs.items()}

        db = Path(tmp) / "bench.duckdb"
        info = paired_full_runs(tree, db, args.jobs, args.complet, runs, warm_if_evicted)
        for name in (FULL, SF_ALONE, IMPORTS):
            rows[name] = median_run(runs[name])
        our_groups, view_times = groups_and_views(db)

    sec = info["seconds"]  # medians over the full scans
    n = info["files"]
    find_wall = rows["find -printf (parcours)"]["wall"]
    lines = [
        "# Mesures de performance du scan",
        "",
        f"Produit par `python bench/bench_scan.py --files {args.files}` (cache chaud : métadonnées et contenus lus une première fois, `--jobs {args.jobs}`).",
        f"Commandes de parcours et de doublons exécutées {args.repetitions} fois, en alternance : "
        "exécution médiane (temps réel, CPU), écart entre la plus rapide et la plus lente, mémoire la plus haute ; "
        "rmlint (plusieurs fois plus lent), une fois ; "
        f"le scan complet et siegfried seul, {args.complet} fois chacun, par paires (l'un puis l'autre, "
        "l'ordre alterné). Tous les rapports sont des médianes de rapports d'exécutions appariées. "
        "Chaque outil de doublons passe le premier dans une des répétitions ; avant chacun, un échantillon de "
        f"2 000 fichiers est vérifié en cache (fincore) et l'arbre relu s'il en manque plus de 1 % "
        f"(relectures : {rewarms}).",
        f"Machine : {platform.machine()}, {os.cpu_count()} cœurs, Linux {platform.release()}, Python {platform.python_version()}.",
        f"Arbre synthétique : {n} fichiers (bench/gen_tree.py : tailles log-normales, ~10 % de copies, ~2 % de fichiers vides, "
        "la moitié PDF, PNG ou JPEG reconnus par signature, un tiers d'octets que rien ne reconnaît).",
        "Les machines sont partagées : seuls les rapports entre outils d'une même exécution ont du sens.",
        "",
        "| commande | temps réel (s) | plus rapide – plus lente (s) | CPU (s) | mémoire max, plus gros processus (Mo) "
        "| PSS max, processus et descendants (Mo) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows.items():
        walls = [x["wall"] for x in runs.get(name, [r])]
        spread = f"{min(walls):.2f} – {max(walls):.2f}" if len(walls) > 1 else ""
        pss = f"{r['tree_mb']:.0f}" if r["tree_mb"] else "—"  # ended before the first sample
        lines.append(f"| {name} | {r['wall']:.2f} | {spread} | {r['cpu']:.2f} | {r['rss_mb']:.0f} | {pss} |")
    lines += ["", "PSS (`/proc/PID/smaps_rollup`) du processus et de ses descendants, additionnés, relevés toutes "
              "les 0,2 s : une page partagée entre eux (bibliothèques, serveur de processus) compte une fois "
              "en tout. « Imports seuls » : le processus de scan avant toute lecture (Python, pyarrow, DuckDB, "
              "siegfried). CPU : celui que le noyau compte pour le processus et les descendants qu'il a attendus, "
              "ou la somme des relevés de chaque processus et fil d'exécution quand elle est plus grande (le processus de siegfried est "
              "l'enfant du serveur de processus, pas du scan)."]
    at_peak = rows[FULL].get("at_peak_mb") or {}
    if at_peak:
        parts = sorted(at_peak.items(), key=lambda kv: -kv[1])
        lines += ["", f"Au pic du scan complet ({rows[FULL]['tree_mb']:.0f} Mo), PSS par processus : "
                  + ", ".join(f"{_ROLES.get(k, k)} {v:.0f} Mo" for k, v in parts) + "."]
        scan_parts = sorted((rows[FULL].get("scan_parts_mb") or {}).items(), key=lambda kv: -kv[1])
        if scan_parts:
            lines[-1] += (" Dans le processus du scan, relevé de `/proc/PID/smaps` au pic, par type de zone mémoire : "
                          + ", ".join(f"{k} {v:.0f} Mo" for k, v in scan_parts) + ".")
    peers = [p for p in ("rdfind -dryrun (doublons)", "jdupes -r (doublons)", "rmlint -T df (doublons)") if p in rows]

    def ratio(ours: str, peer: str) -> str:
        return paired_ratio(runs, ours, peer)

    lines += [
        "",
        "Rapports de temps réel (Catalogage / outil de référence ; < 1 = plus rapide) :",
        "",
        f"- parcours seul / `find -printf` : {ratio(WALK, 'find -printf (parcours)')} ; "
        f"/ `du -s` : {ratio(WALK, 'du -s (volume)')}",
    ] + [f"- parcours + doublons / `{p.split(' (')[0]}` : {ratio(DUPS, p)}" for p in peers] + [
        f"- scan complet / siegfried seul : {ratio(FULL, SF_ALONE)}"]
    cores = os.cpu_count() or 1
    lines += ["", "Où passe le CPU de nos commandes (exécution médiane ; processus et fils d'exécution relevés par leur nom "
              "toutes les 0,2 s, `scanners/osname.py`) :", ""] + cpu_table(rows, [WALK, DUPS, FULL], cores)
    lines += [""] + targets(rows, {p: statistics.median(pairs(runs, DUPS, p)) for p in peers[:2]},
                            statistics.median(pairs(runs, WALK, "find -printf (parcours)")),
                            statistics.median(pairs(runs, FULL, SF_ALONE)), cores)
    lines += [
        "",
        "Phases de `catalogue scan` (débit en fichiers par seconde) :",
        "",
        "| phase | temps (s) | fichiers/s | rapport à `find` |",
        "| --- | ---: | ---: | ---: |",
    ]
    for phase, label in [("walk", "parcours + écriture DuckDB"),
                         ("hash", "doublons (taille → empreinte partielle → xxh3-128)"),
                         ("identify", "identification (siegfried + libmagic)"),
                         ("signatures", "signatures électroniques")]:
        to_find = f"{sec[phase] / find_wall:.1f} ×" if phase == "walk" else ""
        lines.append(f"| {label} | {sec[phase]:.2f} | {fr(n / sec[phase])} | {to_find} |")
    sf_wall = rows[SF_ALONE]["wall"]
    lines += [f"| siegfried seul (même arbre, parcours Python compris) | {sf_wall:.2f} | {fr(n / sf_wall)} |  |",
              "",
              f"Identification : {fr(info['copies'])} fichiers sur {fr(n)} ont repris le résultat d'un contenu "
              "identique (même empreinte, taille et extension) sans être relus."]
    lines += [
        "",
        f"Groupes de doublons : Catalogage {len(our_groups)}, rdfind {len(rd_groups)}, jdupes {len(jd_groups)} ; "
        f"identiques à rdfind : {'oui' if our_groups == rd_groups else 'non'}, "
        f"identiques à jdupes : {'oui' if our_groups == jd_groups else 'non'}"
        + (f" ; rmlint {len(rm_groups)}, identiques : {'oui' if our_groups == rm_groups else 'non'}."
           if rm_groups is not None else "."),
        "",
        "Requêtes des vues sur ce catalogue (s) : "
        + ", ".join(f"`{v}` {t:.2f}" for v, t in view_times.items()) + ".",
    ]
    if args.reseau_ms > 0:
        lines += network_section(args.work, args.reseau_ms)
    lines.append("")
    # Hand-measured notes below the marker survive a new run.
    kept = ""
    if args.doc.exists():
        previous = args.doc.read_text(encoding="utf-8")
        if KEEP_MARKER in previous:
            kept = "\n" + previous[previous.index(KEEP_MARKER):]
    args.doc.write_text("\n".join(lines) + kept, encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
