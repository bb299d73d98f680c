"""The « Données signées électroniquement » section: what the scan found signed, from the
`signatures` view (one row per signed file or detached signature) and `datasets`.

Data only, like reports/context.py: signed files and volume by kind and by dataset,
certificates expiring within 12 months, detached signatures whose document is gone.
Tables that grow with the catalogue stop at TABLE_ROWS rows; the annex CSV has every
signature row. The territory synthesis gets counts per commune, never a path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb

# French names of the kinds the scan records (files.sig_kind).
KIND_LABELS = {
    "pades": "PAdES", "pdf-pkcs7": "PDF PKCS#7", "cades": "CAdES", "xades": "XAdES", "xmldsig": "XMLDSig",
    "asic-s": "ASiC-S", "asic-e": "ASiC-E", "ooxml": "Office (OOXML)", "odf": "OpenDocument (ODF)",
    "timestamp": "Jeton d'horodatage (RFC 3161)",
}
EXPIRY_MONTHS = 12


def kind_label(kind: str | None, detached: bool, by_detached: bool = False) -> str:
    """« CAdES détachée » for a detached signature file, « PAdES » for a signed PDF, and
    « Document signé (CAdES détachée) » for a document signed only by a detached signature."""
    label = KIND_LABELS.get(kind or "", kind or "inconnue")
    if by_detached:
        return f"Document signé ({kind_label(kind, True)})"
    return f"{label} détachée" if detached and kind in ("cades", "xades", "xmldsig") else label


def expiry_limit(today: dt.date) -> dt.date:
    """The same day EXPIRY_MONTHS months later (the 28th for a 29 February)."""
    year = today.year + (today.month - 1 + EXPIRY_MONTHS) // 12
    month = (today.month - 1 + EXPIRY_MONTHS) % 12 + 1
    try:
        return today.replace(year=year, month=month)
    except ValueError:
        return today.replace(year=year, month=month, day=28)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


# The signatures of the commune with the dataset each file belongs to; `by_detached`: a
# document whose only signature is a detached one beside it.
SIGNED = """
WITH s AS (SELECT * FROM signatures WHERE commune = $c)
SELECT s.*, df.dataset_id,
       coalesce(NOT s.detached AND s.document_signed_by IS NOT NULL AND df.sig_kind IS NULL, false) AS by_detached
FROM s LEFT JOIN dataset_files df USING (commune, scan_id, file_id)
"""


def _by_kind(con: duckdb.DuckDBPyConnection, commune: str) -> list[dict]:
    found = _rows(con, f"""
        SELECT kind, coalesce(detached, false) AS detached, by_detached, count(*) AS files,
               coalesce(sum(size), 0) AS bytes, coalesce(sum(count), 0) AS signatures,
               count(*) FILTER (WHERE error IS NOT NULL) AS errors
        FROM ({SIGNED}) GROUP BY ALL ORDER BY bytes DESC, kind, detached""", {"c": commune})
    for r in found:
        r["label"] = kind_label(r["kind"], r["detached"], r["by_detached"])
    return found


def _by_dataset(con: duckdb.DuckDBPyConnection, commune: str, limit: int) -> list[dict]:
    found = _rows(con, f"""
        SELECT d.dataset_id, d.emplacement, d.bytes, count(*) AS files, coalesce(sum(s.size), 0) AS signed_bytes,
               d.signed_share, CAST(d.first_cert_expiry AS DATE) AS first_cert_expiry,
               list(DISTINCT s.kind ORDER BY s.kind) FILTER (WHERE NOT s.by_detached) AS kinds
        FROM ({SIGNED}) s JOIN datasets d ON d.commune = $c AND d.dataset_id = s.dataset_id
        GROUP BY ALL ORDER BY first_cert_expiry NULLS LAST, signed_bytes DESC, d.emplacement LIMIT $n""",
                  {"c": commune, "n": limit})
    for r in found:
        r["kinds"] = ", ".join(KIND_LABELS.get(k, k) for k in r["kinds"] or [] if k)
    return found


def _expiring(con: duckdb.DuckDBPyConnection, commune: str, today: dt.date, limit: int) -> list[dict]:
    """Certificates (signer, issuer, expiry) that expire before the limit, or have expired."""
    return _rows(con, """
        SELECT signer, issuer, CAST(not_after AS DATE) AS not_after, count(*) AS files,
               min(path) AS example, CAST(not_after AS DATE) < $today AS expired
        FROM signatures WHERE commune = $c AND not_after IS NOT NULL AND CAST(not_after AS DATE) < $limit
        GROUP BY ALL ORDER BY not_after, signer, issuer LIMIT $n""",
                 {"c": commune, "today": today, "limit": expiry_limit(today), "n": limit})


def _orphans(con: duckdb.DuckDBPyConnection, commune: str, limit: int) -> list[dict]:
    found = _rows(con, """
        SELECT path, kind, size FROM signatures
        WHERE commune = $c AND detached AND document_path IS NULL ORDER BY path LIMIT $n""",
                  {"c": commune, "n": limit})
    for r in found:
        r["label"] = kind_label(r["kind"], True)
    return found


def _counts(con: duckdb.DuckDBPyConnection, commune: str, today: dt.date) -> dict:
    found = _rows(con, """
        SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes,
               count(*) FILTER (WHERE error IS NOT NULL) AS errors,
               -- Expired and expiring are told apart: an expired certificate is urgent.
               count(DISTINCT row(signer, issuer, not_after))
                   FILTER (WHERE CAST(not_after AS DATE) >= $today AND CAST(not_after AS DATE) < $limit)
                   AS expiring,
               count(DISTINCT row(signer, issuer, not_after)) FILTER (WHERE CAST(not_after AS DATE) < $today)
                   AS expired,
               CAST(min(not_after) FILTER (WHERE CAST(not_after AS DATE) < $today) AS DATE) AS first_expired,
               CAST(max(not_after) FILTER (WHERE CAST(not_after AS DATE) < $today) AS DATE) AS last_expired,
               count(*) FILTER (WHERE detached AND document_path IS NULL) AS orphans
        FROM signatures WHERE commune = $c""", {"c": commune, "today": today, "limit": expiry_limit(today)})[0]
    found["datasets"] = _rows(con, f"SELECT count(DISTINCT dataset_id) AS n FROM ({SIGNED})", {"c": commune})[0]["n"]
    return found


def signatures_section(con: duckdb.DuckDBPyConnection, commune: str, today: dt.date, limit: int) -> dict:
    """The commune report's section: every table bounded by `limit`, with its full count."""
    return {"counts": _counts(con, commune, today), "by_kind": _by_kind(con, commune),
            "by_dataset": _by_dataset(con, commune, limit), "expiring": _expiring(con, commune, today, limit),
            "orphans": _orphans(con, commune, limit), "limit": expiry_limit(today)}


def signature_counts(con: duckdb.DuckDBPyConnection, commune: str, today: dt.date) -> dict:
    """The territory synthesis' figures for one commune: counts and volume only."""
    return _counts(con, commune, today)


SIGNATURE_ANNEX_COLUMNS = ["identifiant_jeu", "chemin", "type", "detachee", "signatures", "volume_octets",
                           "date_signature", "signataire", "emetteur", "expiration_certificat", "document_signe",
                           "signe_par", "erreur"]


def signature_annex_rows(con: duckdb.DuckDBPyConnection, commune: str, batch: int = 10_000) -> Iterator[tuple]:
    """Every signature row of the commune (columns SIGNATURE_ANNEX_COLUMNS), streamed."""
    cur = con.execute(f"""
        SELECT dataset_id, path, kind, detached, by_detached, count, size, signed_at, signer, issuer,
               CAST(not_after AS DATE), document_path, document_signed_by, error
        FROM ({SIGNED}) ORDER BY path""", {"c": commune})
    while chunk := cur.fetchmany(batch):
        for row in chunk:
            yield (row[0], row[1], kind_label(row[2], bool(row[3]), bool(row[4])), "oui" if row[3] else "non",
                   *row[5:])
