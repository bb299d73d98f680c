"""Portable scan bundles: one Parquet file per scan, its `scans` row in the file metadata.

A commune scans its own server with `catalogue scan --bundle`, sends the file, and the
territory's pilot loads it with `catalogue ingest`. A bundle comes from another server:
it is untrusted input. Its metadata is checked field by field against the `scans` table
of this version's schema (known keys, types, values), its columns against `files`, its
rows against its metadata (commune, sizes, paths); totals are recomputed from the rows.
Values are always bound as parameters; the only identifiers in the SQL are the schema's
own column names. A bundle is checked completely before the catalogue is opened.

Loading is idempotent: a bundle carries its scan's UUID, and a UUID already in the
catalogue is not loaded twice, provided the content is the same (same checked metadata,
same recomputed totals, same digest of every column of every row); a different bundle
under the same UUID is refused.

    layout   the format: metadata key and version, the columns of this version's schema
    write    `scan --bundle`: scan into a work catalogue, then export the scan as a bundle
    meta     the metadata's scan row, checked field by field
    check    the whole bundle checked (metadata, columns, rows) without touching a catalogue
    ingest   a checked bundle loaded into a catalogue, once
"""

from catalogue.bundle.check import CheckedBundle, check_bundle
from catalogue.bundle.ingest import IngestResult, ingest_bundle
from catalogue.bundle.layout import BUNDLE_VERSION, LOCAL, META_KEY, schema
from catalogue.bundle.meta import CONVERTERS, parse_meta
from catalogue.bundle.write import export_scan, scan_to_bundle, work_dir

__all__ = ["BUNDLE_VERSION", "CONVERTERS", "LOCAL", "META_KEY", "CheckedBundle", "IngestResult", "check_bundle",
           "export_scan", "ingest_bundle", "parse_meta", "scan_to_bundle", "schema", "work_dir"]
