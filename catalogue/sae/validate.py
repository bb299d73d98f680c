"""Check a SIP against the plain SEDA XSD of its version, offline.

The SEDA schemas are not shipped with Catalogage: the archivist points at a folder that
holds them as the SIAF publishes them (`seda-2.2/seda-2.2-main.xsd`, `seda-2.3/…`) with
local copies of the two W3C schemas they import (`w3c/xml.xsd`, `w3c/xlink.xsd`). The
project's reference folder `../shared/seda` has that layout. No network is used: the W3C
addresses resolve to those copies, any other is refused.
"""

from __future__ import annotations

import zipfile
from functools import cache
from pathlib import Path

from lxml import etree

from catalogue.errors import CatalogueError

_W3C = {"http://www.w3.org/2001/xml.xsd": "xml.xsd", "http://www.w3.org/1999/xlink.xsd": "xlink.xsd"}


class _Offline(etree.Resolver):
    def __init__(self, w3c: Path) -> None:
        super().__init__()
        self.w3c = w3c

    def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
        if url in _W3C:
            return self.resolve_filename(str(self.w3c / _W3C[url]), context)
        return None


@cache
def seda_schema(xsd_dir: Path, version: str) -> etree.XMLSchema:
    """The XSD of SEDA VERSION ("2.2" or "2.3") from XSD_DIR."""
    main = xsd_dir / f"seda-{version}" / f"seda-{version}-main.xsd"
    if not main.is_file():
        raise CatalogueError(f"Schéma SEDA {version} introuvable : {main} (dossier des schémas SEDA attendu).")
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_Offline(xsd_dir / "w3c"))
    return etree.XMLSchema(etree.parse(str(main), parser))


def manifest_errors(manifest: bytes, xsd_dir: Path, version: str) -> list[str]:
    """The XSD's complaints about MANIFEST (empty when it is valid)."""
    root = etree.fromstring(manifest, etree.XMLParser(no_network=True, resolve_entities=False))
    schema = seda_schema(xsd_dir, version)
    if schema.validate(root):
        return []
    return [f"ligne {e.line} : {e.message}" for e in schema.error_log]


def sip_errors(sip: Path, xsd_dir: Path, version: str) -> list[str]:
    """The XSD's complaints about the manifest of the SIP (a ZIP) at SIP."""
    with zipfile.ZipFile(sip) as zf:
        return manifest_errors(zf.read("manifest.xml"), xsd_dir, version)
