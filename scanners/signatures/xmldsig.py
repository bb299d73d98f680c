"""XML signatures (XMLDSig, XAdES), in standalone XML files and inside containers.

The document is streamed through defusedxml's expat parser (entity declarations refused:
no "billion laughs", no external entity) into a small collector that keeps, for each
top-level ds:Signature, whether it carries xades:QualifyingProperties, its signing time
(XAdES SigningTime, OOXML mdssi:SignatureTime, ODF dc:date), its certificates and the
URIs its SignedInfo references. Nothing else is kept, so memory does not grow with the
document. A file is read only if its bytes name the XMLDSig namespace, and only its first
HEAD_BYTES; an enveloped signature of a larger file usually sits at its end, so the last
TAIL_BYTES are parsed too, from the first ds:Signature start tag they contain (with the
namespace prefixes the head declared). Signatures elsewhere in a large file are not seen.
"""

from __future__ import annotations

import base64
import binascii
import glob
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import ParseError

from asn1crypto import x509 as asn1_x509
from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from scanners.signatures.model import (
    SignatureInfo,
    Signer,
    Source,
    is_ca,
    join_errors,
    parse_xml_datetime,
    signer_from_certificate,
    summarize,
)

HEAD_BYTES = 1 << 20
TAIL_BYTES = 256 << 10
FEED_BYTES = 64 << 10
MAX_CERTS = 8
MAX_TEXT = 256 << 10

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/"
MDSSI = "http://schemas.openxmlformats.org/package/2006/digital-signature"
DC = "http://purl.org/dc/elements/1.1/"
_SIGNATURE = f"{{{DS}}}Signature"
_MARKERS = tuple(DS.encode(codec) for codec in ("ascii", "utf-16-le", "utf-16-be"))
_START_TAG = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?Signature[\s>/]")
_XMLNS = re.compile(rb"""xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']([^"']*)["']""")
_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DIGESTS = {"http://www.w3.org/2000/09/xmldsig#sha1": "sha1", "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
            "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
            "http://www.w3.org/2001/04/xmlenc#sha512": "sha512"}
BOMB = "XML refusé : il déclare des entités (risque de « bombe XML »), signature non lue"
ENCODING = "signature XML illisible (encodage non pris en charge)"


@dataclass
class XmlSignature:
    """What one top-level ds:Signature says."""

    xades: bool = False
    complete: bool = False
    time_text: str | None = None
    certificates: list[str] = field(default_factory=list)
    cert_digest: tuple[str | None, str] | None = None   # (algorithm URI, base64) of SigningCertificate
    cert_serial: str | None = None
    references: list[str] = field(default_factory=list)


def _local(tag: str) -> tuple[str, str]:
    ns, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return ns, name


class _Collector:
    """ElementTree parser target: records signatures, keeps no tree."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.signatures: list[XmlSignature] = []
        self.namespaces: dict[str, str] = {}
        self._current: XmlSignature | None = None
        self._inner = 0                 # counter-signatures open inside the current one
        self._capture: str | None = None
        self._text: list[str] = []
        self._text_size = 0
        self._digest_method: str | None = None

    def start_ns(self, prefix: str, uri: str) -> None:
        if len(self.namespaces) < 256:
            self.namespaces.setdefault(prefix or "", uri)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(tag)
        if tag == _SIGNATURE:
            if self._current is None:
                self._current = XmlSignature()
                self.signatures.append(self._current)
            else:
                self._inner += 1
            return
        if self._current is None or self._inner:
            return
        self._on_start(self._current, tag, parent, attrib)

    def _on_start(self, sig: XmlSignature, tag: str, parent: str, attrib: dict[str, str]) -> None:
        ns, name = _local(tag)
        parent_name = _local(parent)[1]
        if ns.startswith(XADES):
            self._on_xades(sig, name)
        elif ns == DS:
            self._on_ds(sig, name, parent_name, attrib)
        elif (ns == MDSSI and name == "Value" and parent_name == "SignatureTime") or (ns == DC and name == "date"):
            self._begin("time")

    def _on_xades(self, sig: XmlSignature, name: str) -> None:
        """A XAdES element: the qualifying properties, the signing time."""
        if name == "QualifyingProperties":
            sig.xades = True
        elif name == "SigningTime":
            self._begin("time")

    def _on_ds(self, sig: XmlSignature, name: str, parent_name: str, attrib: dict[str, str]) -> None:
        """An XML-DSig element: a reference, the signer's certificate and its identifiers."""
        if name == "Reference" and parent_name == "SignedInfo" and "URI" in attrib:
            sig.references.append(attrib["URI"])
        elif name == "X509Certificate" and len(sig.certificates) < MAX_CERTS:
            self._begin("certificate")
        elif name == "DigestMethod" and parent_name == "CertDigest":
            self._digest_method = attrib.get("Algorithm")
        elif name == "DigestValue" and parent_name == "CertDigest" and sig.cert_digest is None:
            self._begin("cert_digest")
        elif name == "X509SerialNumber" and parent_name == "IssuerSerial" and sig.cert_serial is None:
            self._begin("cert_serial")

    def _begin(self, what: str) -> None:
        self._capture, self._text, self._text_size = what, [], 0

    def data(self, text: str) -> None:
        if self._capture is not None and self._text_size < MAX_TEXT:
            self._text.append(text)
            self._text_size += len(text)

    def end(self, tag: str) -> None:
        self.stack.pop()
        sig = self._current
        if tag == _SIGNATURE and sig is not None:
            if self._inner:
                self._inner -= 1
            else:
                sig.complete = True
                self._current = None
            return
        if self._capture is None or sig is None:
            return
        text = "".join(self._text).strip()
        if self._capture == "time" and sig.time_text is None:
            sig.time_text = text
        elif self._capture == "certificate":
            sig.certificates.append(text)
        elif self._capture == "cert_digest":
            sig.cert_digest = (self._digest_method, text)
        elif self._capture == "cert_serial":
            sig.cert_serial = text
        self._capture = None

    def close(self) -> None:
        return None


def _feed(chunks: Iterable[bytes], collector: _Collector, *, final: bool) -> str | None:
    """Parse CHUNKS into COLLECTOR: None, BOMB, ENCODING, or "malformed" when the XML is not
    well-formed (expected when the input is cut: FINAL=False does not report the cut)."""
    parser = DefusedXMLParser(target=collector, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    try:
        for chunk in chunks:
            parser.feed(chunk)
        if final:
            parser.close()
    except DefusedXmlException:
        return BOMB
    except (ParseError, RecursionError):
        return "malformed"
    except (LookupError, ValueError):  # an encoding expat cannot read (unknown, multi-byte)
        return ENCODING
    return None


def _pieces(data: bytes) -> Iterable[bytes]:
    for i in range(0, len(data), FEED_BYTES):
        yield data[i:i + FEED_BYTES]


# --- From collected text to signers ----------------------------------------------------

def _load_certificates(texts: list[str]) -> list:
    certs = []
    for text in texts:
        try:
            cert = asn1_x509.Certificate.load(base64.b64decode("".join(text.split())))
            cert["tbs_certificate"]["subject"]  # noqa: B018 — parse now, so a bad one is skipped here
            certs.append(cert)
        except (binascii.Error, ValueError, TypeError):
            continue
    return certs


def _signing_certificate(sig: XmlSignature, certs: list):
    """The certificate XAdES SigningCertificate names (digest, or serial number), else the
    first one that is not a CA, else the first."""
    if sig.cert_digest is not None:
        algorithm = _DIGESTS.get(sig.cert_digest[0] or "", "sha256")
        for cert in certs:
            digest = base64.b64encode(hashlib.new(algorithm, cert.dump()).digest()).decode("ascii")
            if digest == sig.cert_digest[1]:
                return cert
    if sig.cert_serial is not None:
        for cert in certs:
            if str(cert.serial_number) == sig.cert_serial:
                return cert
    return next((c for c in certs if not is_ca(c)), certs[0] if certs else None)


def signers_of(signatures: list[XmlSignature]) -> list[Signer]:
    return [signer_from_certificate(_signing_certificate(sig, _load_certificates(sig.certificates)),
                                    parse_xml_datetime(sig.time_text))
            for sig in signatures]


def referenced_files(signatures: list[XmlSignature]) -> tuple[str, ...]:
    """Names (fnmatch patterns) of the files a detached signature's references point to
    (not '#id', not '')."""
    names: list[str] = []
    for sig in signatures:
        for uri in sig.references:
            parts = urlsplit(uri)
            if uri and not uri.startswith("#") and parts.scheme in ("", "file") and parts.path:
                name = unquote(parts.path).rstrip("/").rsplit("/", 1)[-1]
                if name and glob.escape(name) not in names:
                    names.append(glob.escape(name))
    return tuple(names)


# --- Entry points ----------------------------------------------------------------------

def parse_member(data: bytes) -> tuple[list[XmlSignature], str | None]:
    """Signatures of a whole XML member of a container, and an error sentence or None."""
    collector = _Collector()
    outcome = _feed(_pieces(data), collector, final=True)
    if outcome in (BOMB, ENCODING):
        return collector.signatures, outcome
    if outcome == "malformed":
        return collector.signatures, "signature XML illisible (XML mal formé)"
    return collector.signatures, None


def _tail_signatures(src: Source, head: bytes, namespaces: dict[str, str]) -> list[XmlSignature]:
    """Signatures in the last TAIL_BYTES of a large file, parsed from the first
    ds:Signature start tag there, with the head's namespace declarations."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return []  # UTF-16: the byte search below does not apply
    tail_start, tail = src.tail(TAIL_BYTES)
    for m in _START_TAG.finditer(tail):
        prefix = m.group(1) or b""
        start_tag = tail[m.start():tail.find(b">", m.start()) + 1]
        declared = re.search(rb"xmlns%s\s*=\s*[\"']([^\"']*)[\"']" % (b":" + prefix if prefix else b""), start_tag)
        uri = declared.group(1).decode("utf-8", "replace") if declared else namespaces.get(prefix.decode("ascii"))
        if uri == DS:
            break
    else:
        return []
    encoding = _ENCODING.search(head[:200])
    declaration = b'<?xml version="1.0" encoding="%s"?>' % encoding.group(1) if encoding else b""
    decls = "".join(f' xmlns:{p}="{u}"' for p, u in namespaces.items() if p and '"' not in u)
    wrapper = declaration + f"<catalogage-tail{decls}>".encode("ascii", "xmlcharrefreplace")
    collector = _Collector()
    _feed([wrapper, tail[m.start():]], collector, final=False)  # ends at the outer end tags: expected
    return [s for s in collector.signatures if s.complete]


def _head_signatures(first: bytes, whole: bool) -> tuple[list[XmlSignature], dict[str, str], str | None]:
    """Signatures parsed from the head FIRST (the whole file when WHOLE), the namespaces it
    declares, and the error to report, if any."""
    collector = _Collector()
    outcome = _feed(_pieces(first), collector, final=whole)
    sigs = collector.signatures
    error = None
    if outcome in (BOMB, ENCODING):
        error = outcome
    elif outcome == "malformed" and whole and any(not s.complete for s in sigs):
        error = "signature XML illisible (XML mal formé ou tronqué)"
    return sigs, collector.namespaces, error


def _declared_namespaces(first: bytes) -> dict[str, str]:
    """The namespace declarations of FIRST, read without parsing it."""
    namespaces: dict[str, str] = {}
    for m in _XMLNS.finditer(first):
        namespaces.setdefault(m.group(1).decode("ascii"), m.group(2).decode("utf-8", "replace"))
    return namespaces


def detect_xml(src: Source, head: bytes) -> SignatureInfo | None:
    """SignatureInfo of an XML file (HEAD: its first bytes), or None when it holds no
    ds:Signature."""
    size = src.size
    first = src.read(0, HEAD_BYTES) if len(head) < min(size, HEAD_BYTES) else head[:HEAD_BYTES]
    tail = src.tail(TAIL_BYTES)[1] if size > HEAD_BYTES else b""
    in_head = any(marker in first for marker in _MARKERS)
    if not in_head and not any(marker in tail for marker in _MARKERS):
        return None
    whole = size <= HEAD_BYTES
    sigs: list[XmlSignature] = []
    error = None
    namespaces: dict[str, str] | None = None
    if in_head:
        sigs, namespaces, error = _head_signatures(first, whole)
    if not sigs and not whole and error is None:
        if namespaces is None:  # the head names no signature: its declarations, without parsing it
            namespaces = _declared_namespaces(first)
        sigs = _tail_signatures(src, first, namespaces)
    if not sigs:
        return SignatureInfo(kind="xmldsig", count=0, error=error) if error else None
    kind = "xades" if any(s.xades for s in sigs) else "xmldsig"
    return summarize(kind, signers_of(sigs), error=join_errors([error] if error else []),
                     signed_names=referenced_files(sigs))
