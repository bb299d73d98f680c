"""CMS signatures and RFC 3161 time stamps, assembled with asn1crypto and signed with
`cryptography`: CAdES-BES detached or enveloping (DER or PEM), co-signed, time-stamp
tokens (.tst) and responses (.tsr)."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta

from asn1crypto import algos, cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .pki import SIGNING_TIME, SigningPki, asn1_cert


def _signer_info(key: rsa.RSAPrivateKey, cert: x509.Certificate, content_type: str, digest: bytes,
                 signing_time: datetime | None, *, by_key_id: bool = False) -> cms.SignerInfo:
    certificate = asn1_cert(cert)
    attrs = [
        cms.CMSAttribute({"type": "content_type", "values": [content_type]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest]}),
        cms.CMSAttribute({"type": "signing_certificate_v2", "values": [tsp.SigningCertificateV2({"certs": [{
            "hash_algorithm": {"algorithm": "sha256"},
            "cert_hash": hashlib.sha256(certificate.dump()).digest()}]})]}),
    ]
    if signing_time is not None:
        attrs.insert(2, cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": signing_time})]}))
    signed_attrs = cms.CMSAttributes(attrs)
    # The signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4).
    signature = key.sign(signed_attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
    if by_key_id:  # RFC 5652: the certificate named by its subject key identifier, version 3
        sid = cms.SignerIdentifier({"subject_key_identifier": certificate.key_identifier})
    else:
        sid = cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber({
            "issuer": certificate.issuer, "serial_number": certificate.serial_number})})
    return cms.SignerInfo({
        "version": "v3" if by_key_id else "v1",
        "sid": sid,
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": signed_attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
        "signature": signature,
    })


def _signed_data(content_type: str, content: bytes, signer_infos: list[cms.SignerInfo],
                 certs: list[x509.Certificate], *, detached: bool) -> bytes:
    encap: dict = {"content_type": content_type}
    if not detached:
        # asn1crypto wants the parsed TSTInfo for a token, the raw octets for plain data.
        encap["content"] = tsp.TSTInfo.load(content) if content_type == "tst_info" else content
    signed = cms.SignedData({
        "version": "v1" if content_type == "data" else "v3",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": encap,
        "certificates": [asn1_cert(c) for c in certs],
        "signer_infos": signer_infos,
    })
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def cms_signature(data: bytes, pki: SigningPki, *, detached: bool = True, signing_time: datetime | None = SIGNING_TIME,
                  pem: bool = False, cosigned: bool = False, by_key_id: bool = False) -> bytes:
    """CAdES-BES SignedData over DATA: detached (a .p7s) or enveloping (a .p7m, DATA inside),
    DER or PEM (`-----BEGIN PKCS7-----`). COSIGNED adds a second SignerInfo by the TSA key
    an hour later, to have two signers in one file. BY_KEY_ID names the signer's certificate
    by its subject key identifier instead of issuer and serial number."""
    digest = hashlib.sha256(data).digest()
    infos = [_signer_info(pki.signer_key, pki.signer_cert, "data", digest, signing_time, by_key_id=by_key_id)]
    certs = [pki.signer_cert, pki.root_cert]
    if cosigned:
        later = signing_time + timedelta(hours=1) if signing_time else None
        infos.append(_signer_info(pki.tsa_key, pki.tsa_cert, "data", digest, later))
        certs.append(pki.tsa_cert)
    der = _signed_data("data", data, infos, certs, detached=detached)
    if not pem:
        return der
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN PKCS7-----\n{body}-----END PKCS7-----\n".encode("ascii")


def timestamp_token(data: bytes, pki: SigningPki, gen_time: datetime = SIGNING_TIME, serial: int = 1) -> bytes:
    """An RFC 3161 TimeStampToken (.tst) over DATA, signed by the test TSA at GEN_TIME."""
    info = tsp.TSTInfo({
        "version": "v1",
        "policy": "1.3.6.1.4.1.99999.1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(data).digest()},
        "serial_number": serial,
        "gen_time": gen_time,
        "accuracy": {"seconds": 1},
        "ordering": False,
    }).dump()
    signer = _signer_info(pki.tsa_key, pki.tsa_cert, "tst_info", hashlib.sha256(info).digest(), None)
    return _signed_data("tst_info", info, [signer], [pki.tsa_cert], detached=False)


def timestamp_response(data: bytes, pki: SigningPki, gen_time: datetime = SIGNING_TIME) -> bytes:
    """An RFC 3161 TimeStampResp (.tsr): status granted and the token."""
    token = cms.ContentInfo.load(timestamp_token(data, pki, gen_time))
    return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()
