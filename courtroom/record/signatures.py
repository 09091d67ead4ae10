"""Participant signatures made in a browser with WebCrypto, and their verification.

What a device signs (the decision, fixed here and in docs/record.md)::

    message = UTF-8 of "courtroom:" + purpose + ":" + signed_hash_hex
    signature = crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, key, message)

``signed_hash_hex`` is the 64-character lowercase hex SHA-256 of the canonical record
(``purpose == "record"``) or of the oath statement (``purpose == "oath"``). Signing text
rather than the raw 32 bytes keeps it readable in a browser and in a dump, and the purpose
prefix stops a record signature from being replayed as an oath signature (and back).
WebCrypto hashes the message itself and returns raw r||s (64 bytes for P-256), which is
what is stored, base64-encoded. The public key is the device key exported as JWK (JSON
text) or SPKI (base64 DER) and registered when the identity check passed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

Purpose = Literal["record", "oath"]
PURPOSES: tuple[Purpose, ...] = ("record", "oath")


class KeyFormatError(ValueError):
    """A registered public key is neither a P-256 JWK nor a P-256 SPKI."""


@dataclass(frozen=True, slots=True)
class ParticipantSignature:
    participant_id: str
    purpose: Purpose
    signed_hash: str  # hex SHA-256 the device signed (see module docstring)
    signature: str  # base64 raw r||s, as WebCrypto returns it
    public_key: str  # the key the device says it used (JWK text or SPKI base64)
    stroke_png_sha256: str | None  # the handwritten stroke image shown on the PDF
    signed_at: str  # ISO 8601 UTC, server receive time

    def message(self) -> bytes:
        return signing_message(self.purpose, self.signed_hash)

    def to_json(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "purpose": self.purpose,
            "signed_hash": self.signed_hash,
            "signature": self.signature,
            "public_key": self.public_key,
            "stroke_png_sha256": self.stroke_png_sha256,
            "signed_at": self.signed_at,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ParticipantSignature:
        purpose = obj["purpose"]
        if purpose not in PURPOSES:
            raise ValueError(f"unknown signature purpose {purpose!r}")
        stroke = obj.get("stroke_png_sha256")
        return cls(
            participant_id=str(obj["participant_id"]),
            purpose=purpose,
            signed_hash=str(obj["signed_hash"]),
            signature=str(obj["signature"]),
            public_key=str(obj["public_key"]),
            stroke_png_sha256=None if stroke is None else str(stroke),
            signed_at=str(obj["signed_at"]),
        )


@dataclass(frozen=True, slots=True)
class SignatureRefusal:
    """A participant declined to sign; the refusal is part of the record."""

    participant_id: str
    reason: str
    at: str
    purpose: Purpose = "record"

    def to_json(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "reason": self.reason,
            "at": self.at,
            "purpose": self.purpose,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> SignatureRefusal:
        purpose = obj.get("purpose", "record")
        if purpose not in PURPOSES:
            raise ValueError(f"unknown refusal purpose {purpose!r}")
        return cls(
            participant_id=str(obj["participant_id"]),
            reason=str(obj["reason"]),
            at=str(obj["at"]),
            purpose=purpose,
        )


def signing_message(purpose: Purpose, signed_hash: str) -> bytes:
    return f"courtroom:{purpose}:{signed_hash}".encode("ascii")


def _b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional (browsers produce both)."""
    s = text.strip().replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    return base64.b64decode(s, validate=True)


def load_public_key(key: str | Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from a JWK (dict or JSON text) or SPKI DER in base64."""
    try:
        if isinstance(key, str) and not key.lstrip().startswith("{"):
            loaded = serialization.load_der_public_key(_b64decode(key))
            if not isinstance(loaded, ec.EllipticCurvePublicKey) or not isinstance(
                loaded.curve, ec.SECP256R1
            ):
                raise KeyFormatError("SPKI key is not ECDSA P-256")
            return loaded
        jwk: Mapping[str, Any] = json.loads(key) if isinstance(key, str) else key
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise KeyFormatError("JWK is not an EC P-256 key")
        x = int.from_bytes(_b64decode(str(jwk["x"])), "big")
        y = int.from_bytes(_b64decode(str(jwk["y"])), "big")
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except KeyFormatError:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise KeyFormatError(f"unreadable public key: {exc}") from exc


def same_key(a: str | Mapping[str, Any], b: str | Mapping[str, Any]) -> bool:
    """True when two exports (JWK or SPKI, any member order) are the same public key."""
    try:
        return load_public_key(a).public_numbers() == load_public_key(b).public_numbers()
    except KeyFormatError:
        return False


def verify_participant_signature(
    public_key: str | Mapping[str, Any], message: bytes, signature_b64: str
) -> bool:
    """Check a WebCrypto ECDSA P-256/SHA-256 raw r||s signature over ``message``."""
    try:
        key = load_public_key(public_key)
        raw = _b64decode(signature_b64)
    except (KeyFormatError, ValueError, binascii.Error):
        return False
    if len(raw) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# --- what a browser does; used by tests, the bench and the demo ----------------------


def webcrypto_sign(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> str:
    """Sign as ``crypto.subtle.sign({name:"ECDSA",hash:"SHA-256"})`` does: base64 r||s."""
    r, s = decode_dss_signature(private_key.sign(message, ec.ECDSA(hashes.SHA256())))
    return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode("ascii")


def export_jwk(public_key: ec.EllipticCurvePublicKey) -> str:
    """The public JWK ``crypto.subtle.exportKey("jwk", ...)`` gives, as JSON text."""
    n = public_key.public_numbers()

    def b64url(i: int) -> str:
        return base64.urlsafe_b64encode(i.to_bytes(32, "big")).rstrip(b"=").decode("ascii")

    jwk = {"crv": "P-256", "ext": True, "kty": "EC", "x": b64url(n.x), "y": b64url(n.y)}
    return json.dumps(jwk)


def export_spki(public_key: ec.EllipticCurvePublicKey) -> str:
    """``crypto.subtle.exportKey("spki", ...)`` as base64 DER."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")
