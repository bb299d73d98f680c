"""What an audit of a share is expected to hold, beside the volumes: misleading
extensions, depth and path length, largest files, exact extreme dates, and where each
dataset is, as users name it (« Service / Activité »), never as an absolute path.

Data only, like reports/context.py. Paths shown are relative to the scanned root: the
root, the machine and the internal identifiers go to the annexes.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

# Windows' historical MAX_PATH, which many SAE ingest tools inherit: a longer full path
# cannot be copied, zipped or packed everywhere.
PATH_LIMIT = 255

KIND_LABELS = {"file": "fichier", "directory": "dossier", "symlink": "lien symbolique", "other": "autre"}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


# How a dataset is named on official pages: « Service / Activité » as the référent gave
# them in the grid, else its folder relative to the scanned root, else its application.
LOCATIONS = """
WITH q AS (SELECT * FROM qualifications_current WHERE commune = $c),
     d AS (SELECT * FROM datasets WHERE commune = $c)
SELECT coalesce(d.dataset_id, q.dataset_id) AS dataset_id,
       CASE WHEN nullif(trim(q.service), '') IS NOT NULL AND nullif(trim(q.activite), '') IS NOT NULL
                THEN trim(q.service) || ' / ' || trim(q.activite)
            WHEN d.source IN ('database', 'mail') THEN 'Application ' || d.path
            WHEN d.path <> '' THEN replace(d.path, '/', ' / ')
            WHEN d.dataset_id IS NOT NULL THEN '(racine du partage)'
            ELSE coalesce(nullif(trim(q.service), ''), q.emplacement, '(ajouté par le référent)')
       END AS lieu,
       -- What tells two datasets of the same « Service / Activité » apart.
       CASE WHEN d.source IN ('database', 'mail') THEN d.path
            WHEN d.dataset_id IS NOT NULL THEN replace(d.path, '/', ' / ')
            ELSE q.emplacement END AS detail
FROM d FULL JOIN q USING (dataset_id)
"""


def locations(con: duckdb.DuckDBPyConnection, commune: str) -> dict[str, str]:
    """Dataset id → the location users read; when référents gave two datasets the same
    « Service / Activité », each gets its folder (or what they typed) in brackets."""
    found = con.execute(LOCATIONS, {"c": commune}).fetchall()
    seen: dict[str, int] = {}
    for _, lieu, _ in found:
        seen[lieu] = seen.get(lieu, 0) + 1
    return {dataset_id: f"{lieu} ({detail})" if seen[lieu] > 1 and detail and detail != lieu else lieu
            for dataset_id, lieu, detail in found}


# A misleading extension: the file has one (no extension misleads nobody) and the content
# says otherwise; déchets (Thumbs.db, ~$lock files…) are left out, being reported as such.
MISLEADING = """f.kind = 'file' AND f.ext_mismatch AND coalesce(f.extension, '') <> ''
    AND NOT EXISTS (SELECT 1 FROM dechets d WHERE d.scan_id = f.scan_id AND d.file_id = f.file_id)"""


def audit_facts(con: duckdb.DuckDBPyConnection, commune: str | None, limit: int) -> dict:
    """Misleading extensions, depth, long paths, largest files and exact dates of a commune
    (or of the territory when `commune` is None: counts only, no path)."""
    c = {"c": commune, "limit": PATH_LIMIT}
    facts = _rows(con, f"""
        SELECT count(*) FILTER (WHERE {MISLEADING}) AS mismatches,
               coalesce(sum(size) FILTER (WHERE {MISLEADING}), 0) AS mismatch_bytes,
               max(depth) AS max_depth,
               count(*) FILTER (WHERE length(root) + 1 + length(path) > $limit) AS long_paths,
               max(length(root) + 1 + length(path)) AS longest_path,
               min(mtime) FILTER (WHERE kind = 'file') AS oldest, max(mtime) FILTER (WHERE kind = 'file') AS newest
        FROM files_current f WHERE ($c IS NULL OR commune = $c) AND source = 'filesystem'""", c)[0]
    if commune is None:
        return facts
    cn = {"c": commune, "n": limit}
    facts["mismatch_rows"] = _rows(con, f"{MISMATCH_SQL} LIMIT $n", cn)
    facts["long_path_rows"] = _rows(con, """
        SELECT path, length(root) + 1 + length(path) AS length, depth FROM files_current
        WHERE commune = $c AND source = 'filesystem' AND length(root) + 1 + length(path) > $limit
        ORDER BY length DESC, path LIMIT $n""", {**cn, "limit": PATH_LIMIT})
    facts["largest_files"] = _rows(con, """
        SELECT path, size, mtime, coalesce(format_name, 'format non identifié') AS format FROM files_current
        WHERE commune = $c AND kind = 'file' AND source = 'filesystem' AND size > 0
        ORDER BY size DESC, path LIMIT $n""", cn)
    return facts


MISMATCH_SQL = f"""
    SELECT path, extension, coalesce(format_name, mime, 'format non identifié') AS format, size, puid, mime
    FROM files_current f WHERE commune = $c AND {MISLEADING}
    ORDER BY size DESC, path"""
MISMATCH_ANNEX_COLUMNS = ["chemin", "extension", "contenu_reconnu", "taille_octets", "puid", "type_mime"]


def mismatch_annex_rows(con: duckdb.DuckDBPyConnection, commune: str, batch: int = 10_000) -> Iterator[tuple]:
    """Every file with a misleading extension, largest first (MISMATCH_ANNEX_COLUMNS)."""
    cur = con.execute(MISMATCH_SQL, {"c": commune})
    while chunk := cur.fetchmany(batch):
        yield from chunk


DUPLICATE_ANNEX_COLUMNS = ["groupe", "empreinte", "taille_octets", "copies", "chemin", "copie_redondante",
                           "derniere_modif"]


def duplicate_annex_rows(con: duckdb.DuckDBPyConnection, commune: str, batch: int = 10_000) -> Iterator[tuple]:
    """Every location of every duplicate group, largest waste first (DUPLICATE_ANNEX_COLUMNS)."""
    cur = con.execute("""
        SELECT dense_rank() OVER (ORDER BY g.wasted_bytes DESC, g.hash) AS groupe, f.hash, f.size, g.copies,
               f.path, f.redundant, CAST(f.mtime AS DATE)
        FROM duplicate_files f JOIN duplicates g USING (commune, hash)
        WHERE f.commune = $c ORDER BY groupe, f.redundant, f.path""", {"c": commune})
    while chunk := cur.fetchmany(batch):
        yield from chunk
