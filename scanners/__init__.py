"""Scanners: each walks one kind of source read-only and yields Arrow record batches."""
