"""Reports: catalogue queries → context dicts → Jinja2 → HTML, WeasyPrint → PDF."""
