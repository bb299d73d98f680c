"""Test data for the SAE export: a real share (real PDF, PNG, CSV, hostile names), scanned
by the real CLI, and a grid filled as a référent would and imported; plus offline SEDA
validation with the XSDs of ../shared (skipped, with the reason, when it is missing)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from functools import cache
from pathlib import Path

import pytest
from openpyxl import load_workbook

from data.sample.formats import csv_text, image, pdf
from grids import spec
from tests.conftest import REPO, query
from tests.test_grid import GOOD, columns, fill

COMMUNE = "99101"
SHARED = REPO.parent / "shared"
NS = {"2.2": "fr:gouv:culture:archivesdefrance:seda:v2.2", "2.3": "fr:gouv:culture:archivesdefrance:seda:v2.3"}

PERMIS = "Urbanisme/Permis de construire"
ETRANGES = "Urbanisme/Noms etranges"
BUDGETS = "Finances/Budgets"
COURRIER = "Administration/Courrier"
PLU = "Urbanisme/PLU"
PAIE = "Ressources humaines/Paie"
DIVERS = "Divers/Notes"

LONG_NAME = "é" * 125 + "x.txt"          # 255 bytes in UTF-8, the longest a Linux name can be
HOSTILE = ["a <b> & c.txt", "ligne\nnouvelle.txt", "retour\rchariot.txt", "contrôle\x01.txt", LONG_NAME,
           "l’arrêté « 12 ».txt", "=HYPERLINK(x).txt"]


def when(year: int, month: int = 6, day: int = 15) -> int:
    return int(dt.datetime(year, month, day, 10, 30, tzinfo=dt.UTC).timestamp() * 1e9)


def put(root: Path | bytes, rel: str | bytes, data: bytes, mtime_ns: int) -> None:
    path = os.path.join(os.fsencode(root), os.fsencode(rel))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def make_share(root: Path) -> Path:
    """Seven datasets (Service/Activité) of real files; mtimes fixed so dates are known."""
    permis = f"{PERMIS}/"
    put(root, permis + "PC-2024-001.pdf", pdf("Permis de construire PC 2024-001", ["Accordé le 3 mai 2024"]),
        when(2024, 5))
    put(root, permis + "plan.png", image("png", 1), when(2023, 2))
    refus = pdf("Permis PC 2024-002", ["Refus"])
    put(root, permis + "2024/PC-2024-002.pdf", refus, when(2024, 1))
    # A second copy in the same dataset, newer: redundant (the oldest copy is kept).
    put(root, permis + "2024/archives/PC-2024-002.pdf", refus, when(2024, 9))
    # The same content as a budget of another dataset, where it is older: kept here.
    put(root, permis + "2024/budget-annexe.csv", csv_text([["chapitre", "montant"], ["011", "125000"]]), when(2024, 3))
    for i, name in enumerate(HOSTILE):
        put(root, permis + "noms/" + name, f"nom hostile {i}\n".encode(), when(2022, 1 + i))
    deep = permis + "/".join(["sous-dossier-" + "p" * 40] * 6) + "/profond.txt"
    put(root, deep, b"chemin de plus de 255 octets\n", when(2022, 8))
    put(root, permis + "~$brouillon.docx", b"verrou Word\n", when(2024, 5))     # déchet (temporary)
    put(root, permis + "vide.txt", b"", when(2024, 5))                           # déchet (empty)

    put(root, os.fsencode(ETRANGES) + b"/caf\xe9/menu\xff.txt", b"nom en Latin-1\n", when(2021, 4))
    put(root, ETRANGES + "/日本語.txt", "ファイル\n".encode(), when(2021, 5))
    put(root, ETRANGES + "/ordinaire.txt", b"ordinaire\n", when(2021, 6))

    put(root, BUDGETS + "/BP-2023.csv", csv_text([["chapitre", "montant"], ["011", "125000"]]), when(2023, 1))
    put(root, BUDGETS + "/CA-2023.pdf", pdf("Compte administratif 2023", ["Section de fonctionnement"]), when(2024, 4))

    put(root, COURRIER + "/2022/depart-001.pdf", pdf("Courrier départ 001", ["Madame, Monsieur"]), when(2022, 3))
    put(root, COURRIER + "/2023/arrivee-017.pdf", pdf("Courrier arrivée 017", ["Objet : voirie"]), when(2023, 7))

    for i in range(6):  # 40 kB each, incompressible: a split by size is exact
        put(root, f"{PLU}/pieces/piece-{i}.bin", os.urandom(40_000), when(2020, 1 + i))

    put(root, PAIE + "/paie-2025-01.txt", b"paie janvier\n", when(2025, 1))
    put(root, DIVERS + "/note.txt", b"note\n", when(2025, 2))
    return root


ANSWERS = {
    PERMIS: {},
    ETRANGES: {},
    BUDGETS: dict(service="Finances", typologie="Budgets et comptes", donnees_personnelles="Non"),
    COURRIER: dict(service="Secrétariat général", typologie="Courrier (chronos départ et arrivée)"),
    PLU: dict(typologie="Documents d'urbanisme (PLU / POS / carte communale)"),
    DIVERS: dict(service="Accueil", typologie="Autre", typologie_autre="Notes diverses"),
}


def _rows(ws) -> dict[str, int]:
    col = columns(ws)
    rows = {}
    for r in range(2, ws.max_row + 1):
        place = ws.cell(r, col["emplacement"]).value
        if place and ws.cell(r, col["dataset_id"]).value:
            rows["/".join(str(place).split("/")[-2:])] = r
    return rows


def build_catalogue(cli, base: Path) -> tuple[Path, Path]:
    """Scan the share with the CLI, export the grid, answer it, import it."""
    share = make_share(base / "partage")
    db = base / "catalogue.duckdb"
    result = cli("scan", share, "--commune", COMMUNE, "--nom", "Saint-Essai", "--db", db, "--quiet")
    assert result.exit_code == 0, result.output
    grid = base / "grille.xlsx"
    assert cli("grid", "export", "--commune", COMMUNE, "-o", grid, "--db", db).exit_code == 0
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    rows = _rows(ws)
    for place, override in ANSWERS.items():
        fill(ws, rows[place], dict(GOOD, **override))
    wb.save(grid)
    result = cli("grid", "import", grid, "--db", db)
    assert result.exit_code == 0, result.output
    return share, db


def dataset_id(db: Path, path: str) -> str:
    return query(db, "SELECT dataset_id FROM datasets WHERE path = ?", [path])[0][0]


@pytest.fixture(scope="session")
def sae_template(tmp_path_factory) -> tuple[Path, Path]:
    from click.testing import CliRunner

    from catalogue.cli import main

    runner = CliRunner()

    def cli(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return build_catalogue(cli, tmp_path_factory.mktemp("sae"))


@pytest.fixture
def sae(sae_template, tmp_path) -> tuple[Path, Path]:
    """(share, catalogue): the share is the scanned one (never modified by the SAE
    export); the catalogue a fresh copy per test."""
    share, db = sae_template
    copy = tmp_path / "catalogue.duckdb"
    shutil.copy(db, copy)
    return share, copy


def share_copy(share: Path, tmp_path: Path) -> Path:
    """A copy of the share with the same modification times, for tests that change files
    (passed to the commands with --racine)."""
    target = tmp_path / "partage-copie"
    shutil.copytree(os.fsencode(share), os.fsencode(target), symlinks=True)
    return target


# --------------------------------------------------------------------------- SEDA


def need_shared() -> Path:
    if not (SHARED / "seda").is_dir():
        pytest.skip(f"dossier de référence {SHARED} absent : validation SEDA hors ligne non jouée")
    return SHARED


def schema(version: str):
    from catalogue.sae.validate import seda_schema

    return seda_schema(need_shared() / "seda", version)


def assert_valid(manifest: bytes, version: str):
    """Parse MANIFEST and check it against the plain XSD of VERSION; returns the root.
    Without ../shared only the parsing is checked here: the tests that exist to validate
    call need_shared() first, and are the ones skipped."""
    from lxml import etree

    root = etree.fromstring(manifest, etree.XMLParser(no_network=True, resolve_entities=False))
    if (SHARED / "seda").is_dir():
        xsd = schema(version)
        assert xsd.validate(root), "\n".join(str(e) for e in xsd.error_log)
    return root


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@cache
def sample_orders(version: str) -> dict[str, list[str]]:
    """Per parent element of Vitam's sample manifest, its children's names in order of
    first appearance."""
    from lxml import etree

    sample = etree.parse(str(need_shared() / "vitam" / "sip-exemples" / f"seda-{version}-manifest.xml"))
    orders: dict[str, list[str]] = {}
    for el in sample.iter(etree.Element):
        names = orders.setdefault(local(el.tag), [])
        for child in el.iterchildren(etree.Element):
            if local(child.tag) not in names:
                names.append(local(child.tag))
    return orders


def assert_sample_order(root, version: str) -> None:
    """Every element's children come in the order Vitam's sample has them (children the
    sample lacks are not compared)."""
    orders = sample_orders(version)
    for el in root.iter():
        order = orders.get(local(el.tag), [])
        ranks = [order.index(local(c.tag)) for c in el if local(c.tag) in order]
        assert ranks == sorted(ranks), f"{local(el.tag)} : {[local(c.tag) for c in el]} (échantillon : {order})"
