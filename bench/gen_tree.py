"""Synthetic file share for benchmarks: realistic sizes, depth and duplicate rate.

    python bench/gen_tree.py OUT --files 100000 [--seed 1]

Sizes follow a log-normal law (median 2 KB, long tail capped at 1 MB), folders are
2 to 6 levels deep with about 40 files each, ~10 % of files are exact copies of
another, ~2 % are empty. Half the files are PDF, PNG or JPEG files as siegfried sees
them (a real header and trailer around random bytes: a match by signature, as most files
of a real share), a sixth start like a ZIP and are not one, a third are random bytes
that nothing recognises (libmagic then runs too).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

# (head, tail) of a file's content.
SHAPES = [(b"%PDF-1.4\n", b"\n%%EOF\n"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\x00\x00\x00\x00IEND\xaeB`\x82"),
          (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01", b"\xff\xd9"), (b"PK\x03\x04", b""), (b"", b""), (b"", b"")]


def generate(out: Path, files: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    folders: list[Path] = []
    written: list[Path] = []
    n = 0
    while n < files:
        depth = rng.randint(2, 6)
        folder = out.joinpath(*[f"dossier-{rng.randint(0, 30)}" for _ in range(depth)])
        folder.mkdir(parents=True, exist_ok=True)
        folders.append(folder)
        for _ in range(min(rng.randint(10, 70), files - n)):
            path = folder / f"f{n:07d}{rng.choice(['.pdf', '.docx', '.txt', '.jpg', '.xlsx', '.odt', ''])}"
            roll = rng.random()
            if roll < 0.02:
                data = b""
            elif roll < 0.12 and written:
                data = rng.choice(written).read_bytes()
            else:
                size = min(int(rng.lognormvariate(7.6, 1.6)), 1 << 20)
                head, tail = rng.choice(SHAPES)
                data = head + rng.randbytes(size) + tail
            path.write_bytes(data)
            if len(written) < 5000 and data:
                written.append(path)
            n += 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.files, args.seed)
