"""Shared fixtures: real trees on disk, a real DuckDB catalogue, the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from catalogue.cli import main

# Helpers live in tests/helpers.py; these names stay importable from here for older tests.
from tests.helpers import REPO, can_drop_privileges, catalogue_cmd, query, unprivileged  # noqa: F401


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner):
    """Invoke the real CLI in-process; returns click's Result."""
    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
    return invoke


@pytest.fixture(scope="session")
def demo_territory(tmp_path_factory) -> Path:
    """The demo territory, generated once per test session."""
    from data.sample.generate import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out)
    return out
