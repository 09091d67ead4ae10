"""Development PKI layout and the RFC 3161 TSA core (accepts, rejects, token contents)."""

from __future__ import annotations

import asyncio
import hashlib
import stat
from pathlib import Path

import pytest
from asn1crypto import algos, tsp
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from courtroom.record.keys import (
    CourtKeys,
    KeysExistError,
    init_keys,
)
from courtroom.record.tsa import (
    LOCAL_TSA_POLICY,
    LocalTimeStamper,
    TimeStampAuthority,
    TimeStampResponse,
)


@pytest.fixture(scope="module")
def tsa(keys: CourtKeys) -> TimeStampAuthority:
    assert keys.tsa_cert is not None and keys.tsa_key is not None
    return TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root])


def test_key_files_private_and_not_overwritten(keydir: Path) -> None:
    for name in ("root.key.pem", "seal.key.pem", "tsa.key.pem"):
        assert stat.S_IMODE((keydir / name).stat().st_mode) == 0o600
    before = (keydir / "seal.key.pem").read_bytes()
    with pytest.raises(KeysExistError):
        init_keys(keydir)
    assert (keydir / "seal.key.pem").read_bytes() == before


def test_force_replaces(tmp_path: Path) -> None:
    init_keys(tmp_path)
    old = (tmp_path / "seal.cert.pem").read_bytes()
    init_keys(tmp_path, force=True)
    assert (tmp_path / "seal.cert.pem").read_bytes() != old


def test_certificate_profiles(keydir: Path) -> None:
    def load(name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((keydir / name).read_bytes())

    seal, tsa_cert, root = load("seal.cert.pem"), load("tsa.cert.pem"), load("root.cert.pem")
    ku = seal.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
    eku = seal.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert set(eku.value) == {
        x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"),
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
    }
    tsa_eku = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert tsa_eku.critical and list(tsa_eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for cert in (seal, tsa_cert):
        cert.verify_directly_issued_by(root)
        with pytest.raises(x509.ExtensionNotFound):  # no AIA: nothing to fetch, ever
            cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)


def _req(digest: bytes, alg: str = "sha256", **extra: object) -> tsp.TimeStampReq:
    return tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": alg}),
                "hashed_message": digest,
            },
            **extra,
        }
    )


def test_granted_token(tsa: TimeStampAuthority) -> None:
    digest = hashlib.sha256(b"record").digest()
    resp = tsa.respond(_req(digest, nonce=12345, cert_req=True))
    assert resp["status"]["status"].native == "granted"
    sd = resp["time_stamp_token"]["content"]
    info = sd["encap_content_info"]["content"].parsed
    assert info["policy"].native == LOCAL_TSA_POLICY
    assert info["nonce"].native == 12345
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["gen_time"].native.utcoffset().total_seconds() == 0
    assert len(sd["certificates"]) == 2
    attrs = {a["type"].native for a in sd["signer_infos"][0]["signed_attrs"]}
    assert {"content_type", "message_digest", "signing_certificate_v2"} <= attrs
    serials = [
        tsa.respond(_req(digest))["time_stamp_token"]["content"]["encap_content_info"]["content"]
        .parsed["serial_number"]
        .native
        for _ in range(3)
    ]
    assert serials == sorted(set(serials)) and serials[0] > info["serial_number"].native
    no_certs = tsa.respond(_req(digest, cert_req=False))["time_stamp_token"]["content"]
    assert not no_certs["certificates"]


@pytest.mark.parametrize(
    ("req", "fail"),
    [
        (_req(hashlib.sha1(b"x").digest(), "sha1"), "bad_alg"),
        (_req(b"short"), "bad_data_format"),
        (_req(hashlib.sha256(b"x").digest(), req_policy="1.2.3.4"), "unaccepted_policy"),
    ],
)
def test_rejections(tsa: TimeStampAuthority, req: tsp.TimeStampReq, fail: str) -> None:
    resp = tsa.respond(req)
    assert resp["status"]["status"].native == "rejection"
    assert resp["status"]["fail_info"].native == {fail}
    assert resp["time_stamp_token"].native is None  # no token, per RFC 3161 §2.4.2
    assert TimeStampResponse.load(resp.dump())["status"]["status"].native == "rejection"


def test_local_timestamper_token_validates_in_pyhanko(
    tsa: TimeStampAuthority, keys: CourtKeys
) -> None:
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    digest = hashlib.sha256(b"x").digest()
    token = asyncio.run(LocalTimeStamper(tsa).async_timestamp(digest, "sha256"))
    vc = ValidationContext(
        trust_roots=[keys.root], allow_fetching=False, revocation_mode="soft-fail"
    )
    st = asyncio.run(validate_tst_signed_data(token["content"], vc, lambda _alg: digest))
    assert st["intact"] and st["valid"]
    assert st["validation_path"] is not None  # chained to the dev root


def test_main_init_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from courtroom.record.keys import main_init_keys

    assert main_init_keys([str(tmp_path / "k")]) == 0
    assert main_init_keys([str(tmp_path / "k")]) == 1
    assert "already exist" in capsys.readouterr().out
    assert main_init_keys([str(tmp_path / "k"), "--force"]) == 0
