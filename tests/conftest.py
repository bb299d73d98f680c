"""Shared fixtures: real trees on disk, a real DuckDB catalogue, the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from catalogue.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner):
    """Invoke the real CLI in-process; returns click's Result."""
    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
    return invoke


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def catalogue_cmd() -> list[str]:
    return [sys.executable, "-m", "catalogue.cli"]


def unprivileged(cmd: list[str]) -> list[str]:
    """As root, drop the capabilities that bypass file permissions, so chmod 000 bites."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", "--"] + cmd
    return cmd


def can_drop_privileges() -> bool:
    if os.geteuid() != 0:
        return True
    if not shutil.which("setpriv"):
        return False
    probe = subprocess.run(unprivileged(["true"]), capture_output=True)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def demo_territory(tmp_path_factory) -> Path:
    """The demo territory, generated once per test session."""
    from data.sample.generate import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out)
    return out
