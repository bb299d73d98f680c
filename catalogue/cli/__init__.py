"""Command line: a thin layer over the library. Messages and help are French.

`base` holds the group and the shared options; each other module registers one family of
commands on it (scans, catalog, grid, report, sae).
"""

from catalogue.cli import catalog, grid, report, sae, scans  # noqa: F401  (register the commands)
from catalogue.cli.base import main

__all__ = ["main"]
