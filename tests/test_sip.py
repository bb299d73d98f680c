"""`catalogue sip` on a real scanned share with a real imported grid: every manifest is
checked against the plain SEDA XSD of its version (offline) and the element order of
Vitam's samples; every digest against the ZIP member and the original file; the tree,
the rules, the agencies, the split by size, hostile names, and every refusal."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import re
import subprocess
import tracemalloc
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest

from catalogue.sae.manifest import Header, Package, Signing, write_manifest, xml_text
from catalogue.sae.selection import Management, PackFile, RuleRef
from catalogue.sae.zipwrite import write_zip
from tests.conftest import can_drop_privileges, catalogue_cmd, query, unprivileged
from tests.saedata import (
    BUDGETS,
    COURRIER,
    DIVERS,
    ETRANGES,
    HOSTILE,
    NS,
    PAIE,
    PERMIS,
    PLU,
    assert_sample_order,
    assert_valid,
    dataset_id,
    local,
    need_shared,
    sae,
    sae_template,
    share_copy,
)

__all__ = ["sae", "sae_template"]  # fixtures used here


def sip(cli, db: Path, out: Path, *ids: str, extra: tuple = ()):
    """Run `catalogue sip`; every package it wrote is checked against the XSD of its version."""
    result = cli("sip", *ids, "--contrat", "IC-000001", "-o", out, "--db", db, "--quiet", *extra)
    if result.exit_code == 0:
        version = extra[list(extra).index("--seda") + 1] if "--seda" in extra else "2.2"
        for package in Path(out).glob("*.zip"):
            manifest_of(package, version)
    return result


def manifest_of(path: Path, version: str = "2.2"):
    with zipfile.ZipFile(path) as zf:
        return assert_valid(zf.read("manifest.xml"), version)


def find(el, path: str, version: str = "2.2"):
    return el.find(path.replace("s:", f"{{{NS[version]}}}"))


def findall(el, path: str, version: str = "2.2"):
    return el.findall(path.replace("s:", f"{{{NS[version]}}}"))


def text(el, path: str, version: str = "2.2") -> str | None:
    found = find(el, path, version)
    return None if found is None else found.text


def left_out_rows(path: Path) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[0] == ["chemin", "taille_octets", "motif"]
    return {r[0]: r[2] for r in rows[1:]}


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("version", ["2.2", "2.3"])
def test_manifest_valid_ordered_and_digests_round_trip(cli, sae, tmp_path, version):
    need_shared()
    share, db = sae
    ds = dataset_id(db, PERMIS)
    out = tmp_path / "sip"
    result = sip(cli, db, out, ds, extra=("--seda", version))
    assert result.exit_code == 0, result.output
    packed = query(db, "SELECT count(*), sum(size) FROM dataset_files WHERE dataset_id = ?", [ds])[0]
    lines = result.output.splitlines()
    assert lines[0].startswith(f"SIP écrit : {out / (ds + '.zip')} — ") and lines[0].endswith(f"(SEDA {version})")
    assert lines[-1] == f"  Fichiers écartés : 3 (liste : {out / (ds + '-exclus.csv')})"
    assert sorted(os.listdir(out)) == [f"{ds}-exclus.csv", f"{ds}.zip"]

    root = manifest_of(out / f"{ds}.zip", version)
    assert_sample_order(root, version)
    # No extension: every element in the SEDA namespace, no xsi:type substitution.
    assert {el.tag.split("}")[0][1:] for el in root.iter()} == {NS[version]}
    assert not [el for el in root.iter() if any("XMLSchema-instance" in a for a in el.attrib)]

    catalogue = {f"BO{file_id}": (path, name, size) for file_id, path, name, size in query(
        db, "SELECT file_id, path, name, size FROM dataset_files WHERE dataset_id = ?", [ds])}
    with zipfile.ZipFile(out / f"{ds}.zip") as zf:
        members = set(zf.namelist()) - {"manifest.xml"}
        objects = findall(root, ".//s:BinaryDataObject", version)
        assert len(objects) == packed[0] - 3  # two déchets and one redundant copy left out
        uris = []
        for bdo in objects:
            uri = text(bdo, "s:Uri", version)
            uris.append(uri)
            assert uri.startswith("content/") and unquote(uri) in members
            data = zf.read(unquote(uri))
            digest = find(bdo, "s:MessageDigest", version)
            assert digest.get("algorithm") == "SHA-512" and re.fullmatch(r"[0-9a-f]{128}", digest.text)
            assert digest.text == hashlib.sha512(data).hexdigest()
            assert text(bdo, "s:DataObjectVersion", version) == "BinaryMaster_1"
            # Round trip: the member is the scanned file, byte for byte, as the catalogue saw it.
            path, name, size = catalogue[bdo.get("id")]
            assert int(text(bdo, "s:Size", version)) == size == len(data)
            assert text(bdo, "s:FileInfo/s:Filename", version) == xml_text(name)  # \x01 shown as text
            with open(os.path.join(os.fsencode(share), query(
                    db, "SELECT coalesce(path_raw, encode(path)) FROM dataset_files WHERE path = ?", [path])[0][0]),
                    "rb") as fh:
                assert hashlib.sha512(fh.read()).hexdigest() == digest.text
        assert sorted(unquote(u) for u in uris) == sorted(members)  # every member declared once

    pdf = next(b for b in objects if text(b, "s:FileInfo/s:Filename", version) == "PC-2024-001.pdf")
    assert text(pdf, "s:FormatIdentification/s:FormatId", version) == "fmt/1129" or \
        text(pdf, "s:FormatIdentification/s:FormatId", version).startswith("fmt/")
    assert text(pdf, "s:FormatIdentification/s:MimeType", version) == "application/pdf"
    assert text(pdf, "s:FileInfo/s:LastModified", version) == "2024-05-15T10:30:00.000+00:00"


def test_header_management_and_agencies(cli, sae, tmp_path):
    _, db = sae
    ds = dataset_id(db, PERMIS)
    assert sip(cli, db, tmp_path, ds).exit_code == 0
    root = manifest_of(tmp_path / f"{ds}.zip")
    assert text(root, "s:ArchivalAgreement") == "IC-000001"
    assert text(root, "s:MessageIdentifier") == ds
    assert text(root, "s:DataObjectPackage/s:ManagementMetadata/s:OriginatingAgencyIdentifier") == "99101-URBANISME"
    assert text(root, "s:DataObjectPackage/s:ManagementMetadata/s:SubmissionAgencyIdentifier") == "99101"
    assert text(root, "s:TransferringAgency/s:Identifier") == "99101"
    top = find(root, "s:DataObjectPackage/s:DescriptiveMetadata/s:ArchiveUnit")
    assert text(top, "s:Management/s:AppraisalRule/s:Rule") == "APP-URB-AUT"
    assert find(top, "s:Management/s:AppraisalRule/s:StartDate") is None  # « date de la décision »: per document
    assert text(top, "s:Management/s:AppraisalRule/s:FinalAction") == "Keep"
    # Communicable at once (Code du patrimoine art. L213-1): the typology's rule, no start to date.
    assert text(top, "s:Management/s:AccessRule/s:Rule") == "ACC-URB-AUT"
    assert find(top, "s:Management/s:AccessRule/s:StartDate") is None
    assert text(top, "s:Content/s:OriginatingAgency/s:Identifier") == "99101-URBANISME"
    assert text(top, "s:Content/s:Title") == PERMIS
    assert "typologie : Autorisations d'urbanisme accordées" in text(top, "s:Content/s:Description")

    out = tmp_path / "autres"
    result = sip(cli, db, out, ds, extra=("--service-versant", "AG-VERSANT", "--service-producteur", "AG-PROD",
                                          "--service-archives", "AD-099"))
    assert result.exit_code == 0, result.output
    root = manifest_of(out / f"{ds}.zip")
    assert text(root, "s:DataObjectPackage/s:ManagementMetadata/s:OriginatingAgencyIdentifier") == "AG-PROD"
    assert text(root, "s:DataObjectPackage/s:ManagementMetadata/s:SubmissionAgencyIdentifier") == "AG-VERSANT"
    assert text(root, "s:TransferringAgency/s:Identifier") == "AG-VERSANT"
    assert text(root, "s:ArchivalAgency/s:Identifier") == "AD-099"


def test_start_date_when_the_scan_dates_it_and_tri_noted(cli, sae, tmp_path):
    _, db = sae
    budgets, courrier = dataset_id(db, BUDGETS), dataset_id(db, COURRIER)
    assert sip(cli, db, tmp_path, budgets, courrier).exit_code == 0
    top = find(manifest_of(tmp_path / f"{budgets}.zip"), "s:DataObjectPackage/s:DescriptiveMetadata/s:ArchiveUnit")
    # « clôture de l'exercice »: the end of the year of the last modification (April 2024).
    assert text(top, "s:Management/s:AppraisalRule/s:Rule") == "APP-FIN-BUDG"
    assert text(top, "s:Management/s:AppraisalRule/s:StartDate") == "2024-12-31"
    assert text(top, "s:Content/s:StartDate") == "2023-01-15T10:30:00"
    assert text(top, "s:Content/s:EndDate") == "2024-04-15T10:30:00"

    root = manifest_of(tmp_path / f"{courrier}.zip")
    top = find(root, "s:DataObjectPackage/s:DescriptiveMetadata/s:ArchiveUnit")
    assert text(top, "s:Management/s:AppraisalRule/s:FinalAction") == "Keep"
    assert "sort final « Tri » : conserver après tri" in text(top, "s:Content/s:Description")
    assert text(root, "s:DataObjectPackage/s:ManagementMetadata/s:OriginatingAgencyIdentifier") == \
        "99101-SECRETARIAT_GENERAL"


def test_tree_mirrors_folders_with_dates(cli, sae, tmp_path):
    _, db = sae
    ds = dataset_id(db, PERMIS)
    assert sip(cli, db, tmp_path, ds).exit_code == 0
    top = find(manifest_of(tmp_path / f"{ds}.zip"), "s:DataObjectPackage/s:DescriptiveMetadata/s:ArchiveUnit")

    def units(au):
        return {text(c, "s:Content/s:Title"): c for c in findall(au, "s:ArchiveUnit")}

    level = units(top)
    assert {"PC-2024-001.pdf", "plan.png", "2024", "noms"} <= set(level)
    assert "~$brouillon.docx" not in level and "vide.txt" not in level
    assert text(level["PC-2024-001.pdf"], "s:Content/s:DescriptionLevel") == "Item"
    ref = text(level["PC-2024-001.pdf"], "s:DataObjectReference/s:DataObjectGroupReferenceId")
    assert find(top.getroottree().getroot(), f".//s:DataObjectGroup[@id='{ref}']") is not None
    folder = level["2024"]
    assert text(folder, "s:Content/s:DescriptionLevel") == "RecordGrp"
    # The redundant copy is left out, so its folder is not described; the copy of a file
    # held by another dataset is packed.
    assert set(units(folder)) == {"PC-2024-002.pdf", "budget-annexe.csv"}
    assert text(folder, "s:Content/s:StartDate") == "2024-01-15T10:30:00"
    assert text(folder, "s:Content/s:EndDate") == "2024-03-15T10:30:00"
    assert text(units(folder)["PC-2024-002.pdf"], "s:Content/s:StartDate") == "2024-01-15T10:30:00"
    # Six levels of folders under the dataset, each a unit, for a path over 255 bytes.
    au, depth = top, 0
    while "profond.txt" not in units(au):
        au = next(u for t, u in units(au).items() if t.startswith("sous-dossier-"))
        depth += 1
    assert depth == 6

    excluded = left_out_rows(tmp_path / f"{ds}-exclus.csv")
    assert excluded == {
        f"{PERMIS}/~$brouillon.docx": "déchet : Fichier propriétaire Microsoft Office (~$) (TMP-OFFICE)",
        f"{PERMIS}/vide.txt": "déchet : Fichier vide (0 octet) (VIDE-FICHIER)",
        f"{PERMIS}/2024/archives/PC-2024-002.pdf": f"copie redondante de {PERMIS}/2024/PC-2024-002.pdf",
    }


def test_hostile_names_valid_xml_plain_uri_original_filename(cli, sae, tmp_path):
    _, db = sae
    permis, etranges = dataset_id(db, PERMIS), dataset_id(db, ETRANGES)
    assert sip(cli, db, tmp_path, permis, etranges, extra=("--seda", "2.3")).exit_code == 0
    names = {}
    for ds in (permis, etranges):
        root = manifest_of(tmp_path / f"{ds}.zip", "2.3")
        for bdo in findall(root, ".//s:BinaryDataObject", "2.3"):
            uri = text(bdo, "s:Uri", "2.3")
            # Names made safe in the ZIP: the Uri needs no escaping and has one meaning.
            assert re.fullmatch(r"content/[A-Za-z0-9._/-]+", uri) and len(uri) <= 200, uri
            names[text(bdo, "s:FileInfo/s:Filename", "2.3")] = uri
    expected = [n.replace("\x01", "\\x01") for n in HOSTILE]  # XML cannot hold U+0001: shown as \x01
    assert set(expected) <= set(names)
    assert names["a <b> & c.txt"] == "content/noms/a_b_c.txt"
    assert "ligne\nnouvelle.txt" in names and "retour\rchariot.txt" in names
    assert len(names[HOSTILE[4]]) <= 200
    assert {"menu\\xff.txt", "日本語.txt", "ordinaire.txt"} <= set(names)  # invalid UTF-8 as the catalogue shows it
    titles = [t.text for t in manifest_of(tmp_path / f"{etranges}.zip", "2.3").iter(f"{{{NS['2.3']}}}Title")]
    assert "caf\\xe9" in titles


# --------------------------------------------------------------------------- split, memory


def test_split_by_size(cli, sae, tmp_path):
    _, db = sae
    ds = dataset_id(db, PLU)
    out = tmp_path / "sip"
    result = sip(cli, db, out, ds, extra=("--taille-max", "100kB"))
    assert result.exit_code == 0, result.output
    parts = [out / f"{ds}-partie-{i}-sur-3.zip" for i in (1, 2, 3)]
    assert sorted(os.listdir(out)) == sorted([p.name for p in parts] + [f"{ds}-exclus.csv"])
    seen, ids = [], set()
    for i, part in enumerate(parts, start=1):
        assert part.stat().st_size <= 100_000
        root = manifest_of(part)
        ids.add(text(root, "s:MessageIdentifier"))
        top = find(root, "s:DataObjectPackage/s:DescriptiveMetadata/s:ArchiveUnit")
        assert text(top, "s:Content/s:Title") == f"{PLU} (partie {i} sur 3)"
        with zipfile.ZipFile(part) as zf:
            for bdo in findall(root, ".//s:BinaryDataObject"):
                assert hashlib.sha512(zf.read(text(bdo, "s:Uri"))).hexdigest() == text(bdo, "s:MessageDigest")
                seen.append(text(bdo, "s:FileInfo/s:Filename"))
    assert sorted(seen) == [f"piece-{i}.bin" for i in range(6)]
    assert ids == {f"{ds}-1-sur-3", f"{ds}-2-sur-3", f"{ds}-3-sur-3"}


def test_bad_size_refused(cli, sae, tmp_path):
    _, db = sae
    result = sip(cli, db, tmp_path / "o", dataset_id(db, PLU), extra=("--taille-max", "beaucoup"))
    assert result.exit_code == 1
    assert result.output == "Erreur : taille « beaucoup » illisible (exemples : 10GB, 500MB, 2Go).\n"


def _package(files: list[PackFile], version: str = "2.2", signing=None, access=()) -> Package:
    header = Header(version, "M-1", dt.datetime(2026, 1, 2, 3, 4, 5), "essai", "IC-1", "SAE", "99101", "99101-X",
                    "99101")
    management = Management(RuleRef("APP-URB-AUT", dt.date(2024, 12, 31)), "Destroy", access)
    return Package(header, "Essai", "Description", management, files, signing)


def test_memory_flat_while_packing_a_big_file(tmp_path):
    """A 64 MiB file goes through a 1 MiB buffer: Python's allocations stay far below it."""
    big = tmp_path / "gros.bin"
    with open(big, "wb") as fh:
        fh.truncate(64 << 20)
    st = big.stat()
    f = PackFile(1, b"gros.bin", (), "gros.bin", st.st_size, st.st_mtime_ns // 1000, None, None, None, None)
    tracemalloc.start()
    try:
        write_zip(tmp_path / "p.zip", os.fsencode(tmp_path), [f], _package([f]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak
    assert f.digest == hashlib.sha512(bytes(64 << 20)).hexdigest()
    manifest_of(tmp_path / "p.zip")
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        assert zf.getinfo("content/gros.bin").file_size == 64 << 20


def test_access_rules_and_signing_written_when_given(tmp_path):
    """The inputs later issues fill (communicability, signatures) already produce valid SEDA."""
    need_shared()
    files = []
    for i, name in enumerate(["acte.pdf", "acte.pdf.p7s"], start=1):
        (tmp_path / name).write_bytes(f"contenu {i}".encode())
        st = (tmp_path / name).stat()
        files.append(PackFile(i, name.encode(), (), name, st.st_size, st.st_mtime_ns // 1000, None, None, None, None))
    signing = {1: Signing(("SignedDocument",)), 2: Signing(("Signature",), signed_file_id=1)}
    access = (RuleRef("ACC-00002", dt.date(2024, 12, 31)),)
    for version in ("2.2", "2.3"):
        write_zip(tmp_path / f"{version}.zip", os.fsencode(tmp_path), files, _package(files, version, signing, access))
        root = manifest_of(tmp_path / f"{version}.zip", version)
        top = find(root, "s:DataObjectPackage/s:DescriptiveMetadata/s:ArchiveUnit", version)
        assert text(top, "s:Management/s:AccessRule/s:Rule", version) == "ACC-00002"
        assert text(top, "s:Management/s:AccessRule/s:StartDate", version) == "2024-12-31"
        assert text(top, "s:Management/s:AppraisalRule/s:FinalAction", version) == "Destroy"
        info = findall(root, ".//s:SigningInformation", version)
        if version == "2.2":
            assert info == []  # SEDA 2.2 has no SigningInformation
        else:
            assert [text(i, "s:SigningRole", version) for i in info] == ["SignedDocument", "Signature"]
            assert text(info[1], "s:SignedDocumentReferenceId", version) == "AU1"


def test_manifest_written_as_a_stream(tmp_path):
    """write_manifest needs only a binary stream (a ZIP member in practice)."""
    need_shared()
    out = io.BytesIO()
    f = PackFile(7, b"x", ("a", "b"), "x", 3, 0, "fmt/1", "Format", "text/plain", None)
    f.digest, f.member = "0" * 128, "content/a/b/x"
    write_manifest(out, _package([f]))
    root = assert_valid(out.getvalue(), "2.2")
    assert [local(e.tag) for e in root] == ["Comment", "Date", "MessageIdentifier", "ArchivalAgreement",
                                            "CodeListVersions", "DataObjectPackage", "ArchivalAgency",
                                            "TransferringAgency"]


# --------------------------------------------------------------------------- refusals


def test_unknown_dataset_refused_nothing_written(cli, sae, tmp_path):
    _, db = sae
    out = tmp_path / "sip"
    result = sip(cli, db, out, dataset_id(db, PERMIS), "FS-000000000000")
    assert result.exit_code == 1
    assert result.output == ("Erreur : jeu de données inconnu : FS-000000000000 (les identifiants sont dans la grille "
                             "ou « catalogue sql \"SELECT dataset_id, commune, path FROM datasets\" »).\n")
    assert not out.exists()


def test_no_rule_or_no_service_refused(cli, sae, tmp_path):
    _, db = sae
    out = tmp_path / "sip"
    paie, divers, permis = dataset_id(db, PAIE), dataset_id(db, DIVERS), dataset_id(db, PERMIS)
    result = sip(cli, db, out, paie)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : {paie} : jeu non qualifié (importez sa grille remplie) ; aucun service "
                             "producteur (colonne « Service producteur » de la grille, ou --service-producteur) ; "
                             "rien n'a été écrit.\n")
    result = sip(cli, db, out, permis, divers)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : {divers} : aucune règle de conservation (typologie « Autre » hors "
                             "référentiel ; choisissez une typologie du référentiel dans la grille) ; "
                             "rien n'a été écrit.\n")
    assert not out.exists()  # the first dataset, valid, was not written either

    import duckdb

    con = duckdb.connect(str(db))
    con.execute("UPDATE qualifications SET service = NULL WHERE dataset_id = ?", [permis])
    con.close()
    result = sip(cli, db, out, permis)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : {permis} : aucun service producteur (colonne « Service producteur » de la "
                             "grille, ou --service-producteur) ; rien n'a été écrit.\n")
    assert sip(cli, db, out, permis, extra=("--service-producteur", "AG-URBA")).exit_code == 0


def test_existing_output_needs_remplacer(cli, sae, tmp_path):
    _, db = sae
    ds = dataset_id(db, BUDGETS)
    out = tmp_path / "sip"
    assert sip(cli, db, out, ds).exit_code == 0
    before = (out / f"{ds}.zip").read_bytes()
    result = sip(cli, db, out, ds)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : {out / (ds + '.zip')} existe déjà : ajoutez --remplacer pour le "
                             "remplacer ; rien n'a été écrit.\n")
    assert (out / f"{ds}.zip").read_bytes() == before
    assert sip(cli, db, out, ds, extra=("--remplacer",)).exit_code == 0
    assert sorted(os.listdir(out)) == [f"{ds}-exclus.csv", f"{ds}.zip"]  # no temporary file left
    # A split package replaces the single one it supersedes.
    assert sip(cli, db, out, ds, extra=("--remplacer", "--taille-max", "10kB")).exit_code == 0
    assert sorted(os.listdir(out)) == [f"{ds}-exclus.csv", f"{ds}-partie-1-sur-2.zip", f"{ds}-partie-2-sur-2.zip"]


def test_changed_or_gone_files_refused_then_skipped_on_request(cli, sae, tmp_path):
    share, db = sae
    ds = dataset_id(db, PERMIS)
    copy = share_copy(share, tmp_path)
    permis = copy / PERMIS
    with open(permis / "plan.png", "ab") as fh:
        fh.write(b"ajout")
    (permis / "2024" / "PC-2024-002.pdf").unlink()
    os.utime(permis / "PC-2024-001.pdf", ns=(0, 10**18))  # same size, other time
    out = tmp_path / "sip"
    result = sip(cli, db, out, ds, extra=("--racine", copy))
    assert result.exit_code == 1
    size = query(db, "SELECT size FROM dataset_files WHERE name = 'plan.png'")[0][0]
    assert result.output.splitlines() == [
        f"Erreur : {ds} : 3 fichiers modifiés, disparus ou illisibles depuis le scan ; rien n'a été écrit "
        "(relancez un scan, ou --ignorer-modifies pour verser les autres) :",
        f"  {PERMIS}/2024/PC-2024-002.pdf : disparu depuis le scan",
        f"  {PERMIS}/PC-2024-001.pdf : modifié depuis le scan (date de modification différente)",
        f"  {PERMIS}/plan.png : modifié depuis le scan (taille {size:,} → {size + 5:,} octets)".replace(",", "\u202f"),
    ]
    assert not out.exists()

    result = sip(cli, db, out, ds, extra=("--racine", copy, "--ignorer-modifies"))
    assert result.exit_code == 0, result.output
    assert "  Modifiés ou disparus depuis le scan, non versés : 3 fichiers." in result.output
    filenames = {t.text for t in manifest_of(out / f"{ds}.zip").iter(f"{{{NS['2.2']}}}Filename")}
    assert not {"plan.png", "PC-2024-002.pdf", "PC-2024-001.pdf"} & filenames
    excluded = left_out_rows(out / f"{ds}-exclus.csv")
    assert excluded[f"{PERMIS}/2024/PC-2024-002.pdf"] == "disparu depuis le scan"
    assert excluded[f"{PERMIS}/plan.png"].startswith("modifié depuis le scan (taille")
    assert excluded[f"{PERMIS}/vide.txt"] == "déchet : Fichier vide (0 octet) (VIDE-FICHIER)"


def test_disk_full_removes_the_partial_package(cli, sae, tmp_path):
    _, db = sae
    mnt = tmp_path / "petit-disque"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("impossible de monter un tmpfs ici (il faut être root) : test du disque plein non joué")
    try:
        ds = dataset_id(db, PLU)  # 240 kB of content
        result = sip(cli, db, mnt, ds)
        assert result.exit_code == 1
        lines = result.output.splitlines()
        assert len(lines) == 1 and "Traceback" not in result.output
        assert lines[0].startswith(f"Erreur : disque plein dans {mnt} (")
        assert re.search(rf" libres\) : le SIP partiel de {ds} a été supprimé ; libérez au moins 25\d,\d Ko puis "
                         "relancez la même commande avec --remplacer\\.$", lines[0]), lines[0]
        assert os.listdir(mnt) == []
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_scanned_files_never_modified(cli, sae, tmp_path):
    share, db = sae

    def snapshot():
        out = {}
        for dirpath, _, names in os.walk(os.fsencode(share)):
            for name in names:
                st = os.lstat(os.path.join(dirpath, name))
                out[os.path.join(dirpath, name)] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_atime_ns,
                                                    st.st_mode)
        return out

    before = snapshot()
    result = sip(cli, db, tmp_path, dataset_id(db, PERMIS), dataset_id(db, ETRANGES))
    assert result.exit_code == 0, result.output
    assert snapshot() == before  # atime included: files are opened with O_NOATIME


def test_progress_on_stderr_unless_quiet(runner, sae, tmp_path):
    from catalogue.cli import main

    _, db = sae
    ds = dataset_id(db, BUDGETS)
    result = runner.invoke(main, ["sip", ds, "--contrat", "IC-1", "-o", str(tmp_path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert f"SIP {ds}" in result.stderr and "2/2" in result.stderr
    assert f"SIP {ds}" not in result.stdout


def test_unwritable_output_one_french_line(cli, sae, tmp_path):
    _, db = sae
    (tmp_path / "fichier").write_text("pas un dossier")
    out = tmp_path / "fichier" / "sip"
    ds = dataset_id(db, BUDGETS)
    result = sip(cli, db, out, ds)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : écriture impossible dans {out} (un élément du chemin n'est pas un dossier) ; "
                             f"rien n'a été écrit pour {ds}.\n")


def test_member_names_stay_unique():
    from catalogue.sae.layout import member_name

    used: set[str] = set()
    files = [PackFile(i, b"", ("Été",), name, 1, 0, None, None, None, None)
             for i, name in enumerate(["café.txt", "cafe.txt", "CAFE.TXT", "2_cafe.txt", "?.txt"], start=1)]
    members = [member_name(f, used) for f in files]
    assert members == ["content/Ete/cafe.txt", "content/Ete/2_cafe.txt", "content/Ete/3_CAFE.TXT",
                       "content/Ete/4_2_cafe.txt", "content/Ete/_.txt"]
    assert len({m.lower() for m in members}) == len(members)
    clash = PackFile(2, b"", ("Été",), "cafe.txt", 1, 0, None, None, None, None)  # same id, same name again
    assert member_name(clash, used) == "content/2_cafe.txt"
    assert member_name(clash, used) == "content/2-1_cafe.txt"


@pytest.mark.skipif(not can_drop_privileges(),
                    reason="impossible de retirer les droits de contournement (root sans setpriv)")
def test_unreadable_file_refused_before_writing(sae, tmp_path):
    share, db = sae
    ds = dataset_id(db, BUDGETS)
    copy = share_copy(share, tmp_path)
    os.chmod(copy / BUDGETS / "CA-2023.pdf", 0)
    out = tmp_path / "sip"
    run = subprocess.run(unprivileged(catalogue_cmd() + ["sip", ds, "--contrat", "IC-1", "-o", str(out), "--db",
                                                         str(db), "--quiet", "--racine", str(copy)]),
                         capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert run.stderr.splitlines()[1:] == [f"  {BUDGETS}/CA-2023.pdf : illisible (accès refusé)"]
    assert not out.exists()
