"""The built wheel (DESIGN.md §3, docs/architecture.md): it installs the four layer
packages and no generic name (`data`, `templates`); the report templates and the demo
generator travel inside them; installed outside the repository, it renders a report,
generates the demo territory and runs `catalogue demo`.

The wheel is built by pip from a copy of the sources (a build leaves build/ and
*.egg-info beside them) and installed with `pip install --target` into a folder of its
own. Programs run from it with `python -S`: the project's venv may hold an editable
install of a checkout, whose import hook would otherwise supply what the wheel lacks;
-S keeps it out, and the venv's site-packages is put on the path for the dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO

SOURCES = ("pyproject.toml", "README.md", "catalogue", "scanners", "grids", "reports", "templates", "data")
TOP_LEVEL = {"catalogue", "scanners", "grids", "reports"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base / "dist"), str(src)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [built] = (base / "dist").glob("catalogage-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("installed")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return target


def _expected_members() -> set[str]:
    """What the wheel must hold: every module of the four packages, the generator's modules
    under catalogue/sample/, the templates under reports/templates/, the rule files."""
    members = {p.relative_to(REPO).as_posix() for top in TOP_LEVEL for p in (REPO / top).rglob("*.py")
               if "__pycache__" not in p.parts and p.parent != REPO / "catalogue" / "sample"}
    members |= {f"catalogue/sample/{p.name}" for p in (REPO / "data" / "sample").glob("*.py")}
    members |= {f"reports/templates/{p.name}" for p in (REPO / "templates").iterdir() if p.suffix in (".py", ".html", ".css")}
    members |= {p.relative_to(REPO).as_posix() for p in (REPO / "catalogue").glob("rules/*.csv")}
    members |= {p.relative_to(REPO).as_posix() for p in (REPO / "catalogue").glob("sql/*.sql")}
    return members


def test_wheel_installs_the_four_layer_packages_only(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == TOP_LEVEL
        missing = sorted(_expected_members() - names)
        assert not missing, f"missing from the wheel (list the package in pyproject.toml): {missing}"
        # The generator's own __init__, not the checkout's pointer to data/sample/.
        assert zf.read("catalogue/sample/__init__.py") == (REPO / "data" / "sample" / "__init__.py").read_bytes()


def _run(installed: Path, cwd: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    paths = dict.fromkeys([str(installed), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    return subprocess.run([sys.executable, "-S", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


CHECK = """
import importlib.util, sys
from pathlib import Path

installed = Path(sys.argv[1]).resolve()
assert importlib.util.find_spec("data") is None and importlib.util.find_spec("templates") is None

from catalogue.sample.generate import generate_commune
from catalogue.scan import run_scan
from reports.render import builtin_templates, report_commune
import catalogue.sample.generate

for where in (Path(catalogue.sample.generate.__file__), builtin_templates()):
    assert where.resolve().is_relative_to(installed), where
share = generate_commune(Path("partages"), "99003", "Vallon-les-Bains", 0.2, 2026)
run_scan(str(share), "99003", nom="Vallon-les-Bains", db="c.duckdb", quiet=True, signatures=False)
report = report_commune("c.duckdb", "99003", Path("rapport"), pdf=False)
print(*report.files, sep="\\n")
"""


def test_installed_wheel_generates_and_renders_outside_the_repository(installed, tmp_path):
    proc = _run(installed, tmp_path, "-c", CHECK, str(installed))
    assert proc.returncode == 0, proc.stderr
    html = tmp_path / "rapport" / "rapport-99003.html"
    assert str(html.relative_to(tmp_path)) in proc.stdout.splitlines()
    text = html.read_text(encoding="utf-8")
    assert "Vallon-les-Bains" in text and "<style>" in text  # the built-in templates, CSS inlined


@pytest.mark.slow
def test_catalogue_demo_runs_from_the_installed_wheel(installed, tmp_path):
    launcher = "import sys; from catalogue.cli import main; sys.argv[0] = 'catalogue'; main()"
    proc = _run(installed, tmp_path, "-c", launcher, "demo", "--out", "demo", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Catalogue de démonstration : demo/catalogue.duckdb" in proc.stdout
    assert (tmp_path / "demo" / "rapports" / "synthese-territoriale.html").is_file()
    assert (tmp_path / "demo" / "rapports" / "synthese-territoriale.pdf").is_file()


def test_only_the_demo_imports_the_generator():
    """import-linter sees the generator as `data.sample` (its folder), not under the name the
    code imports it by, `catalogue.sample`: this check stands in for the layer contract."""
    import ast

    importers = set()
    for top in sorted(TOP_LEVEL):
        for path in (REPO / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_bytes())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
                if any(n == "catalogue.sample" or n.startswith("catalogue.sample.") for n in names):
                    importers.add(path.relative_to(REPO).as_posix())
    assert importers == {"catalogue/demo.py"}
