"""catalogue.sae.validate: the plain SEDA XSD, offline, says what is wrong with a manifest."""

from __future__ import annotations

import pytest

from catalogue.errors import CatalogueError
from catalogue.sae.validate import manifest_errors
from tests.saedata import need_shared


def test_vitam_samples_use_extensions_the_plain_xsd_rejects():
    """The Vitam samples carry Vitam's own extensions (see ../shared/vitam/README.md): the
    validator must catch what a manifest of ours must never hold."""
    shared = need_shared()
    for version in ("2.2", "2.3"):
        sample = (shared / "vitam" / "sip-exemples" / f"seda-{version}-manifest.xml").read_bytes()
        errors = manifest_errors(sample, shared / "seda", version)
        assert errors and all(e.startswith("ligne ") for e in errors)


def test_missing_schema_folder_is_a_french_error(tmp_path):
    with pytest.raises(CatalogueError) as exc:
        manifest_errors(b"<ArchiveTransfer/>", tmp_path, "2.2")
    assert str(exc.value).startswith("Schéma SEDA 2.2 introuvable : ")
