"""Cost-sharing keys: the projection per tenant on a hand-computed example (three
communes, two tenants), the real `catalogue report --territoire --locataires`, and bad
costs or tenants files refused with file and line, nothing written."""

from __future__ import annotations

import csv
import re
import subprocess

import pytest
from openpyxl import load_workbook

from catalogue.costs import Costs, load_costs, load_tenants, project, transfers
from catalogue.roadmap import Action, DatasetFacts, RoadmapEntry

N = 2026
GO = 10**9
COST_HEADER = "parametre,valeur,unite,libelle,source\n"


def _entry(commune: str, dataset_id: str, year: int | None, action: Action = Action.TRANSFER, **facts) -> RoadmapEntry:
    return RoadmapEntry(DatasetFacts(dataset_id, commune, f"/{dataset_id}", **facts), action, year, 0, None)


# Three communes, two tenants: A and B share T1, C is alone in T2.
ENTRIES = [
    _entry("A", "A-1", N, bytes=100 * GO, declared_flow=10 * GO),  # scanned, flow declared in the grid
    _entry("B", "B-1", N + 1, declared_stock=30 * GO, declared_flow=10 * GO),  # added row: stock and flow
    _entry("C", "C-1", N, bytes=20 * GO),  # scanned, flow measured (5 Go a year, given below)
    _entry("C", "C-2", N + 2, declared_stock=40 * GO),  # added row, no flow
    _entry("C", "C-3", N, Action.ELIMINATE, bytes=500 * GO),  # eliminated: never held by the SAE
]
MEASURED_FLOW = {"C-1": 5 * GO, "C-3": 7 * GO}
TENANTS = {"A": "T1", "B": "T1", "C": "T2"}
COSTS = Costs(flat_per_tenant=1200, price_per_go=0.4, copies=2)

# Worked by hand. Volume part = Go held on 1 January × 2 copies × 0,40 € = 0,80 € per Go.
# A: 100 Go in N, then 10 Go a year   → held 0, 100, 110, 120, 130, 140 from N to N+5.
# B: 30 Go + 1 year of 10 Go in N+1, then 10 Go a year → held 0, 0, 40, 50, 60, 70.
# C: 20 Go in N, 5 Go a year; 40 Go in N+2 → held 0, 20, 25, 70, 75, 80.
# Flat part: 1 200 € per tenant, split between its partners: 600 € for A and B, 1 200 € for C.
EXPECTED_SHARES = {  # year: (A, B, C) in euros
    N: (600, 600, 1200),
    N + 1: (600 + 80, 600, 1200 + 16),
    N + 2: (600 + 88, 600 + 32, 1200 + 20),
    N + 3: (600 + 96, 600 + 40, 1200 + 56),
    N + 4: (600 + 104, 600 + 48, 1200 + 60),
    N + 5: (600 + 112, 600 + 56, 1200 + 64),
}


def test_shares_on_a_hand_computed_example():
    tenants = project(transfers(ENTRIES, N, MEASURED_FLOW), TENANTS, COSTS, N)
    assert [t["locataire"] for t in tenants] == ["T1", "T2"]
    assert [t["communes"] for t in tenants] == [["A", "B"], ["C"]]
    t1, t2 = tenants
    assert [y["annee"] for y in t1["annees"]] == list(range(N, N + 6))
    for y1, y2 in zip(t1["annees"], t2["annees"]):
        a, b, c = EXPECTED_SHARES[y1["annee"]]
        assert [s["total"] for s in y1["parts"]] == pytest.approx([a, b])
        assert [s["forfait"] for s in y1["parts"]] == pytest.approx([600, 600])
        assert y1["total"] == pytest.approx(a + b)
        assert y2["parts"][0]["total"] == pytest.approx(c)
        assert y1["copies"] == y2["copies"] == 2
    # Volumes of T1 in N+1 and N+2: B's 40 Go enter in N+1 (stock 30 + one year of flow).
    assert (t1["annees"][1]["stock"], t1["annees"][1]["versements"], t1["annees"][1]["flux"]) == (100 * GO, 40 * GO,
                                                                                                  10 * GO)
    assert (t1["annees"][2]["stock"], t1["annees"][2]["flux"]) == (150 * GO, 20 * GO)
    # T2 in N+2: 25 Go held, C-2's 40 Go enter, C-1 brings its measured 5 Go.
    assert (t2["annees"][2]["stock"], t2["annees"][2]["versements"], t2["annees"][2]["flux"]) == (25 * GO, 40 * GO,
                                                                                                  5 * GO)


def test_shipped_costs_are_hypotheses_with_their_reasoning():
    costs = load_costs()
    assert (costs.copies, len(costs.rows)) == (3, 3)
    for row in costs.rows:
        assert row["source"].startswith("Hypothèse à valider"), row


def test_tenants_file_and_communes_left_alone(tmp_path):
    path = tmp_path / "locataires.csv"
    path.write_text("commune;locataire\n99001;Agglo\n99002;Agglo\n", encoding="utf-8")
    assert load_tenants(path, ["99001", "99002", "99003"]) == (
        {"99001": "Agglo", "99002": "Agglo", "99003": "99003"}, ["99003"])
    assert load_tenants(None, ["99001", "99002"]) == ({"99001": "99001", "99002": "99002"}, ["99001", "99002"])


# ------------------------------------------------------------------ real command


@pytest.fixture(scope="module")
def small_territory(tmp_path_factory):
    """Three communes, one tiny folder each, scanned into a real catalogue."""
    from click.testing import CliRunner

    from catalogue.cli import main

    base = tmp_path_factory.mktemp("couts")
    db = base / "catalogue.duckdb"
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    for code in ("99501", "99502", "99503"):
        folder = base / code / "Courrier" / "2020"
        folder.mkdir(parents=True)
        (folder / "note.txt").write_text(f"Note de la commune {code}\n", encoding="utf-8")
        assert cli("scan", base / code, "--commune", code, "--nom", f"Commune {code}", "--db", db,
                   "-q").exit_code == 0
    return {"base": base, "db": db, "cli": cli}


def _euros(text: str) -> float:
    return float(text.replace(",", "."))


def test_report_with_tenants_file(small_territory, tmp_path):
    cli, db = small_territory["cli"], small_territory["db"]
    tenants = tmp_path / "locataires.csv"
    tenants.write_text("commune,locataire\n99501,Agglo du Val\n99502,Agglo du Val\n", encoding="utf-8")
    out = tmp_path / "out"
    result = cli("report", "--territoire", "--no-pdf", "--locataires", tenants, "-o", out, "--db", db)
    assert result.exit_code == 0, result.output
    with open(out / "projection-couts.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    flat = float(load_costs().flat_per_tenant)
    # Euros with a decimal comma, as the other French CSV annexes (issue 20 review): « 500,00 ».
    assert all(re.fullmatch(r"\d+,\d\d", r[k]) for r in rows for k in ("part_forfait_eur", "part_volume_eur",
                                                                         "part_totale_eur")), rows[0]
    first = {r["commune"]: r for r in rows if r["annee"] == str(rows[0]["annee"])}
    # Nothing qualified, nothing transferred: each partner pays its share of its tenant's flat cost.
    assert {c: (r["locataire"], _euros(r["part_forfait_eur"]), _euros(r["part_totale_eur"]))
            for c, r in first.items()} == {"99501": ("Agglo du Val", flat / 2, flat / 2),
                                           "99502": ("Agglo du Val", flat / 2, flat / 2),
                                           "99503": ("99503", flat, flat)}
    assert len(rows) == 3 * 6
    # LibreOffice opens the workbook (first sheet as CSV): one line per tenant and year.
    converted = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo'}",
                                "--convert-to", "csv", "--outdir", str(tmp_path / "lo-out"),
                                str(out / "projection-couts.xlsx")], capture_output=True, text=True, timeout=300)
    assert converted.returncode == 0, converted.stderr
    lines = (tmp_path / "lo-out" / "projection-couts.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("locataire,annee,partenaires,stock_1er_janvier_octets") and len(lines) == 1 + 2 * 6
    wb = load_workbook(out / "projection-couts.xlsx")
    assert wb.sheetnames == ["Par locataire", "Par partenaire", "Hypothèses"]
    assert isinstance(wb["Par partenaire"].cell(2, 9).value, (int, float))  # the XLSX stays numeric
    assert [r[0] for r in wb["Par locataire"].iter_rows(min_row=2, max_row=7, values_only=True)] == ["99503"] * 6
    html = (out / "synthese-territoriale.html").read_text(encoding="utf-8")
    assert "Projection des volumes et des coûts" in html
    # The tenants file is named in the annex, not on the official page.
    official, _, annex = html.partition("Annexe : sources, méthode et identifiants")
    assert "Communes absentes de ce fichier, chacune" in official and "locataires.csv" not in official
    assert "locataires lus dans locataires.csv" in annex
    assert "catalogue/rules/" not in official and "catalogue/rules/couts.csv" in annex
    assert "Commune 99503 (99503)" in html


def test_report_without_tenants_file_says_so(small_territory, tmp_path):
    cli, db = small_territory["cli"], small_territory["db"]
    result = cli("report", "--territoire", "--no-pdf", "-o", tmp_path / "out", "--db", db)
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "synthese-territoriale.html").read_text(encoding="utf-8")
    assert "chaque commune est ici son\npropre locataire" in html


@pytest.mark.parametrize("name, content, message", [
    ("locataires.csv", "commune,locataire\n99501,Agglo\n99999,Agglo\n",
     "ligne 3 : commune « 99999 » absente du catalogue (communes connues : 99501, 99502, 99503)"),
    ("locataires.csv", "commune;locataire\n99501;Agglo\n99501;Autre\n",
     "ligne 3 : commune « 99501 » déjà rattachée au locataire « Agglo »"),
    ("locataires.csv", "commune,locataire\n99502,\n", "ligne 2 : locataire manquant pour la commune 99502"),
    ("locataires.csv", "code,tenant\n99501,Agglo\n", "ligne 1 : en-têtes attendus commune, locataire"),
    ("couts.csv", COST_HEADER + "forfait_locataire,1000,€,Forfait,Convention\nprix_go_an,-0.5,€,Prix,Devis\n"
     "copies,2,copies,Copies,Convention\n", "ligne 3 : prix_go_an « -0.5 » doit être un nombre positif ou nul"),
    ("couts.csv", COST_HEADER + "forfait_locataire,mille,€,Forfait,Convention\nprix_go_an,0.5,€,Prix,Devis\n"
     "copies,2,copies,Copies,Convention\n", "ligne 2 : forfait_locataire « mille » n'est pas un nombre"),
    ("couts.csv", COST_HEADER + "forfait_locataire,1000,€,Forfait,\n", "ligne 2 : source manquante"),
    ("couts.csv", COST_HEADER + "forfait_locataire,1000,€,Forfait,Convention\ncopies,2.5,copies,Copies,Devis\n",
     "ligne 3 : copies « 2.5 » doit être un nombre entier d'au moins 1"),
    ("couts.csv", COST_HEADER + "forfait_locataire,1000,€,Forfait,Convention\n",
     "paramètres manquants : prix_go_an, copies"),
])
def test_bad_costs_or_tenants_file_is_refused_nothing_written(small_territory, tmp_path, name, content, message):
    cli, db = small_territory["cli"], small_territory["db"]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    option = "--locataires" if name == "locataires.csv" else "--couts"
    out = tmp_path / "out"
    result = cli("report", "--territoire", option, path, "-o", out, "--db", db)
    assert result.exit_code == 1
    where = f"{path}, " if message.startswith("ligne") else f"{path} : "
    assert result.output == f"Erreur : {where}{message}\n"
    assert not out.exists()


def test_locataires_only_with_territoire(small_territory, tmp_path):
    cli, db = small_territory["cli"], small_territory["db"]
    path = tmp_path / "locataires.csv"
    path.write_text("commune,locataire\n99501,Agglo\n", encoding="utf-8")
    result = cli("report", "--commune", "99501", "--locataires", path, "-o", tmp_path / "out", "--db", db)
    assert result.exit_code == 2
    assert "--locataires et --couts ne s'emploient qu'avec --territoire." in result.output
    assert not (tmp_path / "out").exists()

