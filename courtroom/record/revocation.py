"""Revocation information for long-term validation (PAdES B-LT / B-LTA).

The court's CA publishes a CRL; the seal embeds it (and the certificates) in the PDF's
Document Security Store, so a verifier can check revocation offline, years later. With
the development CA the key directory holds the root key, so a fresh CRL is issued on
demand (``issue_crl``). A court whose CA is elsewhere drops the CA's current CRL in the
key directory as ``crl.der`` (or ``crl.pem``) and refreshes it before it expires. OCSP is
not fetched (verification and sealing stay offline): responses a deployment places in
``<keys>/ocsp/*.der`` are embedded with the CRL.
"""

from __future__ import annotations

import datetime as dt

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyhanko_certvalidator import ValidationContext

from courtroom.record.keys import CourtKeys

CRL_DER = "crl.der"
CRL_PEM = "crl.pem"
CRL_DAYS = 7
OCSP_DIR = "ocsp"


def issue_crl(
    keys: CourtKeys,
    *,
    now: dt.datetime | None = None,
    days: int = CRL_DAYS,
    revoked: tuple[int, ...] = (),
) -> asn1_crl.CertificateList:
    """A CRL signed by the development root (``revoked``: serial numbers)."""
    now = now or dt.datetime.now(dt.UTC)
    key = serialization.load_pem_private_key(keys.paths.root_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("root.key.pem must be an EC or RSA key")
    root = x509.load_der_x509_certificate(keys.root.dump())
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=days))
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
    )
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now - dt.timedelta(minutes=1))
            .build()
        )
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    return asn1_crl.CertificateList.load(der)


def current_crls(keys: CourtKeys, now: dt.datetime | None = None) -> list[asn1_crl.CertificateList]:
    """The CA's CRL: the one in the key directory, else a fresh one from the dev root."""
    for name, pem in ((CRL_DER, False), (CRL_PEM, True)):
        path = keys.paths.directory / name
        if path.exists():
            data = path.read_bytes()
            crl = x509.load_pem_x509_crl(data) if pem else x509.load_der_x509_crl(data)
            return [asn1_crl.CertificateList.load(crl.public_bytes(serialization.Encoding.DER))]
    if keys.paths.root_key.exists():
        return [issue_crl(keys, now=now)]
    return []


def configured_ocsps(keys: CourtKeys) -> list[asn1_ocsp.OCSPResponse]:
    """OCSP responses a deployment drops in ``<keys>/ocsp/*.der`` (fetched by its own
    tooling, e.g. ``openssl ocsp -respout``): embedded in the DSS with the CRL."""
    folder = keys.paths.directory / OCSP_DIR
    if not folder.is_dir():
        return []
    return [asn1_ocsp.OCSPResponse.load(p.read_bytes()) for p in sorted(folder.glob("*.der"))]


def signing_validation_context(
    keys: CourtKeys,
    *,
    extra_certs: tuple[asn1_x509.Certificate, ...] = (),
    now: dt.datetime | None = None,
) -> ValidationContext:
    """What the seal validates its own chains with before embedding them (offline)."""
    crls = current_crls(keys, now)
    if not crls:
        raise ValueError(
            f"no CRL for the court's CA: put its current CRL in {keys.paths.directory / CRL_DER} "
            "(PAdES B-LT embeds it so the record can be validated offline for decades)"
        )
    certs = [*keys.chain, keys.seal_cert, *extra_certs]
    if keys.tsa_cert is not None:
        certs.append(keys.tsa_cert)
    return ValidationContext(
        trust_roots=[keys.root],
        other_certs=certs,
        crls=crls,
        ocsps=configured_ocsps(keys),
        allow_fetching=False,
        revocation_mode="require",
        moment=now,
    )
