"""`catalogue referentiel export-vitam [--services FILE]`: the rules and agencies CSV
with exactly the headers (and format: UTF-8, LF, `,`) of Vitam's samples, and every rule
and agency a SIP cites present in them."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import duckdb

from catalogue.referentiel import load_referentiel, service_agency_id
from tests.saedata import COURRIER, PERMIS, SHARED, assert_valid, dataset_id, need_shared, sae, sae_template

__all__ = ["sae", "sae_template"]  # fixtures used here


def sample_header(name: str) -> list[str]:
    need_shared()
    with open(SHARED / "vitam" / "referentiels" / name, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def read(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw  # as the samples: no BOM, LF
    return list(csv.reader(io.StringIO(raw.decode("utf-8"))))


def export(cli, tmp_path: Path, db: Path | None = None) -> tuple[Path, Path]:
    rules, agencies = tmp_path / "regles.csv", tmp_path / "services.csv"
    args = ["referentiel", "export-vitam", "-o", rules, "--services", agencies] + (["--db", db] if db else [])
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return rules, agencies


def test_rules_csv_has_the_sample_header_and_every_rule(cli, sae, tmp_path):
    _, db = sae
    rules, _ = export(cli, tmp_path, db)
    rows = read(rules)
    assert rows[0] == sample_header("regles-gestion.csv")
    referentiel = load_referentiel()
    assert len(rows) - 1 == 2 * len(referentiel)
    # The types Vitam's sample uses: per typology, its DUA and its communicability.
    sample_types = {"AppraisalRule", "AccessRule", "StorageRule", "DisseminationRule", "ReuseRule",
                    "ClassificationRule"}
    assert {r[1] for r in rows[1:]} <= sample_types
    assert {r[0] for r in rows[1:]} == {f"{kind}-{t.code}" for t in referentiel for kind in ("APP", "ACC")}


def test_agencies_csv_names_communes_and_services_of_the_grids(cli, sae, tmp_path):
    _, db = sae
    _, agencies = export(cli, tmp_path, db)
    rows = read(agencies)
    assert rows[0] == sample_header("services-agents.csv") == ["Identifier", "Name", "Description"]
    by_id = {r[0]: r for r in rows[1:]}
    assert len(by_id) == len(rows) - 1
    assert by_id["99101"] == ["99101", "Saint-Essai", "Collectivité Saint-Essai (code 99101)"]
    assert by_id["99101-URBANISME"] == ["99101-URBANISME", "Urbanisme", "Service Urbanisme — Saint-Essai (code 99101)"]
    assert by_id["99101-SECRETARIAT_GENERAL"][1] == "Secrétariat général"
    assert set(by_id) == {"99101", "99101-URBANISME", "99101-FINANCES", "99101-SECRETARIAT_GENERAL",
                          "99101-ACCUEIL"}
    assert [r[0] for r in rows[1:]] == sorted(by_id)


def test_every_agency_and_rule_a_sip_cites_is_exported(cli, sae, tmp_path):
    _, db = sae
    rules, agencies = export(cli, tmp_path, db)
    rule_ids = {r[0] for r in read(rules)[1:]}
    agency_ids = {r[0] for r in read(agencies)[1:]}
    ids = [dataset_id(db, PERMIS), dataset_id(db, COURRIER)]
    assert cli("sip", *ids, "--contrat", "IC-1", "-o", tmp_path / "sip", "--db", db, "--quiet").exit_code == 0
    for ds in ids:
        with zipfile.ZipFile(tmp_path / "sip" / f"{ds}.zip") as zf:
            root = assert_valid(zf.read("manifest.xml"), "2.2")
        cited = {e.text for e in root.iter() if e.tag.endswith(("AgencyIdentifier", "}Identifier"))
                 and "ArchivalAgency" not in e.getparent().tag}
        assert cited and cited <= agency_ids
        assert {e.text for e in root.iter() if e.tag.endswith("}Rule")} <= rule_ids


def test_spellings_of_one_service_are_one_agency(cli, sae, tmp_path):
    _, db = sae
    permis = dataset_id(db, PERMIS)
    con = duckdb.connect(str(db))
    con.execute("UPDATE qualifications SET service = '  urbanisme ' WHERE dataset_id = ?", [permis])
    con.execute("UPDATE qualifications SET service = 'Secrétariat\ngénéral' WHERE service = 'Secrétariat général'")
    con.close()
    _, agencies = export(cli, tmp_path, db)
    rows = [r for r in read(agencies)[1:] if r[0] == "99101-URBANISME"]
    assert len(rows) == 1 and rows[0][1] == "Urbanisme"  # the spelling used most (2 datasets against 1)
    assert service_agency_id("99101", "  urbanisme ") == service_agency_id("99101", "Urbanisme")
    # A name typed over two lines is one line in the referential.
    assert [r[1] for r in read(agencies)[1:] if r[0] == "99101-SECRETARIAT_GENERAL"] == ["Secrétariat général"]


def test_services_without_catalogue_refused_nothing_written(cli, tmp_path):
    rules = tmp_path / "regles.csv"
    missing = tmp_path / "absent.duckdb"
    result = cli("referentiel", "export-vitam", "-o", rules, "--services", tmp_path / "s.csv", "--db", missing)
    assert result.exit_code == 1
    assert result.output == f"Erreur : Catalogue introuvable : {missing} (lancez d'abord « catalogue scan »).\n"
    assert not rules.exists() and not (tmp_path / "s.csv").exists()


def test_access_rules_per_typology_with_their_delay_and_source(cli, tmp_path):
    """Communicability (Code du patrimoine art. L213-1 and L213-2) as one AccessRule per
    typology, linked by its id to the typology's code."""
    rules = tmp_path / "regles.csv"
    assert cli("referentiel", "export-vitam", "-o", rules).exit_code == 0
    rows = {r[0]: r for r in read(rules)[1:]}
    referentiel = load_referentiel()
    assert {i for i in rows if i.startswith("ACC-")} == {f"ACC-{t.code}" for t in referentiel}
    for t in referentiel:
        _, rule_type, value, description, duration, measurement = rows[f"ACC-{t.code}"]
        assert rule_type == "AccessRule" and measurement == "YEAR" and int(duration) == t.communicabilite_annees
        assert value == f"Communicabilité — {t.typologie}" and t.source_communicabilite in description
    assert rows["ACC-EC-REG"][3].startswith("Communicabilité : 75 ans à compter de : clôture du registre. ")
    assert rows["ACC-RH-DOSS"][4] == "50" and "L213-2, I, 3°" in rows["ACC-RH-DOSS"][3]
    assert rows["ACC-ADM-DELIB"][3].startswith("Communicabilité : immédiate. Source : Code du patrimoine art. L213-1")


def test_sip_access_rule_starts_at_the_newest_document(cli, sae, tmp_path):
    """Courrier: 50 years from the newest document (July 2023), a date the scan holds;
    the AccessRule cited is in the exported rules."""
    _, db = sae
    courrier = dataset_id(db, COURRIER)
    assert cli("sip", courrier, "--contrat", "IC-1", "-o", tmp_path / "sip", "--db", db, "--quiet").exit_code == 0
    with zipfile.ZipFile(tmp_path / "sip" / f"{courrier}.zip") as zf:
        root = assert_valid(zf.read("manifest.xml"), "2.2")
    ns = {"s": root.nsmap[None]}
    access = root.find("s:DataObjectPackage/s:DescriptiveMetadata/s:ArchiveUnit/s:Management/s:AccessRule", ns)
    assert access.findtext("s:Rule", namespaces=ns) == "ACC-ADM-COUR"
    assert access.findtext("s:StartDate", namespaces=ns) == "2023-07-15"
    rules, _ = export(cli, tmp_path, db)
    assert "ACC-ADM-COUR" in {r[0] for r in read(rules)[1:]}
