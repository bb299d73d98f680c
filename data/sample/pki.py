"""A throwaway PKI made at run time for the demo and the tests: a root CA, a signer
certificate it issued, and a time-stamping unit, with the names and expiry given.

Nothing here is a trust anchor: keys are random, generated with `cryptography` each time
`make_pki` is called, so signed bytes differ from run to run; names, dates and counts do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SIGNER_CN = "Marie Martin"
ROOT_CN = "Catalogage Autorité de test"
TSA_CN = "Catalogage Horodatage de test"
SIGNER_NOT_AFTER = datetime(2031, 6, 30, 23, 59, 59, tzinfo=UTC)
SIGNING_TIME = datetime(2024, 3, 14, 9, 30, 0, tzinfo=UTC)


@dataclass(frozen=True)


class SigningPki:
    """A root CA, a signer certificate it issued, and a time-stamping unit (TSA)."""

    root_key: rsa.RSAPrivateKey
    root_cert: x509.Certificate
    signer_key: rsa.RSAPrivateKey
    signer_cert: x509.Certificate
    tsa_key: rsa.RSAPrivateKey
    tsa_cert: x509.Certificate


def _name(cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Catalogage (test)"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Signatures"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _certificate(subject: str, key: rsa.RSAPrivateKey, issuer: str, issuer_key: rsa.RSAPrivateKey,
                 not_before: datetime, not_after: datetime, *, ca: bool = False,
                 eku: x509.ObjectIdentifier | None = None) -> x509.Certificate:
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(signer_cn: str = SIGNER_CN, not_after: datetime = SIGNER_NOT_AFTER, root_cn: str = ROOT_CN,
             tsa_cn: str = TSA_CN) -> SigningPki:
    """A fresh PKI: the signer's certificate carries SIGNER_CN, is issued by ROOT_CN and
    expires at NOT_AFTER (whole seconds, UTC)."""
    start = datetime(2020, 1, 1, tzinfo=UTC)
    root_key, signer_key, tsa_key = (rsa.generate_private_key(65537, 2048) for _ in range(3))
    root = _certificate(root_cn, root_key, root_cn, root_key, start, datetime(2040, 1, 1, tzinfo=UTC),
                        ca=True)
    signer = _certificate(signer_cn, signer_key, root_cn, root_key, start, not_after)
    tsa = _certificate(tsa_cn, tsa_key, root_cn, root_key, start, datetime(2035, 1, 1, tzinfo=UTC),
                       eku=ExtendedKeyUsageOID.TIME_STAMPING)
    return SigningPki(root_key, root, signer_key, signer, tsa_key, tsa)


def asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    """CERT as asn1crypto reads it (pyHanko and the CMS builders want that type)."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
