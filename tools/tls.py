"""A throwaway certificate authority and server certificate for loopback tests.

Servers we stand up for tests (the Samba DC's LDAPS, an HTTPS Graph test
server) present a certificate for ``127.0.0.1`` / ``localhost`` signed by this
CA, so clients verify TLS exactly as in production (8.24) instead of turning
verification off. The keys are test material only (8.33): never reuse them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
_VALIDITY = dt.timedelta(days=825)


@dataclass(frozen=True)
class Pki:
    """Paths of the PEM files: the CA to trust, the server's cert and key."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def ensure_test_pki(
    directory: str | os.PathLike[str], address: str = "127.0.0.1"
) -> Pki:
    """Return the test PKI in ``directory``, creating what is missing.

    Existing files are reused so a server and its clients keep agreeing on the
    CA across runs. A server certificate that has expired, or a CA whose key
    is missing, is regenerated. ``address``: a further loopback address the
    server certificate must name (a second DC on 127.0.0.2, say).
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    pki = Pki(root / CA_CERT, root / SERVER_CERT, root / SERVER_KEY)
    ca_key_path = root / CA_KEY
    if not (_valid(pki.ca_cert) and ca_key_path.exists()):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        _write_key(ca_key_path, ca_key)
        _write_cert(pki.ca_cert, _ca_certificate(ca_key))
        pki.server_cert.unlink(missing_ok=True)
    if not (
        _valid(pki.server_cert)
        and pki.server_key.exists()
        and _names(pki.server_cert, address)
    ):
        ca_key = _load_key(ca_key_path)
        ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
        server_key = ec.generate_private_key(ec.SECP256R1())
        _write_key(pki.server_key, server_key)
        _write_cert(
            pki.server_cert,
            _server_certificate(server_key, ca_cert, ca_key, address),
        )
    return pki


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _valid(path: Path) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    # A day's margin so a long test session never sees it expire mid-run.
    return cert.not_valid_after_utc > _now() + dt.timedelta(days=1)


def _names(path: Path, address: str) -> bool:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return ipaddress.ip_address(address) in san.value.get_values_for_type(
        x509.IPAddress
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "IAM lifecycle test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = _name("IAM lifecycle test CA")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    address: str = "127.0.0.1",
) -> x509.Certificate:
    addresses = dict.fromkeys(
        ipaddress.ip_address(a) for a in ("127.0.0.1", "::1", address)
    )
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), *(x509.IPAddress(a) for a in addresses)]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + _VALIDITY)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    _write_atomically(path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # 0600 from the first byte: Samba refuses a key file others can read.
    _write_atomically(path, pem, 0o600)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    # Write aside, then rename: a server or client reading meanwhile sees the
    # old file or the new one, never half of one.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{path} does not hold an EC private key")
    return key
