"""The signature phase of a real scan (issue 17): a tree of files really signed by
data/sample/signing.py, and unsigned look-alikes, scanned by the real CLI into a real
catalogue; the `files` columns, the `signatures` and `datasets` views, rescans, a killed
scan resumed, access times kept."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from catalogue.scan import run_scan
from data.sample import signing
from data.sample.parapheur import PARAPHEUR_KINDS, write_parapheur
from tests.helpers import held_scan, kill, query

NOT_AFTER = datetime(2031, 6, 30, 23, 59, 59)
PARAPHEUR = "Direction générale/Parapheur"
LOOKALIKES = "Direction générale/Divers"


@pytest.fixture(scope="module")
def signed_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("signes") / "partage"
    pki = signing.make_pki()
    write_parapheur(root / PARAPHEUR, "99801", pki)
    other = root / LOOKALIKES
    other.mkdir(parents=True)
    pdf = signing.simple_pdf(["Note de service"])
    doc = signing.simple_pdf(["Arrêté sans document"])
    (other / "orphelin.pdf.p7s").write_bytes(signing.cms_signature(doc, pki))  # its document is missing
    (other / "note.pdf").write_bytes(pdf)
    (other / "champ vide.pdf").write_bytes(signing.pdf_with_empty_signature_field(pdf))
    (other / "texte.pdf").write_bytes(signing.simple_pdf(["/ByteRange [0 10 20 30] /Contents <00>"]))
    (other / "archive.zip").write_bytes(signing.zip_members([("a.txt", b"contenu " * 20)]))
    (other / "donnees.xml").write_bytes(b"<?xml version='1.0'?><donnees>" + b"<ligne>x</ligne>" * 20 + b"</donnees>")
    (other / "cle.pem").write_bytes(b"-----BEGIN PKCS7-----\n" + b"n'importe quoi\n" * 10 + b"-----END PKCS7-----\n")
    full = signing.cms_signature(pdf, pki)
    (other / "tronque.p7s").write_bytes(full[: len(full) // 2])
    (other / "lisez-moi.txt").write_text("rien de signé ici\n" * 10)
    return root


@pytest.fixture(scope="module")
def scanned(signed_tree, tmp_path_factory) -> Path:
    from click.testing import CliRunner

    from catalogue.cli import main

    db = tmp_path_factory.mktemp("cat") / "c.duckdb"
    result = CliRunner().invoke(main, ["scan", str(signed_tree), "--commune", "99801", "--db", str(db), "--quiet"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "  Signés électroniquement : 10 fichiers, " in result.output  # the parapheur's 8, the orphan and the truncated .p7s
    return db


def _files(db: Path) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in query(db, """SELECT path, sig_kind, sig_count, sig_signer, sig_issuer, sig_not_after,
                                              sig_error, signature_of, signed, sig_signed_at FROM files
                                              WHERE kind = 'file' AND scan_id = (SELECT max(scan_id) FROM scans)""")}


def test_each_kind_is_found_with_its_signer_and_expiry(scanned):
    files = _files(scanned)
    for name, kind in PARAPHEUR_KINDS.items():
        sig_kind, count, signer, issuer, not_after, error, _, signed, _ = files[f"{PARAPHEUR}/{name}"]
        assert signed is True, name
        assert sig_kind == kind, name
        if kind is None:
            continue
        assert count == 1 and error is None, name
        assert issuer == signing.ROOT_CN, name
        if kind == "timestamp":
            assert signer == signing.TSA_CN
        else:
            assert (signer, not_after) == (signing.SIGNER_CN, NOT_AFTER), name
    assert files[f"{PARAPHEUR}/Procès-verbal 2024-003.xml"][8] == datetime(2024, 3, 14, 9, 30)


def test_lookalikes_are_not_signed_and_bad_input_is_recorded(scanned):
    files = _files(scanned)
    for name in ("note.pdf", "champ vide.pdf", "texte.pdf", "archive.zip", "donnees.xml"):
        assert files[f"{LOOKALIKES}/{name}"][0] is None and files[f"{LOOKALIKES}/{name}"][7] is False, name
    assert files[f"{LOOKALIKES}/lisez-moi.txt"][7] is None  # not a candidate: never read
    truncated = files[f"{LOOKALIKES}/tronque.p7s"]
    assert truncated[0] == "cades" and truncated[5]  # an error in French, the scan went on
    pem = files[f"{LOOKALIKES}/cle.pem"]
    assert pem[0] is None or pem[5], pem
    assert query(scanned, "SELECT status FROM scans") == [("complete",)]


def test_detached_signatures_pair_both_ways(scanned):
    files = _files(scanned)
    ids = dict(query(scanned, "SELECT path, file_id FROM files"))
    document = f"{PARAPHEUR}/Délibération 2024-002.pdf"
    assert files[f"{document}.p7s"][6] == ids[document]
    assert files[f"{document}.tsr"][6] == ids[document]
    rows = {r[0]: r[1:] for r in query(scanned, """SELECT path, kind, detached, document_path, document_signed_by
                                                  FROM signatures""")}
    assert rows[f"{document}.p7s"] == ("cades", True, document, None)
    assert rows[document] == ("cades", False, None, f"{document}.p7s")
    assert rows[f"{LOOKALIKES}/orphelin.pdf.p7s"] == ("cades", True, None, None)
    assert rows[f"{PARAPHEUR}/Marché 2024-004.asice"] == ("asic-e", False, None, None)
    assert f"{LOOKALIKES}/note.pdf" not in rows


def test_datasets_give_signed_share_and_first_expiry(scanned):
    rows = {r[0]: r[1:] for r in query(scanned, """SELECT path, files, signed_files, signed_bytes, bytes,
                                                  signed_share, first_cert_expiry FROM datasets""")}
    files, signed, signed_bytes, total, share, expiry = rows[PARAPHEUR]
    assert signed == files == len(PARAPHEUR_KINDS) and signed_bytes == total and share == 1.0
    assert expiry == NOT_AFTER
    files, signed, signed_bytes, total, share, expiry = rows[LOOKALIKES]
    assert signed == 2 and 0 < share < 1 and share == pytest.approx(signed_bytes / total)  # orphan + truncated .p7s


def test_signature_files_are_not_risky_formats(scanned):
    from catalogue.roadmap import FACTS_SQL  # the SQL the roadmap's high_risk_share comes from
    from catalogue.store import connect

    con = connect(scanned, read_only=True)
    try:
        facts = con.execute(FACTS_SQL, {"commune": "99801"}).fetchall()
        cols = [d[0] for d in con.description]
    finally:
        con.close()
    by_path = {dict(zip(cols, r)).get("emplacement", "").rsplit("/", 1)[-1]: dict(zip(cols, r)) for r in facts}
    # The time-stamp token is UNKNOWN to PRONOM (« format à risque élevé »), yet not risky here.
    assert query(scanned, "SELECT puid FROM files WHERE name = 'Délibération 2024-002.pdf.tsr'") == [("UNKNOWN",)]
    assert by_path["Parapheur"]["high_bytes"] == 0


def test_rescan_reuses_results_and_pairs_again(signed_tree, tmp_path):
    root = tmp_path / "partage"
    shutil.copytree(signed_tree, root)
    db = tmp_path / "c.duckdb"
    first = run_scan(str(root), "99801", db=str(db), quiet=True)
    assert first.signatures_examined >= len(PARAPHEUR_KINDS)
    (root / LOOKALIKES / "orphelin.pdf").write_bytes(signing.simple_pdf(["Le document revient"]))
    second = run_scan(str(root), "99801", db=str(db), quiet=True)
    assert second.reused > 0 and second.signatures_examined == 1  # only the new file is read
    before = {p: r[:6] + r[7:8] for p, r in _files_of(db, first.scan_id).items()}
    after = {p: r[:6] + r[7:8] for p, r in _files_of(db, second.scan_id).items()}
    assert {p: r for p, r in after.items() if p != f"{LOOKALIKES}/orphelin.pdf"} == before
    rows = dict(query(db, "SELECT path, document_path FROM signatures WHERE detached"))
    assert rows[f"{LOOKALIKES}/orphelin.pdf.p7s"] == f"{LOOKALIKES}/orphelin.pdf"
    assert rows[f"{PARAPHEUR}/Délibération 2024-002.pdf.p7s"] == f"{PARAPHEUR}/Délibération 2024-002.pdf"


def _files_of(db: Path, scan_id: int) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in query(db, """SELECT path, sig_kind, sig_count, sig_signer, sig_issuer, sig_not_after,
                                              sig_error, signature_of IS NOT NULL, signed FROM files
                                              WHERE kind = 'file' AND scan_id = ?""", [scan_id])}


def test_without_signatures_nothing_is_examined(signed_tree, tmp_path, cli):
    db = tmp_path / "c.duckdb"
    result = cli("scan", signed_tree, "--commune", "99801", "--db", db, "--quiet", "--sans-signatures")
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT count(*) FROM files WHERE signed IS NOT NULL OR sig_kind IS NOT NULL") == [(0,)]


def test_killed_scan_resumes_its_signatures(signed_tree, tmp_path):
    db = tmp_path / "c.duckdb"
    # Results stored every 2 files: the kill leaves some examined, others not.
    proc = held_scan("scan", signed_tree, "--commune", "99801", "--db", db, "--quiet", "--jobs", "1",
                     event="signatures-stored", count=1, update_rows=2, page_rows=4)
    kill(proc)
    examined = query(db, "SELECT count(*) FROM files WHERE signed IS NOT NULL")[0][0]
    assert 0 < examined
    resumed = run_scan(str(signed_tree), "99801", db=str(db), quiet=True, resume_only=True)
    assert resumed.resumed
    reference_db = tmp_path / "ref.duckdb"
    reference = run_scan(str(signed_tree), "99801", db=str(reference_db), quiet=True)
    assert _files_of(db, resumed.scan_id) == _files_of(reference_db, reference.scan_id)


def test_scan_keeps_access_times(signed_tree, tmp_path, cli):
    if os.geteuid() != 0:
        pytest.skip("nécessite root : sans lui, le noyau ne garde l'heure d'accès que des fichiers de l'utilisateur")
    root = tmp_path / "partage"
    shutil.copytree(signed_tree, root)
    old = 978_307_200
    files = [p for p in root.rglob("*") if p.is_file()]
    for p in files:
        os.utime(p, ns=(old * 10**9, os.stat(p).st_mtime_ns))
    result = cli("scan", root, "--commune", "99801", "--db", tmp_path / "c.duckdb", "--quiet")
    assert result.exit_code == 0, result.output
    assert query(tmp_path / "c.duckdb", "SELECT count(*) FROM files WHERE sig_kind IS NOT NULL")[0][0] >= 8
    assert [str(p) for p in files if os.stat(p).st_atime_ns != old * 10**9] == []


def test_the_report_does_not_count_signature_files_as_risky(scanned):
    from catalogue.store import connect
    from reports.context import commune_context

    con = connect(scanned, read_only=True)
    try:
        risk = commune_context(con, "99801")["risk"]
        tsr = con.execute("SELECT sum(size) FROM files WHERE puid = 'UNKNOWN' AND sig_kind IS NOT NULL").fetchall()[0][0]
        unknown_unsigned = con.execute("""SELECT coalesce(sum(size), 0) FROM files WHERE kind = 'file' AND size > 0
                                          AND coalesce(puid, 'UNKNOWN') = 'UNKNOWN' AND sig_kind IS NULL""").fetchall()[0][0]
        total = con.execute("SELECT sum(bytes) FROM formats WHERE commune = '99801'").fetchall()[0][0]
    finally:
        con.close()
    assert tsr > 0
    assert risk["élevé"] == pytest.approx(unknown_unsigned / total)


def test_signatures_are_examined_during_identification(signed_tree, tmp_path):
    """Issue 21: candidates are examined batch by batch while siegfried identifies the next
    ones, so their results are stored before the signature phase begins; that phase only
    takes the files identification did not read (copies of an identical file)."""
    from catalogue.scan.options import Tuning

    events: list[str] = []
    summary = run_scan(str(signed_tree), "99801", db=str(tmp_path / "c.duckdb"), quiet=True,
                       tuning=Tuning(on_event=events.append))
    assert "signatures-stored" in events[:events.index("signatures")]
    assert summary.signatures_examined >= len(PARAPHEUR_KINDS)
