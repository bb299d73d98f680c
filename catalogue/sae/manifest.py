"""The SEDA 2.2 / 2.3 manifest (`manifest.xml`) of a transfer package, written as a stream.

Only elements of the plain SEDA schemas (no Vitam extension), in the order of the XSD and
of the samples Vitam ingests (../shared/vitam/sip-exemples):

    ArchiveTransfer: Comment, Date, MessageIdentifier, ArchivalAgreement, CodeListVersions,
      DataObjectPackage:
        DataObjectGroup › BinaryDataObject (DataObjectVersion, Uri, MessageDigest, Size,
                                            FormatIdentification, FileInfo)   one per file
        DescriptiveMetadata › ArchiveUnit (Management, Content, DataObjectReference | ArchiveUnit…)
        ManagementMetadata (LegalStatus, OriginatingAgencyIdentifier, SubmissionAgencyIdentifier)
      ArchivalAgency, TransferringAgency

lxml's incremental writer escapes text and attributes; characters XML 1.0 cannot hold
(control characters in a file name) are written as `\\xNN`, the catalogue's own notation.
Ids derive from the catalogue's file ids (AU…, GO…, BO…), so a unit can be referenced
before it is written (SigningInformation). Dates in Content are UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from lxml import etree

from catalogue.sae.selection import Management, PackFile, RuleRef

NAMESPACES = {"2.2": "fr:gouv:culture:archivesdefrance:seda:v2.2",
              "2.3": "fr:gouv:culture:archivesdefrance:seda:v2.3"}
DATA_OBJECT_VERSION = "BinaryMaster_1"
DIGEST_ALGORITHM = "SHA-512"
SIGNING_ROLES = ("SignedDocument", "Signature", "Timestamp", "AdditionalProof")

# XML 1.0 forbids C0 controls but tab, LF, CR, and the non-characters; lone surrogates
# cannot be encoded at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """TEXT with every character XML cannot hold written as \\xNN (or \\uNNNN)."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


@dataclass(frozen=True)
class Header:
    """Who sends what to whom, under which contract."""
    seda: str                 # "2.2" or "2.3"
    message_id: str
    date: dt.datetime         # UTC
    comment: str
    contract: str             # ArchivalAgreement: the ingest contract's id in the SAE
    archival_agency: str
    transferring_agency: str
    originating_agency: str   # service producteur
    submission_agency: str    # service versant


@dataclass(frozen=True)
class Signing:
    """A file's part in a signature (SEDA 2.3 SigningInformation): its roles and, for a
    signature or a time stamp, the file of the signed document."""
    roles: tuple[str, ...]
    signed_file_id: int | None = None


@dataclass(frozen=True)
class Package:
    """Everything one manifest describes: FILES are packed (digest and member set), in the
    order of their paths, and hang under one root unit."""
    header: Header
    title: str
    description: str
    management: Management
    files: Sequence[PackFile]
    signing: Mapping[int, Signing] | None = None  # by file id; written with SEDA 2.3 only


def content_date(mtime_us: int) -> str:
    """Content dates as in Vitam's samples: seconds, no zone (UTC here)."""
    return _utc(mtime_us).strftime("%Y-%m-%dT%H:%M:%S")


def last_modified(mtime_us: int) -> str:
    """FileInfo/LastModified as in Vitam's samples: milliseconds and an explicit offset."""
    t = _utc(mtime_us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+00:00"


def _utc(mtime_us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=mtime_us)


class _Writer:
    """Indented elements in the SEDA namespace over an lxml incremental writer."""

    def __init__(self, xf, ns: str) -> None:
        self.xf = xf
        self.ns = ns
        self.depth = 0

    @contextmanager
    def element(self, tag: str, **attrs: str) -> Iterator[None]:
        self.xf.write("\n" + "  " * self.depth)
        self.depth += 1
        with self.xf.element(f"{{{self.ns}}}{tag}", attrs):
            yield
            self.depth -= 1
            self.xf.write("\n" + "  " * self.depth)

    def leaf(self, tag: str, text: str | None, **attrs: str) -> None:
        if text is None:
            return
        self.xf.write("\n" + "  " * self.depth)
        with self.xf.element(f"{{{self.ns}}}{tag}", attrs):
            self.xf.write(xml_text(text))


def write_manifest(out: IO[bytes], pkg: Package) -> None:
    """Write PKG's manifest to OUT (a binary stream: a ZIP member, a file)."""
    h = pkg.header
    ns = NAMESPACES[h.seda]
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{ns}}}ArchiveTransfer", nsmap={None: ns}):
            w = _Writer(xf, ns)
            w.depth = 1
            w.leaf("Comment", h.comment)
            w.leaf("Date", h.date.strftime("%Y-%m-%dT%H:%M:%S"))
            w.leaf("MessageIdentifier", h.message_id)
            w.leaf("ArchivalAgreement", h.contract)
            with w.element("CodeListVersions"):
                pass
            with w.element("DataObjectPackage"):
                for f in pkg.files:
                    _data_object(w, f)
                with w.element("DescriptiveMetadata"):
                    _units(w, pkg)
                with w.element("ManagementMetadata"):
                    w.leaf("LegalStatus", "Public Archive")  # records of a commune are public archives
                    w.leaf("OriginatingAgencyIdentifier", h.originating_agency)
                    w.leaf("SubmissionAgencyIdentifier", h.submission_agency)
            with w.element("ArchivalAgency"):
                w.leaf("Identifier", h.archival_agency)
            with w.element("TransferringAgency"):
                w.leaf("Identifier", h.transferring_agency)
            xf.write("\n")


def _data_object(w: _Writer, f: PackFile) -> None:
    if f.digest is None or f.member is None:
        raise AssertionError("a file is described before it is packed")
    with w.element("DataObjectGroup", id=f"GO{f.file_id}"):
        with w.element("BinaryDataObject", id=f"BO{f.file_id}"):
            w.leaf("DataObjectVersion", DATA_OBJECT_VERSION)
            w.leaf("Uri", uri(f.member))
            w.leaf("MessageDigest", f.digest, algorithm=DIGEST_ALGORITHM)
            if f.size > 0:  # SEDA's Size is a positive integer: an empty file has none
                w.leaf("Size", str(f.size))
            puid = f.puid if f.puid and f.puid != "UNKNOWN" else None
            if f.format_name or f.mime or puid:
                with w.element("FormatIdentification"):
                    w.leaf("FormatLitteral", f.format_name)
                    w.leaf("MimeType", f.mime)
                    w.leaf("FormatId", puid)
            with w.element("FileInfo"):
                w.leaf("Filename", f.name)
                w.leaf("LastModified", last_modified(f.mtime_us) if f.mtime_us is not None else None)


def uri(member: str) -> str:
    """The Uri of a ZIP member: percent-encoded (RFC 3986) beyond the unreserved characters
    and « / ». Members are named so that this changes nothing (see package.member_name):
    an SAE that compares Uri and member names literally, or after decoding, finds them."""
    from urllib.parse import quote

    return quote(member, safe="/")


def _rules(w: _Writer, tag: str, rules: Sequence[RuleRef], final_action: str | None = None) -> None:
    with w.element(tag):
        for rule in rules:
            w.leaf("Rule", rule.rule_id)
            w.leaf("StartDate", rule.start_date.isoformat() if rule.start_date else None)
        w.leaf("FinalAction", final_action)


def _units(w: _Writer, pkg: Package) -> None:
    """The root unit (the dataset), its folders (RecordGrp) and files (Item), in one pass
    over files sorted by path: a folder's files are contiguous."""
    spans = folder_spans(pkg.files)
    with w.element("ArchiveUnit", id="RG0"):
        with w.element("Management"):
            _rules(w, "AppraisalRule", [pkg.management.appraisal], pkg.management.final_action)
            if pkg.management.access:
                _rules(w, "AccessRule", pkg.management.access)
        with w.element("Content"):
            w.leaf("DescriptionLevel", "RecordGrp")
            w.leaf("Title", pkg.title)
            w.leaf("Description", pkg.description)
            with w.element("OriginatingAgency"):
                w.leaf("Identifier", pkg.header.originating_agency)
            _dates(w, spans.get(()))
        _tree(w, pkg, spans)


def _tree(w: _Writer, pkg: Package, spans: dict[tuple[str, ...], tuple[int, int]]) -> None:
    open_dirs: list[str] = []
    contexts: list = []
    folder_ids = iter(range(1, 1 << 62))
    for f in pkg.files:
        keep = 0
        while keep < min(len(open_dirs), len(f.dirs)) and open_dirs[keep] == f.dirs[keep]:
            keep += 1
        while len(open_dirs) > keep:
            contexts.pop().__exit__(None, None, None)
            open_dirs.pop()
        for name in f.dirs[keep:]:
            open_dirs.append(name)
            ctx = w.element("ArchiveUnit", id=f"RG{next(folder_ids)}")
            ctx.__enter__()
            contexts.append(ctx)
            with w.element("Content"):
                w.leaf("DescriptionLevel", "RecordGrp")
                w.leaf("Title", name)
                _dates(w, spans.get(tuple(open_dirs)))
        _item(w, pkg, f)
    while contexts:
        contexts.pop().__exit__(None, None, None)


def _item(w: _Writer, pkg: Package, f: PackFile) -> None:
    with w.element("ArchiveUnit", id=f"AU{f.file_id}"):
        with w.element("Content"):
            w.leaf("DescriptionLevel", "Item")
            w.leaf("Title", f.name)
            if f.mtime_us is not None:
                _dates(w, (f.mtime_us, f.mtime_us))
            signing = (pkg.signing or {}).get(f.file_id)
            if signing is not None and pkg.header.seda == "2.3":
                _signing(w, signing, {g.file_id for g in pkg.files})
        with w.element("DataObjectReference"):
            w.leaf("DataObjectGroupReferenceId", f"GO{f.file_id}")


def _signing(w: _Writer, signing: Signing, packed: set[int]) -> None:
    with w.element("SigningInformation"):
        for role in signing.roles:
            if role not in SIGNING_ROLES:
                raise ValueError(f"rôle de signature inconnu : {role}")
            w.leaf("SigningRole", role)
        if signing.signed_file_id is not None and signing.signed_file_id in packed:
            w.leaf("SignedDocumentReferenceId", f"AU{signing.signed_file_id}")


def _dates(w: _Writer, span: tuple[int, int] | None) -> None:
    if span is None:
        return
    w.leaf("StartDate", content_date(span[0]))
    w.leaf("EndDate", content_date(span[1]))


def folder_spans(files: Sequence[PackFile]) -> dict[tuple[str, ...], tuple[int, int]]:
    """(oldest, newest) modification time of the files below each folder, the dataset's
    own folder being (). Folders whose files carry no time are absent."""
    spans: dict[tuple[str, ...], tuple[int, int]] = {}
    for f in files:
        if f.mtime_us is None:
            continue
        for k in range(len(f.dirs) + 1):
            key = f.dirs[:k]
            low, high = spans.get(key, (f.mtime_us, f.mtime_us))
            spans[key] = (min(low, f.mtime_us), max(high, f.mtime_us))
    return spans
