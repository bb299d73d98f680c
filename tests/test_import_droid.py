"""DROID and siegfried CSV inventories imported as filesystem scans: Windows paths and
file: URIs, multi-format rows, non-ASCII names, hashes feeding the duplicates."""

from __future__ import annotations

import csv
import datetime as dt

from tests.conftest import query

DROID_HEADER = ["ID", "PARENT_ID", "URI", "FILE_PATH", "NAME", "METHOD", "STATUS", "SIZE", "TYPE", "EXT",
                "LAST_MODIFIED", "EXTENSION_MISMATCH", "MD5_HASH", "FORMAT_COUNT", "PUID", "MIME_TYPE",
                "FORMAT_NAME", "FORMAT_VERSION"]
HASH_A = "5d41402abc4b2a76b9719d911017c592"
HASH_B = "7d793037a0760186574b0282f2f435e7"


def _droid_rows():
    base = "file:/C:/Partage%20Mairie"
    return [
        ["1", "", f"{base}/Urbanisme/", r"C:\Partage Mairie\Urbanisme", "Urbanisme", "", "Done", "", "Folder", "",
         "2020-01-02T10:00:00", "false", "", "", "", "", "", ""],
        ["2", "1", f"{base}/Urbanisme/Permis/PC%20%C3%A9t%C3%A9.pdf", r"C:\Partage Mairie\Urbanisme\Permis\PC été.pdf",
         "PC été.pdf", "Signature", "Done", "1000", "File", "pdf", "2019-05-06T07:08:09", "false", HASH_A, "1",
         "fmt/276", "application/pdf", "Acrobat PDF 1.7 - Portable Document Format", "1.7"],
        # The same content elsewhere: a duplicate, found through the MD5.
        ["3", "1", f"{base}/Finances/Copie%20PC.pdf", "", "Copie PC.pdf", "Signature", "Done", "1000", "File",
         "pdf", "2021-05-06T07:08:09", "false", HASH_A, "1", "fmt/276", "application/pdf",
         "Acrobat PDF 1.7 - Portable Document Format", "1.7"],
        # Two formats on one row: the extra PUID block follows the first.
        ["4", "1", f"{base}/Finances/budget.xls", r"C:\Partage Mairie\Finances\budget.xls", "budget.xls",
         "Container", "Done", "2048", "Container", "xls", "2010-03-04T05:06:07", "true", HASH_B, "2", "fmt/61",
         "application/vnd.ms-excel", "Microsoft Excel 97 Workbook (xls)", "8", "fmt/62", "application/vnd.ms-excel",
         "Microsoft Excel 2000-2003 Workbook (xls)", "8X"],
        # Inside an archive: counted, not listed.
        ["5", "4", "zip:file:/C:/Partage%20Mairie/Finances/a.zip!/inner.txt", "", "inner.txt", "Extension", "Done",
         "10", "File", "txt", "2010-03-04T05:06:07", "false", "", "1", "x-fmt/111", "text/plain", "Plain Text File",
         ""],
        ["6", "1", f"{base}/Finances/~$note.docx", r"C:\Partage Mairie\Finances\~$note.docx", "~$note.docx", "",
         "Access denied", "162", "File", "docx", "2022-01-01T00:00:00", "false", "", "0", "", "", "", ""],
    ]


def write_droid(path, rows=None):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(DROID_HEADER)
        w.writerows(rows if rows is not None else _droid_rows())
    return path


def test_droid_csv_becomes_a_scan(cli, tmp_path):
    db = tmp_path / "c.duckdb"
    result = cli("import-droid", write_droid(tmp_path / "droid.csv"), "--commune", "99301", "--db", db)
    assert result.exit_code == 0, result.output
    assert "Inventaire DROID importé : scan n° 1 — commune 99301 — racine C:/Partage Mairie" in result.output
    assert "Fichiers contenus dans des archives (non listés) : 1" in result.output
    assert "Empreintes : md5 (doublons détectables)" in result.output
    rows = {r[0]: r[1:] for r in query(db, "SELECT path, kind, size, puid, id_warning, ext_mismatch, error "
                                           "FROM files ORDER BY path")}
    assert set(rows) == {"Urbanisme", "Urbanisme/Permis/PC été.pdf", "Finances/Copie PC.pdf", "Finances/budget.xls",
                         "Finances/~$note.docx"}
    assert rows["Urbanisme"][0] == "directory"
    assert rows["Finances/budget.xls"][2:4] == ("fmt/61", "identification multiple : fmt/61, fmt/62")
    assert rows["Finances/budget.xls"][4] is True
    assert rows["Finances/~$note.docx"][5] == "lecture impossible pour DROID (ACCESS DENIED)"
    # Duplicates through the exported MD5, déchets through our rules.
    assert query(db, "SELECT copies, wasted_bytes FROM duplicates") == [(2, 1000)]
    assert ("Urbanisme/Permis/PC été.pdf",) in query(db, "SELECT path FROM duplicate_files WHERE NOT redundant")
    assert query(db, "SELECT puid, files FROM formats WHERE puid = 'fmt/276'") == [("fmt/276", 2)]
    assert query(db, "SELECT source, status, files FROM scans") == [("droid", "complete", 4)]
    assert {r[0] for r in query(db, "SELECT path FROM datasets")} == {"Urbanisme/Permis", "Finances"}
    assert query(db, "SELECT count(*) FROM dechets WHERE name = '~$note.docx'") == [(1,)]


def test_siegfried_csv_becomes_a_scan(cli, tmp_path):
    path = tmp_path / "sf.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["filename", "filesize", "modified", "errors", "md5", "namespace", "id", "format", "version",
                    "mime", "class", "basis", "warning"])
        w.writerow(["/mnt/partage/Élections/PV 2020.odt", "4096", "2020-03-16T09:00:00+01:00", "", HASH_A,
                    "pronom", "fmt/291", "OpenDocument Text", "1.2", "application/vnd.oasis.opendocument.text",
                    "word processor", "container match", ""])
        w.writerow(["/mnt/partage/Élections/PV 2020 (1).odt", "4096", "2020-03-17T09:00:00+01:00", "", HASH_A,
                    "pronom", "fmt/291", "OpenDocument Text", "1.2", "application/vnd.oasis.opendocument.text",
                    "word processor", "container match", ""])
        w.writerow(["/mnt/partage/Élections/notes.doc", "100", "2001-01-01T00:00:00Z", "", HASH_B, "pronom",
                    "UNKNOWN", "", "", "", "", "", "no match; possibilities based on extension are fmt/40"])
        w.writerow(["/mnt/partage/Élections/verrou.tmp", "", "2001-01-01T00:00:00Z", "open: permission denied", "",
                    "pronom", "", "", "", "", "", "", ""])
    db = tmp_path / "c.duckdb"
    result = cli("import-droid", path, "--commune", "99302", "--db", db)
    assert result.exit_code == 0, result.output
    assert "Inventaire siegfried importé" in result.output and "racine /mnt/partage/Élections" in result.output
    got = {r[0]: r[1:] for r in query(db, "SELECT name, puid, mtime, error FROM files")}
    assert got["PV 2020 (1).odt"][:2] == ("fmt/291", dt.datetime(2020, 3, 17, 8, 0))  # stored in UTC
    assert got["notes.doc"][0] == "UNKNOWN"
    assert got["verrou.tmp"][2] == "lecture impossible pour siegfried (open: permission denied)"
    assert query(db, "SELECT copies FROM duplicates") == [(2,)]


def test_foreign_csv_is_refused(cli, tmp_path):
    path = tmp_path / "autre.csv"
    path.write_text("nom;taille\na;1\n", encoding="utf-8")
    db = tmp_path / "c.duckdb"
    result = cli("import-droid", path, "--commune", "99303", "--db", db)
    assert result.exit_code == 1
    assert result.output.startswith("Erreur : Ce CSV n'est ni un export DROID ni un export siegfried. "
                                    "En-têtes attendus : DROID « ID, PARENT_ID, URI, FILE_PATH")
    assert "siegfried « filename, filesize, modified, errors" in result.output
    assert not db.exists() or query(db, "SELECT count(*) FROM scans") == [(0,)]


def test_dot_segments_are_resolved_and_escapes_refused(cli, tmp_path):
    """`.` and `..` in DROID paths are resolved lexically; a path that climbs out of the
    inventory's root (or above its drive) is not stored, and the line is reported."""
    rows = _droid_rows() + [
        ["7", "1", "", r"C:\Partage Mairie\Urbanisme\Permis\..\Arrêtés\.\A1.pdf", "A1.pdf", "Signature", "Done",
         "500", "File", "pdf", "2019-05-06T07:08:09", "false", "", "1", "fmt/276", "application/pdf",
         "Acrobat PDF 1.7 - Portable Document Format", "1.7"],
        ["8", "1", "file:/C:/Partage%20Mairie/Finances/../../Windows/system.ini", "", "system.ini", "Extension",
         "Done", "219", "File", "ini", "2019-05-06T07:08:09", "false", "", "1", "x-fmt/111", "text/plain",
         "Plain Text File", ""],
        ["9", "1", "", r"C:\..\..\boot.ini", "boot.ini", "Extension", "Done", "211", "File", "ini",
         "2019-05-06T07:08:09", "false", "", "1", "x-fmt/111", "text/plain", "Plain Text File", ""],
    ]
    db = tmp_path / "c.duckdb"
    result = cli("import-droid", write_droid(tmp_path / "droid.csv", rows), "--commune", "99304", "--db", db)
    assert result.exit_code == 0, result.output
    assert "racine C:/Partage Mairie\n" in result.output  # not widened to C: by the escaping rows
    assert "Ligne ignorée, ligne 9 : chemin hors de la racine de l'inventaire (C:/Windows/system.ini)" in result.output
    assert "Ligne ignorée, ligne 10 : chemin qui remonte au-dessus de son lecteur ou de son partage " \
           "(C:\\..\\..\\boot.ini)" in result.output
    paths = [r[0] for r in query(db, "SELECT path FROM files ORDER BY path")]
    assert "Urbanisme/Arrêtés/A1.pdf" in paths
    assert not [p for p in paths if ".." in p.split("/") or "." in p.split("/")]
    assert query(db, "SELECT files FROM scans") == [(5,)]


def test_siegfried_relative_paths_keep_their_leading_dots(cli, tmp_path):
    """`sf -csv ../partage` writes paths from the working folder: leading `..` are the root's."""
    path = tmp_path / "sf.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["filename", "filesize", "modified", "errors", "namespace", "id", "format", "version", "mime",
                    "basis", "warning"])
        for name in ("../partage/a.txt", "../partage/b/../c.txt", "../partage/d/./e.txt"):
            w.writerow([name, "10", "2020-03-16T09:00:00Z", "", "pronom", "x-fmt/111", "Plain Text File", "",
                        "text/plain", "extension match", ""])
    db = tmp_path / "c.duckdb"
    result = cli("import-droid", path, "--commune", "99305", "--db", db)
    assert result.exit_code == 0, result.output
    assert "racine ../partage\n" in result.output and "Ligne ignorée" not in result.output
    assert [r[0] for r in query(db, "SELECT path FROM files ORDER BY path")] == ["a.txt", "c.txt", "d/e.txt"]
