"""The court's own signature on small JSON statements (receipts, tree heads).

The body is canonical JSON (RFC 8785); the signature is the seal key's (ECDSA P-256 or
RSA PKCS#1 v1.5, SHA-256) in base64 DER, with the seal certificate (base64 DER) beside it
so that a verifier needs only the court's trust root.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from courtroom.record.document import canonical_json
from courtroom.record.keys import CourtKeys


def sign_statement(keys: CourtKeys, body: Mapping[str, Any]) -> dict[str, Any]:
    key = serialization.load_pem_private_key(keys.seal_key_pem, password=None)
    data = canonical_json(dict(body))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(key, rsa.RSAPrivateKey):
        sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise ValueError("the seal key must be EC or RSA")
    return {
        "body": dict(body),
        "signature": base64.b64encode(sig).decode("ascii"),
        "certificate": base64.b64encode(keys.seal_cert.dump()).decode("ascii"),
    }


def _verify(cert: x509.Certificate, signature: bytes, data: bytes) -> None:
    pub = cert.public_key()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(pub, rsa.RSAPublicKey):
        pub.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise InvalidSignature("unsupported key type")


def statement_problem(
    statement: Mapping[str, Any], trust_root: asn1_x509.Certificate
) -> str | None:
    """Why ``statement`` is not signed by a court certificate issued by the root, or None."""
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(statement["certificate"]))
        root = x509.load_der_x509_certificate(trust_root.dump())
        cert.verify_directly_issued_by(root)
    except (KeyError, ValueError, TypeError, InvalidSignature):
        return "its certificate is not issued by the trust root"
    try:
        data = canonical_json(dict(statement["body"]))
        _verify(cert, base64.b64decode(statement["signature"]), data)
    except (KeyError, ValueError, TypeError, InvalidSignature):
        return "the court's signature on it does not verify"
    return None
