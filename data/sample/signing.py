"""Real signing code for the tests and the demo: a throwaway PKI made at run time, and
signed files of each kind the signature scanner detects (PAdES and PKCS#7 PDFs, CAdES,
XAdES and XMLDSig, ASiC-S and ASiC-E, signed DOCX and ODT, RFC 3161 tokens).

Nothing here is a trust anchor: the root CA, the signer and the time-stamping unit are
generated with `cryptography` each time `make_pki` is called, with the names and the
expiry date given (defaults below), so that a test or a report can check them. Keys are
random, so signed bytes differ from run to run; names, dates and counts do not.

PDFs are signed by pyHanko, XML by signxml, CMS and time-stamp tokens are assembled with
asn1crypto and signed with `cryptography`. Containers (ASiC, OOXML, ODF) put an XMLDSig
in the member where their standard expects it; its ds:Manifest lists every other member
with its SHA-256 digest, so the signature really covers the parts.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from asn1crypto import algos, cms, tsp
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SIGNER_CN = "Marie Martin"
ROOT_CN = "Catalogage Autorité de test"
TSA_CN = "Catalogage Horodatage de test"
SIGNER_NOT_AFTER = datetime(2031, 6, 30, 23, 59, 59, tzinfo=UTC)
SIGNING_TIME = datetime(2024, 3, 14, 9, 30, 0, tzinfo=UTC)

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
ASIC_S_MIME = b"application/vnd.etsi.asic-s+zip"
ASIC_E_MIME = b"application/vnd.etsi.asic-e+zip"


def _q(namespace: str, tag: str) -> str:
    """An lxml qualified name ({namespace}tag)."""
    return f"{{{namespace}}}{tag}"


@dataclass(frozen=True)
class SigningPki:
    """A root CA, a signer certificate it issued, and a time-stamping unit (TSA)."""

    root_key: rsa.RSAPrivateKey
    root_cert: x509.Certificate
    signer_key: rsa.RSAPrivateKey
    signer_cert: x509.Certificate
    tsa_key: rsa.RSAPrivateKey
    tsa_cert: x509.Certificate


def _name(cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Catalogage (test)"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Signatures"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _certificate(subject: str, key: rsa.RSAPrivateKey, issuer: str, issuer_key: rsa.RSAPrivateKey,
                 not_before: datetime, not_after: datetime, *, ca: bool = False,
                 eku: x509.ObjectIdentifier | None = None) -> x509.Certificate:
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(signer_cn: str = SIGNER_CN, not_after: datetime = SIGNER_NOT_AFTER, root_cn: str = ROOT_CN,
             tsa_cn: str = TSA_CN) -> SigningPki:
    """A fresh PKI: the signer's certificate carries SIGNER_CN, is issued by ROOT_CN and
    expires at NOT_AFTER (whole seconds, UTC)."""
    start = datetime(2020, 1, 1, tzinfo=UTC)
    root_key, signer_key, tsa_key = (rsa.generate_private_key(65537, 2048) for _ in range(3))
    root = _certificate(root_cn, root_key, root_cn, root_key, start, datetime(2040, 1, 1, tzinfo=UTC),
                        ca=True)
    signer = _certificate(signer_cn, signer_key, root_cn, root_key, start, not_after)
    tsa = _certificate(tsa_cn, tsa_key, root_cn, root_key, start, datetime(2035, 1, 1, tzinfo=UTC),
                       eku=ExtendedKeyUsageOID.TIME_STAMPING)
    return SigningPki(root_key, root, signer_key, signer, tsa_key, tsa)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


# --- PDF -------------------------------------------------------------------------------

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
        signing_cert=_asn1_cert(cert), signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(pki.root_cert)]))


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


# --- CMS and time stamps ---------------------------------------------------------------

def _signer_info(key: rsa.RSAPrivateKey, cert: x509.Certificate, content_type: str, digest: bytes,
                 signing_time: datetime | None, *, by_key_id: bool = False) -> cms.SignerInfo:
    asn1_cert = _asn1_cert(cert)
    attrs = [
        cms.CMSAttribute({"type": "content_type", "values": [content_type]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest]}),
        cms.CMSAttribute({"type": "signing_certificate_v2", "values": [tsp.SigningCertificateV2({"certs": [{
            "hash_algorithm": {"algorithm": "sha256"},
            "cert_hash": hashlib.sha256(asn1_cert.dump()).digest()}]})]}),
    ]
    if signing_time is not None:
        attrs.insert(2, cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": signing_time})]}))
    signed_attrs = cms.CMSAttributes(attrs)
    # The signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4).
    signature = key.sign(signed_attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
    if by_key_id:  # RFC 5652: the certificate named by its subject key identifier, version 3
        sid = cms.SignerIdentifier({"subject_key_identifier": asn1_cert.key_identifier})
    else:
        sid = cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber({
            "issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number})})
    return cms.SignerInfo({
        "version": "v3" if by_key_id else "v1",
        "sid": sid,
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": signed_attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
        "signature": signature,
    })


def _signed_data(content_type: str, content: bytes, signer_infos: list[cms.SignerInfo],
                 certs: list[x509.Certificate], *, detached: bool) -> bytes:
    encap: dict = {"content_type": content_type}
    if not detached:
        # asn1crypto wants the parsed TSTInfo for a token, the raw octets for plain data.
        encap["content"] = tsp.TSTInfo.load(content) if content_type == "tst_info" else content
    signed = cms.SignedData({
        "version": "v1" if content_type == "data" else "v3",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": encap,
        "certificates": [_asn1_cert(c) for c in certs],
        "signer_infos": signer_infos,
    })
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def cms_signature(data: bytes, pki: SigningPki, *, detached: bool = True, signing_time: datetime | None = SIGNING_TIME,
                  pem: bool = False, cosigned: bool = False, by_key_id: bool = False) -> bytes:
    """CAdES-BES SignedData over DATA: detached (a .p7s) or enveloping (a .p7m, DATA inside),
    DER or PEM (`-----BEGIN PKCS7-----`). COSIGNED adds a second SignerInfo by the TSA key
    an hour later, to have two signers in one file. BY_KEY_ID names the signer's certificate
    by its subject key identifier instead of issuer and serial number."""
    digest = hashlib.sha256(data).digest()
    infos = [_signer_info(pki.signer_key, pki.signer_cert, "data", digest, signing_time, by_key_id=by_key_id)]
    certs = [pki.signer_cert, pki.root_cert]
    if cosigned:
        later = signing_time + timedelta(hours=1) if signing_time else None
        infos.append(_signer_info(pki.tsa_key, pki.tsa_cert, "data", digest, later))
        certs.append(pki.tsa_cert)
    der = _signed_data("data", data, infos, certs, detached=detached)
    if not pem:
        return der
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN PKCS7-----\n{body}-----END PKCS7-----\n".encode("ascii")


def timestamp_token(data: bytes, pki: SigningPki, gen_time: datetime = SIGNING_TIME, serial: int = 1) -> bytes:
    """An RFC 3161 TimeStampToken (.tst) over DATA, signed by the test TSA at GEN_TIME."""
    info = tsp.TSTInfo({
        "version": "v1",
        "policy": "1.3.6.1.4.1.99999.1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(data).digest()},
        "serial_number": serial,
        "gen_time": gen_time,
        "accuracy": {"seconds": 1},
        "ordering": False,
    }).dump()
    signer = _signer_info(pki.tsa_key, pki.tsa_cert, "tst_info", hashlib.sha256(info).digest(), None)
    return _signed_data("tst_info", info, [signer], [pki.tsa_cert], detached=False)


def timestamp_response(data: bytes, pki: SigningPki, gen_time: datetime = SIGNING_TIME) -> bytes:
    """An RFC 3161 TimeStampResp (.tsr): status granted and the token."""
    token = cms.ContentInfo.load(timestamp_token(data, pki, gen_time))
    return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


# --- XML -------------------------------------------------------------------------------

def _xml_signer(xades: bool, signing_time: datetime, method=None):
    """A signxml signer; XAdES ones write SIGNING_TIME (signxml stamps "now"), enveloping
    ones accept a list of elements to put together in the one signed ds:Object."""
    from lxml.etree import SubElement
    from signxml import XMLSigner, methods
    from signxml.xades import XAdESSigner
    from signxml.xades.xades import xades_tag  # type: ignore[attr-defined]

    class _Signer(XAdESSigner if xades else XMLSigner):  # type: ignore[misc,valid-type]
        def add_signing_time(self, signed_signature_properties, sig_root, signing_settings):
            node = SubElement(signed_signature_properties, xades_tag("SigningTime"), nsmap=self.namespaces)
            node.text = signing_time.isoformat(timespec="seconds")

        def _unpack(self, data, references):
            # signxml puts one element in the enveloped object; OOXML wants a Manifest and
            # the signature time side by side there, both covered by the signature.
            if not isinstance(data, list):
                return super()._unpack(data, references)
            sig_root, doc_root, c14n_inputs, references = super()._unpack(data[0], references)
            for element in data[1:]:
                c14n_inputs[0].append(element)
            return sig_root, doc_root, c14n_inputs, references

    return _Signer(method=method or methods.enveloped)


def sign_xml(xml: bytes, pki: SigningPki, *, xades: bool = True, signing_time: datetime = SIGNING_TIME) -> bytes:
    """XML document with an enveloped signature by signxml: XAdES (with
    xades:QualifyingProperties and SigningTime) or, with XADES=False, plain XMLDSig."""
    from lxml import etree

    root = etree.fromstring(xml)
    signed = _xml_signer(xades, signing_time).sign(
        root, key=pki.signer_key, cert=[pki.signer_cert, pki.root_cert])
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def _manifest_signature(members: dict[str, bytes], pki: SigningPki, *, xades: bool, signing_time: datetime,
                        extra: list | None = None):
    """An enveloping ds:Signature whose signed object is a ds:Manifest of MEMBERS (name →
    bytes, SHA-256 digests), plus EXTRA elements in the same object."""
    from lxml import etree
    from signxml import methods

    manifest = etree.Element(_q(DS_NS, "Manifest"), nsmap={"ds": DS_NS})
    for name, content in members.items():
        ref = etree.SubElement(manifest, _q(DS_NS, "Reference"), URI=quote(name, safe="/"))
        etree.SubElement(ref, _q(DS_NS, "DigestMethod"), Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
        etree.SubElement(ref, _q(DS_NS, "DigestValue")).text = base64.b64encode(
            hashlib.sha256(content).digest()).decode("ascii")
    signer = _xml_signer(xades, signing_time, methods.enveloping)
    return signer.sign([manifest, *(extra or [])], key=pki.signer_key, cert=[pki.signer_cert, pki.root_cert])


def _zip(members: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, content) in enumerate(members):
            compress = zipfile.ZIP_STORED if stored_first and i == 0 else zipfile.ZIP_DEFLATED
            info = zipfile.ZipInfo(name, date_time=(2024, 3, 14, 9, 30, 0))
            info.compress_type = compress
            zf.writestr(info, content)
    return out.getvalue()


def asic_s(content_name: str, content: bytes, pki: SigningPki, signing_time: datetime = SIGNING_TIME) -> bytes:
    """ASiC-S container: `mimetype` first and stored, the signed document, and its detached
    CAdES signature in META-INF/signature.p7s."""
    p7s = cms_signature(content, pki, signing_time=signing_time)
    return _zip([("mimetype", ASIC_S_MIME), (content_name, content), ("META-INF/signature.p7s", p7s)],
                stored_first=True)


def asic_e(members: dict[str, bytes], pki: SigningPki, signing_time: datetime = SIGNING_TIME) -> bytes:
    """ASiC-E container: `mimetype` first and stored, the documents, and one XAdES
    signature over all of them in META-INF/signatures.xml (asic:XAdESSignatures)."""
    from lxml import etree

    asic_ns = "http://uri.etsi.org/02918/v1.2.1#"
    wrapper = etree.Element(_q(asic_ns, "XAdESSignatures"), nsmap={"asic": asic_ns, "ds": DS_NS})
    wrapper.append(_manifest_signature(members, pki, xades=True, signing_time=signing_time))
    sig = etree.tostring(wrapper, xml_declaration=True, encoding="UTF-8")
    return _zip([("mimetype", ASIC_E_MIME), *members.items(), ("META-INF/signatures.xml", sig)], stored_first=True)


# --- Office documents ------------------------------------------------------------------

_SIG_ORIGIN_REL = "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/origin"
_SIG_REL = "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/signature"
_MDSSI = "http://schemas.openxmlformats.org/package/2006/digital-signature"


def sign_docx(docx: bytes, pki: SigningPki, signing_time: datetime = SIGNING_TIME) -> bytes:
    """The DOCX with an OOXML package signature: _xmlsignatures/sig1.xml (an XMLDSig whose
    Manifest covers every part, with mdssi:SignatureTime), origin.sigs and the two
    relationships and content types that tie them to the package."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(docx)) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    parts["_xmlsignatures/origin.sigs"] = b""
    parts["_xmlsignatures/_rels/origin.sigs.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_SIG_REL}" Target="sig1.xml"/></Relationships>').encode()
    rels = parts["_rels/.rels"].decode("utf-8")
    parts["_rels/.rels"] = rels.replace("</Relationships>", (
        f'<Relationship Id="rIdSig" Type="{_SIG_ORIGIN_REL}" Target="_xmlsignatures/origin.sigs"/>'
        "</Relationships>")).encode("utf-8")
    types = parts["[Content_Types].xml"].decode("utf-8")
    parts["[Content_Types].xml"] = types.replace("</Types>", (
        '<Default Extension="sigs" ContentType="application/vnd.openxmlformats-package.digital-signature-origin"/>'
        '<Override PartName="/_xmlsignatures/sig1.xml" '
        'ContentType="application/vnd.openxmlformats-package.digital-signature-xmlsignature+xml"/></Types>'
    )).encode("utf-8")
    time_prop = etree.Element(_q(DS_NS, "SignatureProperties"), nsmap={"ds": DS_NS})
    prop = etree.SubElement(time_prop, _q(DS_NS, "SignatureProperty"), Target="#idPackageSignature")
    stamp = etree.SubElement(prop, _q(_MDSSI, "SignatureTime"), nsmap={"mdssi": _MDSSI})
    etree.SubElement(stamp, _q(_MDSSI, "Format")).text = "YYYY-MM-DDThh:mm:ssTZD"
    etree.SubElement(stamp, _q(_MDSSI, "Value")).text = signing_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Signed last, over every part but the signature's own (as Office does).
    covered = {"/" + n: c for n, c in parts.items() if not n.startswith("_xmlsignatures/")}
    signature = _manifest_signature(covered, pki, xades=False,
                                    signing_time=signing_time, extra=[time_prop])
    signature.set("Id", "idPackageSignature")
    parts["_xmlsignatures/sig1.xml"] = etree.tostring(signature, xml_declaration=True, encoding="UTF-8")
    order = ["[Content_Types].xml"] + [n for n in parts if n != "[Content_Types].xml"]
    return _zip([(n, parts[n]) for n in order])


def sign_odf(odf: bytes, pki: SigningPki, signing_time: datetime = SIGNING_TIME) -> bytes:
    """The ODF document (ODT, ODS...) with META-INF/documentsignatures.xml: an XAdES
    signature whose Manifest covers every member, as LibreOffice places it; `mimetype`
    stays first and stored."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(odf)) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    dsig_ns = "urn:oasis:names:tc:opendocument:xmlns:digitalsignature:1.0"
    wrapper = etree.Element(_q(dsig_ns, "document-signatures"), nsmap={None: dsig_ns})
    covered = {n: c for n, c in parts.items() if n != "mimetype" and not n.startswith("META-INF/")}
    wrapper.append(_manifest_signature(covered, pki, xades=True, signing_time=signing_time))
    parts["META-INF/documentsignatures.xml"] = etree.tostring(wrapper, xml_declaration=True, encoding="UTF-8")
    order = ["mimetype"] + [n for n in parts if n != "mimetype"]
    return _zip([(n, parts[n]) for n in order], stored_first=True)


def timestamp_pdf(pdf: bytes, pki: SigningPki, gen_time: datetime = SIGNING_TIME) -> bytes:
    """The PDF with a document time stamp (/Type /DocTimeStamp, /SubFilter /ETSI.RFC3161)
    by pyHanko, from the test TSA at GEN_TIME: what a PAdES-LTA signature ends with."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key_der = pki.tsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    stamper = DummyTimeStamper(tsa_cert=_asn1_cert(pki.tsa_cert), tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
                               fixed_dt=gen_time)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.PdfTimeStamper(timestamper=stamper).timestamp_pdf(writer, "sha256")
    return out.getvalue()
