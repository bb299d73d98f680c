"""A « Parapheur » folder of really signed files (issue 17), made by data/sample/signing.py:
PAdES PDF, a PDF with its detached CAdES signature and time-stamp token, XAdES, ASiC-E, a
signed ODT and a signed DOCX. Keys are made at run time, so the signed bytes differ from
run to run; names, signers, dates and counts do not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from . import formats, signing

# File name → kind the scan must find in it (None: a document signed by a detached signature).
PARAPHEUR_KINDS = {
    "Arrêté 2024-001 signé.pdf": "pades",
    "Délibération 2024-002.pdf": None,
    "Délibération 2024-002.pdf.p7s": "cades",
    "Délibération 2024-002.pdf.tsr": "timestamp",
    "Procès-verbal 2024-003.xml": "xades",
    "Marché 2024-004.asice": "asic-e",
    "Convention 2024-005.odt": "odf",
    "Convention 2024-006.docx": "ooxml",
}


# The demo's signers' certificates: one expiry per commune (the report lists those near it).
DEMO_EXPIRY = {"99001": datetime(2031, 6, 30, 23, 59, 59, tzinfo=UTC),
               "99002": datetime(2027, 9, 30, 23, 59, 59, tzinfo=UTC),
               "99003": datetime(2029, 12, 31, 23, 59, 59, tzinfo=UTC)}


def demo_pki(code: str, nom: str) -> signing.SigningPki:
    """The test PKI of a demo commune: its maire signs, with a fixed expiry."""
    return signing.make_pki(signer_cn=f"Maire de {nom}",
                            not_after=DEMO_EXPIRY.get(code, signing.SIGNER_NOT_AFTER))


def write_parapheur(folder: Path, commune: str, pki: signing.SigningPki | None = None) -> list[Path]:
    """Write the parapheur's signed files into FOLDER (made if needed); returns their paths."""
    pki = pki or signing.make_pki()
    folder.mkdir(parents=True, exist_ok=True)
    pdf = signing.simple_pdf([f"Commune {commune}", "Arrêté du maire n° 2024-001"])
    deliberation = signing.simple_pdf([f"Commune {commune}", "Délibération du conseil n° 2024-002"])
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><proces-verbal commune="{commune}" numero="2024-003">'
           "<objet>Séance du conseil municipal</objet></proces-verbal>").encode()
    files = {
        "Arrêté 2024-001 signé.pdf": signing.sign_pdf(pdf, pki),
        "Délibération 2024-002.pdf": deliberation,
        "Délibération 2024-002.pdf.p7s": signing.cms_signature(deliberation, pki),
        "Délibération 2024-002.pdf.tsr": signing.timestamp_response(deliberation, pki),
        "Procès-verbal 2024-003.xml": signing.sign_xml(xml, pki),
        "Marché 2024-004.asice": signing.asic_e({"marche.pdf": pdf, "annexe.xml": xml}, pki),
        "Convention 2024-005.odt": signing.sign_odf(formats.odt("Convention", [f"Commune {commune}"]), pki),
        "Convention 2024-006.docx": signing.sign_docx(formats.docx("Convention", [f"Commune {commune}"]), pki),
    }
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths
