"""A full disk under the catalogue during import-droid, scan-db and scan-mail: one French
line, exit 1, and the catalogue exactly as it was before the command (each command is
one transaction). The disk is a real small tmpfs; the commands run as real processes."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, catalogue_cmd, query
from tests.test_import_droid import DROID_HEADER, write_droid
from tests.test_scan_db import make_sqlite
from tests.test_scan_mail import _utc, make_mailboxes, message

FULL = "Erreur : Disque plein : le catalogue "


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MiB tmpfs, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("Test du disque plein ignoré : monter un tmpfs demande les droits root.")
    disk = tmp_path / "disque"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"Test du disque plein ignoré : tmpfs impossible à monter ({mounted.stderr.strip()}).")
    yield disk
    subprocess.run(["umount", str(disk)], capture_output=True)


def _run(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(catalogue_cmd() + [str(a) for a in args], capture_output=True, text=True, env=env,
                          timeout=600)


def _fill(disk: Path, leave: int) -> Path:
    """Take the disk's free space but `leave` bytes (0: every last block)."""
    filler = disk / "remplissage"
    chunk = b"\0" * 65536
    with open(filler, "wb") as fh:
        try:
            while True:
                stat = os.statvfs(disk)
                free = stat.f_bavail * stat.f_frsize
                if free <= leave:
                    break
                fh.write(chunk[:min(len(chunk), free - leave)])
                fh.flush()
        except OSError:
            pass
    return filler


def _state(db: Path) -> list:
    return [query(db, "SELECT scan_id, source, status, files FROM scans ORDER BY scan_id"),
            query(db, "SELECT count(*) FROM files"), query(db, "SELECT count(*) FROM db_tables"),
            query(db, "SELECT count(*) FROM mail_folders")]


def _assert_disk_full(proc: subprocess.CompletedProcess, db: Path) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.startswith(f"{FULL}{db} n'a pas pu être écrit (il reste ")
    assert proc.stderr.endswith(" puis relancez la même commande ; rien n'en a été enregistré.\n")
    assert len(proc.stderr.splitlines()) == 1


def _big_droid_csv(path: Path, rows: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(DROID_HEADER)
        for i in range(rows):
            w.writerow([str(i + 10), "1", "", f"C:\\Partage\\Dossier {i % 700}\\pièce-{i:07d}-{os.urandom(6).hex()}.pdf",
                        f"pièce-{i}.pdf", "Signature", "Done", str(1000 + i), "File", "pdf", "2019-05-06T07:08:09",
                        "false", os.urandom(16).hex(), "1", "fmt/276", "application/pdf",
                        "Acrobat PDF 1.7 - Portable Document Format", "1.7"])
    return path


def test_import_droid_on_a_full_disk(small_disk, tmp_path):
    db = small_disk / "c.duckdb"
    first = _run("import-droid", write_droid(tmp_path / "petit.csv"), "--commune", "99310", "--db", db)
    assert first.returncode == 0, first.stderr
    before = _state(db)
    big = _big_droid_csv(tmp_path / "gros.csv", 150_000)
    filler = _fill(small_disk, leave=2 * 1024 * 1024)
    proc = _run("import-droid", big, "--commune", "99311", "--db", db)
    _assert_disk_full(proc, db)
    filler.unlink()
    assert _state(db) == before  # nothing of the failed import, nothing lost
    again = _run("import-droid", big, "--commune", "99311", "--db", db)  # space freed: the same command works
    assert again.returncode == 0, again.stderr
    assert query(db, "SELECT source, status, files FROM scans WHERE commune = '99311'") == [
        ("droid", "complete", 150_000)]


def test_scan_db_and_scan_mail_with_no_space_left(small_disk, tmp_path):
    db = small_disk / "c.duckdb"
    first = _run("import-droid", write_droid(tmp_path / "petit.csv"), "--commune", "99312", "--db", db)
    assert first.returncode == 0, first.stderr
    before = _state(db)
    app = make_sqlite(tmp_path / "etat-civil.db")
    mails = make_mailboxes(tmp_path / "mails")
    filler = _fill(small_disk, leave=0)
    _assert_disk_full(_run("scan-db", f"sqlite:///{app}", "--commune", "99312", "--application", "État civil",
                           "--db", db), db)
    _assert_disk_full(_run("scan-mail", mails / "eml", "--commune", "99312", "--application", "Courriel",
                           "--db", db), db)
    filler.unlink()
    assert _state(db) == before


def test_mail_attachments_on_a_full_temporary_disk(small_disk, tmp_path):
    """Attachments are identified through a temporary copy: a full TMPDIR is one French line.
    (Some room is left: Python's tempfile silently skips a TMPDIR where it cannot write.)"""
    mails = tmp_path / "mails"
    mails.mkdir()
    (mails / "1.eml").write_bytes(bytes(message(_utc(2020, 2, 2, 2, 2), "Plan",
                                                [("plan.bin", os.urandom(1024 * 1024), "application/octet-stream")])))
    tmp = small_disk / "tmp"
    tmp.mkdir()
    filler = _fill(small_disk, leave=64 * 1024)
    env = dict(os.environ, PYTHONPATH=str(REPO), TMPDIR=str(tmp))
    proc = subprocess.run(catalogue_cmd() + ["scan-mail", str(mails), "--commune", "99313", "--application",
                                             "Courriel", "--db", str(tmp_path / "c.duckdb")],
                          capture_output=True, text=True, env=env, timeout=600)
    filler.unlink()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert proc.stderr.startswith(f"Erreur : Disque plein dans le dossier temporaire {tmp}/catalogage-pj-")
    assert len(proc.stderr.splitlines()) == 1
    assert not (tmp_path / "c.duckdb").exists()
    assert list(tmp.iterdir()) == []  # the temporary folder went with the failed scan
