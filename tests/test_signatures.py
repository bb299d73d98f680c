"""Signature detection (scanners.signatures) on real signed files made at test time by real
signing code (data/sample/signing.py: pyHanko, signxml, asn1crypto + cryptography) with a
PKI generated for the run; unsigned look-alikes; bad input, bounded."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tracemalloc
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from data.sample import signing
from scanners.signatures import DetachedPairs, detect, detect_open, is_candidate, pair_detached
from scanners.signatures import cms as cms_module
from scanners.signatures import pdf as pdf_module
from scanners.signatures.xmldsig import BOMB

SIGNED_AT = signing.SIGNING_TIME
DS_NS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture(scope="module")
def pki() -> signing.SigningPki:
    return signing.make_pki()


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return signing.simple_pdf(["Arrêté du maire n° 2024-012", "portant réglementation du stationnement"])


def _docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Délibération du conseil municipal")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _odt() -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    document.text.addElement(P(text="Procès-verbal du conseil municipal"))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _assert_signer(info, *, cn: str = signing.SIGNER_CN, not_after: datetime = signing.SIGNER_NOT_AFTER) -> None:
    assert info.signer_cn == cn
    assert info.issuer_cn == signing.ROOT_CN
    assert info.not_after == not_after
    assert info.error is None


def _now_seconds() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- PDF -------------------------------------------------------------------------------

def test_pades_pdf(tmp_path, pki, pdf_bytes):
    before = _now_seconds()
    path = _write(tmp_path, "arrete.pdf", signing.sign_pdf(pdf_bytes, pki))
    after = datetime.now(UTC)
    info = detect(path)
    assert (info.kind, info.count) == ("pades", 1)
    _assert_signer(info)
    # PAdES forbids the CMS signing-time attribute: the time is the dictionary's /M, which
    # pyHanko stamps at signing (to the second).
    assert before <= info.signing_time <= after
    assert info.signed_names == ()


def test_pdf_pkcs7(tmp_path, pki, pdf_bytes):
    path = _write(tmp_path, "arrete.pdf", signing.sign_pdf(pdf_bytes, pki, pades=False))
    info = detect(path)
    assert (info.kind, info.count) == ("pdf-pkcs7", 1)
    _assert_signer(info)
    assert info.signing_time is not None


def test_pdf_with_two_signatures(tmp_path, pki, pdf_bytes):
    once = signing.sign_pdf(pdf_bytes, pki)
    twice = signing.sign_pdf(once, pki, field_name="Signature2")
    info = detect(_write(tmp_path, "deliberation.pdf", twice))
    assert (info.kind, info.count) == ("pades", 2)
    _assert_signer(info)
    assert len(info.signers) == 2
    mixed = signing.sign_pdf(signing.sign_pdf(pdf_bytes, pki, pades=False), pki, field_name="Signature2")
    info = detect(_write(tmp_path, "mixte.pdf", mixed))
    assert (info.kind, info.count) == ("pades", 2)  # one PAdES signature makes the file PAdES


def _with_annex(pdf: bytes, size: int) -> bytes:
    """PDF with a file of SIZE random bytes attached in an incremental update (after signing,
    an update that does not name the signature)."""
    from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    annex = EmbeddedFileObject.from_file_data(writer, os.urandom(size), mime_type="application/octet-stream")
    embed_file(writer, FileSpec(file_spec_string="annexe.bin", embedded_data=annex))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_updated_after_signing_is_still_signed(tmp_path, pki, pdf_bytes):
    """An annex of 400 KB attached after signing: the last 64 KB name no signature, but the
    file was updated (/Prev), so a longer tail is looked at."""
    data = _with_annex(signing.sign_pdf(pdf_bytes, pki), 400_000)
    assert b"/Sig" not in data[-pdf_module.TAIL_BYTES:] and b"/Prev" in data[-pdf_module.TAIL_BYTES:]
    info = detect(_write(tmp_path, "annexe.pdf", data))
    assert (info.kind, info.count) == ("pades", 1)
    _assert_signer(info)


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs Linux /proc/self/io")
def test_unsigned_pdf_costs_one_small_read(tmp_path):
    lines = [f"Ligne {i} : " + hashlib.sha256(str(i).encode()).hexdigest() for i in range(14_000)]
    path = _write(tmp_path, "plan.pdf", signing.simple_pdf(lines, compress=False))
    assert path.stat().st_size > 1_000_000
    before = _bytes_read()
    assert detect(path) is None
    assert _bytes_read() - before < 100_000  # its head and last 64 KB


def test_large_pdf_signature_before_the_tail_is_counted(tmp_path, pki):
    """The first signature lies further back than the tail window: the later one, in the
    tail, triggers the search of the rest of the file, in one read or in several."""
    from scanners.signatures.model import Source

    lines = [f"Ligne {i} : " + hashlib.sha256(str(i).encode()).hexdigest() for i in range(6000)]
    big = signing.simple_pdf(lines, compress=False)
    first = signing.sign_pdf(big, pki)
    second = signing.sign_pdf(_with_annex(first, 200_000), pki, field_name="Signature2")
    assert second.find(b"/ByteRange") < len(second) - pdf_module.TAIL_BYTES  # the first one is out of the tail
    path = _write(tmp_path, "gros.pdf", second)
    info = detect(path)
    assert (info.kind, info.count) == ("pades", 2)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert len(second) > 10 * 50_000
        info = pdf_module.detect_pdf(Source(fd, len(second)), chunk_bytes=50_000)  # several chunks
    finally:
        os.close(fd)
    assert (info.kind, info.count) == ("pades", 2)


def test_pdf_document_time_stamp(tmp_path, pki, pdf_bytes):
    """A document time stamp (PAdES-LTA's last step) is not a signature: beside one it is not
    counted; alone, the PDF is time-stamped."""
    stamped = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    info = detect(_write(tmp_path, "lta.pdf", signing.timestamp_pdf(signing.sign_pdf(pdf_bytes, pki), pki, stamped)))
    assert (info.kind, info.count) == ("pades", 1)
    _assert_signer(info)
    info = detect(_write(tmp_path, "horodate.pdf", signing.timestamp_pdf(pdf_bytes, pki, stamped)))
    assert (info.kind, info.count, info.signing_time) == ("timestamp", 1, stamped)
    _assert_signer(info, cn=signing.TSA_CN, not_after=datetime(2035, 1, 1, tzinfo=UTC))


def test_byterange_split_across_read_chunks_is_found(tmp_path):
    from scanners.signatures.model import Source

    data = b"x" * 995 + b"/ByteRange" + b"y" * 3000 + b"/ByteRange"
    path = _write(tmp_path, "morceaux.bin", data)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert list(pdf_module.find_byteranges(Source(fd), 0, len(data), chunk_bytes=1000)) == [995, len(data) - 10]
    finally:
        os.close(fd)


def test_unsigned_pdf_lookalikes_are_not_signed(tmp_path, pki, pdf_bytes):
    assert detect(_write(tmp_path, "simple.pdf", pdf_bytes)) is None
    empty_field = signing.pdf_with_empty_signature_field(pdf_bytes)
    assert b"/FT /Sig" in empty_field or b"/FT/Sig" in empty_field
    assert detect(_write(tmp_path, "champ-vide.pdf", empty_field)) is None
    # The page's text (uncompressed) spells a signature dictionary.
    text = signing.simple_pdf(["Guide : un PDF signé a /Type /Sig /ByteRange [0 120 4000 300]",
                               "/SubFilter /ETSI.CAdES.detached /Contents <3082>"], compress=False)
    assert b"/ByteRange [0 120 4000 300]" in text
    assert detect(_write(tmp_path, "guide.pdf", text)) is None


def test_truncated_signed_pdf_is_reported(tmp_path, pki, pdf_bytes):
    signed = signing.sign_pdf(pdf_bytes, pki)
    info = detect(_write(tmp_path, "coupe.pdf", signed[:-200]))  # the signature lost its xref and trailer
    assert (info.kind, info.count) == ("pades", 1)
    assert info.error.startswith("PDF tronqué : la signature couvre")
    assert info.signer_cn == signing.SIGNER_CN  # what could be read is kept


def test_corrupt_pdf_signature_is_reported(tmp_path, pki, pdf_bytes):
    signed = signing.sign_pdf(pdf_bytes, pki)
    start = signed.index(b"/Contents <") + len(b"/Contents <")
    corrupt = signed[:start] + b"4142434445464748" + signed[start + 16:]
    info = detect(_write(tmp_path, "abime.pdf", corrupt))
    assert (info.kind, info.count) == ("pades", 1)
    assert info.error == "signature PDF illisible (/Contents n'est pas une signature CMS)"
    assert info.signer_cn is None


# --- CMS and time stamps ---------------------------------------------------------------

def test_detached_cades_p7s(tmp_path, pki, pdf_bytes):
    path = _write(tmp_path, "acte.pdf.p7s", signing.cms_signature(pdf_bytes, pki))
    info = detect(path)
    assert (info.kind, info.count, info.signing_time) == ("cades", 1, SIGNED_AT)
    _assert_signer(info)
    assert info.signed_names == ("acte.pdf",)
    assert detect(_write(tmp_path, "acte.p7s", path.read_bytes())).signed_names == ("acte", "acte.*")


def test_enveloping_cades_p7m(tmp_path, pki, pdf_bytes):
    info = detect(_write(tmp_path, "acte.pdf.p7m", signing.cms_signature(pdf_bytes, pki, detached=False)))
    assert (info.kind, info.count, info.signing_time) == ("cades", 1, SIGNED_AT)
    _assert_signer(info)
    assert info.signed_names == ()  # the document is inside


def test_pem_cms(tmp_path, pki, pdf_bytes):
    data = signing.cms_signature(pdf_bytes, pki, pem=True)
    assert data.startswith(b"-----BEGIN PKCS7-----")
    info = detect(_write(tmp_path, "acte.pdf.pem", data))
    assert (info.kind, info.count, info.signing_time) == ("cades", 1, SIGNED_AT)
    _assert_signer(info)


def test_cms_signer_named_by_key_identifier(tmp_path, pki, pdf_bytes):
    info = detect(_write(tmp_path, "acte.pdf.p7s", signing.cms_signature(pdf_bytes, pki, by_key_id=True)))
    assert (info.kind, info.count, info.signing_time) == ("cades", 1, SIGNED_AT)
    _assert_signer(info)


def test_cosigned_cms_counts_both_and_names_the_first_signer(tmp_path, pki, pdf_bytes):
    info = detect(_write(tmp_path, "acte.pdf.p7s", signing.cms_signature(pdf_bytes, pki, cosigned=True)))
    assert (info.kind, info.count, info.signing_time) == ("cades", 2, SIGNED_AT)
    _assert_signer(info)
    assert [s.subject_cn for s in info.signers] == [signing.SIGNER_CN, signing.TSA_CN]
    assert info.signers[1].signing_time == SIGNED_AT + timedelta(hours=1)


def test_large_enveloping_p7m_reads_only_its_signer_infos(tmp_path, pki):
    content = os.urandom(cms_module.WHOLE_LIMIT + 1_000_000)
    path = _write(tmp_path, "plan.pdf.p7m", signing.cms_signature(content, pki, detached=False))
    tracemalloc.start()
    try:
        info = detect(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (info.kind, info.count, info.signing_time) == ("cades", 1, SIGNED_AT)
    _assert_signer(info)
    assert peak < 2_000_000, peak  # the 9 MB content was skipped, not loaded


def _ber_indefinite(der: bytes, chunk: int) -> bytes:
    """The same SignedData in BER as streaming tools write it: indefinite lengths and the
    content in CHUNK-byte pieces of a constructed OCTET STRING."""
    from asn1crypto import cms, core

    info = cms.ContentInfo.load(der)
    signed = info["content"]
    content = signed["encap_content_info"]["content"].native

    def indefinite(tag: int, *parts: bytes) -> bytes:
        return bytes([tag, 0x80]) + b"".join(parts) + b"\x00\x00"

    pieces = b"".join(core.OctetString(content[i:i + chunk]).dump() for i in range(0, len(content), chunk))
    encap = indefinite(0x30, signed["encap_content_info"]["content_type"].dump(),
                       indefinite(0xA0, indefinite(0x24, pieces)))
    body = signed["version"].dump() + signed["digest_algorithms"].dump() + encap + \
        signed["certificates"].dump() + signed["signer_infos"].dump()
    return indefinite(0x30, info["content_type"].dump(), indefinite(0xA0, indefinite(0x30, body)))


@pytest.mark.parametrize("size", [50_000, cms_module.WHOLE_LIMIT + 500_000])
def test_ber_indefinite_length_p7m(tmp_path, pki, size):
    """Small: asn1crypto reads the BER whole; large: the headers are walked to skip the
    content's chunks."""
    data = _ber_indefinite(signing.cms_signature(os.urandom(size), pki, detached=False), 65_536)
    assert data[1] == 0x80
    info = detect(_write(tmp_path, "flux.p7m", data))
    assert (info.kind, info.count, info.signing_time) == ("cades", 1, SIGNED_AT)
    _assert_signer(info)


def test_timestamp_token_and_response(tmp_path, pki, pdf_bytes):
    stamped = datetime(2023, 11, 5, 16, 45, 12, tzinfo=UTC)
    for name, data in [("acte.pdf.tst", signing.timestamp_token(pdf_bytes, pki, stamped)),
                       ("acte.pdf.tsr", signing.timestamp_response(pdf_bytes, pki, stamped))]:
        info = detect(_write(tmp_path, name, data))
        assert (info.kind, info.count, info.signing_time) == ("timestamp", 1, stamped), name
        _assert_signer(info, cn=signing.TSA_CN, not_after=datetime(2035, 1, 1, tzinfo=UTC))
        assert info.signed_names == ("acte.pdf",)


def test_certificate_files_are_not_signatures(tmp_path, pki):
    from cryptography.hazmat.primitives import serialization

    pem = pki.signer_cert.public_bytes(serialization.Encoding.PEM)
    assert detect(_write(tmp_path, "marie.pem", pem)) is None
    # A certificates-only SignedData (.p7b) carries no signer.
    from asn1crypto import cms

    bundle = cms.ContentInfo({"content_type": "signed_data", "content": {
        "version": "v1", "digest_algorithms": [], "encap_content_info": {"content_type": "data"},
        "certificates": [signing.asn1_cert(pki.signer_cert)], "signer_infos": []}}).dump()
    assert detect(_write(tmp_path, "chaine.p7b", bundle)) is None


def test_truncated_cms_is_reported(tmp_path, pki, pdf_bytes):
    data = signing.cms_signature(pdf_bytes, pki)
    info = detect(_write(tmp_path, "acte.pdf.p7s", data[: len(data) // 2]))
    assert (info.kind, info.count) == ("cades", 0)
    declared, present = (f"{n:,}".replace(",", "\u00a0") for n in (len(data), len(data) // 2))
    assert info.error == f"signature tronquée : {declared}\u00a0octets annoncés, {present} présents"
    info = detect(_write(tmp_path, "jeton.tst", signing.timestamp_token(pdf_bytes, pki)[:300]))
    assert (info.kind, info.count) == ("timestamp", 0) and info.error.startswith("signature tronquée")


def test_garbage_pem_is_reported_or_ignored(tmp_path):
    armored = b"-----BEGIN PKCS7-----\nceci n'est pas du base64 !!!\n-----END PKCS7-----\n"
    info = detect(_write(tmp_path, "signature.pem", armored))
    assert (info.kind, info.count) == ("cades", 0)
    assert info.error == "signature PEM illisible (base64 invalide)"
    no_end = b"-----BEGIN PKCS7-----\nMIIB\n"
    assert detect(_write(tmp_path, "coupee.pem", no_end)).error == "signature PEM tronquée (pas de ligne -----END)"
    valid_base64 = b"-----BEGIN PKCS7-----\nTUlJQmJvbmpvdXI=\n-----END PKCS7-----\n"
    assert detect(_write(tmp_path, "autre.p7s", valid_base64)).error == "n'est pas une signature CMS lisible"
    assert detect(_write(tmp_path, "bruit.pem", os.urandom(4000))) is None
    info = detect(_write(tmp_path, "bruit.p7s", os.urandom(4000)))
    assert (info.kind, info.count, info.error) == ("cades", 0, "n'est pas une signature CMS lisible")


# --- XML -------------------------------------------------------------------------------

DOC = b"<deliberation><numero>2024-17</numero><objet>Budget primitif</objet></deliberation>"


def test_xades(tmp_path, pki):
    info = detect(_write(tmp_path, "deliberation.xml", signing.sign_xml(DOC, pki)))
    assert (info.kind, info.count, info.signing_time) == ("xades", 1, SIGNED_AT)
    _assert_signer(info)
    assert info.signed_names == ()  # enveloped: URI=""


def test_plain_xmldsig(tmp_path, pki):
    info = detect(_write(tmp_path, "deliberation.xml", signing.sign_xml(DOC, pki, xades=False)))
    assert (info.kind, info.count, info.signing_time) == ("xmldsig", 1, None)
    _assert_signer(info)


def test_xml_signature_at_the_end_of_a_large_file(tmp_path, pki):
    rows = b"".join(b"<ligne n=\"%d\">%s</ligne>" % (i, hashlib.sha256(b"%d" % i).hexdigest().encode())
                    for i in range(20_000))
    doc = b"<PES_Aller xmlns:x=\"urn:exemple\"><Bordereau>" + rows + b"</Bordereau></PES_Aller>"
    data = signing.sign_xml(doc, pki)
    assert len(data) > 1_500_000 and data.rindex(b"<ds:Signature") > 1_048_576
    info = detect(_write(tmp_path, "pes.xml", data))
    assert (info.kind, info.count, info.signing_time) == ("xades", 1, SIGNED_AT)
    _assert_signer(info)


def test_ordinary_xml_is_not_signed(tmp_path):
    assert detect(_write(tmp_path, "export.xml", DOC)) is None
    # Naming the namespace is not signing.
    mention = f'<doc xmlns:ds="{DS_NS}"><titre>Guide des signatures</titre></doc>'.encode()
    assert detect(_write(tmp_path, "guide.xml", mention)) is None


def _billion_laughs(with_namespace: bool) -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    ns = f' xmlns:ds="{DS_NS}"' if with_namespace else ""
    return (f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>'
            f'<lolz{ns}><ds:Signature>&lol9;</ds:Signature></lolz>').encode()


def test_xml_bomb_is_refused_not_expanded(tmp_path):
    tracemalloc.start()
    try:
        info = detect(_write(tmp_path, "bombe.xml", _billion_laughs(with_namespace=True)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (info.kind, info.count, info.error) == ("xmldsig", 0, BOMB)
    assert peak < 5_000_000, peak
    assert detect(_write(tmp_path, "bombe2.xml", _billion_laughs(with_namespace=False))) is None


def test_truncated_xml_signature_is_reported(tmp_path, pki):
    signed = signing.sign_xml(DOC, pki)
    info = detect(_write(tmp_path, "coupe.xml", signed[: signed.rindex(b"</ds:Signature>")]))
    assert (info.kind, info.count) == ("xades", 1)
    assert info.error == "signature XML illisible (XML mal formé ou tronqué)"


def test_detached_xades_names_its_document(tmp_path, pki):
    """A detached XML signature's references name the signed file."""
    from lxml import etree

    signed = etree.fromstring(signing.sign_xml(DOC, pki, xades=False))
    ref = signed.find(f".//{{{DS_NS}}}Reference")
    ref.set("URI", "acte%202024.pdf")  # the digest no longer matches: detection does not verify
    info = detect(_write(tmp_path, "acte.xml", etree.tostring(signed)))
    assert info.signed_names == ("acte 2024.pdf",)


def test_xml_in_an_unreadable_encoding_is_reported(tmp_path, pki):
    signed = signing.sign_xml(DOC, pki).replace(b"encoding='UTF-8'", b"encoding='x-inconnu'")
    info = detect(_write(tmp_path, "etrange.xml", signed))
    assert (info.kind, info.count) == ("xmldsig", 0)
    assert info.error == "signature XML illisible (encodage non pris en charge)"


def _bytes_read() -> int:
    with open("/proc/self/io") as io_stats:
        return next(int(line.split()[1]) for line in io_stats if line.startswith("rchar:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs Linux /proc/self/io")
def test_2gb_xml_reads_only_its_head_and_tail(tmp_path, pki):
    signed = signing.sign_xml(DOC, pki)
    path = _write(tmp_path, "enorme.xml", signed)
    os.truncate(path, 2 * 1024**3)  # sparse: 2 GB of zeros after the signed document
    before = _bytes_read()
    info = detect(path)
    read = _bytes_read() - before
    assert (info.kind, info.count, info.signing_time) == ("xades", 1, SIGNED_AT)
    assert read < 2 * 1024 * 1024, read  # the first 1 MB and the last 256 KB, nothing else
    bare = _write(tmp_path, "vide.xml", f'<racine xmlns:ds="{DS_NS}">'.encode())
    os.truncate(bare, 2 * 1024**3)
    before = _bytes_read()
    assert detect(bare) is None
    assert _bytes_read() - before < 2 * 1024 * 1024


# --- ZIP containers --------------------------------------------------------------------

def test_asic_s(tmp_path, pki, pdf_bytes):
    data = signing.asic_s("acte.pdf", pdf_bytes, pki)
    info = detect(_write(tmp_path, "acte.asics", data))
    assert (info.kind, info.count, info.signing_time) == ("asic-s", 1, SIGNED_AT)
    _assert_signer(info)
    assert info.signed_names == ("acte.pdf",)
    # Named as a plain .zip, the `mimetype` member still tells.
    assert detect(_write(tmp_path, "acte.zip", data)).kind == "asic-s"


def test_asic_e(tmp_path, pki, pdf_bytes):
    data = signing.asic_e({"acte.pdf": pdf_bytes, "annexe.csv": b"numero;montant\n1;100\n"}, pki)
    info = detect(_write(tmp_path, "dossier.asice", data))
    assert (info.kind, info.count, info.signing_time) == ("asic-e", 1, SIGNED_AT)
    _assert_signer(info)
    assert info.signed_names == ()


def test_signed_docx(tmp_path, pki):
    info = detect(_write(tmp_path, "rapport.docx", signing.sign_docx(_docx(), pki)))
    assert (info.kind, info.count, info.signing_time) == ("ooxml", 1, SIGNED_AT)
    _assert_signer(info)


def test_signed_odt(tmp_path, pki):
    info = detect(_write(tmp_path, "pv.odt", signing.sign_odf(_odt(), pki)))
    assert (info.kind, info.count, info.signing_time) == ("odf", 1, SIGNED_AT)
    _assert_signer(info)


def test_container_signatures_are_real(pki, pdf_bytes):
    """The XML signatures the containers carry verify with signxml against the signer's
    certificate, and their manifest digests match the members."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from signxml import XMLVerifier

    cert = pki.signer_cert.public_bytes(serialization.Encoding.PEM).decode()
    docx = signing.sign_docx(_docx(), pki)
    with zipfile.ZipFile(io.BytesIO(docx)) as zf:
        verified = XMLVerifier().verify(zf.read("_xmlsignatures/sig1.xml"), x509_cert=cert).signed_xml
        references = verified.findall(f".//{{{DS_NS}}}Reference")
        assert references
        for ref in references:
            name = ref.get("URI").lstrip("/").replace("%5B", "[").replace("%5D", "]")
            digest = base64.b64decode(ref.findtext(f"{{{DS_NS}}}DigestValue"))
            assert hashlib.sha256(zf.read(name)).digest() == digest, name


def test_unsigned_containers_are_not_signed(tmp_path):
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("META-INF/signature.p7s", b"not a container: only a name")
        zf.writestr("lisezmoi.txt", b"archive ordinaire")
    assert detect(_write(tmp_path, "archive.zip", plain.getvalue())) is None
    assert detect(_write(tmp_path, "rapport.docx", _docx())) is None
    assert detect(_write(tmp_path, "pv.odt", _odt())) is None


def _set_declared_size(data: bytes, member: str, size: int) -> bytes:
    """DATA with MEMBER's uncompressed size in the central directory set to SIZE."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46:at + 46 + name_len] == member.encode():
            struct.pack_into("<I", out, at + 24, size)
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise AssertionError(member)


def test_zip_member_with_huge_declared_size_is_refused(tmp_path, pki, pdf_bytes):
    asic = signing.asic_e({"acte.pdf": pdf_bytes}, pki)
    bomb = _set_declared_size(asic, "META-INF/signatures.xml", 0xFFFFFFF0)
    tracemalloc.start()
    try:
        info = detect(_write(tmp_path, "bombe.asice", bomb))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (info.kind, info.count) == ("asic-e", 0)
    assert info.error == ("membre META-INF/signatures.xml annoncé à 4\u00a0294\u00a0967\u00a0280\u00a0octets : "
                          "non lu (au-delà de 8\u00a0388\u00a0608\u00a0octets)")
    assert peak < 5_000_000, peak
    docx = _set_declared_size(signing.sign_docx(_docx(), pki), "_xmlsignatures/sig1.xml", 0xFFFFFFF0)
    info = detect(_write(tmp_path, "rapport.docx", docx))
    assert (info.kind, info.count) == ("ooxml", 0) and "non lu" in info.error


def test_zip_member_lying_about_its_size_is_cut(tmp_path, pki, pdf_bytes):
    asic = signing.asic_e({"acte.pdf": pdf_bytes}, pki)
    liar = _set_declared_size(asic, "META-INF/signatures.xml", 100)
    info = detect(_write(tmp_path, "menteur.asice", liar))
    assert (info.kind, info.count) == ("asic-e", 0)
    assert info.error == "membre META-INF/signatures.xml illisible (archive corrompue)"


def test_truncated_asic_is_reported(tmp_path, pki, pdf_bytes):
    data = signing.asic_s("acte.pdf", pdf_bytes, pki)
    info = detect(_write(tmp_path, "acte.asics", data[: len(data) // 2]))
    assert (info.kind, info.count) == ("asic-s", 0)
    assert info.error == "conteneur ASiC illisible (répertoire ZIP introuvable)"


def test_asic_member_without_a_name(tmp_path, pki, pdf_bytes):
    """A damaged directory may hold a member with an empty name (zipfile's is_dir() fails on it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", signing.ASIC_S_MIME)
        zf.writestr(zipfile.ZipInfo(""), pdf_bytes)
        zf.writestr("META-INF/signature.p7s", signing.cms_signature(pdf_bytes, pki))
    info = detect(_write(tmp_path, "sans-nom.asics", out.getvalue()))
    assert (info.kind, info.count, info.signed_names) == ("asic-s", 1, ())
    _assert_signer(info)


# --- The contract ----------------------------------------------------------------------

def test_mutated_signed_files_never_raise(tmp_path, pki, pdf_bytes):
    """Random damage (cuts, flipped bytes, overwritten runs) to every kind of signed file:
    detect answers (signed, unsigned or an error sentence) and never raises, nor falls
    back on its last-resort "erreur inattendue"."""
    import random

    samples = {
        "a.pdf": signing.sign_pdf(pdf_bytes, pki), "a.pdf.p7s": signing.cms_signature(pdf_bytes, pki),
        "a.p7m": signing.cms_signature(pdf_bytes, pki, detached=False),
        "a.pem": signing.cms_signature(pdf_bytes, pki, pem=True), "a.tsr": signing.timestamp_response(pdf_bytes, pki),
        "a.xml": signing.sign_xml(DOC, pki), "b.xml": signing.sign_xml(DOC, pki, xades=False),
        "a.asics": signing.asic_s("a.pdf", pdf_bytes, pki), "a.asice": signing.asic_e({"a.pdf": pdf_bytes}, pki),
        "a.docx": signing.sign_docx(_docx(), pki), "a.odt": signing.sign_odf(_odt(), pki),
    }
    rng = random.Random(17)
    for round_ in range(1200):
        name = rng.choice(sorted(samples))
        data = bytearray(samples[name])
        roll = rng.random()
        if roll < 0.3:
            data = data[:rng.randrange(len(data))]
        elif roll < 0.8:
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            at = rng.randrange(len(data))
            data[at:at + 300] = rng.randbytes(len(data[at:at + 300]))
        info = detect(_write(tmp_path, name, bytes(data)))
        assert info is None or "inattendue" not in (info.error or ""), (round_, name, info.error)


@pytest.mark.parametrize(("name", "extension", "size", "puid", "mime", "expected"), [
    ("arrete.pdf", "pdf", 10_000, None, None, True),
    ("acte.pdf.p7s", "p7s", 3_000, None, None, True),
    ("acte.p7m", "p7m", 3_000, None, None, True),
    ("jeton.tsr", "tsr", 1_500, None, None, True),
    ("flux.xml", "xml", 900, None, None, True),
    ("dossier.asice", "asice", 5_000, None, None, True),
    ("rapport.docx", "docx", 40_000, None, None, True),
    ("tableau.xlsm", "xlsm", 40_000, None, None, True),
    ("pv.odt", "odt", 9_000, None, None, True),
    ("archive.zip", "zip", 9_000, None, None, True),
    ("sans-extension", None, 9_000, "fmt/17", "application/pdf", True),
    ("sans-extension", None, 9_000, "fmt/670", None, True),
    ("photo.jpg", "jpg", 900_000, "fmt/43", "image/jpeg", False),
    ("notes.txt", "txt", 900, "x-fmt/111", "text/plain", False),
    ("vide.pdf", "pdf", 0, None, None, False),
    ("minuscule.p7s", "p7s", 20, None, None, False),
])
def test_is_candidate(name, extension, size, puid, mime, expected):
    assert is_candidate(name, extension, size, puid, mime) is expected


def test_detect_from_worker_threads_on_open_descriptors(tmp_path, pki, pdf_bytes):
    files = {
        "a.pdf": signing.sign_pdf(pdf_bytes, pki),
        "a.pdf.p7s": signing.cms_signature(pdf_bytes, pki),
        "a.xml": signing.sign_xml(DOC, pki),
        "a.asice": signing.asic_e({"a.pdf": pdf_bytes}, pki),
        "a.odt": signing.sign_odf(_odt(), pki),
        "b.pdf": pdf_bytes,
    }
    for name, data in files.items():
        _write(tmp_path, name, data)
    expected = {name: detect(tmp_path / name) for name in files}
    fds = {name: os.open(tmp_path / name, os.O_RDONLY) for name in files}  # one descriptor shared by threads
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            work = [name for name in files for _ in range(8)]
            results = list(pool.map(lambda n: (n, detect_open(fds[n], n)), work))
    finally:
        for fd in fds.values():
            os.close(fd)
    assert all(info == expected[name] for name, info in results)
    assert expected["b.pdf"] is None and all(expected[n] for n in files if n != "b.pdf")


def test_scanned_files_are_left_untouched(tmp_path, pki, pdf_bytes):
    paths = [_write(tmp_path, "a.pdf", signing.sign_pdf(pdf_bytes, pki)),
             _write(tmp_path, "a.asics", signing.asic_s("a.pdf", pdf_bytes, pki)),
             _write(tmp_path, "a.xml", signing.sign_xml(DOC, pki))]
    old = datetime(2001, 2, 3, tzinfo=UTC).timestamp()
    for path in paths:
        os.utime(path, (old, old))
    digests = {p: hashlib.sha256(p.read_bytes()).digest() for p in paths}
    for path in paths:
        assert detect(path) is not None
        st = path.stat()
        assert (st.st_mtime, hashlib.sha256(path.read_bytes()).digest()) == (old, digests[path])
    link = tmp_path / "lien.pdf"
    link.symlink_to(paths[0])
    with pytest.raises(OSError):
        detect(link)  # never followed
    os.mkfifo(tmp_path / "tube.pdf")
    assert detect(tmp_path / "tube.pdf") is None  # opened without blocking, not read


# --- Pairing ---------------------------------------------------------------------------

def test_pairing_both_ways():
    folder = ["Actes/acte.pdf", "Actes/acte.pdf.p7s", "Actes/ACTE2.PDF", "Actes/acte2.p7s", "Actes/perdu.pdf.bak",
              "Actes/deliberation.odt", "Actes/perdu.pdf.p7s", "Actes/horodatage.pdf", "Actes/horodatage.pdf.tsr",
              "Actes/acte3.pdf", "Actes/acte3.p7m"]
    result = pair_detached(folder)
    assert isinstance(result, DetachedPairs)
    assert set(result.pairs) == {("Actes/acte.pdf.p7s", "Actes/acte.pdf"), ("Actes/acte2.p7s", "Actes/ACTE2.PDF"),
                                 ("Actes/horodatage.pdf.tsr", "Actes/horodatage.pdf")}
    assert result.orphans == ("Actes/perdu.pdf.p7s",)
    assert result.documents_of("Actes/acte.pdf.p7s") == ["Actes/acte.pdf"]
    assert result.signatures_of("Actes/ACTE2.PDF") == ["Actes/acte2.p7s"]
    assert result.signatures_of("Actes/deliberation.odt") == []
    assert result.signatures_of("Actes/acte3.pdf") == []  # an enveloping .p7m holds its document


def test_pairing_prefers_exact_names_and_uses_what_detect_found():
    folder = ["x/acte.p7s", "x/acte", "x/acte.pdf", "x/conteneur.asics", "x/contrat [v2].pdf",
              "x/enveloppe.p7s", "x/enveloppe.pdf"]
    given = {"x/conteneur.asics": ("contrat [[]v2].pdf",), "x/enveloppe.p7s": ()}
    result = pair_detached(folder, given)
    assert set(result.pairs) == {("x/acte.p7s", "x/acte"), ("x/conteneur.asics", "x/contrat [v2].pdf")}
    assert result.orphans == ()
    # Without the file named exactly, the stem finds the document, whatever its extension.
    assert pair_detached(["acte.p7s", "acte.pdf"]).pairs == (("acte.p7s", "acte.pdf"),)


def test_signed_names_from_detect_pair_an_asic_s_with_its_document(tmp_path, pki, pdf_bytes):
    data = signing.asic_s("contrat [v2].pdf", pdf_bytes, pki)
    info = detect(_write(tmp_path, "contrat.asics", data))
    result = pair_detached(["contrat.asics", "contrat [v2].pdf", "autre.pdf"], {"contrat.asics": info.signed_names})
    assert result.pairs == (("contrat.asics", "contrat [v2].pdf"),)
