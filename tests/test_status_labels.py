"""`catalogue status` names every scan status in French."""

from __future__ import annotations

import re

import duckdb

from catalogue.query import STATUS_LABELS
from tests.conftest import REPO

ENGLISH = ("running", "complete", "interrupted", "failed", "abandoned")


def test_every_status_is_shown_in_french(tmp_path, cli):
    db = tmp_path / "c.duckdb"
    for i, _ in enumerate(ENGLISH):
        root = tmp_path / f"racine{i}"
        root.mkdir()
        (root / "a.txt").write_text("a")
        assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet").exit_code == 0
    # Each scan then takes one of the statuses the scanners write (an abandoned scan is an
    # unfinished one a later `--recommencer` did not resume).
    con = duckdb.connect(str(db))
    for scan_id, status in enumerate(ENGLISH, start=1):
        con.execute("UPDATE scans SET status = ? WHERE scan_id = ?", [status, scan_id])
    con.close()
    result = cli("status", "--db", db)
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.startswith("  n° ")]
    assert [line.split(" — ")[1].split(",")[0] for line in lines] == [
        "en cours ou arrêté brutalement", "terminé", "interrompu", "échoué", "abandonné (non repris)"]
    for word in ENGLISH:
        assert not re.search(rf"\b{word}\b", result.output), word


def test_every_documented_status_has_a_label():
    doc = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
    line = next(line for line in doc.splitlines() if line.startswith("| `status` |"))
    documented = set(re.findall(r"`([a-z]+)`", line.split("|")[2]))
    assert documented == set(ENGLISH)
    assert documented <= set(STATUS_LABELS)
