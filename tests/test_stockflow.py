"""Stock and flow: a declared yearly volume is a flow, never a stock; « à verser » is the
stock (measured and declared) plus the declared flow up to the target year, each part
kept; on the demo synthesis it never exceeds what was measured and declared."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from catalogue.formatting import french_bytes
from catalogue.roadmap import Action, DatasetFacts, RoadmapEntry
from catalogue.stockflow import TransferVolume, plan_by_year, transfer_total, transfer_volume
from tests.conftest import query

N = 2026
GO = 10**9


def _entry(dataset_id: str, year: int | None, action: Action = Action.TRANSFER, **facts) -> RoadmapEntry:
    return RoadmapEntry(DatasetFacts(dataset_id, "99001", f"/{dataset_id}", **facts), action, year, 0, None)


def test_declared_flow_counts_up_to_the_target_year_only():
    scanned = _entry("FS-1", N, bytes=3 * GO, source="filesystem")
    mailbox = _entry("APP-1", N + 1, bytes=GO, source="mail", declared_flow=GO // 2)
    added = _entry("AJ-1", N + 2, declared_stock=4 * GO, declared_flow=GO)
    added_now = _entry("AJ-2", N, declared_flow=7 * GO)  # a flow alone is nothing to transfer this year
    dropped = _entry("FS-2", N, Action.ELIMINATE, bytes=9 * GO)
    # By hand: 3 Go measured in N; 1 Go measured (a mailbox) + 1 year of 0,5 Go in N+1;
    # 4 Go declared + 2 years of 1 Go in N+2.
    assert transfer_volume(added_now, N) == TransferVolume()
    assert transfer_volume(mailbox, N) == TransferVolume(measured=GO, applications=GO, declared_flow=GO // 2)
    assert transfer_volume(added, N) == TransferVolume(declared_stock=4 * GO, declared_flow=2 * GO)
    assert transfer_volume(dropped, N) == TransferVolume()
    total = transfer_total([scanned, mailbox, added, added_now, dropped], N)
    assert (total.measured, total.applications, total.declared_stock, total.declared_flow, total.total) == (
        4 * GO, GO, 4 * GO, 2 * GO + GO // 2, 10 * GO + GO // 2)
    plan = {p["annee"]: p for p in plan_by_year([scanned, mailbox, added, added_now, dropped], N)}
    assert {y: (p["verser_jeux"], p["verser_octets"]) for y, p in plan.items()} == {
        N: (2, 3 * GO), N + 1: (1, GO + GO // 2), N + 2: (1, 6 * GO)}
    assert (plan[N]["eliminer_jeux"], plan[N]["eliminer_octets"]) == (1, 9 * GO)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """`catalogue demo` run once, reports included."""
    from click.testing import CliRunner

    from catalogue.cli import main

    out = tmp_path_factory.mktemp("demo-stockflow") / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def _declared(db: Path) -> dict[str, tuple[float, float]]:
    """Declared stock and yearly flow (bytes) of each qualified dataset, read straight from SQL."""
    return {r[0]: (r[1] * 1e9, r[2] * 1e9) for r in query(
        db, "SELECT dataset_id, CASE WHEN ajout THEN coalesce(volume_stock_go, 0) ELSE 0 END, "
            "coalesce(volume_annuel_go, 0) FROM qualifications_current")}


def test_demo_a_verser_never_exceeds_measured_and_declared(demo):
    db, reports = demo / "catalogue.duckdb", demo / "rapports"
    this_year = dt.date.today().year
    measured = dict(query(db, "SELECT dataset_id, bytes FROM datasets"))
    declared = _declared(db)
    rows = _csv(reports / "synthese-territoriale.csv")
    synthesis = {r["commune"]: int(r["a_verser_octets"]) for r in rows}
    assert len(synthesis) == 3
    for r in rows:  # each part in its column, and they add up
        assert int(r["a_verser_octets"]) == sum(int(r[f"a_verser_{part}_octets"])
                                                for part in ("stock_mesure", "stock_declare", "flux_declare"))
        assert 0 < int(r["a_verser_bases_messageries_octets"]) < int(r["a_verser_stock_mesure_octets"])
    for commune, a_verser in synthesis.items():
        bound = 0.0
        for row in _csv(reports / commune / f"feuille-de-route-{commune}.csv"):
            if row["action"].startswith(Action.TRANSFER.label()):
                stock, flow = declared.get(row["identifiant"], (0.0, 0.0))
                years = int(row["annee_cible"]) - this_year
                assert 0 <= years <= 5
                bound += measured.get(row["identifiant"], 0) + stock + flow * years
        assert 0 < a_verser <= bound + 1, commune  # +1: Go → bytes rounding
    html = (reports / "synthese-territoriale.html").read_text(encoding="utf-8")
    card = re.search(r'<span class="value">([^<]+)</span><span class="label">à verser au SAE', html)
    assert card and card.group(1) == french_bytes(sum(synthesis.values()))


def test_demo_totals_say_what_they_measure(demo):
    html = (demo / "rapports" / "synthese-territoriale.html").read_text(encoding="utf-8")
    assert "volume mesuré des fichiers (hors bases de données et messageries)" in html
    assert re.search(r"dont stock mesuré\s+[^(]+\(bases de données et messageries comprises", html)
    assert "<th class=\"num\">dont flux<br>déclaré</th>" in html
    assert "déclarés dans les grilles pour les\njeux à verser" in html
    commune = (demo / "rapports" / "99001" / "rapport-99001.html").read_text(encoding="utf-8")
    assert "volume mesuré des fichiers (hors bases de données et messageries)" in commune
    assert re.search(r"déclaré : stock [^<]+?, flux [^<]+ par an", commune)


def _added_row_catalogue(cli, tmp_path: Path) -> Path:
    """A real catalogue: one scanned folder, and a grid row added with a stock of 3 Go and
    2 Go a year."""
    from openpyxl import load_workbook

    from grids import spec
    from tests.test_grid import GOOD, columns, fill

    share = tmp_path / "partage" / "Urbanisme" / "Permis"
    share.mkdir(parents=True)
    (share / "arrete.txt").write_text("Arrêté 2020-01\n", encoding="utf-8")
    db = tmp_path / "catalogue.duckdb"
    assert cli("scan", tmp_path / "partage", "--commune", "99601", "--db", db, "-q").exit_code == 0
    grid = tmp_path / "grille.xlsx"
    assert cli("grid", "export", "--commune", "99601", "-o", grid, "--db", db).exit_code == 0
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    last = max(r for r in range(2, ws.max_row + 1) if ws.cell(r, columns(ws)["dataset_id"]).value)
    fill(ws, last + 1, dict(GOOD, emplacement="Logiciel d'urbanisme (base de données)", volume_annuel_go=2, volume_stock_go=3))
    wb.save(grid)
    result = cli("grid", "import", grid, "--db", db)
    assert result.exit_code == 0, result.output
    return db


def test_added_row_stock_is_declared_and_its_yearly_volume_a_flow(cli, tmp_path):
    """A row added to the grid: « Volume annuel estimé » is its flow, volume_stock_go (grid
    v3, migration 0008) its stock; no scan measured anything of it."""
    from catalogue.roadmap import build_roadmap
    from catalogue.store import connect

    db = _added_row_catalogue(cli, tmp_path)
    con = connect(db)
    try:
        [added] = [e for e in build_roadmap(con, "99601", N) if not e.packable]
    finally:
        con.close()
    f = added.facts
    assert (f.bytes, f.declared_stock, f.declared_flow, f.source) == (0, 3 * GO, 2 * GO, None)
    years = added.target_year - N
    assert transfer_volume(added, N) == TransferVolume(declared_stock=3 * GO, declared_flow=2 * GO * years)


def test_report_on_a_catalogue_before_the_stock_column(cli, tmp_path):
    """A catalogue left by the previous version (before 0008_grid_v3: no declared stock)
    still gives its synthesis: `report` opens it read-only, after migrating it."""
    import duckdb

    db = _added_row_catalogue(cli, tmp_path)
    con = duckdb.connect(str(db))
    con.execute("DROP VIEW qualifications_current")  # it depends on the column; the next writable open makes it
    for column in ("volume_stock_go", "support", "communicabilite", "editeur", "editeur_version",
                   "export_possible", "connecteur", "operateur_hebergement"):
        con.execute(f"ALTER TABLE qualifications DROP COLUMN {column}")
    con.execute("DELETE FROM _migrations WHERE name = '0008_grid_v3'")
    con.close()
    result = cli("report", "--territoire", "--no-pdf", "-o", tmp_path / "out", "--db", db)
    assert result.exit_code == 0, result.output
    rows = _csv(tmp_path / "out" / "synthese-territoriale.csv")
    assert rows[0]["a_verser_stock_declare_octets"] == "0"
    assert int(rows[0]["flux_declare_annuel_octets"]) == 2 * GO
