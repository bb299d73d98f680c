"""The one rule for spreadsheet cells (catalogue.csvsafe): text that would be evaluated
is neutralised, numbers stay numbers, and a real openpyxl cell is never a formula."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from catalogue import csvsafe


def test_text_is_neutralised_numbers_are_not():
    for text in ("=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-5"):
        assert csvsafe.neutralise(text) == "'" + text
    for value in ("Saint-Denis", "", " =1", None, -5, -2.5, 0):
        assert csvsafe.neutralise(value) == value


def test_writer_neutralises_every_text_cell():
    out = io.StringIO()
    w = csvsafe.writer(out, delimiter=";")
    w.writerow(["=HYPERLINK(\"http://x\",\"y\")", -12, "ok"])
    w.writerows([["@A1", 3.5]])
    rows = list(csv.reader(io.StringIO(out.getvalue()), delimiter=";"))
    assert rows == [["'=HYPERLINK(\"http://x\",\"y\")", "-12", "ok"], ["'@A1", "3.5"]]


def test_put_writes_text_cells_never_formulas():
    ws = Workbook().active
    csvsafe.put(ws["A1"], "=1+1")
    csvsafe.put(ws["A2"], "ligne\x01")
    csvsafe.put(ws["A3"], -4)
    csvsafe.put(ws["A4"], None)
    assert (ws["A1"].data_type, ws["A1"].value, ws["A1"].quotePrefix) == ("s", "=1+1", True)
    assert ws["A2"].value == "ligne\\x01" and not ws["A2"].quotePrefix
    assert (ws["A3"].data_type, ws["A3"].value) == ("n", -4)
    assert ws["A4"].value is None


def test_sql_csv_output_holds_no_formula(tmp_path, cli):
    """`catalogue sql --format csv` goes through the same rule as every other CSV; json
    keeps the exact values for scripts."""
    import json

    root = tmp_path / "partage"
    (root / "=1+1").mkdir(parents=True)
    (root / "=1+1" / "@SUM(A1).txt").write_text("x")
    db = tmp_path / "c.duckdb"
    assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet", "--sans-identification").exit_code == 0
    query = "SELECT path FROM files ORDER BY path"
    out = cli("sql", query, "--format", "csv", "--db", db)
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == ["path", "'=1+1", "'=1+1/@SUM(A1).txt"]
    raw = cli("sql", query, "--format", "json", "--db", db)
    assert [r["path"] for r in json.loads(raw.output)] == ["=1+1", "=1+1/@SUM(A1).txt"]
