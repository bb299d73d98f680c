"""Reports: real HTML in headless Chromium, real PDF text through pdftotext, XSS names
inert, no commune path in the territory synthesis, roadmap rules on hand-made datasets."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fpdf import FPDF
from openpyxl import Workbook, load_workbook

from catalogue.formatting import french_bytes, french_int
from catalogue.roadmap import Action, DatasetFacts, Kind, score_and_action
from catalogue.store import connect
from catalogue.weights import Weights, load_weights
from grids import spec
from tests.conftest import REPO, query
from tests.test_grid import GOOD, columns, fill

XSS = "<script>alert(1)</script>.pdf"
XSS_DIR = '<img src=x onerror="alert(2)">'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _pdf(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text=text)
    doc.output(str(path))


def _xlsx(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.active["A1"] = value
    wb.save(path)


def _share(root: Path, tag: str) -> Path:
    _pdf(root / "Urbanisme" / f"Permis {tag}" / "PC-2019-0042.pdf", "Permis de construire 42")
    # The XSS name is a copy of the permit: it shows in the duplicates table. On POSIX the
    # "/" of "</script>" makes it a folder "<script>alert(1)<" holding "script>.pdf".
    (root / "Urbanisme" / f"Permis {tag}" / XSS).parent.mkdir(parents=True, exist_ok=True)
    (root / "Urbanisme" / f"Permis {tag}" / XSS).write_bytes((root / "Urbanisme" / f"Permis {tag}" /
                                                             "PC-2019-0042.pdf").read_bytes())
    _xlsx(root / "Finances" / f"Budgets {tag}" / f"budget-primitif-{tag}.xlsx", "Budget")
    _xlsx(root / "Finances" / f"Budgets {tag}" / f"budget-primitif-{tag} - Copie.xlsx", "Budget")
    (root / "Finances" / f"Budgets {tag}" / f"~$brouillon-{tag}.docx").write_bytes(b"tmp")
    (root / XSS_DIR / f"Archives {tag}").mkdir(parents=True, exist_ok=True)
    _pdf(root / XSS_DIR / f"Archives {tag}" / f"releve-{tag}.pdf", "Releve")
    return root


@pytest.fixture(scope="module")
def territory(tmp_path_factory):
    """Two communes scanned; the first one's grid filled and imported."""
    from click.testing import CliRunner

    from catalogue.cli import main

    runner = CliRunner()
    base = tmp_path_factory.mktemp("rapports")
    db = base / "catalogue.duckdb"

    def cli(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    for code, nom, tag in (("99201", "Alpha-sur-Test", "alphatag"), ("99202", "Beta-les-Essais", "betatag")):
        assert cli("scan", _share(base / code, tag), "--commune", code, "--nom", nom, "--db", db, "-q").exit_code == 0
    grid = base / "grille.xlsx"
    assert cli("grid", "export", "--commune", "99201", "-o", grid, "--db", db).exit_code == 0
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    col = columns(ws)
    for r in range(2, ws.max_row + 1):
        place = str(ws.cell(r, col["emplacement"]).value or "")
        if place.endswith("Permis alphatag"):
            fill(ws, r, GOOD)
        elif place.endswith("Budgets alphatag"):
            fill(ws, r, dict(GOOD, service="Finances", typologie="Mandats et titres (pièces comptables)",
                             donnees_personnelles="Non"))
    wb.save(grid)
    assert cli("grid", "import", grid, "--db", db).exit_code == 0
    out = base / "out"
    for args in (("--commune", "99201"), ("--commune", "99202"), ("--territoire",)):
        result = cli("report", *args, "-o", out, "--db", db)
        assert result.exit_code == 0, result.output
    return {"db": db, "out": out, "cli": cli}


def _pdftotext(path: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return re.sub(r"[\u202f\u00a0 ]+", " ", text)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def _chromium(html: Path, tmp_path: Path) -> tuple[str, list[str], Path]:
    """Open a page in headless Chromium: rendered DOM, console messages, screenshot."""
    if CHROMIUM is None:
        pytest.skip("Chromium absent : « make test » l'installe (paquet Debian chromium).")
    common = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profil'}"]
    shot = tmp_path / f"{html.stem}.png"
    dom = subprocess.run(common + ["--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    subprocess.run(common + ["--hide-scrollbars", "--window-size=1200,3000", f"--screenshot={shot}", html.as_uri()],
                   capture_output=True, text=True, timeout=120)
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    return dom.stdout, console, shot


def test_console_check_detects_errors(tmp_path):
    """The Chromium harness itself: a page with a script error is caught."""
    page = tmp_path / "erreur.html"
    page.write_text("<html><body><script>console.error('boom'); nope();</script></body></html>")
    _, console, _ = _chromium(page, tmp_path)
    assert any("boom" in line for line in console) and any("nope" in line for line in console)


def test_commune_report_opens_cleanly_in_chromium(territory, tmp_path):
    html = territory["out"] / "rapport-99201.html"
    source = html.read_text(encoding="utf-8")
    # Self-contained: no script, no external resource.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", source)
    assert "url(http" not in source and "@import" not in source
    dom, console, shot = _chromium(html, tmp_path)
    assert console == []
    assert shot.exists() and shot.stat().st_size > 20_000
    tags = _Tags()
    tags.feed(dom)
    # The XSS names are shown as text, never as elements.
    assert "script" not in tags.tags and "img" not in tags.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.pdf" in dom
    assert '&lt;img src=x onerror="alert(2)"&gt;' in dom
    assert "svg" in tags.tags  # charts inline


def test_pdf_key_figures_equal_sql(territory):
    db, cli = territory["db"], territory["cli"]
    result = cli("sql", "SELECT count(*) AS n, sum(size) AS b FROM files_current WHERE commune = '99201' "
                        "AND kind = 'file'", "--format", "json", "--db", db)
    figures = json.loads(result.output)[0]
    dup = json.loads(cli("sql", "SELECT sum(wasted_bytes) AS w, count(*) AS g FROM duplicates "
                                "WHERE commune = '99201'", "--format", "json", "--db", db).output)[0]
    assert figures["n"] > 0 and dup["w"] > 0
    text = _pdftotext(territory["out"] / "rapport-99201.pdf")
    assert "Recensement des données numériques" in text and "Alpha-sur-Test (99201)" in text
    assert re.sub(r"\s", " ", french_int(figures["n"])) in text
    assert re.sub(r"\s", " ", french_bytes(figures["b"])) in text
    assert f"{dup['g']} groupes de fichiers identiques" in text
    assert re.sub(r"\s", " ", french_bytes(dup["w"])) in text
    assert "Projet de bordereau d'élimination".lower() in text.lower()
    assert XSS in text  # the name is printed as text in the PDF too


def test_territory_synthesis_holds_no_path(territory):
    db, out = territory["db"], territory["out"]
    html = (out / "synthese-territoriale.html").read_text(encoding="utf-8")
    text = _pdftotext(out / "synthese-territoriale.pdf")
    names = {r[0] for r in query(db, "SELECT DISTINCT name FROM files")}
    paths = {r[0] for r in query(db, "SELECT path FROM datasets WHERE path <> ''")}
    assert names and paths
    for value in names | paths:
        assert value not in html and value not in text, value
    # Both communes are there, side by side.
    assert "Alpha-sur-Test (99201)" in text and "Beta-les-Essais (99202)" in text


def test_commune_report_holds_only_its_commune(territory):
    html = (territory["out"] / "rapport-99201.html").read_text(encoding="utf-8")
    assert "alphatag" in html and "betatag" not in html and "Beta-les-Essais" not in html


def test_annexes_written(territory):
    out = territory["out"]
    roadmap = (out / "feuille-de-route-99201.csv").read_text(encoding="utf-8-sig").splitlines()
    assert roadmap[0].startswith("identifiant;emplacement;volume_octets")
    assert any(Action.TRANSFER.label() in line for line in roadmap[1:])
    wb = load_workbook(out / "bordereau-elimination-99201.xlsx")
    assert wb.sheetnames == ["Bordereau d'élimination", "Déchets"]
    assert any(r[0] == "Fichiers temporaires" for r in wb["Déchets"].iter_rows(min_row=2, values_only=True))


def test_report_command_errors(territory, tmp_path):
    cli, db = territory["cli"], territory["db"]
    result = cli("report", "--commune", "12345", "-o", tmp_path, "--db", db)
    assert result.exit_code == 1
    assert result.output == "Erreur : Commune 12345 absente du catalogue (communes connues : 99201, 99202).\n"
    assert cli("report", "-o", tmp_path, "--db", db).exit_code == 2


# ----------------------------------------------------------------- roadmap rules


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Weights:
    con = connect(tmp_path_factory.mktemp("w") / "c.duckdb")
    weights = load_weights(con)
    con.close()
    return weights


def _facts(answers=None, **kw) -> DatasetFacts:
    base = dict(dataset_id="FS-TEST", commune="99999", emplacement="Service/Activité", bytes=10_000_000,
                last_year=2020)
    base.update(kw)
    return DatasetFacts(answers=answers, **base)


ANSWERS = dict(valeur_juridique="Faible", valeur_strategique="Aucune", valeur_patrimoniale="Aucune",
               signature="Non", donnees_personnelles="Non", hebergement="Serveur de fichiers", priorite="Basse",
               dua_annees=10, sort_final="Conservation")


def _points(entry) -> int:
    return sum(int(m) for m in re.findall(r"\(\+(\d+)\)", " ".join(entry.reasons)))


def test_roadmap_actions_follow_the_rules(weights):
    year = 2026
    assert score_and_action(_facts(None), weights, year).action is Action.QUALIFY
    assert score_and_action(_facts(dict(ANSWERS, sort_final=None)), weights, year).action is Action.QUALIFY
    # Destruction: DUA over → eliminate this year; running → keep until its end. Only the
    # year of the newest document known: the DUA runs from its last day.
    destroy = dict(ANSWERS, sort_final="Destruction", dua_depart="date du document")
    gone = score_and_action(_facts(destroy, last_year=2012), weights, year)
    assert (gone.action, gone.target_year, gone.dua_end) == (Action.ELIMINATE, 2026, 2023)
    kept = score_and_action(_facts(destroy, last_year=2024), weights, year)
    assert (kept.action, kept.target_year, kept.kind) == (Action.KEEP, 2035, Kind.KEEP)
    assert kept.label == "Conserver en service jusqu'en 2035"
    # Conservation: the year follows the score; a risk brings it forward.
    low = score_and_action(_facts(dict(ANSWERS)), weights, year)
    assert (low.action, low.target_year, low.label) == (Action.TRANSFER, 2028, "Verser au SAE")
    high = score_and_action(_facts(dict(ANSWERS, valeur_juridique="Forte", valeur_patrimoniale="Forte",
                                        signature="Oui")), weights, year)
    assert high.target_year == 2026 and high.score >= 60
    # A signature is no longer points but the rule that puts the dataset first.
    assert high.signed_first and not any("(+20)" in r for r in high.reasons)
    assert high.reasons[0] == "données signées électroniquement (selon le service) : versement prioritaire"
    middle = score_and_action(_facts(dict(ANSWERS, valeur_juridique="Forte", valeur_patrimoniale="Moyenne")),
                              weights, year)
    assert 35 <= middle.score < 60 and middle.target_year == 2027
    usb = score_and_action(_facts(dict(ANSWERS, hebergement="Support amovible")), weights, year)
    assert usb.target_year == 2026 and "hébergé sur support amovible (+15)" in usb.reasons
    old_formats = score_and_action(_facts(dict(ANSWERS), high_risk_share=0.5), weights, year)
    assert old_formats.target_year == 2026 and "50 % du volume en format à risque élevé (+15)" in old_formats.reasons
    assert score_and_action(_facts(dict(ANSWERS, sort_final="Tri")), weights, year).action is Action.TRANSFER_SORTED
    personal = score_and_action(_facts(dict(ANSWERS, donnees_personnelles="Oui, sensibles",
                                            dua_depart="fin de l'année"), last_year=2010),
                                weights, year)
    assert "données personnelles dont la DUA est échue (+10)" in personal.reasons
    # The score is exactly the sum of the reasons shown.
    for entry in (low, high, middle, usb, old_formats, personal, gone, kept):
        assert entry.score == _points(entry)


def test_roadmap_of_the_imported_grid(territory):
    con = connect(territory["db"], read_only=True)
    from catalogue.roadmap import build_roadmap

    entries = {e.facts.emplacement.rsplit("/", 1)[-1]: e for e in build_roadmap(con, "99201", 2026)}
    con.close()
    assert entries["Permis alphatag"].action is Action.TRANSFER  # URB-AUT: Conservation
    # FIN-PJ: Destruction 10 years after the end of the budget year of the last modification.
    budgets = entries["Budgets alphatag"]
    last_year = budgets.facts.last_year
    expected = Action.ELIMINATE if last_year + 11 <= 2026 else Action.KEEP
    assert budgets.action is expected and budgets.target_year == max(last_year + 11, 2026)
    assert entries["Archives alphatag"].action is Action.QUALIFY


def test_grid_and_roadmap_show_one_location(territory):
    """The grid's « Emplacement » and the roadmap's are the datasets view's column (one SQL definition)."""
    con = connect(territory["db"], read_only=True)
    from catalogue.roadmap import build_roadmap

    places = dict(con.execute("SELECT dataset_id, emplacement FROM datasets WHERE commune = '99201'").fetchall())
    roadmap = {e.facts.dataset_id: e.facts.emplacement for e in build_roadmap(con, "99201", 2026)}
    con.close()
    ws = load_workbook(territory["db"].parent / "grille.xlsx")[spec.SHEET_GRID]
    col = columns(ws)
    grid = {ws.cell(r, col["dataset_id"]).value: ws.cell(r, col["emplacement"]).value
            for r in range(2, ws.max_row + 1) if ws.cell(r, col["dataset_id"]).value}
    assert places and grid == places and roadmap == places


def test_context_is_data_and_rendering_draws_the_charts(territory):
    from reports import charts
    from reports.context import Chart, commune_context, territory_context

    con = connect(territory["db"], read_only=True)
    commune, synthesis = commune_context(con, "99201", 2026), territory_context(con, 2026)
    con.close()
    for ctx in (commune, synthesis):
        assert ctx["charts"] and all(c is None or isinstance(c, Chart) for c in ctx["charts"].values())
        assert "<svg" not in repr(ctx)
    services = commune["charts"]["services"]
    assert services.kind == "barh_bytes" and "Urbanisme" in services.labels
    svg = charts.draw(services)
    assert svg.startswith("<svg") and "Urbanisme" in svg
    # Building a context loads no plotting library at all.
    code = "import sys, reports.context; assert 'matplotlib' not in sys.modules, 'matplotlib'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_user_template_extends_the_builtin_one(territory, tmp_path):
    """`--modeles DIR`: a template of the same name replaces the built-in one and can extend
    it through the « builtin: » prefix; the other built-in templates then use the user's."""
    modeles = tmp_path / "modeles"
    modeles.mkdir()
    (modeles / "rapport_commune.html").write_text(
        '{% extends "builtin:rapport_commune.html" %}\n'
        "{% block title %}Service des archives — {{ super() }}{% endblock %}\n"
        '{% block body %}<p class="visa">Vu par le service des archives</p>\n{{ super() }}{% endblock %}\n',
        encoding="utf-8")
    (modeles / "_style.css").write_text('{% include "builtin:_style.css" %}\n.visa { color: #c55a11; }\n',
                                        encoding="utf-8")
    cli, db, out = territory["cli"], territory["db"], tmp_path / "out"
    for args in (("--commune", "99201"), ("--territoire",)):
        result = cli("report", *args, "--no-pdf", "--modeles", modeles, "-o", out, "--db", db)
        assert result.exit_code == 0, result.output
    html = (out / "rapport-99201.html").read_text(encoding="utf-8")
    builtin = (territory["out"] / "rapport-99201.html").read_text(encoding="utf-8")
    assert "<title>Service des archives — Recensement et feuille de route — Alpha-sur-Test</title>" in html
    assert '<p class="visa">Vu par le service des archives</p>\n<h1>Recensement des données numériques</h1>' in html
    assert ".visa { color: #c55a11; }" in html
    # Everything else is the built-in report, unchanged.
    added = ["Service des archives — ", '<p class="visa">Vu par le service des archives</p>\n',
             ".visa { color: #c55a11; }"]
    for text in added:
        html = html.replace(text, "", 1)
    assert html.replace("\n", "") == builtin.replace("\n", "")
    # The synthesis keeps its built-in template but takes the user's style sheet.
    synthesis = (out / "synthese-territoriale.html").read_text(encoding="utf-8")
    assert ".visa { color: #c55a11; }" in synthesis and "<h1>Synthèse territoriale</h1>" in synthesis


@pytest.mark.parametrize("template, message", [
    ("{% extends \"builtin:rapport_commune.html\" %}\n{% block body %}{{ super() }\n{% endblock %}\n",
     "Erreur : {path}, ligne 2 : unexpected '}'\n"),
    ("{% extends \"rapport_commune.html\" %}\n",
     "Erreur : Modèle rapport_commune.html : il s'étend lui-même ; pour étendre le modèle fourni, écrivez "
     "{% extends \"builtin:rapport_commune.html\" %}.\n"),
    ("{% extends \"builtin:rapport.html\" %}\n",
     "Erreur : Modèle introuvable : builtin:rapport.html (modèles fournis : « builtin:NOM »).\n"),
], ids=["syntaxe", "s-etend-lui-meme", "introuvable"])
def test_bad_user_template_is_one_french_line(territory, tmp_path, template, message):
    modeles = tmp_path / "modeles"
    modeles.mkdir()
    path = modeles / "rapport_commune.html"
    path.write_text(template, encoding="utf-8")
    result = territory["cli"]("report", "--commune", "99201", "--no-pdf", "--modeles", modeles,
                              "-o", tmp_path / "out", "--db", territory["db"])
    assert result.exit_code == 1
    assert result.output == message.replace("{path}", f"Modèle {path}")
