"""The reports' « Données signées électroniquement » section, on a real scanned catalogue
whose signature columns are set as the signature stage sets them; the commune report in
headless Chromium, the annex CSV, and the territory synthesis' counts per commune."""

from __future__ import annotations

import csv
import datetime as dt
import html as htmllib
import re
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from grids import spec
from reports.signatures import expiry_limit, kind_label
from tests.test_grid import GOOD, columns, fill
from tests.test_reports import _chromium, _pdf, _Tags

CODE, OTHER = "99401", "99402"
HOSTILE_SIGNER = "<b>Maire</b> & adjoint"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _share(root: Path, detached: bool) -> Path:
    for n in range(3):
        _pdf(root / "Actes" / "Arretes" / f"arrete-{n}.pdf", f"Arrete {n}")
    _pdf(root / "Actes" / "Deliberations" / "deliberation-1.pdf", "Deliberation 1")
    if detached:  # placeholders: their signature columns are set below, as the stage would
        _write(root / "Actes" / "Deliberations" / "deliberation-1.pdf.p7s", b"0" * 1500)
        _write(root / "Actes" / "Deliberations" / "perdue.pdf.p7s", b"0" * 1400)
    _pdf(root / "Urbanisme" / "PLU" / "reglement.pdf", "Reglement du PLU")
    return root


def _sign(con, commune: str, name: str, kind: str, not_after: dt.date | None, signer: str = "Jeanne Martin",
          **extra) -> None:
    sets = ", ".join(f"{k} = ?" for k in extra)
    con.execute(f"UPDATE files SET sig_kind = ?, sig_count = 1, signed = true, sig_signer = ?, "
                f"sig_issuer = 'AC Test Territoire', sig_not_after = ?, "
                f"sig_signed_at = TIMESTAMP '2025-02-03 10:00:00'{', ' + sets if sets else ''} "
                "WHERE commune = ? AND name = ?",
                [kind, signer, not_after, *extra.values(), commune, name])


@pytest.fixture(scope="module")
def signed_reports(tmp_path_factory):
    from click.testing import CliRunner

    from catalogue.cli import main

    runner = CliRunner()
    base = tmp_path_factory.mktemp("signatures")
    db = base / "catalogue.duckdb"

    def cli(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    for code, nom in ((CODE, "Delta-sur-Signe"), (OTHER, "Epsilon-sans-Signe")):
        assert cli("scan", _share(base / code, code == CODE), "--commune", code, "--nom", nom, "--db", db, "-q").exit_code == 0
    today = dt.date.today()
    soon, later = today + dt.timedelta(days=90), today + dt.timedelta(days=800)
    con = duckdb.connect(str(db))
    try:
        _sign(con, CODE, "arrete-0.pdf", "pades", soon, signer=HOSTILE_SIGNER)
        _sign(con, CODE, "arrete-1.pdf", "pades", later)
        _sign(con, CODE, "arrete-2.pdf", "pades", today - dt.timedelta(days=10))  # already expired
        scan, document = con.execute("SELECT scan_id, file_id FROM files WHERE commune = ? "
                                     "AND name = 'deliberation-1.pdf'", [CODE]).fetchone()
        _sign(con, CODE, "deliberation-1.pdf.p7s", "cades", later, signature_of=document)
        con.execute("UPDATE files SET signed = true WHERE scan_id = ? AND file_id = ?", [scan, document])
        _sign(con, CODE, "perdue.pdf.p7s", "cades", None)  # its document is gone
        _sign(con, OTHER, "arrete-0.pdf", "pades", soon)
    finally:
        con.close()
    # The référent answers « Non » for the arrêtés (the scan says otherwise) and values the PLU highly.
    grid = base / "grille.xlsx"
    assert cli("grid", "export", "--commune", CODE, "-o", grid, "--db", db).exit_code == 0
    wb = load_workbook(grid)
    ws = wb[spec.SHEET_GRID]
    col = columns(ws)
    for r in range(2, ws.max_row + 1):
        place = str(ws.cell(r, col["emplacement"]).value or "")
        if place.endswith(("Actes/Arretes", "Urbanisme/PLU")):
            fill(ws, r, dict(GOOD, sort_final="Conservation", dua_annees=1))
    wb.save(grid)
    result = cli("grid", "import", grid, "--db", db)
    assert result.exit_code == 0, result.output
    out = base / "out"
    for args in (("--commune", CODE), ("--territoire",)):
        result = cli("report", *args, "--no-pdf", "-o", out, "--db", db)
        assert result.exit_code == 0, result.output
    return {"db": db, "out": out, "today": today, "soon": soon}


def _section(page: str) -> str:
    start = page.index("8. Données signées électroniquement")
    return page[start:page.index("9. Feuille de route", start)]


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment))).replace("\u202f", " ").replace("\u00a0", " ")


def test_labels_are_french():
    assert kind_label("pades", False) == "PAdES"
    assert kind_label("cades", True) == "CAdES détachée"
    assert kind_label("asic-e", False) == "ASiC-E"
    assert kind_label("timestamp", True) == "Jeton d'horodatage (RFC 3161)"
    assert kind_label("cades", False, by_detached=True) == "Document signé (CAdES détachée)"
    assert expiry_limit(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)
    assert expiry_limit(dt.date(2026, 12, 1)) == dt.date(2027, 12, 1)


def test_commune_report_section(signed_reports):
    page = (signed_reports["out"] / f"rapport-{CODE}.html").read_text(encoding="utf-8")
    text = _text(_section(page))
    # 3 PAdES arrêtés, the délibération signed by its .p7s, the .p7s itself and the orphan .p7s.
    assert "Le scan a trouvé 6 fichiers signés ou signatures détachées" in text
    assert "dans 2 jeux de données" in text
    assert re.search(r"PAdES 3 3 [\d ,]+ (octets|Ko) 0", text), text
    assert re.search(r"CAdES détachée 2 2 ", text), text
    # Certificates: the expired one and the one expiring in 90 days, not the one in 800 days.
    assert "Certificats expirés ou qui expirent dans les 12 mois" in text
    assert f"{signed_reports['soon']:%d/%m/%Y}" in text and "(déjà expiré)" in text
    # The expired certificate is told apart from the one expiring within 12 months.
    assert "1 certificat de signataire a expiré : leurs signatures" in text
    assert "1 certificat expire avant le" in text

    assert text.count("AC Test Territoire") == 2
    assert HOSTILE_SIGNER in text and "<b>Maire</b>" not in _section(page)  # escaped, never markup
    # The orphan detached signature, not the paired one.
    assert "Signatures détachées sans leur document" in text
    assert "Actes/Deliberations/perdue.pdf.p7s" in text
    assert "deliberation-1.pdf.p7s" not in text.split("Signatures détachées sans leur document")[1]


def test_page_one_tells_expired_from_expiring(signed_reports):
    """An expired certificate is urgent, never « expire dans les 12 mois »."""
    page = (signed_reports["out"] / f"rapport-{CODE}.html").read_text(encoding="utf-8")
    first = _text(page[page.index("À retenir"):page.index("1. Chiffres clés")])
    expired = signed_reports["today"] - dt.timedelta(days=10)
    assert f"1 certificat de signature a expiré le {expired:%d/%m/%Y} : versement urgent au SAE" in first
    assert "1 certificat de signature expire dans les 12 mois" in first
    synthesis = (signed_reports["out"] / "synthese-territoriale.html").read_text(encoding="utf-8")
    first = _text(synthesis[synthesis.index("À retenir"):synthesis.index("1. Chiffres clés")])
    assert f"1 certificat de signature a expiré le {expired:%d/%m/%Y} : versement urgent" in first
    assert "2 certificats de signature expirent dans les 12 mois" in first


def test_roadmap_puts_the_scanned_signed_share_first(signed_reports):
    """The roadmap reads the signed share and the earliest expiry from the `datasets` view:
    the signed arrêtés (answered « Non ») go before the PLU of strong value, and say why."""
    page = (signed_reports["out"] / f"rapport-{CODE}.html").read_text(encoding="utf-8")
    start = page.index("9. Feuille de route")
    text = _text(page[start:page.index("10. Empreinte", start)])
    expired = signed_reports["today"] - dt.timedelta(days=10)
    assert ("données signées électroniquement (100 % du volume) : versement prioritaire, "
            f"certificat expirant le {expired:%d/%m/%Y}") in text
    # Datasets read « Service / Activité » (their folders under the root).
    assert text.index("Actes / Arretes") < text.index("Urbanisme / PLU")
    assert "Les données signées électroniquement passent d'abord" in text


def test_signature_annex_has_every_row(signed_reports):
    path = signed_reports["out"] / f"signatures-{CODE}.csv"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        found = list(csv.DictReader(fh, delimiter=";"))
    assert len(found) == 6
    orphan = next(r for r in found if r["chemin"].endswith("perdue.pdf.p7s"))
    assert orphan["type"] == "CAdES détachée" and orphan["detachee"] == "oui" and orphan["document_signe"] == ""
    paired = next(r for r in found if r["chemin"].endswith("deliberation-1.pdf.p7s"))
    assert paired["document_signe"] == "Actes/Deliberations/deliberation-1.pdf"
    assert {r["type"] for r in found} == {"PAdES", "CAdES détachée", "Document signé (CAdES détachée)"}


def test_signed_section_in_chromium(signed_reports, tmp_path):
    dom, console, _ = _chromium(signed_reports["out"] / f"rapport-{CODE}.html", tmp_path)
    assert console == []
    tags = _Tags()
    tags.feed(dom)
    assert "b" not in tags.tags  # the hostile signer name is text
    text = _text(dom)
    assert "8. Données signées électroniquement" in text and "Par type de signature" in text
    assert "Actes/Deliberations/perdue.pdf.p7s" in text


def test_territory_gives_counts_per_commune_only(signed_reports):
    page = (signed_reports["out"] / "synthese-territoriale.html").read_text(encoding="utf-8")
    start = page.index("3. Données signées électroniquement")
    text = _text(page[start:page.index("4. Feuille de route", start)])
    # Datasets, expired certificates, certificates expiring within 12 months, orphans.
    assert re.search(rf"Delta-sur-Signe \({CODE}\) 6 [\d ,]+ (octets|Ko) 2 1 1 1", text), text
    assert re.search(rf"Epsilon-sans-Signe \({OTHER}\) 1 [\d ,]+ (octets|Ko) 1 0 1 0", text), text
    assert "perdue.pdf.p7s" not in page and "Jeanne Martin" not in page and "arrete-0" not in page
    with open(signed_reports["out"] / "synthese-territoriale.csv", encoding="utf-8-sig", newline="") as fh:
        found = {r["commune"]: r for r in csv.DictReader(fh, delimiter=";")}
    assert (found[CODE]["fichiers_signes"], found[CODE]["certificats_expirant_12_mois"],
            found[CODE]["certificats_expires"], found[CODE]["signatures_detachees_orphelines"]) == ("6", "1", "1", "1")


def test_report_of_really_signed_files(tmp_path):
    """End to end: the demo's parapheur, really signed with a certificate expiring in 100
    days, and a detached signature whose document is gone, scanned by the real stage."""
    from click.testing import CliRunner

    from catalogue.cli import main
    from data.sample import signing
    from data.sample.parapheur import write_parapheur

    expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(days=100)).replace(microsecond=0)
    pki = signing.make_pki(not_after=expiry)
    share = tmp_path / "partage"
    write_parapheur(share / "Direction générale" / "Parapheur", CODE, pki)
    lost = signing.simple_pdf(["Arrêté disparu"])
    _write(share / "Direction générale" / "Divers" / "disparu.pdf.p7s", signing.cms_signature(lost, pki))
    db, out = tmp_path / "c.duckdb", tmp_path / "out"
    runner = CliRunner()
    for args in (["scan", str(share), "--commune", CODE, "--db", str(db), "-q"],
                 ["report", "--commune", CODE, "--no-pdf", "-o", str(out), "--db", str(db)]):
        result = runner.invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    text = _text(_section((out / f"rapport-{CODE}.html").read_text(encoding="utf-8")))
    # The dataset's kinds, in French.
    assert ("ASiC-E, CAdES, OpenDocument (ODF), Office (OOXML), PAdES, Jeton d'horodatage (RFC 3161), XAdES 8 "
            in text)
    for label in ("Document signé (CAdES détachée)", "PAdES", "CAdES détachée", "XAdES", "ASiC-E", "OpenDocument (ODF)", "Office (OOXML)",
                  "Jeton d'horodatage (RFC 3161)"):
        assert f"{label} " in text, label
    assert f"{signing.SIGNER_CN} {signing.ROOT_CN} {expiry:%d/%m/%Y}" in text
    orphans = text.split("Signatures détachées sans leur document")[1]
    assert "Direction générale/Divers/disparu.pdf.p7s CAdES détachée" in orphans
    assert "Délibération 2024-002.pdf.p7s" not in orphans
