"""Signed PDFs, made by pyHanko: PAdES and PKCS#7 signatures in an incremental update,
an unsigned signature field, a document time stamp (PAdES-LTA's last step); and the
unsigned one-page PDFs they start from (fpdf2)."""

from __future__ import annotations

import io
from datetime import datetime

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .pki import SIGNING_TIME, SigningPki, asn1_cert


def simple_pdf(lines: list[str], *, compress: bool = True) -> bytes:
    """A one-page PDF with LINES of text, made by fpdf2 (COMPRESS=False keeps the page's
    text readable in the file, as a careless tool or an old scanner would write it)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_compression(compress)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _pyhanko_signer(pki: SigningPki, key: rsa.RSAPrivateKey, cert: x509.Certificate):
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return signers.SimpleSigner(
        signing_cert=asn1_cert(cert), signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([asn1_cert(pki.root_cert)]))


def sign_pdf(pdf: bytes, pki: SigningPki, *, pades: bool = True, field_name: str = "Signature1") -> bytes:
    """PDF signed by pyHanko in an incremental update: PAdES (/SubFilter
    /ETSI.CAdES.detached) or, with PADES=False, /adbe.pkcs7.detached. Signing again an
    already signed PDF (another FIELD_NAME) adds a second signature."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    subfilter = fields.SigSeedSubFilter.PADES if pades else fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED
    meta = signers.PdfSignatureMetadata(field_name=field_name, subfilter=subfilter, md_algorithm="sha256")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.sign_pdf(writer, meta, signer=_pyhanko_signer(pki, pki.signer_key, pki.signer_cert))
    return out.getvalue()


def pdf_with_empty_signature_field(pdf: bytes, field_name: str = "Signature1") -> bytes:
    """PDF with a signature field nobody signed (/FT /Sig without /V)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name=field_name, box=(50, 50, 250, 100)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def timestamp_pdf(pdf: bytes, pki: SigningPki, gen_time: datetime = SIGNING_TIME) -> bytes:
    """The PDF with a document time stamp (/Type /DocTimeStamp, /SubFilter /ETSI.RFC3161)
    by pyHanko, from the test TSA at GEN_TIME: what a PAdES-LTA signature ends with."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key_der = pki.tsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    stamper = DummyTimeStamper(tsa_cert=asn1_cert(pki.tsa_cert), tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
                               fixed_dt=gen_time)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.PdfTimeStamper(timestamper=stamper).timestamp_pdf(writer, "sha256")
    return out.getvalue()
