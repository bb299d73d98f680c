"""A content is identified once (issue 21): copies found by the duplicates phase take the
result of one of them, and later scans of the territory find it in `identification_cache`."""

from __future__ import annotations

import duckdb

from catalogue.scan import run_scan
from catalogue.scan.options import Tuning
from data.sample import formats
from tests.conftest import query


def _tree(root, pdf: bytes) -> None:
    for folder in ("a", "b", "c", "d"):
        (root / folder).mkdir(parents=True)
        (root / folder / "rapport.pdf").write_bytes(pdf)
    # The same bytes under another extension: siegfried's verdict differs (a mismatch).
    (root / "a" / "rapport.doc").write_bytes(pdf)
    (root / "b" / "rapport.doc").write_bytes(pdf)
    (root / "seul.txt").write_text("Un fichier sans copie\n")


def test_copies_are_identified_once_per_content_and_extension(tmp_path):
    pdf = formats.pdf("Rapport", ["ligne"])
    root = tmp_path / "partage"
    _tree(root, pdf)
    db = tmp_path / "c.duckdb"

    summary = run_scan(str(root), "C1", db=str(db), quiet=True)

    assert summary.identified == 7
    # Read by siegfried: one PDF, one .doc, the text file; the other 4 took their result.
    assert summary.identification_copies == 4
    rows = query(db, "SELECT extension, puid, ext_mismatch, error FROM files WHERE kind = 'file' "
                     "AND extension IN ('pdf', 'doc') ORDER BY extension")
    assert rows == [("doc", "fmt/17", True, None)] * 2 + [("pdf", "fmt/17", False, None)] * 4
    cached = query(db, "SELECT extension, puid, ext_mismatch FROM identification_cache ORDER BY extension")
    assert cached == [("doc", "fmt/17", True), ("pdf", "fmt/17", False)]


def test_a_later_scan_of_the_territory_reuses_the_cache(tmp_path):
    pdf = formats.pdf("Rapport", ["ligne"])
    first, second = tmp_path / "mairie", tmp_path / "ecole"
    _tree(first, pdf)
    for folder in ("x", "y"):
        (second / folder).mkdir(parents=True)
        (second / folder / "copie.pdf").write_bytes(pdf)
    db = tmp_path / "c.duckdb"
    run_scan(str(first), "C1", db=str(db), quiet=True)

    summary = run_scan(str(second), "C2", db=str(db), quiet=True)

    # Another commune, another root: nothing reused from a previous scan of it, and yet
    # siegfried reads neither file.
    assert summary.reused == 0
    assert (summary.identified, summary.identification_copies) == (2, 2)
    assert query(db, "SELECT DISTINCT puid, format_name FROM files WHERE commune = 'C2' AND kind = 'file'") == [
        ("fmt/17", "Acrobat PDF 1.3 - Portable Document Format")]
    assert query(db, "SELECT count(*) FROM identification_cache") == [(2,)]


def test_a_cache_of_other_signatures_is_not_used(tmp_path):
    pdf = formats.pdf("Rapport", ["ligne"])
    root = tmp_path / "partage"
    _tree(root, pdf)
    db = tmp_path / "c.duckdb"
    run_scan(str(root), "C1", db=str(db), quiet=True)
    # As if the cache had been filled by another siegfried, with another verdict.
    import duckdb
    con = duckdb.connect(str(db))
    con.execute("UPDATE identification_cache SET identifier = 'siegfried 0.1', puid = 'fmt/0'")
    con.close()

    summary = run_scan(str(root), "C2", db=str(db), quiet=True)

    assert summary.identification_copies == 4
    assert query(db, "SELECT DISTINCT puid FROM files WHERE commune = 'C2' AND extension = 'pdf'") == [("fmt/17",)]


def test_copies_take_their_result_range_by_range(tmp_path):
    """The copies' results are written a range of ids at a time (one UPDATE over a whole
    scan held hundreds of MB of DuckDB's undo data): ranges of two ids give what one does."""
    pdf = formats.pdf("Rapport", ["ligne"])
    rows = {}
    for label, tuning in (("one", Tuning()), ("ranges", Tuning(reuse_rows=2))):
        root = tmp_path / label
        _tree(root, pdf)
        db = tmp_path / f"{label}.duckdb"
        summary = run_scan(str(root), "C1", db=str(db), quiet=True, tuning=tuning)
        assert (summary.identified, summary.identification_copies) == (7, 4)
        rows[label] = query(db, "SELECT path, puid, format_name, mime, magic_mime, ext_mismatch FROM files "
                                "WHERE kind = 'file' ORDER BY path")
    assert rows["ranges"] == rows["one"]
    assert all(r[1] == "fmt/17" for r in rows["ranges"] if r[0].endswith((".pdf", ".doc")))


def test_identification_runs_under_its_own_duckdb_share(tmp_path):
    """While siegfried's process runs, DuckDB gets a smaller share (`identify_memory`): it
    then drops the blocks of `files` it has cached instead of holding them to its scan-wide
    limit. The share is back for the next phase, and under a tight one the results are the
    same (the joins and aggregates of the phase spill instead of failing)."""
    pdf = formats.pdf("Rapport", ["ligne"])
    seen: dict[str, str] = {}
    rows = {}
    for label, memory in (("default", Tuning().identify_memory), ("tight", "8MB")):
        root = tmp_path / label
        _tree(root, pdf)
        db = tmp_path / f"{label}.duckdb"

        def on_event(name: str, db=db, label=label) -> None:
            if name in ("identify-stored", "signatures"):
                # Same process, same file: a connection to the scan's own DuckDB instance.
                with duckdb.connect(str(db)) as con:
                    seen[f"{label} {name}"] = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]

        summary = run_scan(str(root), "C1", db=str(db), quiet=True,
                           tuning=Tuning(identify_memory=memory, on_event=on_event))
        assert (summary.identified, summary.identification_copies) == (7, 4)
        rows[label] = query(db, "SELECT path, puid, format_name, mime, magic_mime, ext_mismatch, error FROM files "
                                "WHERE kind = 'file' ORDER BY path")
    assert rows["tight"] == rows["default"]
    assert seen["default identify-stored"] == "61.0 MiB"   # 64 MB
    assert seen["tight identify-stored"] == "7.6 MiB"      # 8 MB
    assert seen["default signatures"] == seen["tight signatures"] == "122.0 MiB"  # after_walk_memory, 128 MB
