"""Checking a whole bundle before any catalogue is opened: its metadata, its columns
against `files`, its rows against its metadata (commune, sizes, paths, uniqueness); the
totals are recomputed from the rows and a digest of every row is kept for loading."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from catalogue.bundle.layout import KINDS, META_KEY, TOTALS, digest_sql, file_columns, ident, schema, sql_str
from catalogue.bundle.meta import Invalid, parse_meta, show
from catalogue.dbtools import one, scalar
from catalogue.errors import BundleError
from catalogue.formatting import plural

MAX_ENTRY_SIZE = 1 << 60      # 1 Eio: larger than any real file, sparse ones included
MAX_BIGINT = (1 << 63) - 1
ROWS = "read_parquet($path)"  # the bundle's rows, $path from exact()


@dataclass(frozen=True)
class CheckedBundle:
    """A bundle whose metadata and rows passed every check; totals recomputed."""
    path: str
    scan: dict          # checked fields of the scans row, totals from the rows
    commune_nom: str | None
    rows: int
    digest: int | None  # sum of per-row hashes over every column (None: no rows)


def exact(path: str) -> str:
    """PATH for read_parquet, which expands * ? [ even in a file name: each one becomes a
    character class matching only itself, so the bundle is that file and no other."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def _check_columns(con: duckdb.DuckDBPyConnection, path: str) -> None:
    found = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {ROWS}", {"path": path}).fetchall()}
    expected = {name: schema()["files"][name].type for name in file_columns()}
    for name in found:
        if name not in expected:
            raise Invalid(f"colonne inconnue « {show(name)} » ; lot refusé")
    for name, kind in expected.items():
        if name not in found:
            raise Invalid(f"colonne « {name} » absente ; lot refusé")
        if found[name] != kind:
            raise Invalid(f"colonne « {name} » de type {show(found[name])} au lieu de {kind} ; lot refusé")


def _row_checks(commune: str) -> list[tuple[str, str]]:
    """(condition on one row, French description of the rows it flags), in order."""
    required = [c for c in file_columns() if not schema()["files"][c].nullable]
    return [
        (" OR ".join(f"{ident(c)} IS NULL" for c in required),
         f"sans valeur dans une colonne obligatoire ({', '.join(required)})"),
        ("commune <> $commune", f"d'une autre commune que {show(commune)} (celle des métadonnées)"),
        (f"kind NOT IN ({', '.join(map(sql_str, KINDS))})", f"de type inconnu (attendu : {', '.join(KINDS)})"),
        ("size < 0 OR allocated < 0", "de taille négative"),
        ("size > $max_size OR allocated > $max_size", "de taille supérieure à 1 Eio"),
        ("file_id < 0", "au numéro (file_id) négatif"),
        ("""path = '' OR len(parts) <> depth OR parts[-1] <> name
            OR parent <> array_to_string(parts[1:len(parts) - 1], '/')
            OR list_contains(parts, '') OR list_contains(parts, '.') OR list_contains(parts, '..')""",
         "au chemin invalide (vide, absolu, avec « . » ou « .. », ou sans rapport avec parent, name et depth)"),
    ]


def _check_rows(con: duckdb.DuckDBPyConnection, path: str, scan: dict) -> tuple[int, int, int, int, int | None]:
    """Every check, the recomputed totals and the digest, in one pass over the rows; then
    uniqueness (a DISTINCT in the same query would slow all the aggregates down)."""
    checks = _row_checks(scan["commune"])
    flags = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond, _ in checks)
    row = one(con.execute(
        f"""SELECT {flags}, count(*), count(*) FILTER (WHERE kind = 'file'),
                   coalesce(sum(size) FILTER (WHERE kind = 'file'), 0),
                   count(*) FILTER (WHERE error IS NOT NULL), {digest_sql()}
            FROM (SELECT *, string_split(path, '/') AS parts FROM {ROWS})""",
        {"commune": scan["commune"], "max_size": MAX_ENTRY_SIZE, "path": path}))
    counts, totals = row[:len(checks)], row[len(checks):]
    entries, files, size, errors, digest = totals
    for (_, what), count in zip(checks, counts):
        if count:
            raise Invalid(f"{plural(count, 'entrée')} {what} ; lot refusé")
    distinct = scalar(con.execute(
        f"""SELECT least((SELECT count(*) FROM (SELECT DISTINCT file_id FROM {ROWS})),
                         (SELECT count(*) FROM (SELECT DISTINCT coalesce(path_raw, encode(path)) FROM {ROWS})))""",
        {"path": path}))
    if distinct < entries:
        raise Invalid(f"{plural(entries - distinct, 'entrée')} en double (même file_id ou même chemin) ; lot refusé")
    if size > MAX_BIGINT:
        raise Invalid(f"volume total impossible ({size} octets) ; lot refusé")
    return entries, files, size, errors, digest


def _read_meta(path: str) -> bytes:
    if not Path(path).is_file():
        raise BundleError(f"Lot introuvable : {path}")
    try:
        kv = pq.read_metadata(path).metadata or {}
    except (pa.ArrowException, OSError):
        raise BundleError(f"{path} n'est pas un fichier Parquet lisible.") from None
    if META_KEY.encode() not in kv:
        raise BundleError(f"{path} n'est pas un lot Catalogage (métadonnées de scan absentes).")
    return kv[META_KEY.encode()]


def check_bundle(path: str) -> CheckedBundle:
    """Check a bundle completely, without touching any catalogue; BundleError names the problem."""
    raw = _read_meta(path)
    with tempfile.TemporaryDirectory(prefix="catalogage-verification-") as spill:
        return _check(path, raw, spill)


def _check(path: str, raw: bytes, spill: str) -> CheckedBundle:
    con = duckdb.connect()
    try:
        # A large bundle's DISTINCT spills to disk: to a private folder, not ./.tmp.
        con.execute("SET temp_directory = $dir", {"dir": spill})
        scan, nom = parse_meta(raw)
        _check_columns(con, exact(path))
        entries, files, size, errors, digest = _check_rows(con, exact(path), scan)
    except Invalid as exc:
        raise BundleError(f"{path} : {exc}.") from None
    except duckdb.Error as exc:
        raise BundleError(f"{path} : lot illisible ({show(str(exc).splitlines()[0], 200)}).") from None
    finally:
        con.close()
    scan.update(zip(TOTALS, (entries, files, size, errors)))
    return CheckedBundle(path, scan, nom, entries, digest)
