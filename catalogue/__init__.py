"""Catalogage: inventory of a territory's born-digital records before SAE ingest."""

__version__ = "0.1.0"
