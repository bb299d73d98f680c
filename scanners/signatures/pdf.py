"""Signatures of a PDF: signature dictionaries with /ByteRange and /Contents.

A signature dictionary lies outside any object stream, since its /ByteRange names raw
byte offsets of the file: [0 b c d] covers everything but the hex string /Contents <…>,
which spans exactly [b, c). So each `/ByteRange` is checked against the file itself: it
must start at 0, point at a `<` that follows `/Contents` in the same object, and that
hex string must decode to a CMS SignedData (an RFC 3161 token for a document time stamp).
A PDF whose text merely contains "/ByteRange", or an empty signature field (/FT /Sig
without /V), fails these checks and is not signed.

Reading stays bounded: signing appends an incremental update, so the last TAIL_BYTES are
read first (the whole file when smaller). When they show no sign of signing (/ByteRange,
/Sig, /SigFlags, /DocTimeStamp, /DSS) but the last cross-reference section names a
previous one (/Prev: the file was updated after it was made, as signing does), the last
UPDATED_TAIL_BYTES are looked at too. Only a file with such signs is searched for every
/ByteRange, chunk by chunk, up to SCAN_LIMIT bytes from its end. A PDF updated after
signing by more than UPDATED_TAIL_BYTES without naming its signature again, or signed
when it was made far from its end, is missed; signatures more than SCAN_LIMIT from the end
are not counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from scanners.signatures.cms import Unreadable, parse_cms
from scanners.signatures.model import (
    SignatureInfo,
    Signer,
    Source,
    grouped,
    join_errors,
    octets,
    parse_pdf_date,
    summarize,
)

TAIL_BYTES = 64 << 10
UPDATED_TAIL_BYTES = 1 << 20
SCAN_LIMIT = 256 << 20
CHUNK_BYTES = 4 << 20
CONTENTS_LIMIT = 16 << 20   # hex characters of one /Contents (8 MB of CMS)
DICT_WINDOW = 16 << 10      # how far around /Contents the rest of its dictionary is looked for

_KEY = b"/ByteRange"
_EVIDENCE = re.compile(rb"/ByteRange|/Sig\b|/SigFlags|/DocTimeStamp|/DSS\b")
_BYTERANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_SUBFILTER = re.compile(rb"/SubFilter\s*/([^\s/<>\[\]()]+)")
_SIGNING_TIME = re.compile(rb"/M\s*(?:\(((?:[^)\\]|\\.)*)\)|<([0-9A-Fa-f\s]*)>)")
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.DOTALL)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
_DOC_TIMESTAMP = re.compile(rb"/Type\s*/DocTimeStamp\b")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_STARTXREF = re.compile(rb"startxref\s+(\d+)")
_PREV = re.compile(rb"/Prev\s+\d+")

PADES = "ETSI.CAdES.detached"
DOC_TIMESTAMP = "ETSI.RFC3161"
RSA_SHA1 = "adbe.x509.rsa_sha1"


@dataclass
class PdfSignature:
    """One signature dictionary: where its /Contents lie, its /SubFilter, its signer."""

    contents_at: int
    subfilter: str | None
    doc_timestamp: bool
    signer: Signer = field(default_factory=Signer)
    errors: list[str] = field(default_factory=list)


def find_byteranges(src: Source, start: int, end: int, chunk_bytes: int = CHUNK_BYTES) -> Iterator[int]:
    """Offsets of /ByteRange in [START, END), read CHUNK_BYTES at a time (a key that
    straddles two chunks is found: each read overlaps the next by the key's length)."""
    pos = start
    while pos < end:
        n = min(chunk_bytes, end - pos)
        chunk = src.read(pos, n + len(_KEY) - 1)
        i = chunk.find(_KEY)
        while 0 <= i < n:
            yield pos + i
            i = chunk.find(_KEY, i + 1)
        pos += n


def _dictionary(src: Source, hit: int, b: int, c: int) -> bytes | None:
    """The text of the object holding /Contents [b, c), without the hex string, if the
    /ByteRange at HIT belongs to it; else None."""
    start = max(0, b - DICT_WINDOW)
    before = src.read(start, b - start)
    if not before.rstrip().endswith(b"/Contents"):
        return None
    starts = list(_OBJ.finditer(before))
    prefix = before[starts[-1].start():] if starts else before
    after = src.read(c, DICT_WINDOW)
    end = after.find(b"endobj")
    suffix = after[:end] if end >= 0 else after
    if not (b - len(prefix) <= hit < c + len(suffix)):
        return None
    return prefix + suffix


def _contents(src: Source, b: int, c: int) -> bytes | None:
    """The DER in the hex string [b, c), None for an unfilled placeholder (all zeros)."""
    raw = src.read(b, c - b)
    if len(raw) < c - b or not raw.endswith(b">"):
        raise Unreadable("signature PDF tronquée")
    digits = b"".join(raw[1:-1].split())
    if not digits.strip(b"0"):
        return None
    if len(digits) % 2:
        digits += b"0"  # PDF: a missing final digit is 0
    try:
        return bytes.fromhex(digits.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Unreadable("signature PDF illisible (/Contents n'est pas hexadécimal)") from exc


def _claimed_time(text: bytes):
    """The dictionary's /M, a literal string (pyHanko writes `(D\\07220240314...)`, an
    octal escape for the colon) or a hex one."""
    m = _SIGNING_TIME.search(text)
    if m is None:
        return None
    if m.group(2) is not None:
        digits = b"".join(m.group(2).split())
        try:
            return parse_pdf_date(bytes.fromhex(digits.decode("ascii")))
        except ValueError:
            return None
    literal = _ESCAPE.sub(lambda e: bytes([int(e.group(1), 8) & 0xFF]) if e.group(1)[:1] in b"01234567"
                          else _ESCAPES.get(e.group(1), e.group(1)), m.group(1))
    return parse_pdf_date(literal)


def _signature_at(src: Source, hit: int) -> PdfSignature | None:
    """The signature whose /ByteRange is at HIT, or None when it is not a real one."""
    m = _BYTERANGE.match(src.read(hit, 256))
    if m is None:
        return None
    a, b, c, d = (int(g) for g in m.groups())
    if a != 0 or not 0 < b < c <= b + CONTENTS_LIMIT or b >= src.size or src.read(b, 1) != b"<":
        return None
    text = _dictionary(src, hit, b, c)
    if text is None:
        return None
    subfilter = _SUBFILTER.search(text)
    sig = PdfSignature(contents_at=b, subfilter=subfilter.group(1).decode("latin-1") if subfilter else None,
                       doc_timestamp=False)
    sig.doc_timestamp = sig.subfilter == DOC_TIMESTAMP or _DOC_TIMESTAMP.search(text) is not None
    claimed_time = _claimed_time(text)
    sig.signer = Signer(signing_time=claimed_time)
    if c + d > src.size:
        sig.errors.append(f"PDF tronqué : la signature couvre {octets(c + d)}, "
                          f"le fichier en compte {grouped(src.size)}")
    try:
        der = _contents(src, b, c)
        if der is None:
            return None
        if sig.subfilter == RSA_SHA1:
            return sig  # a bare PKCS#1 signature, its certificate in /Cert: counted, not read
        content = parse_cms(der, fallback_time=claimed_time)
        if content is None:
            raise Unreadable("signature PDF illisible (/Contents n'est pas une signature CMS)")
    except Unreadable as exc:
        sig.errors.append(str(exc))
        return sig
    sig.errors.extend(content.errors)
    if content.signers:
        sig.signer = content.signers[0]
    return sig


def _was_updated(src: Source, tail: bytes) -> bool:
    """True when the last cross-reference section of the file ending with TAIL has a /Prev
    (in its trailer, or in its dictionary when it is a cross-reference stream), or when
    TAIL has no readable startxref."""
    at = tail.rfind(b"startxref")
    m = _STARTXREF.match(tail, at) if at >= 0 else None
    if m is None:
        return True
    trailer = tail.rfind(b"trailer", 0, at)
    if trailer >= 0 and _PREV.search(tail, trailer, at):
        return True
    section = src.read(int(m.group(1)), 4096)
    return not section.startswith(b"xref") and _PREV.search(section.split(b"stream", 1)[0]) is not None


def signatures(src: Source, chunk_bytes: int = CHUNK_BYTES) -> list[PdfSignature]:
    """Every signature dictionary found, in file order (see the module docstring); the
    search beyond the tail reads CHUNK_BYTES at a time."""
    tail_start, tail = src.tail(TAIL_BYTES)
    if _EVIDENCE.search(tail) is None:
        if tail_start == 0 or not _was_updated(src, tail):
            return []
        tail_start, tail = src.tail(UPDATED_TAIL_BYTES)
        if _EVIDENCE.search(tail) is None:
            return []
    hits = {tail_start + m.start() for m in re.finditer(re.escape(_KEY), tail)}
    if tail_start > 0:
        hits.update(find_byteranges(src, max(0, src.size - SCAN_LIMIT), tail_start, chunk_bytes))
    found: dict[int, PdfSignature] = {}
    for hit in sorted(hits):
        sig = _signature_at(src, hit)
        if sig is not None:  # a later revision may copy the dictionary: one per /Contents
            found.setdefault(sig.contents_at, sig)
    return [found[k] for k in sorted(found)]


def detect_pdf(src: Source, chunk_bytes: int = CHUNK_BYTES) -> SignatureInfo | None:
    """SignatureInfo of a PDF, or None when it holds no signature (CHUNK_BYTES: see `signatures`)."""
    sigs = signatures(src, chunk_bytes)
    regular = [s for s in sigs if not s.doc_timestamp]
    counted = regular or sigs
    if not counted:
        return None
    if not regular:
        kind = "timestamp"
    elif any(s.subfilter == PADES for s in regular):
        kind = "pades"
    else:
        kind = "pdf-pkcs7"
    errors = [f"signature n°{i} : {e}" if len(counted) > 1 else e
              for i, s in enumerate(counted, 1) for e in s.errors]
    return summarize(kind, [s.signer for s in counted], error=join_errors(errors))
