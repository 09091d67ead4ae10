"""Court keys: a development PKI (``courtroom init-keys``) and loading a court's own files.

Directory layout (a real court supplies the same file names, without ``root.key.pem``)::

    root.cert.pem   trust anchor verifiers are given (the court's CA, or its root)
    chain.pem       optional: intermediate certificates between the root and seal/TSA
    seal.cert.pem   court seal certificate (KeyUsage digitalSignature + nonRepudiation,
    seal.key.pem    EKU documentSigning + emailProtection; see docs/record.md)
    tsa.cert.pem    local timestamp authority (EKU timeStamping only, critical); optional
    tsa.key.pem     when the court configures an external TSA by URL instead
    root.key.pem    development only: lets init-keys issue more certificates

Private keys are unencrypted PKCS#8 PEM, mode 0600.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_CERT = "root.cert.pem"
ROOT_KEY = "root.key.pem"
CHAIN = "chain.pem"
SEAL_CERT = "seal.cert.pem"
SEAL_KEY = "seal.key.pem"
TSA_CERT = "tsa.cert.pem"
TSA_KEY = "tsa.key.pem"

_DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


class KeysExistError(FileExistsError):
    """init_keys refused to overwrite existing key material."""


@dataclass(frozen=True, slots=True)
class KeyPaths:
    directory: Path
    root_cert: Path
    root_key: Path
    seal_cert: Path
    seal_key: Path
    tsa_cert: Path
    tsa_key: Path

    @classmethod
    def in_dir(cls, directory: Path) -> KeyPaths:
        return cls(
            directory=directory,
            root_cert=directory / ROOT_CERT,
            root_key=directory / ROOT_KEY,
            seal_cert=directory / SEAL_CERT,
            seal_key=directory / SEAL_KEY,
            tsa_cert=directory / TSA_CERT,
            tsa_key=directory / TSA_KEY,
        )


@dataclass(frozen=True)
class CourtKeys:
    """What sealing and the local TSA need, loaded from a key directory."""

    root: asn1_x509.Certificate
    chain: tuple[asn1_x509.Certificate, ...]
    seal_cert: asn1_x509.Certificate
    seal_key_pem: bytes
    tsa_cert: asn1_x509.Certificate | None
    tsa_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None
    paths: KeyPaths


def _name(common_name: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(
    *, digital_signature: bool = False, non_repudiation: bool = False, cert_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _issue(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    issuer: x509.Name,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    *,
    ca: bool,
    key_usage: x509.KeyUsage,
    eku: tuple[list[x509.ObjectIdentifier], bool] | None,
    now: dt.datetime,
    days: int,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        # No AIA/CRL/OCSP URLs on purpose: verification stays offline (pdfsig would try them).
    )
    issuer_pub = issuer_key.public_key()
    assert isinstance(issuer_pub, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_pub), critical=False
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku[0]), critical=eku[1])
    return builder.sign(issuer_key, hashes.SHA256())


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Create with 0600 from the start: no window where the key is world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(path, 0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def init_keys(
    directory: Path | str,
    *,
    court_name: str = "Development Court",
    force: bool = False,
    days: int = 3650,
    leaf_days: int | None = None,
) -> KeyPaths:
    """Create a development root CA, a court seal certificate and a local TSA certificate
    (those two valid ``leaf_days``, default ``days``)."""
    directory = Path(directory)
    paths = KeyPaths.in_dir(directory)
    existing = [
        p
        for p in (
            paths.root_key,
            paths.seal_key,
            paths.tsa_key,
            paths.root_cert,
            paths.seal_cert,
            paths.tsa_cert,
        )
        if p.exists()
    ]
    if existing and not force:
        raise KeysExistError(
            f"key files already exist in {directory} ({', '.join(p.name for p in existing)}); "
            "pass force=True (--force) to replace them"
        )
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{court_name} Dev Root CA", court_name)
    root = _issue(
        root_name,
        root_key.public_key(),
        root_name,
        root_key,
        ca=True,
        key_usage=_key_usage(cert_sign=True),
        eku=None,
        now=now,
        days=days,
    )

    seal_key = ec.generate_private_key(ec.SECP256R1())
    # nonRepudiation: pyHanko's default signer policy requires it. emailProtection beside
    # documentSigning: NSS (pdfsig) rejects a documentSigning-only EKU.
    seal = _issue(
        _name("Court Seal - Hearing Records", court_name),
        seal_key.public_key(),
        root_name,
        root_key,
        ca=False,
        key_usage=_key_usage(digital_signature=True, non_repudiation=True),
        eku=([_DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION], False),
        now=now,
        days=leaf_days or days,
    )

    # RSA-2048 for the TSA: RSA tokens have a fixed length. With ECDSA the token length
    # varies by a byte, and when a DER length ends in 0x80 asn1crypto 1.5.1 mistakes it for
    # indefinite length and re-encodes everything (wbond/asn1crypto#249): 0.3 s per encode.
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = _issue(
        _name("Court Local Time-Stamp Authority (server clock)", court_name),
        tsa_key.public_key(),
        root_name,
        root_key,
        ca=False,
        key_usage=_key_usage(digital_signature=True),
        eku=([ExtendedKeyUsageOID.TIME_STAMPING], True),  # RFC 3161 §2.3: sole and critical
        now=now,
        days=leaf_days or days,
    )

    for path, key in (
        (paths.root_key, root_key),
        (paths.seal_key, seal_key),
        (paths.tsa_key, tsa_key),
    ):
        write_private_key(path, key)
    for path, cert in ((paths.root_cert, root), (paths.seal_cert, seal), (paths.tsa_cert, tsa)):
        _write_cert(path, cert)
    return paths


def renew_tsa(
    directory: Path | str, *, days: int = 3650, court_name: str = "Development Court"
) -> None:
    """Replace the local TSA's key and certificate (the dev root signs): done before the
    old one expires, then ``courtroom archive-renew`` timestamps records with the new one."""
    paths = KeyPaths.in_dir(Path(directory))
    root_key = serialization.load_pem_private_key(paths.root_key.read_bytes(), password=None)
    if not isinstance(root_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("root.key.pem must be an EC or RSA key")
    root = x509.load_pem_x509_certificate(paths.root_cert.read_bytes())
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = _issue(
        _name("Court Local Time-Stamp Authority (server clock)", court_name),
        tsa_key.public_key(),
        root.subject,
        root_key,
        ca=False,
        key_usage=_key_usage(digital_signature=True),
        eku=([ExtendedKeyUsageOID.TIME_STAMPING], True),
        now=dt.datetime.now(dt.UTC),
        days=days,
    )
    write_private_key(paths.tsa_key, tsa_key)
    _write_cert(paths.tsa_cert, tsa)


def _load_asn1_cert(pem: bytes) -> asn1_x509.Certificate:
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    return asn1_x509.Certificate.load(der)


def _load_asn1_certs(pem: bytes) -> tuple[asn1_x509.Certificate, ...]:
    return tuple(
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
        for c in x509.load_pem_x509_certificates(pem)
    )


def load_trust_root(path: Path | str) -> asn1_x509.Certificate:
    return _load_asn1_cert(Path(path).read_bytes())


def load_court_keys(directory: Path | str) -> CourtKeys:
    """Load a key directory (layout in the module docstring). The TSA pair is optional."""
    paths = KeyPaths.in_dir(Path(directory))
    chain_path = paths.directory / CHAIN
    chain = _load_asn1_certs(chain_path.read_bytes()) if chain_path.exists() else ()
    tsa_cert: asn1_x509.Certificate | None = None
    tsa_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None
    if paths.tsa_cert.exists() and paths.tsa_key.exists():
        tsa_cert = _load_asn1_cert(paths.tsa_cert.read_bytes())
        loaded = serialization.load_pem_private_key(paths.tsa_key.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("tsa.key.pem must be an RSA or EC key")
        tsa_key = loaded
    return CourtKeys(
        root=_load_asn1_cert(paths.root_cert.read_bytes()),
        chain=chain,
        seal_cert=_load_asn1_cert(paths.seal_cert.read_bytes()),
        seal_key_pem=paths.seal_key.read_bytes(),
        tsa_cert=tsa_cert,
        tsa_key=tsa_key,
        paths=paths,
    )


def main_init_keys(argv: list[str] | None = None) -> int:
    """``courtroom init-keys [DIR] [--court NAME] [--force]``: make the development PKI."""
    import argparse

    from courtroom.paths import data_dir

    parser = argparse.ArgumentParser(
        prog="courtroom init-keys",
        description="Create a DEVELOPMENT root CA, court seal and local TSA certificate. "
        "A real court puts its own files in the same layout instead.",
    )
    parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=None,
        help="key directory (default: $COURTROOM_DATA_DIR/keys)",
    )
    parser.add_argument("--court", default="Development Court", help="organisation name")
    parser.add_argument("--force", action="store_true", help="replace existing keys")
    args = parser.parse_args(argv)
    directory: Path = args.directory or data_dir() / "keys"
    try:
        paths = init_keys(directory, court_name=args.court, force=args.force)
    except KeysExistError as exc:
        print(f"courtroom init-keys: {exc}")
        return 1
    print(f"development keys written to {paths.directory}; trust anchor: {paths.root_cert}")
    return 0
