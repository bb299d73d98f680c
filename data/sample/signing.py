"""Real signing code for the tests and the demo: a throwaway PKI made at run time, and
signed files of each kind the signature scanner detects (PAdES and PKCS#7 PDFs, CAdES,
XAdES and XMLDSig, ASiC-S and ASiC-E, signed DOCX and ODT, RFC 3161 tokens).

This module gathers the public names of the modules that do each job, so that callers
write `signing.sign_pdf(...)`:

    pki            the root CA, the signer and the time-stamping unit (`cryptography`)
    pdfsign        PDFs signed and time-stamped by pyHanko, unsigned ones by fpdf2
    cmssign        CMS signatures and RFC 3161 tokens (asn1crypto, `cryptography`)
    xmlsign        XAdES and XMLDSig by signxml
    containersign  ASiC-S, ASiC-E, signed DOCX and ODF documents

Nothing here is a trust anchor: names, dates and counts are fixed, keys are random.
"""

from .cmssign import cms_signature, timestamp_response, timestamp_token
from .containersign import ASIC_E_MIME, ASIC_S_MIME, asic_e, asic_s, sign_docx, sign_odf, zip_members
from .pdfsign import pdf_with_empty_signature_field, sign_pdf, simple_pdf, timestamp_pdf
from .pki import ROOT_CN, SIGNER_CN, SIGNER_NOT_AFTER, SIGNING_TIME, TSA_CN, SigningPki, asn1_cert, make_pki
from .xmlsign import DS_NS, sign_xml

__all__ = ["ASIC_E_MIME", "ASIC_S_MIME", "DS_NS", "ROOT_CN", "SIGNER_CN", "SIGNER_NOT_AFTER", "SIGNING_TIME",
           "TSA_CN", "SigningPki", "asic_e", "asic_s", "asn1_cert", "cms_signature", "make_pki",
           "pdf_with_empty_signature_field", "sign_docx", "sign_odf", "sign_pdf", "sign_xml", "simple_pdf",
           "timestamp_pdf", "timestamp_response", "timestamp_token", "zip_members"]
