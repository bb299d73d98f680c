"""Reports read by a COTECH, a DGS and an archivist (issue 20): page 1 is « À retenir »,
official pages carry no absolute path or internal id, tables are bounded, the audit
checks are there, and the template slips (plurals, DUA, titles, axis ticks) are gone.

Every check reads a real artefact: the PDF through pdftotext, the HTML in headless
Chromium (its own print to PDF for « page 1 »), the CSV annex as written."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from catalogue.formatting import commune_title, date_range, french_bytes, french_years, plural, year_range
from grids import spec
from tests.conftest import query
from tests.test_grid import GOOD, columns, fill
from tests.test_reports import _pdf, _pdftotext

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
NAMELESS = "12345"  # scanned without --nom
NAMED = "99302"
LONG_NAME = "Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson-sur-Marne"
OLDEST, NEWEST = datetime(2012, 1, 3, 10), datetime(2024, 11, 14, 10)
ANNEX = "Annexe : sources, méthode et identifiants"


def _touch(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def _tree(root: Path) -> dict:
    """A share with dated permits, a duplicate in three places, a PDF named .jpg and a
    path longer than 255 characters."""
    permits = root / "Urbanisme" / "Permis de construire"
    _pdf(permits / "PC-2012.pdf", "Permis 2012")
    _pdf(permits / "PC-2024.pdf", "Permis 2024 " * 40)
    budget = root / "Finances" / "Budgets" / "budget.pdf"
    _pdf(budget, "Budget primitif")
    for copy in (root / "Finances" / "Comptes" / "budget.pdf", root / "Communication" / "Presse" / "budget.pdf"):
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(budget.read_bytes())
    fake = root / "Communication" / "Photos" / "photo-du-maire.jpg"
    _pdf(fake, "Pas une photo")
    deep = root / "Communication" / "Photos"
    for i in range(4):
        deep = deep / (f"dossier {i} " + "x" * 60)
    _pdf(deep / "compte-rendu.pdf", "Compte rendu")
    for path in root.rglob("*"):
        _touch(path, OLDEST if path.name == "PC-2012.pdf" else NEWEST if path.name == "PC-2024.pdf"
               else datetime(2018, 6, 1))
    return {"fake": fake.relative_to(root).as_posix(), "deep": (deep / "compte-rendu.pdf").relative_to(root).as_posix()}


@pytest.fixture(scope="module")
def reading(tmp_path_factory):
    from click.testing import CliRunner

    from catalogue.cli import main

    runner = CliRunner()

    def cli(*args):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    base = tmp_path_factory.mktemp("lecture")
    db = base / "catalogue.duckdb"
    names = _tree(base / NAMELESS)
    cli("scan", base / NAMELESS, "--commune", NAMELESS, "--db", db, "-q")
    _tree(base / NAMED)
    cli("scan", base / NAMED, "--commune", NAMED, "--nom", LONG_NAME, "--db", db, "-q")
    grid = base / "grille.xlsx"
    cli("grid", "export", "--commune", NAMELESS, "-o", grid, "--db", db)
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    col = columns(ws)
    last = 1
    for r in range(2, ws.max_row + 1):
        place = str(ws.cell(r, col["emplacement"]).value or "")
        if place:
            last = r
        if place.endswith("Permis de construire"):
            # DUA of one year, over since 2025: eliminated after the visa.
            # Dated from the documents (issue 19: an undated start event is never eliminated).
            fill(ws, r, dict(GOOD, dua_annees=1, dua_depart="date du document", sort_final="Destruction"))
        elif place.endswith("Finances/Budgets"):
            # Last modified in 2018, DUA 10 years: kept in service until 2028, nothing planned in 2027.
            fill(ws, r, dict(GOOD, service="Finances", activite="Budget primitif", dua_annees=10,
                             dua_depart="date du document", sort_final="Destruction"))
    fill(ws, last + 1, dict(GOOD, emplacement="Clé USB du service urbanisme", volume_annuel_go="0,5",
                            volume_stock_go="1,5", hebergement="Support amovible"))
    wb.save(grid)
    cli("grid", "import", grid, "--db", db)
    out = base / "out"
    for args in (("--commune", NAMELESS), ("--commune", NAMED), ("--territoire",)):
        cli("report", *args, "-o", out, "--db", db)
    return {"db": db, "out": out, "base": base, "names": names}


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _page_text(pdf: Path, page: int) -> str:
    text = subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    return re.sub(r"[\u202f\u00a0 ]+", " ", text)


def _chromium_pdf(html: Path, tmp_path: Path) -> tuple[str, Path]:
    """Headless Chromium opens the page: its DOM, and the page printed by Chromium itself."""
    if CHROMIUM is None:
        pytest.skip("Chromium absent : « make test » l'installe (paquet Debian chromium).")
    common = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--user-data-dir={tmp_path / 'profil'}"]
    dom = subprocess.run(common + ["--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    printed = tmp_path / f"{html.stem}-chromium.pdf"
    subprocess.run(common + ["--no-pdf-header-footer", f"--print-to-pdf={printed}", html.as_uri()],
                   capture_output=True, text=True, timeout=120)
    assert printed.exists()
    return dom.stdout, printed


ABSOLUTE = re.compile(r"(?<![\w.])/(tmp|home|srv|mnt|media|var|usr|etc|root)/")


@pytest.mark.parametrize("stem", [f"rapport-{NAMELESS}", "synthese-territoriale"])
def test_page_one_is_a_retenir_in_chromium(reading, tmp_path, stem):
    dom, printed = _chromium_pdf(reading["out"] / f"{stem}.html", tmp_path)
    first = _page_text(printed, 1)
    assert "À retenir" in first
    assert not ABSOLUTE.search(first) and str(reading["base"]) not in first and "fmt/" not in first
    # The section Chromium shows first holds sentences, no path or PRONOM id either.
    section = dom[dom.index('<section class="retenir">'):dom.index("</section>")]
    assert "Verser au SAE en" in section and not ABSOLUTE.search(section) and "fmt/" not in section
    # WeasyPrint's PDF too.
    first = _page_text(reading["out"] / f"{stem}.pdf", 1)
    assert "À retenir" in first and "1. Chiffres clés" not in first
    assert not ABSOLUTE.search(first) and "fmt/" not in first


def test_page_one_says_what_to_decide(reading):
    text = re.sub(r"\s+", " ", _page_text(reading["out"] / f"rapport-{NAMELESS}.pdf", 1))
    assert "1 jeu de données (" in text and "a dépassé sa durée d'utilité administrative : son élimination" in text
    assert "attend le visa du directeur des Archives départementales" in text
    assert re.search(r"\d+ jeux de données sur \d+ \(dont 1 ajouté par les référents\) restent à qualifier", text)
    assert "1 jeu de données sur un poste de travail ou un support amovible" in text
    assert re.search(r"\d chemins dépassent 255 caractères \(profondeur maximale : 7 niveaux\)", text)
    assert "1 fichier porte une extension qui ne correspond pas à son contenu" in text
    assert "de doublons et de déchets (fichiers temporaires, vides, copies) peuvent être libérés" in text


def test_risk_sentences():
    from reports.keypoints import risks

    quiet = dict(high_share=0.0, unknown_share=0.0, precarious=0, expiring=0, long_paths=0, max_depth=3,
                 mismatches=0, errors=0)
    assert [p.text for p in risks(**quiet)] == ["Aucun risque majeur repéré par le scan."]
    # Below 1 % of the volume, a risky format is not a main risk.
    assert [p.heading for p in risks(**dict(quiet, high_share=0.004))] == ["Risques"]
    (formats,) = risks(**dict(quiet, high_share=0.25, unknown_share=0.79))
    assert formats.text.startswith("25 % du volume est dans un format à risque élevé d'obsolescence")
    assert "79 % du volume est dans un format dont le risque n'est pas encore évalué" in formats.text
    texts = " ".join(p.text for p in risks(**dict(quiet, expiring=2, errors=1, mismatches=3)))
    assert "2 certificats de signature expirent" in texts and "1 entrée illisible :" in texts
    assert "3 fichiers portent une extension qui ne correspond pas à leur contenu : ils s'ouvriront" in texts


INTERNAL = ["FS-", "fmt/", "UNKNOWN", "directory", "priorites.csv", "annee_en_cours", "Machine", "sqlite:",
            "catalogue/rules"]


@pytest.mark.parametrize("stem", [f"rapport-{NAMELESS}", "synthese-territoriale"])
def test_official_pages_hold_no_path_or_internal_id(reading, stem):
    text = _pdftotext(reading["out"] / f"{stem}.pdf")
    official, _, annex = text.partition(ANNEX)
    assert annex, "the annex is there"
    assert not ABSOLUTE.search(official) and str(reading["base"]) not in official
    for word in INTERNAL:
        assert word not in official, word
    if stem.startswith("rapport"):
        # Identifiers and sources are not lost: they moved to the annex.
        assert str(reading["base"] / NAMELESS) in re.sub(r"\s+", "", annex) or "Racine scannée" in annex
        assert "FS-" in annex and "fmt/" in annex and "priorites.csv" in annex
        # Locations read Service / Activité (from the grid), or a path under the root.
        assert "Urbanisme / Instruction ADS" in official and "Finances / Budget primitif" in official
        assert "Finances / Comptes" in official


def test_template_slips_are_gone(reading):
    text = re.sub(r"\s+", " ", _pdftotext(reading["out"] / f"rapport-{NAMELESS}.pdf"))
    assert re.search(r"DUA 1 an\b(?!s)", text) and "DUA 1 ans" not in text and "DUA ans" not in text
    assert "1 ajouté par les référents" in text and "1 ajoutés" not in text
    assert f"{NAMELESS} — chantier Catalogage" in text and f"{NAMELESS} ({NAMELESS})" not in text
    assert "2012 – 2024" in text  # the period card: a range, not a single year
    assert "Fichier le plus ancien : 03/01/2012 ; le plus récent : 14/11/2024" in text
    assert not re.search(r"(?<!\d)[01] octets", text)
    synthesis = re.sub(r"\s+", " ", _pdftotext(reading["out"] / "synthese-territoriale.pdf"))
    assert f"{NAMELESS} ({NAMELESS})" not in synthesis and NAMELESS in synthesis


def test_audit_checks(reading, tmp_path):
    db, out, names = reading["db"], reading["out"], reading["names"]
    text = _pdftotext(out / f"rapport-{NAMELESS}.pdf")
    flat = re.sub(r"\s+", "", text)
    assert "Extensions trompeuses" in text and re.sub(r"\s+", "", names["fake"]) in flat
    deep_length = query(db, "SELECT length(root) + 1 + length(path) FROM files_current WHERE commune = ? "
                            "AND path = ?", [NAMELESS, names["deep"]])[0][0]
    assert deep_length > 255
    long_paths = query(db, "SELECT count(*) FROM files_current WHERE commune = ? "
                           "AND length(root) + 1 + length(path) > 255", [NAMELESS])[0][0]
    assert f"{long_paths} chemins dépassent 255 caractères" in re.sub(r"\s+", " ", text)
    html = (out / f"rapport-{NAMELESS}.html").read_text(encoding="utf-8")
    assert names["deep"] in html.partition(ANNEX)[0]
    depth = query(db, "SELECT max(depth) FROM files_current WHERE commune = ?", [NAMELESS])[0][0]
    assert f"Profondeur maximale : {depth} niveaux" in re.sub(r"\s+", " ", text)
    assert "Fichiers les plus volumineux" in text and "Permis de construire/PC-2024.pdf" in text
    # Every location of every duplicate group is in the annex CSV.
    with open(out / f"doublons-{NAMELESS}.csv", newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    expected = {r[0] for r in query(db, "SELECT path FROM duplicate_files WHERE commune = ?", [NAMELESS])}
    assert {r["chemin"] for r in rows} == expected and len(expected) >= 3
    assert {"Finances/Budgets/budget.pdf", "Finances/Comptes/budget.pdf", "Communication/Presse/budget.pdf"} <= expected


def test_each_waste_figure_is_defined_once(reading):
    for stem in (f"rapport-{NAMELESS}", "synthese-territoriale"):
        html = (reading["out"] / f"{stem}.html").read_text(encoding="utf-8")
        for term in ("Doublons récupérables", "Déchets (doublons compris)", "Volume libérable sans double compte"):
            assert html.count(f"<strong>{term}</strong> :") == 1, (stem, term)
        # Redundant copies inside déchets are explained truthfully where the definitions are.
        flat = re.sub(r"\s+", " ", html)
        assert "une copie redondante d'un doublon peut y figurer sous la catégorie « Doublons » ou sous" in flat
        assert "reprend les copies redondantes" not in html


def test_french_helpers():
    assert plural(0, "fichier") == "0 fichier" and plural(1, "jeu de données", "jeux de données") == "1 jeu de données"
    assert plural(1234, "jeu de données", "jeux de données") == "1\u202f234 jeux de données"
    assert plural(2, "ajouté") == "2 ajoutés" and plural(3, "groupe de fichiers") == "3 groupes de fichiers"
    assert french_years(1) == "1 an" and french_years(10) == "10 ans" and french_years(None) == "—"
    assert year_range(2019, 2019) == "2019" and year_range(2012, 2024) == "2012 – 2024"
    assert year_range(None, None) == "—"
    assert date_range(OLDEST, NEWEST) == "du 03/01/2012 au 14/11/2024" and date_range(OLDEST, OLDEST) == "le 03/01/2012"
    assert commune_title(NAMELESS, NAMELESS) == NAMELESS and commune_title(None, NAMELESS) == NAMELESS
    assert commune_title("Alpha", "99201") == "Alpha (99201)"
    assert french_bytes(1) == "1 octet" and french_bytes(999) == "999 octets"


@pytest.mark.parametrize("values", [[1, 0, 1], [0, 0, 0], [3, 2, 1], [1_500, 200, 0], [3_500_000, 1, 0]])
def test_axis_ticks_are_distinct_and_in_one_unit(values):
    from reports.charts import bars_by_year

    svg = bars_by_year([2024, 2025, 2026], {"Volume": values}, "Volume par année")
    ticks = re.findall(r">(-?[\d\u202f,]+ (?:octets?|Ko|Mo|Go))<", svg)
    assert len(ticks) >= 2 and len(set(ticks)) == len(ticks), ticks
    assert len({t.split(" ")[-1].rstrip("s") for t in ticks}) == 1, ticks
    assert not any(re.fullmatch(r"[01] octets", t) for t in ticks)


def test_roadmap_chart_shows_every_year(reading):
    from catalogue.store import connect
    from reports.context import commune_context

    con = connect(reading["db"], read_only=True)
    ctx = commune_context(con, NAMELESS, 2026)
    con.close()
    chart = ctx["charts"]["plan"]
    years = [p["annee"] for p in ctx["plan"]]
    assert len(years) >= 2 and years != list(range(years[0], years[-1] + 1))  # there are gaps to fill
    assert chart.labels == list(range(2026, max(years) + 1))


# ----------------------------------------------------------------- 1,000 datasets


@pytest.fixture(scope="module")
def thousand(tmp_path_factory):
    """A generated tree of 100 services × 10 activities with the long names real shares
    have, every dataset qualified through the grid, then reported. Before issue 20 this
    catalogue gave a 30-page PDF."""
    from click.testing import CliRunner

    from catalogue.cli import main

    base = tmp_path_factory.mktemp("mille")
    root = base / "serveur-de-fichiers" / "partages-des-services" / "mairie-de-saint-remy"
    for s in range(100):
        for a in range(10):
            folder = (root / f"Service {s:03d} — direction des affaires générales et de la citoyenneté"
                      / f"Activité {a:02d} — dossiers de consultation des entreprises et pièces de marché")
            folder.mkdir(parents=True)
            (folder / "note.txt").write_text(f"Note {s} {a}\n" * (1 + a), encoding="utf-8")
            (folder / "copie.txt").write_text("même contenu partout\n", encoding="utf-8")
            (folder / "~$brouillon.docx").write_bytes(b"tmp")
    (base / "vide").mkdir()
    db, out, grid = base / "catalogue.duckdb", base / "rapports", base / "grille.xlsx"
    runner = CliRunner()

    def cli(*args):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    cli("scan", root, "--commune", "99501", "--nom", LONG_NAME, "--db", db, "-q")
    cli("scan", base / "vide", "--commune", "99502", "--nom", LONG_NAME + "-Bis", "--db", db, "-q")
    cli("grid", "export", "--commune", "99501", "-o", grid, "--db", db)
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    col = columns(ws)
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, col["dataset_id"]).value:
            fill(ws, r, GOOD)
    wb.save(grid)
    cli("grid", "import", grid, "--db", db)
    cli("report", "--commune", "99501", "-o", out, "--db", db)
    cli("report", "--territoire", "-o", out, "--db", db)
    return {"db": db, "out": out}


def test_thousand_datasets_pdf_stays_short(thousand):
    assert query(thousand["db"], "SELECT count(*) FROM datasets WHERE commune = '99501'")[0][0] == 1000
    pdf = thousand["out"] / "rapport-99501.pdf"
    pages = _pages(pdf)
    assert pages < 30
    # The last page holds more than the footer.
    last = [line for line in _page_text(pdf, pages).splitlines() if line.strip()]
    assert len(last) > 3, last
    # The colophon is in every page's foot on paper, never a paragraph that can fall alone on a page.
    assert "Document produit par Catalogage" not in _pdftotext(pdf)
    assert _page_text(pdf, pages).count("Catalogage ") == 1
    text = _pdftotext(pdf)
    assert "… et 985 autres jeux de données" in text
    html = (thousand["out"] / "rapport-99501.html").read_text(encoding="utf-8")
    for body in re.findall(r"<tbody>(.*?)</tbody>", html, re.S):
        assert body.count("<tr") <= 15


def test_territory_table_fits_the_page(thousand, tmp_path):
    """pdftotext's word boxes: no word runs into the right margin (A4, 14 mm)."""
    for pdf in (thousand["out"] / "synthese-territoriale.pdf", thousand["out"] / "rapport-99501.pdf"):
        page_html = tmp_path / "bbox.html"
        subprocess.run(["pdftotext", "-bbox", str(pdf), str(page_html)], check=True)
        box = page_html.read_text(encoding="utf-8")
        width = float(re.search(r'<page width="([\d.]+)"', box).group(1))
        right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', box))
        assert right <= width - 14 / 25.4 * 72 + 1, (pdf.name, right, width)


def test_notebook_is_saved_with_its_outputs_and_charts():
    """The analysts' notebook is committed executed (on the demo catalogue): every code cell
    has its output, the charts are images, numbers and dates read the French way."""
    import nbformat

    from tests.conftest import REPO

    nb = nbformat.read(REPO / "notebooks" / "explorer-le-catalogue.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs for c in code)
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "Saint-Aubin-des-Prés" in text
    assert re.search(r"\d\u202f\d{3}", text) and re.search(r"\d,\d\d\b", text)  # 11 099 569 ; 11,10
    assert re.search(r"\b\d\d/\d\d/\d{4}\b", text) and not re.search(r"\b\d{4}-\d\d-\d\d\b", text)
    assert not re.search(r"\b\d+\.\d\d\b", text)  # no English decimal point (« PDF 1.3 » is a name)
