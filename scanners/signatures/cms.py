"""CMS SignedData (CAdES, PKCS#7) and RFC 3161 time stamps, parsed with asn1crypto.

A file is a signature when it holds a ContentInfo of type signed-data
(1.2.840.113549.1.7.2) with at least one SignerInfo (a certificates-only .p7b/.p7c is not
one); its eContentType id-ct-TSTInfo (1.2.840.113549.1.9.16.1.4) makes it a time-stamp
token, whose genTime is the signing time. A TimeStampResp (.tsr) wraps such a token.
DER, PEM and bare base64 are read. Files up to WHOLE_LIMIT are read whole; above it (an
enveloping .p7m of a large document) the encapsulated content is skipped by walking the
BER headers, so only the certificates and signer infos are read.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import cms, core, tsp

from scanners.signatures.model import (
    SignatureInfo,
    Signer,
    Source,
    as_utc,
    grouped,
    join_errors,
    octets,
    signer_from_certificate,
    summarize,
)

WHOLE_LIMIT = 8 << 20     # read a CMS file whole up to this size
REST_LIMIT = 8 << 20      # certificates + CRLs + signer infos of a large file
PEM_LIMIT = 16 << 20      # PEM or base64 text (4/3 of the DER)
MAX_HEADERS = 100_000     # BER headers walked to skip a chunked (indefinite-length) content
MAX_DEPTH = 32            # nesting of indefinite-length elements (a real one has 2 or 3)

SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----")
_PEM_LABELS = (b"PKCS7", b"PKCS #7", b"CMS")  # not PGP SIGNATURE / PGP SIGNED MESSAGE
_BASE64 = re.compile(rb"[A-Za-z0-9+/=\r\n]+")


class Unreadable(Exception):
    """A signature that cannot be read; its message is French and shown as is."""


@dataclass
class CmsContent:
    """What a SignedData tells: `timestamp` or `cades`, its signers, whether the signed
    content is absent (a detached signature)."""

    kind: str
    signers: list[Signer] = field(default_factory=list)
    detached: bool = True
    errors: list[str] = field(default_factory=list)


# --- DER headers -----------------------------------------------------------------------

def _header(data: bytes, off: int) -> tuple[int, int, int | None]:
    """(tag byte, header length, content length or None for indefinite) of the BER element
    at OFF in DATA; raises Unreadable when DATA ends inside the header."""
    if off + 2 > len(data):
        raise Unreadable("signature tronquée")
    tag, i = data[off], off + 1
    if tag & 0x1F == 0x1F:  # high tag number: continuation bytes
        while i < len(data) and data[i] & 0x80:
            i += 1
        i += 1
    if i >= len(data):
        raise Unreadable("signature tronquée")
    first, i = data[i], i + 1
    if first == 0x80:
        return tag, i - off, None
    if first < 0x80:
        return tag, i - off, first
    n = first & 0x7F
    if n > 8 or i + n > len(data):
        raise Unreadable("signature tronquée ou corrompue")
    return tag, i + n - off, int.from_bytes(data[i:i + n], "big")


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def looks_like_cms(head: bytes) -> bool:
    """True when HEAD starts like a ContentInfo of signed-data or a TimeStampResp (the OID
    within the first bytes): anything else in DER is not a signature."""
    return head[:1] == b"\x30" and SIGNED_DATA_OID in head[:64]


# --- SignedData → signers --------------------------------------------------------------

def _certificates(signed_data: cms.SignedData) -> list:
    certs = signed_data["certificates"]
    if isinstance(certs, core.Void):
        return []
    return [choice.chosen for choice in certs if choice.name == "certificate"]


def _matching_certificate(sid: cms.SignerIdentifier, certs: list):
    for cert in certs:
        try:
            if sid.name == "issuer_and_serial_number":
                wanted = sid.chosen
                if (cert.serial_number == wanted["serial_number"].native
                        and cert.issuer.hashable == wanted["issuer"].hashable):
                    return cert
            elif cert.key_identifier == sid.chosen.native:
                return cert
        except Exception:  # noqa: BLE001 — one malformed certificate must not hide the others
            continue
    return None


def _attribute(attrs, name: str):
    if isinstance(attrs, core.Void):
        return None
    for attr in attrs:
        if attr["type"].native == name:
            return attr["values"][0]
    return None


def token_time(token: cms.ContentInfo) -> datetime | None:
    """genTime of a TimeStampToken (a ContentInfo whose SignedData holds a TSTInfo)."""
    content = token["content"]["encap_content_info"]["content"]
    if isinstance(content, core.Void):
        return None
    return as_utc(content.parsed["gen_time"].native)


def _signing_time(info: cms.SignerInfo, fallback: datetime | None) -> datetime | None:
    """Claimed signing time (signed attribute), else FALLBACK (a PDF's /M), else the time of
    a signature time-stamp token (CAdES-T, PAdES-T)."""
    claimed = _attribute(info["signed_attrs"], "signing_time")
    if claimed is not None:
        return as_utc(claimed.native)
    if fallback is not None:
        return fallback
    token = _attribute(info["unsigned_attrs"], "signature_time_stamp_token")
    return token_time(token) if token is not None else None


def read_signed_data(signed_data: cms.SignedData, fallback_time: datetime | None = None) -> CmsContent:
    """Kind, signers and detachment of a SignedData (lazily parsed by asn1crypto: a corrupt
    part is reported in `errors`, the rest is kept)."""
    encap = signed_data["encap_content_info"]
    kind = "timestamp" if encap["content_type"].dotted == "1.2.840.113549.1.9.16.1.4" else "cades"
    result = CmsContent(kind=kind, detached=isinstance(encap["content"], core.Void))
    if kind == "timestamp":
        try:
            fallback_time = as_utc(encap["content"].parsed["gen_time"].native)
        except Exception:  # noqa: BLE001 — asn1crypto raises many types on corrupt input
            result.errors.append("jeton d'horodatage illisible (TSTInfo)")
    try:
        certs = _certificates(signed_data)
    except Exception:  # noqa: BLE001
        certs = []
        result.errors.append("certificats illisibles")
    for info in signed_data["signer_infos"]:
        try:
            time = fallback_time if kind == "timestamp" else _signing_time(info, fallback_time)
            result.signers.append(signer_from_certificate(_matching_certificate(info["sid"], certs), time))
        except Exception:  # noqa: BLE001
            result.signers.append(Signer())
            result.errors.append("signataire illisible")
    return result


def parse_cms(der: bytes, fallback_time: datetime | None = None) -> CmsContent | None:
    """CmsContent of a DER (or BER) ContentInfo or TimeStampResp; None when DER is not a
    signature (another structure, or a SignedData without any signer). Raises Unreadable
    when it starts like one but cannot be read."""
    if not looks_like_cms(der):
        return None
    tag, hlen, length = _header(der, 0)
    if length is not None and hlen + length > len(der):
        raise Unreadable(f"signature tronquée : {octets(hlen + length)} annoncés, {grouped(len(der))} présents")
    try:
        if _header(der, hlen)[0] == 0x30:  # TimeStampResp: status first, then the token
            resp = tsp.TimeStampResp.load(der)
            token = resp["time_stamp_token"]
            if isinstance(token, core.Void):
                status = resp["status"]["status"].native
                raise Unreadable(f"réponse d'horodatage sans jeton (statut {status})")
            info = token
        else:
            info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            return None
        signed = info["content"]
        if len(signed["signer_infos"]) == 0:
            return None  # certificates only (.p7b, .p7c)
        return read_signed_data(signed, fallback_time)
    except Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001 — asn1crypto raises ValueError, TypeError... on corrupt input
        raise Unreadable("signature CMS illisible (structure corrompue)") from exc


# --- Files -----------------------------------------------------------------------------

def _pem_body(src: Source, head: bytes) -> bytes | None:
    """DER of a PEM signature; None when the PEM holds something else (a certificate...)."""
    m = _PEM.search(head)
    if m is None or not any(label in m.group(1) for label in _PEM_LABELS):
        return None
    if src.size > PEM_LIMIT:
        raise Unreadable(f"signature PEM trop volumineuse pour être lue ({octets(src.size)})")
    text = src.read(0, src.size)
    start = text.find(b"\n", text.find(m.group(0))) + 1
    end = text.find(b"-----END", start)
    if end < 0:
        raise Unreadable("signature PEM tronquée (pas de ligne -----END)")
    body = text[start:end]
    try:
        return binascii.a2b_base64(b"".join(body.split()))
    except (binascii.Error, ValueError) as exc:
        raise Unreadable("signature PEM illisible (base64 invalide)") from exc


def _base64_body(src: Source, head: bytes) -> bytes | None:
    """DER of a bare base64 file (no PEM lines, as some tools write a .p7m), or None."""
    if not head.startswith(b"MI") or not _BASE64.fullmatch(head[:256].rstrip()) or src.size > PEM_LIMIT:
        return None
    try:
        return binascii.a2b_base64(b"".join(src.read(0, src.size).split()))
    except (binascii.Error, ValueError):
        return None


def _skip(src: Source, off: int, budget: list[int], depth: int = 0) -> int:
    """Offset just past the BER element at OFF (walking an indefinite-length one)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise Unreadable("signature CMS trop fragmentée pour être lue")
    head = src.read(off, 16)
    _tag, hlen, length = _header(head, 0)
    if length is not None:
        return off + hlen + length
    pos = off + hlen
    while src.read(pos, 2) != b"\x00\x00":
        if pos >= src.size:
            raise Unreadable("signature tronquée")
        pos = _skip(src, pos, budget, depth + 1)
    return pos + 2


def _children(src: Source, off: int, end: int | None, budget: list[int]):
    """(offset, end) of each child of a constructed element whose content starts at OFF
    and ends at END (None: indefinite, up to the end-of-contents marker)."""
    pos = off
    while (pos < end) if end is not None else (src.read(pos, 2) != b"\x00\x00"):
        if pos >= src.size:
            raise Unreadable("signature tronquée")
        nxt = _skip(src, pos, budget)
        yield pos, nxt
        pos = nxt


def _enter(src: Source, off: int) -> tuple[int, int | None]:
    """(content offset, content end or None) of the constructed element at OFF."""
    _tag, hlen, length = _header(src.read(off, 16), 0)
    return off + hlen, (off + hlen + length) if length is not None else None


def _without_content(src: Source) -> bytes:
    """A DER ContentInfo with the SignedData of the large file SRC, its encapsulated
    content left out (read: version, algorithms, content type, certificates, CRLs, signer
    infos, within REST_LIMIT)."""
    budget = [MAX_HEADERS]
    ci_start, ci_end = _enter(src, 0)
    kids = list(_children(src, ci_start, ci_end, budget))
    if len(kids) < 2 or src.read(kids[0][0], len(SIGNED_DATA_OID)) != SIGNED_DATA_OID:
        raise Unreadable("signature CMS illisible (structure corrompue)")
    sd_start, sd_end = _enter(src, _enter(src, kids[1][0])[0])
    parts, rest = [], 0
    for i, (start, end) in enumerate(_children(src, sd_start, sd_end, budget)):
        if i == 2:  # encapContentInfo: keep its eContentType, drop the content
            econtent_start, econtent_end = _enter(src, start)
            oid_start, oid_end = next(_children(src, econtent_start, econtent_end, budget))
            parts.append(_der(0x30, src.read(oid_start, oid_end - oid_start)))
            continue
        rest += end - start
        if rest > REST_LIMIT:
            raise Unreadable("signature CMS trop volumineuse pour être lue "
                             f"(certificats au-delà de {octets(REST_LIMIT)})")
        parts.append(src.read(start, end - start))
    return _der(0x30, src.read(kids[0][0], kids[0][1] - kids[0][0]) + _der(0xA0, _der(0x30, b"".join(parts))))


def cms_der(src: Source, head: bytes) -> bytes | None:
    """The DER to parse for the file SRC (HEAD: its first bytes), or None when it is neither
    a CMS nor PEM nor base64 of one."""
    if looks_like_cms(head):
        return src.read(0, src.size) if src.size <= WHOLE_LIMIT else _without_content(src)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"-----BEGIN"):
        return _pem_body(src, stripped)
    return _base64_body(src, stripped)


def detect_cms(src: Source, head: bytes, expected: str | None, signed_names: tuple[str, ...]) -> SignatureInfo | None:
    """SignatureInfo of a CMS or time-stamp file. EXPECTED is the kind its extension
    promises (.p7s → cades, .tsr → timestamp) or None: a file that promises a signature
    but holds none readable is reported with an error, any other is not a signature.
    SIGNED_NAMES are given to a detached signature."""
    try:
        der = cms_der(src, head)
        content = parse_cms(der) if der is not None else None
    except Unreadable as exc:
        return SignatureInfo(kind=expected or "cades", count=0, error=str(exc))
    if content is None:
        if expected is None:
            return None
        what = "jeton d'horodatage" if expected == "timestamp" else "signature CMS"
        return SignatureInfo(kind=expected, count=0, error=f"n'est pas une {what} lisible")
    names = signed_names if content.detached or content.kind == "timestamp" else ()
    return summarize(content.kind, content.signers, error=join_errors(content.errors), signed_names=names)
