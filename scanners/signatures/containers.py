"""Signatures inside ZIP containers: ASiC-S and ASiC-E, OOXML (docx, xlsx, pptx...) and
ODF (odt, ods...), read with the standard zipfile module.

Only what the standards name is read: the `mimetype` member in the local header at offset
0 (ASiC, ODF), the central directory (refused above DIRECTORY_LIMIT), and the signature
members (ASiC META-INF/*signature*.xml|.p7s and timestamp*.tst, OOXML _xmlsignatures/*.xml,
ODF META-INF/documentsignatures.xml), each refused when its declared size is above
MEMBER_LIMIT and decompressed in memory, never to disk, never past its declared size. A
plain .zip is only looked at for an ASiC `mimetype`: its directory is not listed.
"""

from __future__ import annotations

import glob
import io
import struct
import zipfile
import zlib

from scanners.signatures.cms import Unreadable, parse_cms
from scanners.signatures.model import (
    SignatureInfo,
    Signer,
    Source,
    join_errors,
    octets,
    summarize,
)
from scanners.signatures.xmldsig import parse_member, signers_of

MEMBER_LIMIT = 8 << 20
DIRECTORY_LIMIT = 8 << 20
MAX_MEMBERS = 64   # signature members read in one container (a real one has a few)

ASIC_MIMETYPES = {b"application/vnd.etsi.asic-s+zip": "asic-s", b"application/vnd.etsi.asic-e+zip": "asic-e"}
ASIC_EXTENSIONS = {"asics": "asic-s", "scs": "asic-s", "asice": "asic-e", "sce": "asic-e"}
OOXML_EXTENSIONS = frozenset({"docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx", "pptm",
                              "potx", "potm", "ppsx", "ppsm"})
ODF_EXTENSIONS = frozenset({"odt", "ods", "odp", "odg", "odf", "odc", "odm", "ott", "ots", "otp", "otg"})
ODF_MIMETYPE = b"application/vnd.oasis.opendocument."

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_EOCD = struct.Struct("<IHHHHIIH")
_EOCD64 = struct.Struct("<IQHHIIQQQQ")


class _BadOffset(OSError):
    """A ZIP record points before the start of the file: corrupt content, not an I/O error
    (an OSError because zipfile expects one from seek)."""


class _PreadFile(io.RawIOBase):
    """A read-only, seekable file over a Source (its own position: threads may share the fd)."""

    def __init__(self, src: Source) -> None:
        self._src, self._pos = src, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._src.size}[whence]
        if base + offset < 0:
            raise _BadOffset("seek before start")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._src.read(self._pos, len(buffer))
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


def _mimetype(head: bytes) -> bytes | None:
    """Content of a stored `mimetype` first member (ASiC, ODF), or None."""
    if len(head) < _LOCAL.size:
        return None
    magic, _v, _flags, method, _t, _d, _crc, csize, _usize, nlen, xlen = _LOCAL.unpack_from(head)
    start = _LOCAL.size + nlen + xlen
    if magic != 0x04034B50 or method != 0 or head[_LOCAL.size:_LOCAL.size + nlen] != b"mimetype":
        return None
    return head[start:start + min(csize, 128)].strip()


def _directory_size(src: Source) -> int | None:
    """Size of the central directory from the end records (ZIP64 included), or None when
    there are none (not a ZIP, or a truncated one)."""
    start, end = src.tail(_EOCD.size + 20)  # no archive comment: the usual case, one small read
    if end[-_EOCD.size:-_EOCD.size + 4] != b"PK\x05\x06":
        start, end = src.tail(_EOCD.size + 0xFFFF)
    at = end.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(end):
        return None
    size = _EOCD.unpack_from(end, at)[5]
    if size == 0xFFFFFFFF and at >= 20 and end[at - 20:at - 16] == b"PK\x06\x07":
        offset = int.from_bytes(end[at - 12:at - 4], "little")
        record = src.read(offset, _EOCD64.size)
        if len(record) == _EOCD64.size and record[:4] == b"PK\x06\x06":
            size = _EOCD64.unpack(record)[8]
    return size


def _signature_members(family: str | None, names: list[zipfile.ZipInfo]) -> tuple[str | None, list[zipfile.ZipInfo]]:
    """(family, its signature members) once the directory is known."""
    def asic(info: zipfile.ZipInfo) -> bool:
        upper = info.filename.upper()
        base = upper.rsplit("/", 1)[-1]
        return upper.startswith("META-INF/") and (
            ("SIGNATURE" in base and base.endswith((".XML", ".P7S"))) or (base.startswith("TIMESTAMP")
                                                                          and base.endswith(".TST")))

    def ooxml(info: zipfile.ZipInfo) -> bool:
        name = info.filename
        return name.startswith("_xmlsignatures/") and name.endswith(".xml") and "/_rels/" not in name

    def odf(info: zipfile.ZipInfo) -> bool:
        return info.filename == "META-INF/documentsignatures.xml"

    tests = {"asic-s": asic, "asic-e": asic, "ooxml": ooxml, "odf": odf}
    for name in ([family] if family else ["ooxml", "odf"]):
        members = [i for i in names if tests[name](i)]
        if members or family:
            return name, members
    return None, []


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MEMBER_LIMIT:
        raise Unreadable(f"membre {info.filename} annoncé à {octets(info.file_size)} : non lu "
                         f"(au-delà de {octets(MEMBER_LIMIT)})")
    if info.flag_bits & 0x1:
        raise Unreadable(f"membre {info.filename} chiffré : non lu")
    try:
        with zf.open(info) as member:
            return member.read(MEMBER_LIMIT + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
            _BadOffset) as exc:
        raise Unreadable(f"membre {info.filename} illisible (archive corrompue)") from exc


def _member_signers(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[list[Signer], list[str]]:
    """Signers of one signature member and the problems met."""
    try:
        data = _read_member(zf, info)
        if info.filename.lower().endswith(".xml"):
            sigs, error = parse_member(data)
            return signers_of(sigs), [error] if error else []
        content = parse_cms(data)
        if content is None:
            raise Unreadable(f"membre {info.filename} : n'est pas une signature CMS")
        return content.signers, content.errors
    except Unreadable as exc:
        return [], [str(exc)]


def _family(head: bytes, extension: str | None) -> tuple[str | None, bool]:
    """(ASiC kind or odf/ooxml or None, whether the directory is worth listing)."""
    mimetype = _mimetype(head)
    if mimetype in ASIC_MIMETYPES:
        return ASIC_MIMETYPES[mimetype], True
    if extension in ASIC_EXTENSIONS:
        return ASIC_EXTENSIONS[extension], True
    if (mimetype or b"").startswith(ODF_MIMETYPE) or extension in ODF_EXTENSIONS:
        return "odf", True
    if extension in OOXML_EXTENSIONS:
        return "ooxml", True
    return None, extension != "zip"


def _unreadable(family: str | None, why: str) -> SignatureInfo | None:
    """What an unreadable container reports: an error for an ASiC (it exists to be
    signed), nothing for an office document or a plain ZIP."""
    if family not in ("asic-s", "asic-e"):
        return None
    return SignatureInfo(kind=family or "asic-e", count=0, error=f"conteneur ASiC illisible ({why})")


def _members_signers(zf: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> tuple[list[Signer], list[str]]:
    """Signers of the first MAX_MEMBERS signature members and the problems met."""
    signers: list[Signer] = []
    errors: list[str] = [] if members else ["conteneur ASiC sans signature"]
    for info in members[:MAX_MEMBERS]:
        found, problems = _member_signers(zf, info)
        signers.extend(found)
        errors.extend(problems)
    if len(members) > MAX_MEMBERS:
        errors.append(f"{len(members) - MAX_MEMBERS} autres membres de signature non lus")
    return signers, errors


def _asic_s_names(infos: list[zipfile.ZipInfo]) -> tuple[str, ...]:
    """Glob-escaped base names of an ASiC-S container's data objects."""
    # Not ZipInfo.is_dir(): it fails on an empty name, which a damaged directory may hold.
    return tuple(glob.escape(i.filename.rsplit("/", 1)[-1]) for i in infos
                 if i.filename not in ("", "mimetype") and not i.filename.upper().startswith("META-INF/")
                 and not i.filename.endswith("/"))


def detect_zip(src: Source, head: bytes, extension: str | None) -> SignatureInfo | None:
    """SignatureInfo of a ZIP container, or None when it holds no signature."""
    family, listed = _family(head, extension)
    if not listed:
        return None
    asic = family in ("asic-s", "asic-e")
    size = _directory_size(src)
    if size is None or size > DIRECTORY_LIMIT:
        return _unreadable(family, "répertoire ZIP introuvable" if size is None else f"répertoire de {octets(size)}")
    try:
        zf = zipfile.ZipFile(_PreadFile(src))
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, _BadOffset):
        return _unreadable(family, "archive ZIP corrompue")
    with zf:
        infos = zf.infolist()
        family, members = _signature_members(family, infos)
        if family is None or (not members and not asic):
            return None
        signers, errors = _members_signers(zf, members)
    names = _asic_s_names(infos) if family == "asic-s" else ()
    return summarize(family, signers, error=join_errors(errors), signed_names=names)
