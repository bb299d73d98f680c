"""What could be freed, counted once: déchets entries and redundant copies of duplicates.

Redundant copies are matched by several déchets rules (« Doublons », but also « copie de »,
« (2) »… in « Copies de sauvegarde »), so adding the duplicates' figure to the déchets'
counts some files twice. The freeable volume is the union of both sets, by file identity
(scan, file): the one definition used by page 1, section 1, the synthesis and the footprint.

Data only, like reports/context.py; the full déchets list is a CSV annex.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from reports.audit import KIND_LABELS

# Every entry a déchets rule matches, plus every redundant copy of a duplicate group, once.
FREEABLE_SQL = """
SELECT count(*) AS entries, coalesce(sum(size), 0) AS bytes FROM (
    SELECT scan_id, file_id, any_value(size) AS size FROM (
        SELECT scan_id, file_id, size FROM dechets WHERE commune = $c
        UNION ALL
        SELECT scan_id, file_id, size FROM duplicate_files WHERE commune = $c AND redundant)
    GROUP BY scan_id, file_id)
"""


def freeable(con: duckdb.DuckDBPyConnection, commune: str) -> dict:
    """Entries and bytes that could be freed after checking, each file counted once."""
    entries, size = con.execute(FREEABLE_SQL, {"c": commune}).fetchone() or (0, 0)
    return {"entries": int(entries), "bytes": int(size)}


DECHET_ANNEX_COLUMNS = ["chemin", "nature", "taille_octets", "derniere_modif", "categorie", "regle", "libelle",
                        "confiance", "copie_redondante"]


def dechet_annex_rows(con: duckdb.DuckDBPyConnection, commune: str, batch: int = 10_000) -> Iterator[tuple]:
    """Every déchets entry of the commune, one row per entry and rule, with whether it is
    also a redundant copy of a duplicate group (columns DECHET_ANNEX_COLUMNS)."""
    cur = con.execute("""
        SELECT d.path, d.kind, d.size, CAST(d.mtime AS DATE), d.categorie, d.rule_id, d.libelle, d.confiance,
               CASE WHEN r.file_id IS NULL THEN 'non' ELSE 'oui' END
        FROM dechets d
        LEFT JOIN (SELECT DISTINCT scan_id, file_id FROM duplicate_files WHERE commune = $c AND redundant) r
               USING (scan_id, file_id)
        WHERE d.commune = $c ORDER BY d.path, d.rule_id""", {"c": commune})
    while chunk := cur.fetchmany(batch):
        for row in chunk:
            yield (row[0], KIND_LABELS.get(row[1], row[1]), *row[2:])
