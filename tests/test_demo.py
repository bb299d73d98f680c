"""The demo territory is deterministic, realistic, and `catalogue demo` runs end to end."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.conftest import query


def _fingerprint(root):
    from data.sample.generate import PARAPHEUR

    items = []
    for dirpath, _dirnames, names in os.walk(root):
        for name in sorted(names):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if rel.startswith(PARAPHEUR + os.sep):
                # Signed with keys made at each run (and PAdES embeds the signing time):
                # names and dates are fixed, bytes are not.
                items.append((rel, None, int(os.stat(p).st_mtime)))
                continue
            with open(p, "rb") as fh:
                items.append((rel, hashlib.sha256(fh.read()).hexdigest(), int(os.stat(p).st_mtime)))
    return sorted(items)


def test_generator_is_deterministic(demo_territory, tmp_path):
    from data.sample.generate import generate_commune

    again = generate_commune(tmp_path, "99003", "Vallon-les-Bains", 0.5, 2026)
    assert _fingerprint(again) == _fingerprint(demo_territory / "partages" / "99003")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`catalogue demo` run once: the whole pipeline, reports included."""
    from click.testing import CliRunner

    from catalogue.cli import main
    from tests.saedata import SHARED

    out = tmp_path_factory.mktemp("demo-run") / "demo"
    xsd = ["--schemas-seda", str(SHARED / "seda")] if (SHARED / "seda").is_dir() else []
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--quiet", *xsd], catch_exceptions=False)
    return out, result


def test_demo_builds_and_validates_the_first_years_sips(demo_run):
    """`make demo` ends with the SEDA packages one commune transfers this year, each one
    checked against the plain XSD, and the roadmap annex gives the command for each."""
    import csv
    import zipfile

    from catalogue.sae.validate import sip_errors
    from tests.saedata import need_shared

    out, result = demo_run
    assert result.exit_code == 0, result.output
    sips = sorted((out / "sip" / "99001").glob("*.zip"))
    assert len(sips) >= 3
    shared = need_shared()
    assert "valides selon le schéma SEDA 2.2" in result.output
    for sip in sips:
        assert sip_errors(sip, shared / "seda", "2.2") == []
        assert "manifest.xml" in zipfile.ZipFile(sip).namelist()
    with open(out / "rapports" / "99001" / "feuille-de-route-99001.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    commands = {r["identifiant"]: r["commande_sip"] for r in rows if r["commande_sip"]}
    assert {sip.stem for sip in sips} <= set(commands)
    assert all(c == f"catalogue sip {i} --contrat CONTRAT -o sip/99001" for i, c in commands.items())
    assert not any(r["identifiant"].startswith("AJ-") and r["commande_sip"] for r in rows)


def test_demo_command(demo_run):
    out, result = demo_run
    assert result.exit_code == 0, result.output
    db = out / "catalogue.duckdb"
    assert f"Catalogue de démonstration : {out}/catalogue.duckdb" in result.output
    assert query(db, "SELECT count(*) FROM communes") == [(3,)]
    files = query(db, "SELECT count(*) FROM files WHERE kind = 'file'")[0][0]
    assert 1500 < files < 5000
    puids = {r[0] for r in query(db, "SELECT puid FROM formats")}
    assert {"fmt/17", "fmt/412", "fmt/214", "fmt/291", "fmt/295", "fmt/11", "fmt/43", "fmt/353",
            "x-fmt/263", "fmt/950", "x-fmt/18", "x-fmt/111"} <= puids
    categories = {r[0] for r in query(db, "SELECT DISTINCT categorie FROM dechets")}
    assert {"Fichiers temporaires", "Fichiers système", "Fichiers vides", "Dossiers vides",
            "Copies de sauvegarde", "Doublons"} <= categories
    assert query(db, "SELECT count(*) > 100 FROM duplicates") == [(True,)]
    # Each commune's parapheur holds really signed files of each kind, found by the scan.
    from data.sample.generate import PARAPHEUR
    from data.sample.parapheur import PARAPHEUR_KINDS

    kinds = {k for k in PARAPHEUR_KINDS.values() if k}
    for code in ("99001", "99002", "99003"):
        found = {r[0] for r in query(db, "SELECT DISTINCT kind FROM signatures WHERE commune = ? AND path LIKE ?",
                                     [code, PARAPHEUR + "/%"])}
        assert found == kinds, code
        assert query(db, "SELECT signed_share, first_cert_expiry IS NOT NULL FROM datasets "
                         "WHERE commune = ? AND path = ?", [code, PARAPHEUR]) == [(1.0, True)], code
    assert query(db, "SELECT count(*) FROM signatures WHERE detached AND document_path IS NULL") == [(0,)]
    # Datasets are Service/Activité folders, the deep branch included.
    assert query(db, "SELECT max(depth) > 14 FROM files") == [(True,)]
    assert ("Urbanisme/Permis de construire",) in query(db, "SELECT path FROM datasets WHERE commune = '99001'")
    assert query(db, "SELECT min(year(mtime)) FROM files WHERE kind = 'file'")[0][0] <= 2000
    # Each commune's finance database and mailbox were scanned: two application datasets each.
    apps = query(db, "SELECT commune, source, path FROM datasets WHERE source <> 'filesystem' ORDER BY ALL")
    assert apps == [(c, s, p) for c in ("99001", "99002", "99003")
                    for s, p in (("database", "Gestion financière"), ("mail", "Messagerie de la mairie"))]
    assert query(db, "SELECT count(*), sum(row_count) > 500 FROM db_tables WHERE commune = '99001'") == [(4, True)]
    # Each commune's grid was exported, filled by the scripted référent, and imported.
    for code in ("99001", "99002", "99003"):
        assert f"Grille exportée : {out}/grilles/grille-{code}.xlsx" in result.output
    per_commune = dict(query(db, "SELECT commune, count(*) FROM qualifications_current GROUP BY commune"))
    datasets = dict(query(db, "SELECT commune, count(*) FROM datasets GROUP BY commune"))
    for code, n in datasets.items():
        assert 0.5 * n < per_commune[code] < n + 1  # most qualified, some left for later
    assert query(db, "SELECT count(*) FROM qualifications_current WHERE ajout") == [(3,)]
    assert query(db, "SELECT count(*) FROM grid_imports") == [(3,)]
    # And every report was written: per commune and for the territory.
    for code in ("99001", "99002", "99003"):
        for name in (f"rapport-{code}.html", f"rapport-{code}.pdf", f"feuille-de-route-{code}.csv",
                     f"bordereau-elimination-{code}.xlsx"):
            assert (out / "rapports" / code / name).stat().st_size > 0
            assert str(out / "rapports" / code / name) in result.output
    assert (out / "rapports" / "synthese-territoriale.pdf").stat().st_size > 0


def test_notebook_runs_on_the_demo_catalogue(demo_run, monkeypatch):
    """The analysts' notebook executes end to end (nbclient) and shows the demo communes."""
    import nbformat
    from nbclient import NotebookClient

    from tests.conftest import REPO

    out, _ = demo_run
    monkeypatch.setenv("CATALOGUE_DB", str(out / "catalogue.duckdb"))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    nb = nbformat.read(REPO / "notebooks" / "explorer-le-catalogue.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "Saint-Aubin-des-Prés" in text and "99003" in text
    assert "Verser au SAE" in text  # the roadmap table
