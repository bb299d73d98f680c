"""Signed containers: ASiC-S (a document and its CAdES signature), ASiC-E (documents and
one XAdES over them), a DOCX with its OOXML package signature, an ODF document with
META-INF/documentsignatures.xml. Each signature's ds:Manifest lists every other member
with its SHA-256 digest, so the signature really covers the parts."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

from .cmssign import cms_signature
from .pki import SIGNING_TIME, SigningPki
from .xmlsign import DS_NS, manifest_signature, q

ASIC_S_MIME = b"application/vnd.etsi.asic-s+zip"
ASIC_E_MIME = b"application/vnd.etsi.asic-e+zip"


def zip_members(members: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    """A ZIP of MEMBERS (name, bytes) in order, dated 2024-03-14; STORED_FIRST stores the first one
    uncompressed (an ASiC or ODF `mimetype`)."""
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
    return zip_members([("mimetype", ASIC_S_MIME), (content_name, content), ("META-INF/signature.p7s", p7s)],
                       stored_first=True)


def asic_e(members: dict[str, bytes], pki: SigningPki, signing_time: datetime = SIGNING_TIME) -> bytes:
    """ASiC-E container: `mimetype` first and stored, the documents, and one XAdES
    signature over all of them in META-INF/signatures.xml (asic:XAdESSignatures)."""
    from lxml import etree

    asic_ns = "http://uri.etsi.org/02918/v1.2.1#"
    wrapper = etree.Element(q(asic_ns, "XAdESSignatures"), nsmap={"asic": asic_ns, "ds": DS_NS})
    wrapper.append(manifest_signature(members, pki, xades=True, signing_time=signing_time))
    sig = etree.tostring(wrapper, xml_declaration=True, encoding="UTF-8")
    return zip_members([("mimetype", ASIC_E_MIME), *members.items(), ("META-INF/signatures.xml", sig)],
                       stored_first=True)


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
    time_prop = etree.Element(q(DS_NS, "SignatureProperties"), nsmap={"ds": DS_NS})
    prop = etree.SubElement(time_prop, q(DS_NS, "SignatureProperty"), Target="#idPackageSignature")
    stamp = etree.SubElement(prop, q(_MDSSI, "SignatureTime"), nsmap={"mdssi": _MDSSI})
    etree.SubElement(stamp, q(_MDSSI, "Format")).text = "YYYY-MM-DDThh:mm:ssTZD"
    etree.SubElement(stamp, q(_MDSSI, "Value")).text = signing_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Signed last, over every part but the signature's own (as Office does).
    covered = {"/" + n: c for n, c in parts.items() if not n.startswith("_xmlsignatures/")}
    signature = manifest_signature(covered, pki, xades=False,
                                    signing_time=signing_time, extra=[time_prop])
    signature.set("Id", "idPackageSignature")
    parts["_xmlsignatures/sig1.xml"] = etree.tostring(signature, xml_declaration=True, encoding="UTF-8")
    order = ["[Content_Types].xml"] + [n for n in parts if n != "[Content_Types].xml"]
    return zip_members([(n, parts[n]) for n in order])


def sign_odf(odf: bytes, pki: SigningPki, signing_time: datetime = SIGNING_TIME) -> bytes:
    """The ODF document (ODT, ODS...) with META-INF/documentsignatures.xml: an XAdES
    signature whose Manifest covers every member, as LibreOffice places it; `mimetype`
    stays first and stored."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(odf)) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    dsig_ns = "urn:oasis:names:tc:opendocument:xmlns:digitalsignature:1.0"
    wrapper = etree.Element(q(dsig_ns, "document-signatures"), nsmap={None: dsig_ns})
    covered = {n: c for n, c in parts.items() if n != "mimetype" and not n.startswith("META-INF/")}
    wrapper.append(manifest_signature(covered, pki, xades=True, signing_time=signing_time))
    parts["META-INF/documentsignatures.xml"] = etree.tostring(wrapper, xml_declaration=True, encoding="UTF-8")
    order = ["mimetype"] + [n for n in parts if n != "mimetype"]
    return zip_members([(n, parts[n]) for n in order], stored_first=True)
