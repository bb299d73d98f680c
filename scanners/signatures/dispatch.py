"""Which files may hold a signature (by name, PRONOM id or MIME type, without reading),
and what a candidate holds (by its first bytes, then the reader for its format)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from functools import partial

from scanners.filesystem import extension_of
from scanners.signatures.cms import detect_cms, looks_like_cms
from scanners.signatures.containers import ASIC_EXTENSIONS, ODF_EXTENSIONS, OOXML_EXTENSIONS, detect_zip
from scanners.signatures.model import SignatureInfo, Source
from scanners.signatures.pairing import signed_names_for
from scanners.signatures.pdf import detect_pdf
from scanners.signatures.xmldsig import detect_xml

MIN_SIZE = 64  # smaller than any signature (a bare RSA-2048 signature alone is 256 bytes)
HEAD_BYTES = 4096

CMS_EXTENSIONS = frozenset({"p7s", "p7m", "p7b", "p7c", "pkcs7", "p7", "cms"})
SIGNATURE_EXTENSIONS = frozenset({"p7s", "p7m", "pkcs7"})  # a name that promises a signature (.p7b/.p7c: certificates)
TIMESTAMP_EXTENSIONS = frozenset({"tsr", "tst"})
CANDIDATE_EXTENSIONS = (
    {"pdf", "xml", "xades", "pem", "sig", "zip"} | CMS_EXTENSIONS | TIMESTAMP_EXTENSIONS
    | set(ASIC_EXTENSIONS) | OOXML_EXTENSIONS | ODF_EXTENSIONS)
# PRONOM ids siegfried gives signature-bearing formats whatever their name (checked on
# real files): PKCS#7, ASiC-S, ASiC-E, XML, ZIP.
CANDIDATE_PUIDS = frozenset({"fmt/670", "fmt/1341", "fmt/1564", "fmt/101", "x-fmt/263"})
CANDIDATE_MIME_PREFIXES = (
    "application/pdf", "application/pkcs7", "application/x-pkcs7", "application/timestamp",
    "application/xml", "text/xml", "application/vnd.etsi.asic", "application/zip",
    "application/vnd.openxmlformats-officedocument.", "application/vnd.ms-word.", "application/vnd.ms-excel.",
    "application/vnd.ms-powerpoint.", "application/vnd.oasis.opendocument.")


def is_candidate(name: str, extension: str | None, size: int, puid: str | None, mime: str | None) -> bool:
    """True when the file may hold a signature and is worth reading: a PDF, CMS, PEM,
    time-stamp, XML, ZIP-based document or signature container, by extension, PRONOM id
    or MIME type. Reads nothing."""
    if size < MIN_SIZE:
        return False
    ext = extension if extension is not None else extension_of(name)
    if ext in CANDIDATE_EXTENSIONS or puid in CANDIDATE_PUIDS:
        return True
    return bool(mime) and mime.lower().startswith(CANDIDATE_MIME_PREFIXES)  # type: ignore[union-attr]


def _expected(ext: str | None) -> str | None:
    """The kind a name promises, so that a broken file of that name is reported."""
    if ext in TIMESTAMP_EXTENSIONS:
        return "timestamp"
    if ext in SIGNATURE_EXTENSIONS:
        return "cades"
    return None


def _looks_like_xml(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"<") or head.startswith((b"\xff\xfe", b"\xfe\xff"))


def detect_open(fd: int, name: str, size: int | None = None) -> SignatureInfo | None:
    """SignatureInfo of the open regular file FD named NAME (its extension helps, its bare
    name makes a detached signature's signed_names), or None when it holds no signature.
    Bad content never raises: it is reported in SignatureInfo.error or ignored. OSError
    from reading propagates, for the caller to record as it does for other stages."""
    src = Source(fd, size)
    head = src.read(0, HEAD_BYTES)
    ext = extension_of(name)
    kind, read = _reader(head, ext, name)
    if read is None:
        return None
    try:
        return read(src)
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 — last resort: a parser met a case nobody foresaw; the scan goes on
        return SignatureInfo(kind=kind, count=0, error=f"signature illisible (erreur inattendue {type(exc).__name__})")


def _reader(head: bytes, ext: str | None, name: str) -> tuple[str, Callable[[Source], SignatureInfo | None] | None]:
    """(the kind to report if reading fails, the reader for the format HEAD shows)."""
    cms = partial(detect_cms, head=head, expected=_expected(ext), signed_names=signed_names_for(name))
    if looks_like_cms(head):  # before PDF: an enveloping .p7m often holds one
        return _expected(ext) or "cades", cms
    if head.startswith(b"PK\x03\x04"):  # before PDF: a container may store one uncompressed
        return ASIC_EXTENSIONS.get(ext or "", "asic-e"), partial(detect_zip, head=head, extension=ext)
    if head.startswith(b"%PDF-"):
        return "pdf-pkcs7", detect_pdf
    if _looks_like_xml(head) and not head.lstrip().startswith(b"-----"):
        return "xmldsig", partial(detect_xml, head=head)
    if b"%PDF-" in head[:1024]:  # readers accept a header after some junk
        return "pdf-pkcs7", detect_pdf
    if ext in CMS_EXTENSIONS or ext in TIMESTAMP_EXTENSIONS or ext in ("pem", "sig") \
            or head.lstrip().startswith(b"-----BEGIN"):
        return _expected(ext) or "cades", cms
    return "", None


def detect(path: str | bytes | os.PathLike, name: str | None = None) -> SignatureInfo | None:
    """detect_open on the file at PATH, opened read-only without following a final
    symlink, without updating its access time where allowed, and only if it is a regular
    file (None otherwise)."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags | noatime)
    except PermissionError:
        fd = os.open(path, flags)  # O_NOATIME needs ownership of the file
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        label = name if name is not None else os.path.basename(os.fsdecode(path))
        return detect_open(fd, label, st.st_size)
    finally:
        os.close(fd)
