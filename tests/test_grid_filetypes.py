"""A file sent back as a grid that is not an .xlsx workbook: the refusal names the type
found and says what to do, in one French line (issue 20 part 2). Each file is real: the
.ods and the .xls are written by LibreOffice from an exported grid, the protected
workbook is encrypted with a password as Excel does (MS-OFFCRYPTO, by msoffcrypto-tool)."""

from __future__ import annotations

import io

import pytest

from tests.test_grid import db, export, grid_db_template
from tests.test_grid_paper import convert

__all__ = ["db", "grid_db_template"]  # fixtures shared with test_grid.py

SAVE_AS = ("ouvrez-le dans Excel ou LibreOffice et enregistrez-le au format « Classeur Excel (.xlsx) », puis "
           "importez ce fichier")
START_AGAIN = "repartez de la grille envoyée (produite par « catalogue grid export »)"


def refused(cli, db, path) -> str:
    result = cli("grid", "import", path, "--db", db)
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1
    for english in ("BadZipFile", "openpyxl", "zip file", "not supported", "Traceback"):
        assert english not in result.output
    return result.output


def test_ods_from_libreoffice(cli, db, tmp_path):
    ods = convert(export(cli, db, tmp_path / "grille.xlsx"), "ods", tmp_path)
    assert refused(cli, db, ods) == (
        "Erreur : grille.ods : classeur OpenDocument (.ods) de LibreOffice ; dans LibreOffice, Fichier > "
        "Enregistrer sous, type « Excel 2007-365 (.xlsx) », puis importez ce fichier.\n")
    renamed = tmp_path / "grille-renommee.xlsx"
    renamed.write_bytes(ods.read_bytes())  # the same file renamed: the content decides
    assert "classeur OpenDocument (.ods)" in refused(cli, db, renamed)


def test_old_excel_xls_from_libreoffice(cli, db, tmp_path):
    xls = convert(export(cli, db, tmp_path / "grille.xlsx"), "xls:MS Excel 97", tmp_path)
    assert xls.read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")
    assert refused(cli, db, xls) == (
        f"Erreur : grille.xls : classeur Excel 97-2003 (.xls), ancien format ; {SAVE_AS}.\n")


def test_password_protected_workbook(cli, db, tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = export(cli, db, tmp_path / "grille.xlsx")
    protected = tmp_path / "grille-protegee.xlsx"
    with open(plain, "rb") as fh, open(protected, "wb") as out:
        OOXMLFile(fh).encrypt("secret", out)
    with open(protected, "rb") as fh:  # a real encrypted workbook: it opens with its password
        check = OOXMLFile(fh)
        check.load_key(password="secret")
        check.decrypt(io.BytesIO())
    assert refused(cli, db, protected) == (
        "Erreur : grille-protegee.xlsx : classeur protégé par un mot de passe, que l'import ne peut pas ouvrir ; "
        "ouvrez-le, retirez le mot de passe (Excel : Fichier > Informations > Protéger le classeur ; LibreOffice : "
        "Enregistrer sous, sans cocher « Enregistrer avec mot de passe ») et importez-le à nouveau.\n")


@pytest.mark.parametrize("name, content, message", [
    ("export.xlsx", "Identifiant;Service producteur\nFS-0001;Urbanisme\n".encode("utf-8-sig"),
     f"fichier texte (CSV ?) renommé en .xlsx, pas un classeur ; {SAVE_AS}"),
    ("latin1.xlsx", "Identifiant;Activité\nFS-0001;État civil\n".encode("latin-1"),
     f"fichier texte (CSV ?) renommé en .xlsx, pas un classeur ; {SAVE_AS}"),
    ("vide.xlsx", b"", f"fichier vide (0 octet) : le fichier a été mal copié ou mal enregistré ; {START_AGAIN}"),
    ("scan.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", f"document PDF, pas un classeur ; {START_AGAIN}"),
    ("image.xlsx", bytes(range(256)) * 4, f"ce fichier n'est pas un classeur Excel (.xlsx) ; {START_AGAIN}"),
])
def test_files_that_are_not_workbooks(cli, db, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    assert refused(cli, db, path) == f"Erreur : {name} : {message}.\n"


def test_truncated_and_foreign_zip(cli, db, tmp_path):
    import zipfile

    whole = export(cli, db, tmp_path / "grille.xlsx").read_bytes()
    cut = tmp_path / "coupee.xlsx"
    cut.write_bytes(whole[: len(whole) // 2])  # an e-mail attachment cut short
    assert refused(cli, db, cut) == (
        f"Erreur : coupee.xlsx : archive ZIP abîmée ou incomplète (fichier tronqué ?) ; {START_AGAIN}.\n")
    other = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("photo.txt", "pas un classeur")
    assert refused(cli, db, other) == (
        f"Erreur : photos.xlsx : archive ZIP qui n'est pas un classeur Excel (.xlsx) ; {START_AGAIN}.\n")
