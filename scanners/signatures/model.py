"""What the signature scanner reports for one file, and the helpers every format shares:
reading bounded byte ranges of an open file, certificate fields, dates."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

KINDS = ("pades", "pdf-pkcs7", "cades", "xades", "xmldsig", "asic-s", "asic-e", "ooxml", "odf", "timestamp")


@dataclass(frozen=True)
class Signer:
    """One signature inside a file: when it claims to have been made and by whom.

    `signing_time` is the signer's claimed time (CMS signing-time attribute, a PDF's /M,
    XAdES SigningTime, OOXML SignatureTime, ODF dc:date) or, failing that, the time of a
    time-stamp token over the signature; for a time-stamp token it is genTime. Certificate
    fields come from the certificate the signature names (CMS SignerIdentifier, XAdES
    SigningCertificate) when the file embeds it; nothing is validated, nothing is fetched."""

    signing_time: datetime | None = None
    subject_cn: str | None = None
    issuer_cn: str | None = None
    not_after: datetime | None = None


@dataclass(frozen=True)
class SignatureInfo:
    """The signatures found in one file.

    - `kind`: one of KINDS.
    - `count`: signatures in the file (co-signatures of a CMS, ds:Signature elements of an
      XML, signature dictionaries of a PDF; a PDF's document time stamps count only when
      it has no other signature, and then `kind` is `timestamp`). 0 when the file looks
      signed but nothing could be read (see `error`).
    - `signing_time`: the earliest signing time of the file's signatures (UTC), or None.
    - `signer_cn`, `issuer_cn`, `not_after`: the certificate of the *first* signer, i.e.
      the signature with the earliest signing time (signatures without a time come after,
      in file order): the original signatory, whose document later signatures approve
      or time-stamp. Every signer is in `signers`, so a caller wanting the earliest expiry
      takes min(s.not_after for s in signers).
    - `error`: a French sentence when the file looks signed but could not be read in full
      (truncated, corrupt, refused as dangerous or too large); the other fields hold what
      could be read.
    - `signed_names`: for a detached signature, the names of the document it may sign, as
      fnmatch patterns relative to the signature's folder (`acte.pdf.p7s` → `acte.pdf`;
      `acte.p7s` → `acte`, `acte.*`; an ASiC-S container → its content member's name; a
      detached XAdES → the files its references name). Empty when the document is inside.
    """

    kind: str
    count: int
    signing_time: datetime | None = None
    signer_cn: str | None = None
    issuer_cn: str | None = None
    not_after: datetime | None = None
    error: str | None = None
    signed_names: tuple[str, ...] = ()
    signers: tuple[Signer, ...] = field(default=(), repr=False)


def summarize(kind: str, signers: list[Signer], *, error: str | None = None,
              signed_names: tuple[str, ...] = (), count: int | None = None) -> SignatureInfo:
    """SignatureInfo for KIND from its SIGNERS in file order (see SignatureInfo for which
    signer is 'first')."""
    timed = sorted((s for s in signers if s.signing_time is not None), key=lambda s: s.signing_time)  # type: ignore[arg-type,return-value]
    ordered = timed + [s for s in signers if s.signing_time is None]
    first = ordered[0] if ordered else Signer()
    return SignatureInfo(
        kind=kind, count=len(signers) if count is None else count, signing_time=first.signing_time,
        signer_cn=first.subject_cn, issuer_cn=first.issuer_cn, not_after=first.not_after, error=error,
        signed_names=signed_names, signers=tuple(ordered))


def grouped(n: int) -> str:
    """N with French digit grouping: « 4 294 967 295 » (no-break spaces)."""
    return f"{n:,}".replace(",", "\u00a0")


def octets(n: int) -> str:
    """N bytes the French way: « 4 294 967 295 octets »."""
    return grouped(n) + "\u00a0octets"


def join_errors(errors: list[str]) -> str | None:
    """One line from several problems (the first few, and how many more)."""
    unique = list(dict.fromkeys(errors))
    if not unique:
        return None
    if len(unique) > 3:
        return " ; ".join(unique[:3]) + f" ; et {len(unique) - 3} autre(s)"
    return " ; ".join(unique)


class Source:
    """Positional reads of an open file: thread-safe (pread), never past what is asked."""

    def __init__(self, fd: int, size: int | None = None) -> None:
        self.fd = fd
        self.size = os.fstat(fd).st_size if size is None else size

    def read(self, offset: int, length: int) -> bytes:
        """Up to LENGTH bytes at OFFSET (fewer at the end of the file)."""
        chunks = []
        while length > 0:
            chunk = os.pread(self.fd, min(length, 1 << 20), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
            length -= len(chunk)
        return b"".join(chunks)

    def tail(self, length: int) -> tuple[int, bytes]:
        """(offset, bytes) of the last LENGTH bytes."""
        start = max(0, self.size - length)
        return start, self.read(start, self.size - start)


# --- Certificates ----------------------------------------------------------------------

def _cn(name) -> str | None:
    """The common name of an asn1crypto Name (the last one if several), or None."""
    for rdn in reversed(name.chosen):
        for attr in rdn:
            if attr["type"].native == "common_name":
                value = attr["value"].native
                return str(value) if value is not None else None
    return None


def _field(read):
    """READ() or None when the certificate part it reads is corrupt (asn1crypto parses
    lazily: a bad name or date raises only when read)."""
    try:
        return read()
    except Exception:  # noqa: BLE001 — asn1crypto raises ValueError, TypeError, UnicodeDecodeError...
        return None


def signer_from_certificate(cert, signing_time: datetime | None) -> Signer:
    """Signer with the fields of an asn1crypto Certificate (None: the file did not embed it);
    a field that cannot be read is None."""
    if cert is None:
        return Signer(signing_time=signing_time)
    return Signer(signing_time=signing_time,
                  subject_cn=_field(lambda: _cn(cert["tbs_certificate"]["subject"])),
                  issuer_cn=_field(lambda: _cn(cert["tbs_certificate"]["issuer"])),
                  not_after=_field(lambda: as_utc(cert["tbs_certificate"]["validity"]["not_after"].native)))


def is_ca(cert) -> bool:
    """True when an asn1crypto Certificate says it is a certification authority."""
    try:
        return bool(cert.ca)
    except Exception:  # noqa: BLE001 — a malformed extension just means "not known as a CA"
        return False


# --- Dates -----------------------------------------------------------------------------

def as_utc(value: datetime | None) -> datetime | None:
    """VALUE in UTC; a naive time (no offset written) is taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_XS_DATETIME = re.compile(
    r"\s*(-?\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$")


def parse_xml_datetime(text: str | None) -> datetime | None:
    """An xs:dateTime (XAdES SigningTime, OOXML SignatureTime, ODF dc:date) in UTC, or None.
    Fractions beyond microseconds (LibreOffice writes nanoseconds) are cut; no offset → UTC."""
    if not text:
        return None
    m = _XS_DATETIME.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second, frac, tz = m.groups()
    try:
        value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                         int((frac or "0")[:6].ljust(6, "0")))
    except ValueError:
        return None
    return _with_offset(value, tz)


_PDF_DATE = re.compile(rb"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(Z|[+-]\d{2}'?(?:\d{2}'?)?)?")


def parse_pdf_date(raw: bytes | None) -> datetime | None:
    """A PDF date string (D:YYYYMMDDHHmmSS+HH'mm') in UTC, or None."""
    if not raw:
        return None
    m = _PDF_DATE.search(raw)
    if not m:
        return None
    year, month, day, hour, minute, second, tz = m.groups()
    try:
        value = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                         int(second or 0))
    except ValueError:
        return None
    return _with_offset(value, tz.decode("ascii").replace("'", "") if tz else None)


def _with_offset(value: datetime, tz: str | None) -> datetime | None:
    if tz and tz != "Z":
        digits = tz[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        value = value.replace(tzinfo=timezone(offset if tz[0] == "+" else -offset))
    return as_utc(value)
