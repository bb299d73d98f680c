"""The demo territory's generator, a sub-package of the distribution (DESIGN.md §3).

Its code lives in the repository's `data/sample/` folder. An installed wheel holds that
folder here, under this name (pyproject.toml maps `catalogue.sample` to `data/sample`),
with `data/sample/__init__.py` in place of this file. In a source checkout this file is
what Python finds: it points the package at `data/sample/`, so that
`catalogue.sample.generate` means the same module in both cases.
"""

from pathlib import Path

__path__ = [str(Path(__file__).resolve().parents[2] / "data" / "sample")]
