"""Real files written by real libraries get the right PRONOM identifiers."""

from __future__ import annotations

from datetime import datetime

import pytest

from data.sample import formats
from tests.conftest import query

CASES = {
    "rapport.pdf": (lambda: formats.pdf("Rapport", ["ligne"]), "fmt/17"),
    "note.docx": (lambda: formats.docx("Note", ["ligne"]), "fmt/412"),
    "budget.xlsx": (lambda: formats.xlsx("Budget", [["a", 1]]), "fmt/214"),
    "compte-rendu.odt": (lambda: formats.odt("CR", ["ligne"]), "fmt/291"),
    "tableau.ods": (lambda: formats.ods("T", [["a", "b"]]), "fmt/295"),
    "photo.png": (lambda: formats.image("png", 3), "fmt/11"),
    "photo.jpg": (lambda: formats.image("jpeg", 3), "fmt/43"),
    "scan.tif": (lambda: formats.image("tiff", 3), "fmt/353"),
    "archive.zip": (lambda: formats.zip_of({"a.txt": b"a"}), "x-fmt/263"),
    "message.eml": (lambda: formats.eml("Objet", "a@demo.invalid", "b@demo.invalid", "Corps",
                                        datetime(2020, 5, 4, 10, 0)), "fmt/950"),
}


@pytest.fixture(scope="module")
def identified(tmp_path_factory):
    from click.testing import CliRunner

    from catalogue.cli import main

    root = tmp_path_factory.mktemp("formats")
    for name, (make, _) in CASES.items():
        (root / name).write_bytes(make())
    # A PDF disguised as a Word file: identified by its bytes, flagged as a mismatch.
    (root / "deguise.doc").write_bytes(formats.pdf("Déguisé", ["x"]))
    # Matched as text, and matched by nothing: libmagic gives its MIME type.
    (root / "lisez-moi.txt").write_text("Bonjour\n" * 20)
    (root / "inconnu.zzq").write_bytes(bytes(range(256)) * 4)
    db = root.parent / (root.name + ".duckdb")
    result = CliRunner().invoke(main, ["scan", str(root), "--commune", "99001", "--db", str(db), "--quiet"])
    assert result.exit_code == 0, result.output
    return {r[0]: r[1:] for r in query(db, "SELECT name, puid, mime, magic_mime, ext_mismatch, format_name FROM files")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_puid(identified, name):
    puid, mime, magic_mime, mismatch, format_name = identified[name]
    assert puid == CASES[name][1]
    assert format_name and mime
    # A match by signature: libmagic is not asked (issue 21).
    assert magic_mime is None
    assert mismatch is False


def test_libmagic_only_without_a_signature_match(identified):
    puid, _, magic_mime, mismatch, _ = identified["lisez-moi.txt"]
    assert (puid, magic_mime, mismatch) == ("x-fmt/111", "text/plain", False)
    puid, _, magic_mime, _, _ = identified["inconnu.zzq"]
    assert puid == "UNKNOWN" and magic_mime  # whatever libmagic makes of these bytes


def test_extension_mismatch_flagged(identified):
    puid, _, magic_mime, mismatch, _ = identified["deguise.doc"]
    assert puid == "fmt/17" and magic_mime is None and mismatch is True


def test_format_error_is_a_warning_not_a_read_error(tmp_path, cli):
    """A broken ZIP is still read and still a duplicate; siegfried's complaint is a warning."""
    from tests.conftest import query

    root = tmp_path / "partage"
    root.mkdir()
    broken = b"PK\x03\x04" + bytes(range(256)) * 20
    (root / "a.zip").write_bytes(broken)
    (root / "b.zip").write_bytes(broken)
    db = tmp_path / "c.duckdb"
    assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet").exit_code == 0
    rows = query(db, "SELECT error, id_warning FROM files")
    assert all(error is None and "erreur siegfried" in warning for error, warning in rows)
    assert query(db, "SELECT copies FROM duplicates") == [(2,)]
