"""Grid size limits (grids/limits.py): a zip bomb is refused before openpyxl inflates it,
with bounded memory; an overlong cell is refused naming its cell; a sheet stretched to
a million rows is refused; a normal grid still imports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from grids import spec
from grids.limits import MAX_CELL_CHARS, MAX_ROWS
from tests import test_grid
from tests.conftest import query
from tests.test_grid import columns, filled_grid, rows_by_location

# The scanned catalogue of tests/test_grid.py, shared rather than scanned again.
grid_db_template = test_grid.grid_db_template
db = test_grid.db

PLACEHOLDER = "TEXTE-A-GONFLER"
LIMIT = 1536 * 1024 * 1024  # address space of the importing process (a normal import: ~250 MB RSS)


def _placeholder_grid(cli, db: Path, tmp_path: Path) -> tuple[Path, str]:
    """A filled grid whose permits row has PLACEHOLDER as its « Service »; returns it and that cell."""
    path = filled_grid(cli, db, tmp_path, {"Urbanisme/Permis de construire": {"service": PLACEHOLDER}})
    ws = load_workbook(path)[spec.SHEET_GRID]
    row = rows_by_location(ws)["Urbanisme/Permis de construire"]
    return path, ws.cell(row, columns(ws)["service"]).coordinate


def _inflate(path: Path, out: Path, size: int, char: bytes = b"A") -> Path:
    """Rewrite the member holding PLACEHOLDER with `size` bytes of `char` in its place,
    streamed: the big text never sits in this process's memory."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if PLACEHOLDER.encode() not in data:
                dst.writestr(info, data)
                continue
            before, after = data.split(PLACEHOLDER.encode())
            with dst.open(info.filename, "w", force_zip64=True) as fh:
                fh.write(before)
                block = char * (1 << 20)
                for _ in range(size // len(block)):
                    fh.write(block)
                fh.write(char * (size % len(block)))
                fh.write(after)
    return out


RUN = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    from catalogue.cli import main
    main(sys.argv[1:])
""")


def _import_limited(path: Path, db: Path, limit: int) -> subprocess.CompletedProcess:
    """`catalogue grid import` in a child process whose address space is capped."""
    # One BLAS thread: OpenBLAS reserves buffers per core, which would count against the cap.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", RUN.format(limit=limit), "grid", "import", str(path),
                           "--db", str(db)], capture_output=True, text=True, timeout=600, env=env)


def _stored_services(db: Path) -> list:
    return query(db, "SELECT service FROM qualifications")


def test_zip_bomb_grid_is_refused_with_bounded_memory(cli, db, tmp_path):
    path, _ = _placeholder_grid(cli, db, tmp_path)
    bomb = _inflate(path, tmp_path / "grille-bombe.xlsx", 300 * 1024 * 1024)
    assert bomb.stat().st_size < 2_000_000  # a small file on disk
    result = _import_limited(bomb, db, LIMIT)
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stdout == ""
    assert result.stderr.startswith("Erreur : grille-bombe.xlsx : classeur trop volumineux une fois décompressé (")
    assert "limite 200,0 Mo" in result.stderr and len(result.stderr.splitlines()) == 1
    assert _stored_services(db) == []


def test_big_cell_under_the_size_cap_is_refused_before_loading(cli, db, tmp_path):
    path, cell = _placeholder_grid(cli, db, tmp_path)
    big = _inflate(path, tmp_path / "grille-cellule.xlsx", 150 * 1024 * 1024)
    # Loaded by openpyxl, that cell took 1.8 GB of RSS: refused first, it needs far less.
    result = _import_limited(big, db, LIMIT)
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr == (f"Erreur : grille-cellule.xlsx : cellule {spec.SHEET_GRID}!{cell} trop longue (plus de "
                             f"32\u202f767 caractères, la limite d'Excel) ; raccourcissez-la.\n")
    assert _stored_services(db) == []


def test_cell_just_over_the_limit_is_refused_naming_it(cli, db, tmp_path):
    path, cell = _placeholder_grid(cli, db, tmp_path)
    over = _inflate(path, tmp_path / "grille-longue.xlsx", MAX_CELL_CHARS + 1, b"\xc3\xa9")  # « é »: 2 bytes each
    result = cli("grid", "import", over, "--db", db)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : grille-longue.xlsx : cellule {spec.SHEET_GRID}!{cell} trop longue "
                             f"(32\u202f768 caractères ; limite 32\u202f767, celle d'Excel) ; raccourcissez-la.\n")
    assert _stored_services(db) == []
    # At the limit, the answer is stored whole.
    exact = _inflate(path, tmp_path / "grille-limite.xlsx", MAX_CELL_CHARS, b"\xc3\xa9")
    result = cli("grid", "import", exact, "--db", db)
    assert result.exit_code == 0, result.output
    assert sorted(len(s or "") for (s,) in _stored_services(db))[-1] == MAX_CELL_CHARS


def test_shared_string_too_long_is_refused_naming_its_cell(cli, db, tmp_path):
    """Excel and LibreOffice keep texts in sharedStrings.xml: the cell is found from the string."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice absent : « make test » l'installe (paquet Debian libreoffice-calc-nogui).")
    path, cell = _placeholder_grid(cli, db, tmp_path)
    out = tmp_path / "lo"
    subprocess.run([soffice, "--headless", "--calc", "--convert-to", "xlsx", "--outdir", str(out), str(path)],
                   check=True, capture_output=True, timeout=180, env=dict(os.environ, HOME=str(tmp_path)))
    # LibreOffice itself cuts a text at 32,767 characters: the long one is put in afterwards.
    long = _inflate(out / path.name, tmp_path / "grille-lo.xlsx", 250_000)
    with zipfile.ZipFile(long) as z:
        assert b"A" * 250_000 in z.read("xl/sharedStrings.xml")
    result = cli("grid", "import", long, "--db", db)
    assert result.exit_code == 1
    assert result.output == (f"Erreur : grille-lo.xlsx : cellule {spec.SHEET_GRID}!{cell} trop longue (plus de "
                             f"32\u202f767 caractères, la limite d'Excel) ; raccourcissez-la.\n")


def _stretch(path: Path, out: Path, dimension: str | None, extra_cell: str) -> Path:
    """Add a cell far down the grid sheet (and set or drop its declared dimension)."""
    import re

    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if PLACEHOLDER.encode() in data:
                data = data.replace(b"</sheetData>", f'<row r="{extra_cell[1:]}"><c r="{extra_cell}" t="inlineStr">'
                                                     f"<is><t>x</t></is></c></row></sheetData>".encode())
                data = re.sub(rb"<dimension [^>]*/>", dimension.encode() if dimension else b"", data)
            dst.writestr(info, data)
    return out


def test_sheet_stretched_beyond_the_row_limit_is_refused(cli, db, tmp_path):
    path, _ = _placeholder_grid(cli, db, tmp_path)
    far = f"A{MAX_ROWS + 1}"
    last = get_column_letter(len(spec.COLUMNS))
    declared = _stretch(path, tmp_path / "grille-declaree.xlsx", f'<dimension ref="A1:{last}{MAX_ROWS + 1}"/>', far)
    hidden = _stretch(path, tmp_path / "grille-cachee.xlsx", None, far)  # no dimension: found once loaded
    for grid in (declared, hidden):
        result = cli("grid", "import", grid, "--db", db)
        assert result.exit_code == 1
        assert result.output == (f"Erreur : {grid.name} : la feuille « {spec.SHEET_GRID} » s'étend jusqu'à la ligne "
                                 f"150\u202f001 et la colonne {last} (limite : 150\u202f000 lignes et 200 colonnes) ; "
                                 "supprimez les lignes et colonnes en trop ou repartez d'une grille exportée.\n")
    assert _stored_services(db) == []
