"""A reviewer's defects in the reports (issue 20, second reading): the freeable volume
counted once, misleading extensions without the extensionless files and the déchets,
full lists as CSV annexes, one set of datasets behind every figure, the DUA rule as the
roadmap applies it, no tool file name on official pages, French numbers, and words cut
only at a hyphen in the PDF.

Every check reads a real artefact: the PDF through pdftotext, the HTML and CSV as written,
against the real DuckDB catalogue of a real scanned tree."""

from __future__ import annotations

import csv
import os
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from catalogue.formatting import french_bytes, plural
from grids import spec
from reports.numbers import csv_decimal, energy, factor, mass_co2
from tests.conftest import query
from tests.test_grid import GOOD, columns, fill
from tests.test_reports import _pdf, _pdftotext

CODE = "99401"
ANNEX = "Annexe : sources, méthode et identifiants"
SERVICE = "Administration générale"


def _tree(root: Path) -> None:
    """Redundant copies that déchets rules also match by name (« Copie de », « (2) »),
    misleading extensions (17 PDFs named .jpg), PDFs without an extension, a Thumbs.db
    holding a PDF, and déchets in 17 folders."""
    delib = root / SERVICE / "Délibérations" / "deliberation-2019.pdf"
    _pdf(delib, "Délibération du conseil municipal")
    for name in ("Copie de deliberation-2019.pdf", "deliberation-2019 (2).pdf"):
        (delib.parent / name).write_bytes(delib.read_bytes())
    (root / "Photographies").mkdir()
    (root / "Photographies" / "deliberation.pdf").write_bytes(delib.read_bytes())
    for i in range(17):
        _pdf(root / "Communication" / "Photographies" / f"photo-{i:02d}.jpg", f"Pas une photo {i}")
        _pdf(root / "Communication" / "Sans extension" / f"LISEZMOI-{i:02d}", f"Lisez-moi {i}")
        _pdf(root / "Archives" / f"Dossier {i:02d}" / "Thumbs.db", f"Vignettes {i}")
    for path in root.rglob("*"):
        # The original first: the copies are the redundant ones.
        when = datetime(2019, 3, 1) if path.name == delib.name else datetime(2020, 6, 1)
        os.utime(path, (when.timestamp(), when.timestamp()))


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    from click.testing import CliRunner

    from catalogue.cli import main

    runner = CliRunner()

    def cli(*args):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    base = tmp_path_factory.mktemp("revue")
    db = base / "catalogue.duckdb"
    _tree(base / CODE)
    cli("scan", base / CODE, "--commune", CODE, "--nom", "Revue-sur-Loire", "--db", db, "-q")
    grid = base / "grille.xlsx"
    cli("grid", "export", "--commune", CODE, "-o", grid, "--db", db)
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    col = columns(ws)
    last = 1
    for r in range(2, ws.max_row + 1):
        place = str(ws.cell(r, col["emplacement"]).value or "")
        if place:
            last = r
        if place.endswith("Délibérations"):
            fill(ws, r, dict(GOOD, service=SERVICE, activite="Délibérations", dua_annees=10,
                             sort_final="Destruction"))
    # A row the référent adds: counted with the scanned datasets everywhere.
    fill(ws, last + 1, dict(GOOD, emplacement="Logiciel d'état civil", volume_annuel_go="0,1",
                            volume_stock_go="1"))
    wb.save(grid)
    cli("grid", "import", grid, "--db", db)
    out = base / "out"
    cli("report", "--commune", CODE, "-o", out, "--db", db)
    cli("report", "--territoire", "-o", out, "--db", db)
    return {"db": db, "out": out}


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " "))


def _html_text(path: Path) -> str:
    import html as htmllib

    page = re.sub(r"</?(strong|span|sup)\b[^>]*>", "", path.read_text(encoding="utf-8"))  # inline: no space
    return _flat(htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_freeable_volume_counts_each_file_once(review):
    db = review["db"]
    union = query(db, """
        SELECT count(*), sum(size) FROM (SELECT DISTINCT scan_id, file_id, size FROM (
            SELECT scan_id, file_id, size FROM dechets WHERE commune = ?
            UNION ALL SELECT scan_id, file_id, size FROM duplicate_files WHERE commune = ? AND redundant))""",
                  [CODE, CODE])[0]
    # The tree makes the double count happen: a redundant copy matched by another rule than « Doublons ».
    twice = query(db, """
        SELECT count(*) FROM duplicate_files f JOIN dechets d USING (scan_id, file_id)
        WHERE f.commune = ? AND f.redundant AND d.rule_id <> 'DOUBLON'""", [CODE])[0][0]
    assert twice >= 2
    freeable = _flat(french_bytes(int(union[1])))
    for stem in (f"rapport-{CODE}", "synthese-territoriale"):
        text = _html_text(review["out"] / f"{stem}.html")
        assert f"soit {plural(union[0], 'entrée')} et {freeable}." in text, stem
        assert f"Par ailleurs, {freeable} de doublons et de déchets" in text, stem
        assert f"Les doublons et déchets ({freeable}) occupent" in text, stem
        assert "reprend les copies redondantes" not in text


def test_misleading_extensions_leave_out_extensionless_files_and_dechets(review):
    db, out = review["db"], review["out"]
    text = _html_text(out / f"rapport-{CODE}.html")
    flagged = {r[0] for r in query(db, "SELECT path FROM files_current WHERE commune = ? AND ext_mismatch", [CODE])}
    assert any("LISEZMOI" in p for p in flagged) and any(p.endswith("Thumbs.db") for p in flagged)
    assert "17 fichiers portent une extension qui ne correspond pas à leur contenu" in text
    assert "17 fichiers portent une extension qui ne correspond pas à leur contenu : ils s'ouvriront" in \
        text.partition("1. Chiffres clés")[0]
    assert "Extension . " not in text and "LISEZMOI" not in text and "Thumbs.db" not in text.partition(ANNEX)[0]
    assert "… et 2 autres fichiers : voir l'annexe extensions-trompeuses-99401.csv." in text
    with open(out / f"extensions-trompeuses-{CODE}.csv", newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert sorted(r["chemin"] for r in rows) == sorted(f"Communication/Photographies/photo-{i:02d}.jpg"
                                                       for i in range(17))
    assert {r["extension"] for r in rows} == {"jpg"} and all(r["puid"] for r in rows)


def test_full_dechets_list_is_an_annex(review):
    db, out = review["db"], review["out"]
    text = _html_text(out / f"rapport-{CODE}.html")
    assert "(vue dechets)" not in text and "colonne ext_mismatch" not in text
    assert re.search(r"… et \d+ autres dossiers : voir l'annexe dechets-99401\.csv\.", text)
    with open(out / f"dechets-{CODE}.csv", newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    expected = query(db, "SELECT count(*) FROM dechets WHERE commune = ?", [CODE])[0][0]
    assert len(rows) == expected
    assert {r["chemin"] for r in rows} >= {f"Archives/Dossier {i:02d}/Thumbs.db" for i in range(17)}
    copy = next(r for r in rows if r["chemin"].endswith("Copie de deliberation-2019.pdf"))
    assert copy["copie_redondante"] == "oui" and copy["regle"] == "BAK-COPIE-DE" and copy["nature"] == "fichier"


def test_every_dataset_figure_counts_the_same_set(review):
    db, out = review["db"], review["out"]
    scanned = query(db, "SELECT count(*) FROM datasets WHERE commune = ?", [CODE])[0][0]
    total = scanned + 1  # and the row the référent added
    for stem in (f"rapport-{CODE}", "synthese-territoriale"):
        text = _html_text(out / f"{stem}.html")
        first = text.partition("1. Chiffres clés")[0]
        assert re.search(rf"jeux de données sur {total} \(dont 1 ajouté par les référents\) restent à qualifier",
                         first), (stem, first)
    commune = _html_text(out / f"rapport-{CODE}.html")
    assert re.search(rf"\b{total} ?jeux de données, dont 1 ajouté par les référents", commune)  # the card
    assert re.search(rf"jeux de données qualifiés sur {total} \(\d+ %\), dont 1 ajouté par les référents", commune)
    synthesis = _html_text(out / "synthese-territoriale.html")
    assert re.search(rf"\d+ / {total} ?jeux de données qualifiés, dont 1 ajouté par les référents", synthesis)
    with open(out / "synthese-territoriale.csv", newline="", encoding="utf-8-sig") as fh:
        row = next(csv.DictReader(fh, delimiter=";"))
    assert int(row["jeux_de_donnees"]) == total


def test_roadmap_note_states_the_dua_start_rule(review):
    text = _html_text(review["out"] / f"rapport-{CODE}.html")
    assert "la DUA court depuis l'année de dernière modification" not in text
    assert ("Une élimination n'est proposée que si le point de départ de la DUA (donné dans la grille, sinon par "
            "le référentiel) est une date que le scan connaît") in text
    assert "l'élimination est « à vérifier », sans année" in text


def test_no_tool_file_name_on_official_pages(review):
    for stem in (f"rapport-{CODE}", "synthese-territoriale"):
        official, _, annex = _html_text(review["out"] / f"{stem}.html").partition(ANNEX)
        assert "catalogue/rules/" not in official and ".csv (modifiable" not in official, stem
        assert "catalogue/rules/environnement.csv" in annex
    synthesis = _html_text(review["out"] / "synthese-territoriale.html")
    assert "Hypothèses lues dans" not in synthesis
    assert "catalogue/rules/couts.csv" in synthesis.partition(ANNEX)[2]


def test_numbers_read_as_french(review):
    # Table cells read in the HTML; the sentence in the PDF as printed.
    text = _html_text(review["out"] / f"rapport-{CODE}.html")
    assert "3 copies" in text and "3,000" not in text
    assert "1,58 sans unité" in text and "1,580" not in text and "0,052 kg CO2e par kWh" in text
    printed = _flat(_pdftotext(review["out"] / f"rapport-{CODE}.pdf"))
    assert "0,00 kg" not in printed and "0,0 kWh" not in printed
    assert re.search(r"(moins de 0,01|[\d,]+) g CO2e par an", printed), printed
    synthesis = _html_text(review["out"] / "synthese-territoriale.html")
    assert "3,00 copies" not in synthesis and "3 copies" in synthesis and "1 000 euros" in synthesis


def test_number_helpers():
    assert [factor(x) for x in (3.0, 1.58, 1.5, 0.052, 1000)] == ["3", "1,58", "1,5", "0,052", "1\u202f000"]
    assert mass_co2(12.345) == "12,35 kg CO2e" and mass_co2(0.34) == "340 g CO2e"
    assert mass_co2(1e-7) == "moins de 0,01 g CO2e" and mass_co2(0) == "0 kg CO2e"
    assert energy(0.01246) == "12,46 Wh" and energy(2.5) == "2,5 kWh"
    assert csv_decimal(1000.0) == "1000,00" and csv_decimal(1.21) == "1,21" and csv_decimal(7) == 7


def test_words_are_cut_only_at_a_hyphen_in_the_pdf(review):
    """Narrow columns (roadmap, identifiers) cut « Administration » with a hyphen (pyphen,
    lang="fr"), never « Administratio n »."""
    # Raw mode (no -layout): a table cell's lines follow each other, « Administratio\nn ».
    text = subprocess.run(["pdftotext", str(review["out"] / f"rapport-{CODE}.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    for word in ("Administration", "générale", "Délibérations", "Photographies", "Communication"):
        for cut in range(1, len(word)):
            assert not re.search(rf"(?<!\w){word[:cut]}\n{word[cut:]}(?!\w)", text), (word, cut)
    assert re.search(r"\w\u2010\n\w", text)  # some words are cut, at a hyphen: hyphenation is on
