"""Micro-benchmark of signature detection (scanners.signatures), before it joins the scan.

    python bench/bench_signatures.py [--work DIR] [--candidates 2000] [--others 20000] [--scan] [--paired 3]

Builds a tree of CANDIDATES files a commune share would hold among its signature
candidates (unsigned PDFs of all sizes, a few of several MB, Office and ODF documents,
XML, ZIP, and about 5 % of real signed files made by data/sample/signing.py) plus OTHERS
ordinary files (text, images). Then, on a warm cache: `is_candidate` over every file,
`detect` over the candidates (one thread, then two), with the bytes read (/proc rchar).
With --scan, the complete `catalogue scan` of the same tree, to put the detection time in
proportion (the issue's target: a full scan at most 5 % slower with detection on).
With --paired N, the issue's measure itself: N rounds of the complete scan with and
without the signature phase (--sans-signatures), alternated on the same tree in the same
run, each into a fresh catalogue; the medians and their ratio.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from data.sample import signing  # noqa: E402
from scanners.filesystem import extension_of  # noqa: E402
from scanners.signatures import detect, is_candidate  # noqa: E402


def _noise_pdf(rng: random.Random, megabytes: float) -> bytes:
    """A PDF holding an incompressible image of about MEGABYTES (a scanned page)."""
    from fpdf import FPDF
    from PIL import Image

    side = int((megabytes * 1_000_000 / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=180)
    return bytes(pdf.output())


def _docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _odt(text: str) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    document.text.addElement(P(text=text))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def build(root: Path, candidates: int, others: int, seed: int = 17) -> None:
    rng = random.Random(seed)
    pki = signing.make_pki()
    base_docx, base_odt = _docx("Rapport"), _odt("Procès-verbal")
    for i in range(candidates):
        folder = root / f"service-{i % 20}" / f"dossier-{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        roll = rng.random()
        signed = rng.random() < 0.05
        tag = f"{i}-{rng.getrandbits(32)}"
        if roll < 0.60:
            if rng.random() < 0.08:
                data = _noise_pdf(rng, rng.uniform(1, 4))
            else:
                data = signing.simple_pdf([f"Ligne {n} {tag}" for n in range(rng.randint(5, 2500))], compress=False)
            name, data = f"acte-{i}.pdf", signing.sign_pdf(data, pki) if signed else data
        elif roll < 0.75:
            name, data = f"rapport-{i}.docx", signing.sign_docx(base_docx, pki) if signed else _docx(tag)
        elif roll < 0.80:
            name, data = f"pv-{i}.odt", signing.sign_odf(base_odt, pki) if signed else _odt(tag)
        elif roll < 0.92:
            rows = "".join(f"<ligne>{tag}-{n}</ligne>" for n in range(rng.choice([10, 100, 1000, 60_000])))
            data = f"<export>{rows}</export>".encode()
            name, data = f"flux-{i}.xml", signing.sign_xml(data, pki) if signed else data
        elif roll < 0.95:
            name, data = f"acte-{i}.pdf.p7s", signing.cms_signature(tag.encode(), pki)
        else:
            out = io.BytesIO()
            import zipfile
            with zipfile.ZipFile(out, "w") as zf:
                zf.writestr("lisezmoi.txt", tag * 100)
            name, data = f"archive-{i}.zip", out.getvalue()
        (folder / name).write_bytes(data)
    for i in range(others):
        folder = root / f"service-{i % 20}" / f"photos-{i % 11}"
        folder.mkdir(parents=True, exist_ok=True)
        ext = rng.choice(["txt", "jpg", "png", "csv", "doc", "msg"])
        (folder / f"fichier-{i}.{ext}").write_bytes(rng.randbytes(rng.randint(500, 60_000)))


def _rchar() -> int:
    with open("/proc/self/io") as stats:
        return next(int(line.split()[1]) for line in stats if line.startswith("rchar:"))


def run(root: Path, scan: bool) -> None:
    entries = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            entries.append((path, name, os.stat(path).st_size))
    for path, _n, _s in entries:  # warm the page cache, as the scan's earlier stages do
        with open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    start = time.perf_counter()
    for _ in range(10):
        chosen = [p for p, name, size in entries if is_candidate(name, extension_of(name), size, None, None)]
    per_call = (time.perf_counter() - start) / (10 * len(entries))
    print(f"is_candidate: {len(entries)} files, {len(chosen)} candidates, {per_call * 1e6:.2f} µs/file "
          f"({1 / per_call:,.0f} files/s)")
    for threads in (1, 2):
        before, start, cpu = _rchar(), time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(detect, chosen))
        elapsed, read = time.perf_counter() - start, _rchar() - before
        cpu = time.process_time() - cpu
        found = sum(r is not None for r in results)
        total = sum(os.path.getsize(p) for p in chosen)
        print(f"detect, {threads} thread(s): {len(chosen)} candidates in {elapsed:.2f} s "
              f"({len(chosen) / elapsed:,.0f} files/s, CPU {cpu:.2f} s), {found} signed, read {read / 1e6:.1f} MB "
              f"of {total / 1e6:.1f} MB")
    if scan:
        db = Path(tempfile.mkdtemp()) / "bench.duckdb"
        start = time.perf_counter()
        cpu = os.times()
        subprocess.run([sys.executable, "-m", "catalogue.cli", "scan", str(root), "--commune", "99999", "--db",
                        str(db), "--quiet"], check=True, cwd=HERE.parent)
        after = os.times()
        print(f"catalogue scan (complete) of the same {len(entries)} files: {time.perf_counter() - start:.2f} s "
              f"(CPU {after.children_user + after.children_system - cpu.children_user - cpu.children_system:.2f} s)")


def _timed_scan(root: Path, signatures: bool) -> tuple[float, float]:
    """(wall, CPU) seconds of one complete `catalogue scan` of ROOT into a fresh catalogue."""
    db = Path(tempfile.mkdtemp()) / "bench.duckdb"
    extra = [] if signatures else ["--sans-signatures"]
    cpu, start = os.times(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "catalogue.cli", "scan", str(root), "--commune", "99999", "--db",
                    str(db), "--quiet", *extra], check=True, cwd=HERE.parent, stdout=subprocess.DEVNULL)
    wall, after = time.perf_counter() - start, os.times()
    return wall, after.children_user + after.children_system - cpu.children_user - cpu.children_system


def paired(root: Path, rounds: int) -> None:
    """The scan with and without the signature phase, alternated, ROUNDS times each."""
    import statistics

    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for i in range(rounds):
        for on in ((False, True) if i % 2 == 0 else (True, False)):  # alternate who goes first
            times[on].append(_timed_scan(root, on))
            print(f"round {i + 1}, signatures {'on' if on else 'off'}: {times[on][-1][0]:.2f} s "
                  f"(CPU {times[on][-1][1]:.2f} s)", flush=True)
    wall = {on: statistics.median(t[0] for t in times[on]) for on in times}
    cpu = {on: statistics.median(t[1] for t in times[on]) for on in times}
    print(f"median of {rounds}: without {wall[False]:.2f} s (CPU {cpu[False]:.2f} s), with {wall[True]:.2f} s "
          f"(CPU {cpu[True]:.2f} s); ratio wall {wall[True] / wall[False]:.3f}, CPU {cpu[True] / cpu[False]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--others", type=int, default=20000)
    parser.add_argument("--scan", action="store_true")
    parser.add_argument("--paired", type=int, default=0, metavar="N",
                        help="N paired rounds of the full scan with and without signatures")
    args = parser.parse_args()
    root = args.work or Path(tempfile.mkdtemp(prefix="bench-signatures-"))
    if not (root / "service-0").exists():
        start = time.perf_counter()
        build(root, args.candidates, args.others)
        print(f"tree built in {time.perf_counter() - start:.0f} s: {root}")
    if args.paired:
        paired(root, args.paired)
    else:
        run(root, args.scan)


if __name__ == "__main__":
    main()
