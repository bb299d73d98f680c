"""Scanners: each reads one kind of source read-only and yields Arrow record batches.

A scanner module exports SCANNER (scanners.schemas.ScannerInfo): the kind of source it
reads and the feeds its batches fill, a DuckDB table and an Arrow schema each, all
declared in scanners/schemas.py. The database and mail scanners yield one record per
table or mail folder (a summary needs them whole) and turn them into batches with their
`to_batch` / `to_batches`. Scanners know nothing of DuckDB: the catalogue stores the batches.
"""
