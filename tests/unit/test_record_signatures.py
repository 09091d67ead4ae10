"""Participant signatures exactly as WebCrypto makes them (raw r||s, JWK or SPKI keys)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from courtroom.record.signatures import (
    KeyFormatError,
    ParticipantSignature,
    SignatureRefusal,
    export_jwk,
    export_spki,
    load_public_key,
    same_key,
    signing_message,
    verify_participant_signature,
    webcrypto_sign,
)

HASH = "ab" * 32


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize("export", [export_jwk, export_spki])
def test_valid_signature_verifies(
    key: ec.EllipticCurvePrivateKey, export: Callable[[ec.EllipticCurvePublicKey], str]
) -> None:
    msg = signing_message("record", HASH)
    sig = webcrypto_sign(key, msg)
    assert len(base64.b64decode(sig)) == 64
    assert verify_participant_signature(export(key.public_key()), msg, sig)
    assert verify_participant_signature(json.loads(export_jwk(key.public_key())), msg, sig)


def test_message_is_purpose_bound_text() -> None:
    assert signing_message("record", HASH) == f"courtroom:record:{HASH}".encode()
    assert signing_message("oath", HASH) != signing_message("record", HASH)


def test_wrong_message_key_or_encoding_fails(key: ec.EllipticCurvePrivateKey) -> None:
    msg = signing_message("record", HASH)
    sig = webcrypto_sign(key, msg)
    pub = export_jwk(key.public_key())
    assert not verify_participant_signature(pub, signing_message("oath", HASH), sig)
    other = ec.generate_private_key(ec.SECP256R1())
    assert not verify_participant_signature(export_spki(other.public_key()), msg, sig)
    der = base64.b64encode(key.sign(msg, ec.ECDSA(hashes.SHA256()))).decode()
    assert not verify_participant_signature(pub, msg, der)  # DER is not what WebCrypto emits
    assert not verify_participant_signature(pub, msg, "not base64!")
    assert not verify_participant_signature("garbage", msg, sig)
    url_safe = sig.replace("+", "-").replace("/", "_").rstrip("=")
    assert verify_participant_signature(pub, msg, url_safe)


def test_key_formats(key: ec.EllipticCurvePrivateKey) -> None:
    assert same_key(export_jwk(key.public_key()), export_spki(key.public_key()))
    assert not same_key(
        export_jwk(key.public_key()),
        export_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()),
    )
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(KeyFormatError):
        load_public_key(export_spki(p384.public_key()))
    with pytest.raises(KeyFormatError):
        load_public_key({"kty": "RSA", "n": "AQAB"})


def test_signature_and_refusal_json_round_trip(key: ec.EllipticCurvePrivateKey) -> None:
    sig = ParticipantSignature(
        "p1",
        "oath",
        HASH,
        webcrypto_sign(key, b"x"),
        export_jwk(key.public_key()),
        None,
        "2026-11-23T10:00:00Z",
    )
    assert ParticipantSignature.from_json(sig.to_json()) == sig
    ref = SignatureRefusal("p2", "不同意笔录第3行的记载", "2026-11-23T10:01:00Z")
    assert SignatureRefusal.from_json(ref.to_json()) == ref
    with pytest.raises(ValueError):
        ParticipantSignature.from_json({**sig.to_json(), "purpose": "other"})
