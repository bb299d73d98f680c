"""Every bad input of a real share, on a real temporary tree, through the real CLI."""

from __future__ import annotations

import os
import socket
import stat
import subprocess

import pytest

from tests.conftest import can_drop_privileges, catalogue_cmd, query, unprivileged


def _rows(db, scan_id=None):
    return {r[0]: r[1:] for r in query(db, "SELECT path, kind, error, path_raw, link_target, size FROM files")}


def test_special_entries_are_recorded_and_never_opened(tmp_path, cli):
    root = tmp_path / "partage"
    root.mkdir()
    (root / "doc.txt").write_text("bonjour")
    os.symlink("introuvable.pdf", root / "lien-casse")
    os.symlink("boucle-b", root / "boucle-a")
    os.symlink("boucle-a", root / "boucle-b")
    os.symlink(".", root / "vers-soi")
    os.mkfifo(root / "tube")  # opening it for reading would block the scan forever
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "prise"))
    try:
        os.mknod(root / "peripherique", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        has_device = True
    except PermissionError:
        has_device = False
    db = tmp_path / "c.duckdb"
    result = cli("scan", root, "--commune", "99001", "--db", db, "--quiet")
    sock.close()
    assert result.exit_code == 0, result.output
    rows = _rows(db)
    assert rows["lien-casse"][0] == "symlink" and rows["lien-casse"][3] == "introuvable.pdf"
    assert rows["boucle-a"][0] == "symlink" and rows["boucle-b"][0] == "symlink"
    assert rows["vers-soi"][0] == "symlink"
    assert rows["tube"][0] == "other"
    assert rows["prise"][0] == "other"
    if has_device:
        assert rows["peripherique"][0] == "other"
    # Nothing was followed: the self-link did not make the tree infinite.
    assert len(rows) == 7 + has_device
    assert query(db, "SELECT status FROM scans") == [("complete",)]


def test_odd_names_round_trip_byte_for_byte(tmp_path, cli):
    root = tmp_path / "partage"
    root.mkdir()
    names = [b"ligne\nsuivante.txt", b"guillemets \"et\" 'apostrophes'.txt", b"<img src=x onerror=alert(1)>.txt", b"<script>alert(1)<script>.txt",
             b"=HYPERLINK(\"x\").csv", b"+cmd|' -C calc'!A0.csv", b"caf\xe9 latin-1.txt", b"\xff\xfe.bin",
             "Été – réunion.docx".encode()]
    for name in names:
        (root / os.fsdecode(name)).write_bytes(b"contenu " + name)
    db = tmp_path / "c.duckdb"
    assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet").exit_code == 0
    stored = query(db, "SELECT path, path_raw FROM files WHERE kind = 'file'")
    restored = {bytes(raw) if raw is not None else path.encode("utf-8") for path, raw in stored}
    assert restored == set(names)
    # Text columns stay valid UTF-8, invalid bytes shown as \xNN escapes.
    assert ("caf\\xe9 latin-1.txt",) in query(db, "SELECT path FROM files")
    # Every odd-named file was hashed/identified without error.
    assert query(db, "SELECT count(*) FROM files WHERE error IS NOT NULL") == [(0,)]
    assert query(db, "SELECT count(*) FROM files WHERE puid IS NULL AND kind = 'file'") == [(0,)]


def _remove_deep_tree(top) -> None:
    """rmtree recurses once per level and would hit Python's recursion limit here."""
    while True:
        fd = os.open(top, os.O_RDONLY)
        names, parents = os.listdir(fd), []
        if not names:
            os.close(fd)
            os.rmdir(top)
            return
        # Walk down to the deepest directory, removing its files, then drop it.
        while True:
            subdirs = [n for n in os.listdir(fd) if stat.S_ISDIR(os.stat(n, dir_fd=fd, follow_symlinks=False).st_mode)]
            for n in os.listdir(fd):
                if n not in subdirs:
                    os.unlink(n, dir_fd=fd)
            if not subdirs:
                break
            parents.append((fd, subdirs[0]))
            fd = os.open(subdirs[0], os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        for parent_fd, name in reversed(parents):
            os.rmdir(name, dir_fd=parent_fd)
            os.close(parent_fd)


@pytest.fixture
def deep_root(tmp_path):
    root = tmp_path / "partage"
    root.mkdir()
    yield root
    _remove_deep_tree(root)


def test_long_paths_and_deep_trees(tmp_path, cli, deep_root):
    root = deep_root
    # 1,000 levels deep, built with dir descriptors since the full path outgrows PATH_MAX.
    fd = os.open(root, os.O_RDONLY)
    for level in range(1000):
        name = f"niveau-{level:04d}"
        os.mkdir(name, dir_fd=fd)
        nxt = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    leaf = os.open("feuille.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(leaf, b"tout au fond")
    os.close(leaf)
    twin = os.open("jumeau.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(twin, b"tout au fond")
    os.close(twin)
    os.close(fd)
    db = tmp_path / "c.duckdb"
    result = cli("scan", root, "--commune", "99001", "--db", db, "--quiet")
    assert result.exit_code == 0, result.output
    (depth, length, error, puid), = query(
        db, "SELECT depth, strlen(path), error, puid FROM files WHERE name = 'feuille.txt'")
    assert depth == 1001 and length > 4096 and error is None and puid == "x-fmt/111"
    # Both deep files were read in full: they are found as duplicates.
    assert query(db, "SELECT copies FROM duplicates") == [(2,)]


def test_directory_with_100000_entries(tmp_path, cli):
    root = tmp_path / "partage"
    big = root / "gros"
    big.mkdir(parents=True)
    for i in range(100_000):
        (big / f"f{i:06d}").touch()
    db = tmp_path / "c.duckdb"
    result = cli("scan", root, "--commune", "99001", "--db", db, "--quiet")
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT count(*) FROM files WHERE kind = 'file'") == [(100_000,)]
    assert query(db, "SELECT files FROM volumes WHERE directory = 'gros'") == [(100_000,)]
    assert query(db, "SELECT count(*) FROM dechets WHERE rule_id = 'VIDE-FICHIER'") == [(100_000,)]


@pytest.mark.skipif(not can_drop_privileges(), reason="impossible de retirer les droits de contournement (root sans setpriv)")
def test_unreadable_directory_and_file_are_recorded(tmp_path):
    root = tmp_path / "partage"
    (root / "ouvert").mkdir(parents=True)
    (root / "ouvert" / "lisible.txt").write_text("ok")
    (root / "ferme").mkdir()
    (root / "ferme" / "cache.txt").write_text("secret")
    (root / "secret.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    os.chmod(root / "ferme", 0)
    os.chmod(root / "secret.pdf", 0)
    dbdir = tmp_path / "db"
    dbdir.mkdir()
    db = dbdir / "c.duckdb"
    try:
        proc = subprocess.run(unprivileged(catalogue_cmd() + ["scan", str(root), "--commune", "99001",
                                                               "--db", str(db), "--quiet"]),
                              capture_output=True, text=True)
    finally:
        os.chmod(root / "ferme", 0o755)
        os.chmod(root / "secret.pdf", 0o644)
    assert proc.returncode == 0, proc.stderr
    assert "Erreurs (entrées illisibles) : 2" in proc.stdout
    rows = _rows(db)
    assert rows["ferme"][:2] == ("directory", "accès refusé")
    assert rows["secret.pdf"][:2] == ("file", "accès refusé")
    assert rows["ouvert/lisible.txt"][1] is None
    assert "ferme/cache.txt" not in rows
    assert query(db, "SELECT errors FROM scans") == [(2,)]
    # An unreadable directory is not an empty one.
    assert query(db, "SELECT count(*) FROM dechets WHERE path = 'ferme'") == [(0,)]


def test_file_vanishing_or_changing_after_listing(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from scanners.hashing import full_hash, partial_digest
    from scanners.identification import Candidate, identify_batch

    root = tmp_path / "partage"
    root.mkdir()
    (root / "reste.txt").write_text("stable")
    (root / "change.txt").write_text("avant")
    st_keep, st_change = (root / "reste.txt").stat(), (root / "change.txt").stat()
    cands = [Candidate(1, b"reste.txt", st_keep.st_size, st_keep.st_mtime_ns // 1000, "txt"),
             Candidate(2, b"change.txt", st_change.st_size, st_change.st_mtime_ns // 1000, "txt"),
             Candidate(3, b"parti.txt", 10, 0, "txt")]
    (root / "change.txt").write_text("après modification")
    with ThreadPoolExecutor(2) as pool:
        out = identify_batch(os.fsencode(root), cands, jobs=2, executor=pool).to_pydict()
    assert out["error"] == [None, "modifié pendant le scan", "disparu pendant le scan"]
    assert out["puid"][0] == "x-fmt/111"
    assert partial_digest(os.fsencode(root), b"parti.txt", 10)[2] == "disparu pendant le scan"
    assert full_hash(os.fsencode(root), b"change.txt", 5) == (None, "modifié pendant le scan")


def test_root_missing_or_not_a_directory(tmp_path, cli):
    db = tmp_path / "c.duckdb"
    result = cli("scan", tmp_path / "absent", "--commune", "99001", "--db", db)
    assert result.exit_code == 1
    assert result.output == f"Erreur : Le dossier à scanner n'existe pas : {tmp_path / 'absent'}\n"
    (tmp_path / "fichier.txt").write_text("x")
    result = cli("scan", tmp_path / "fichier.txt", "--commune", "99001", "--db", db)
    assert result.exit_code == 1
    assert result.output == f"Erreur : Ce chemin n'est pas un dossier : {tmp_path / 'fichier.txt'}\n"
    assert not db.exists()


def test_siegfried_aliases_leave_no_temporary_directory(tmp_path, monkeypatch):
    """Odd names go to siegfried through aliases in a temporary directory of ours: made only
    when needed, removed after the batch (a killed scan used to leave one per batch)."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    from scanners.identification import Candidate, identify_batch

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    root = tmp_path / "partage"
    root.mkdir()
    (root / "normal.txt").write_text("texte")
    odd = b"ancien-\xe9.pdf"
    with open(os.fsencode(root) + b"/" + odd, "wb") as fh:
        fh.write(b"%PDF-1.4\n%%EOF\n")
    normal, weird = os.stat(root / "normal.txt"), os.stat(os.fsencode(root) + b"/" + odd)
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: made.append(real_mkdtemp(**kw)) or made[-1])
    with ThreadPoolExecutor(2) as pool:
        out = identify_batch(os.fsencode(root), [Candidate(1, b"normal.txt", 5, normal.st_mtime_ns // 1000, "txt")], jobs=2, executor=pool)
        assert out.column("puid").to_pylist() == ["x-fmt/111"] and made == []
        out = identify_batch(os.fsencode(root), [Candidate(2, odd, 15, weird.st_mtime_ns // 1000, "pdf")], jobs=2, executor=pool)
    assert out.column("puid").to_pylist()[0].startswith("fmt/")
    assert len(made) == 1 and list(temp.iterdir()) == []
