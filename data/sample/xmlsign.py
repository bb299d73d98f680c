"""XML signatures by signxml: enveloped XAdES or XMLDSig over a document, and the
enveloping signature over a ds:Manifest of parts that signature containers carry."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from urllib.parse import quote

from .pki import SIGNING_TIME, SigningPki

DS_NS = "http://www.w3.org/2000/09/xmldsig#"


def q(namespace: str, tag: str) -> str:
    """An lxml qualified name ({namespace}tag)."""
    return f"{{{namespace}}}{tag}"


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


def manifest_signature(members: dict[str, bytes], pki: SigningPki, *, xades: bool, signing_time: datetime,
                        extra: list | None = None):
    """An enveloping ds:Signature whose signed object is a ds:Manifest of MEMBERS (name →
    bytes, SHA-256 digests), plus EXTRA elements in the same object."""
    from lxml import etree
    from signxml import methods

    manifest = etree.Element(q(DS_NS, "Manifest"), nsmap={"ds": DS_NS})
    for name, content in members.items():
        ref = etree.SubElement(manifest, q(DS_NS, "Reference"), URI=quote(name, safe="/"))
        etree.SubElement(ref, q(DS_NS, "DigestMethod"), Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
        etree.SubElement(ref, q(DS_NS, "DigestValue")).text = base64.b64encode(
            hashlib.sha256(content).digest()).decode("ascii")
    signer = _xml_signer(xades, signing_time, methods.enveloping)
    return signer.sign([manifest, *(extra or [])], key=pki.signer_key, cert=[pki.signer_cert, pki.root_cert])
