"""A local certificate authority and a server certificate, so phones on the LAN get HTTPS.

Browsers give a page the camera and microphone only in a secure context: ``localhost``, or
HTTPS with a certificate they trust. ``scripts/serve --https`` runs this module, which makes
(once) a small CA in ``<data dir>/tls`` and, for the machine's names and addresses, a server
certificate signed by it; the CA certificate is what each phone installs once.

    python -m courtroom.tls [--dir DIR] [--name NAME ...]   # prints the files' paths
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import socket
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .paths import data_dir
from .record.keys import write_private_key

CA_CERT, CA_KEY = "ca.crt", "ca.key"
SERVER_CERT, SERVER_KEY = "server.crt", "server.key"
SERVER_DAYS = 397  # browsers refuse longer-lived server certificates
CA_DAYS = 3650
_CA_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class LocalTls:
    ca_cert: Path
    cert: Path
    key: Path
    names: tuple[str, ...]


def machine_names() -> list[str]:
    """localhost, this host's names and its LAN address (found without sending a packet)."""
    names = ["localhost", "127.0.0.1"]
    host = socket.gethostname()
    names += [host, f"{host.split('.')[0]}.local"]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # UDP: picks the outgoing interface, sends nothing
            names.append(s.getsockname()[0])
    except OSError:
        pass
    names += [n for n in os.environ.get("COURTROOM_TLS_NAMES", "").split(",") if n]
    return list(dict.fromkeys(names))


def _san(names: Iterable[str]) -> x509.SubjectAlternativeName:
    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(general)


def _ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = folder / CA_CERT, folder / CA_KEY
    if cert_path.is_file() and key_path.is_file():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "courtroom (local)"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"courtroom CA {socket.gethostname()}"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _current(folder: Path, names: list[str], ca: x509.Certificate) -> bool:
    """Whether the server certificate there is ours, for these names, and not near expiry."""
    try:
        cert = x509.load_pem_x509_certificate((folder / SERVER_CERT).read_bytes())
    except (OSError, ValueError):
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    fresh = cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    return cert.issuer == ca.subject and san == _san(names) and fresh


def ensure_local_tls(folder: Path | None = None, names: list[str] | None = None) -> LocalTls:
    """The CA (made once) and a server certificate for ``names`` (remade when they change)."""
    folder = (folder or data_dir() / "tls").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    names = names or machine_names()
    ca, ca_key = _ca(folder)
    if not _current(folder, names, ca):
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
            .add_extension(_san(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        write_private_key(folder / SERVER_KEY, key)
        (folder / SERVER_CERT).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return LocalTls(folder / CA_CERT, folder / SERVER_CERT, folder / SERVER_KEY, tuple(names))


PHONE_STEPS = """\
To join from a phone on this network, trust the CA once on the phone:
  copy {ca} to the phone (mail, USB, a chat app), then
  Android: Settings > Security > Encryption & credentials > Install a certificate >
           CA certificate, and pick the file;
  iPhone:  open the file, Settings > General > VPN & Device Management > install the
           profile, then Settings > General > About > Certificate Trust Settings > turn on
           full trust for "{cn}".
Then open https://{host}:{port}/ (the certificate covers: {names})."""


def phone_steps(tls: LocalTls, port: int) -> str:
    ca = x509.load_pem_x509_certificate(tls.ca_cert.read_bytes())
    cn = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    lan = [n for n in tls.names if n not in ("localhost", "127.0.0.1")]
    host = lan[-1] if lan else "localhost"
    names = ", ".join(tls.names)
    return PHONE_STEPS.format(ca=tls.ca_cert, cn=cn, host=host, port=port, names=names)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m courtroom.tls", description=__doc__)
    p.add_argument("--dir", type=Path, help="default <data dir>/tls")
    p.add_argument("--name", action="append", help="a host name or IP (default: this machine's)")
    p.add_argument("--port", type=int, default=8443, help="the port phones will use")
    p.add_argument("--print-args", action="store_true", help="print only serve's TLS options")
    a = p.parse_args(argv)
    tls = ensure_local_tls(a.dir, a.name)
    if a.print_args:
        print(f"--tls-cert {tls.cert} --tls-key {tls.key}")
        return 0
    print(f"certificate {tls.cert}\nkey {tls.key}\nCA {tls.ca_cert}")
    print(phone_steps(tls, a.port), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
