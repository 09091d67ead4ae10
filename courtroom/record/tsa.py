"""The project's own small RFC 3161 time-stamp authority.

``TimeStampAuthority.respond`` turns a ``TimeStampReq`` into a ``TimeStampResp``; it is
pure apart from reading the clock, and is used two ways:

* ``LocalTimeStamper``: in-process, the default for sealing (no network, no service).
* ``tsa_route``: a Starlette route (``POST application/timestamp-query``) so any RFC 3161
  client, pyHanko's ``HTTPTimeStamper`` included, can use it. A court that has a
  qualified/external TSA configures that URL instead; nothing else changes.

A local authority proves only what this server's clock said when the record was sealed.
It is labelled as such in its certificate name and policy, and in docs/record.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from asn1crypto import algos, cms, core, tsp, x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.timestamps.api import TimeStamper
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# 2.25.<uuid-as-integer> (ITU-T X.667) needs no registration. Fixed for the project so
# every local-TSA token names the same "server clock only" policy.
LOCAL_TSA_POLICY = "2.25." + str(uuid.UUID("6f1c1f3e-1d2a-4b8e-9a57-3c0d8e2b7a41").int)

_DIGEST_LENGTHS = {"sha256": 32, "sha384": 48, "sha512": 64}
_PYCA_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
MAX_REQUEST_BYTES = 16 * 1024


class TimeStampResponse(tsp.TimeStampResp):  # type: ignore[misc]
    """``TimeStampResp`` with the token OPTIONAL, as RFC 3161 §2.4.2 has it.

    asn1crypto declares it mandatory, so a rejection could be neither built nor parsed.
    Parse replies with this class (pyHanko's HTTP client uses the strict one and raises
    ValueError on a rejection body instead of TimestampRequestError).
    """

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _rejection(fail: str, text: str) -> TimeStampResponse:
    return TimeStampResponse(
        {
            "status": tsp.PKIStatusInfo(
                {
                    "status": "rejection",
                    "status_string": [text],
                    "fail_info": tsp.PKIFailureInfo({fail}),
                }
            )
        }
    )


class TimeStampAuthority:
    """An RFC 3161 TSA core over a certificate (EKU timeStamping, critical) and its key."""

    def __init__(
        self,
        cert: x509.Certificate,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        *,
        chain: Sequence[x509.Certificate] = (),
        policy: str = LOCAL_TSA_POLICY,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.cert = cert
        self._key = key
        self._chain = tuple(chain)
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._last_serial = 0

    def _next_serial(self) -> int:
        # Nanosecond time, bumped when it would repeat: unique and increasing within the
        # process and, clock permitting, across restarts.
        with self._lock:
            self._last_serial = max(self._last_serial + 1, time.time_ns())
            return self._last_serial

    def respond(self, req: tsp.TimeStampReq) -> TimeStampResponse:
        try:
            version = req["version"].native
            imprint = req["message_imprint"]
            alg = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
            req_policy = req["req_policy"].native
            extensions = req["extensions"].native
            nonce = req["nonce"].native
            cert_req = bool(req["cert_req"].native)
        except (ValueError, TypeError, KeyError):
            return _rejection("bad_data_format", "malformed TimeStampReq")
        if version != "v1":
            return _rejection("bad_request", "only TimeStampReq version 1 is supported")
        if alg not in _DIGEST_LENGTHS:
            return _rejection("bad_alg", "hash algorithm must be sha256, sha384 or sha512")
        if not isinstance(digest, bytes) or len(digest) != _DIGEST_LENGTHS[alg]:
            return _rejection("bad_data_format", "digest length does not match the algorithm")
        if req_policy is not None and req_policy != self.policy:
            return _rejection("unaccepted_policy", "this TSA only issues its own policy")
        if extensions:
            return _rejection("unaccepted_extension", "request extensions are not supported")

        # Whole seconds with a stated 1 s accuracy: honest for a server clock.
        now = self._clock().astimezone(dt.UTC).replace(microsecond=0)
        tst_fields: dict[str, object] = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": tsp.MessageImprint(
                {
                    "hash_algorithm": algos.DigestAlgorithm({"algorithm": alg}),
                    "hashed_message": digest,
                }
            ),
            "serial_number": self._next_serial(),
            "gen_time": core.GeneralizedTime(now),
            "accuracy": tsp.Accuracy({"seconds": 1}),
            "ordering": False,
            "tsa": x509.GeneralName(name="directory_name", value=self.cert.subject),
        }
        if nonce is not None:
            tst_fields["nonce"] = nonce
        tst_info = tsp.TSTInfo(tst_fields).dump()

        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(tst_info).digest()]}
                ),
                cms.CMSAttribute(
                    {
                        "type": "signing_certificate_v2",
                        "values": [as_signing_certificate_v2(self.cert)],
                    }
                ),
            ]
        )
        to_sign = signed_attrs.dump()
        if isinstance(self._key, rsa.RSAPrivateKey):
            signature = self._key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
            sig_alg = "sha256_rsa"
        else:
            signature = self._key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
            sig_alg = "sha256_ecdsa"

        digest_alg = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                            {"issuer": self.cert.issuer, "serial_number": self.cert.serial_number}
                        )
                    }
                ),
                "digest_algorithm": digest_alg,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": sig_alg}),
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
        )
        signed_data: dict[str, object] = {
            "version": "v3",
            "digest_algorithms": [digest_alg],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(tst_info),
            },
            "signer_infos": [signer_info],
        }
        if cert_req:
            signed_data["certificates"] = [self.cert, *self._chain]
        token = cms.ContentInfo(
            {"content_type": "signed_data", "content": cms.SignedData(signed_data)}
        )
        return TimeStampResponse(
            {"status": tsp.PKIStatusInfo({"status": "granted"}), "time_stamp_token": token}
        )


class LocalTimeStamper(TimeStamper):
    """pyHanko timestamper backed by the in-process local TSA.

    LOCAL AUTHORITY: its tokens prove only what this server's clock said. Configure an
    external RFC 3161 TSA (``HTTPTimeStamper(url)``) where an independent time is needed.
    """

    def __init__(self, tsa: TimeStampAuthority) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self.tsa = tsa

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> TimeStampResponse:
        return self.tsa.respond(req)


def tsa_route(tsa: TimeStampAuthority, path: str = "/tsa") -> Route:
    """``POST path`` with ``application/timestamp-query`` in, ``timestamp-reply`` out."""

    async def endpoint(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/timestamp-query":
            return Response(
                "expected application/timestamp-query\n", status_code=415, media_type="text/plain"
            )
        body = await request.body()
        if len(body) > MAX_REQUEST_BYTES:
            return Response("request too large\n", status_code=413, media_type="text/plain")
        try:
            req = tsp.TimeStampReq.load(body, strict=True)
            _ = req.native  # force a full parse so malformed DER is caught here
        except (ValueError, TypeError):
            resp = _rejection("bad_data_format", "request is not a DER TimeStampReq")
        else:
            resp = tsa.respond(req)
        return Response(resp.dump(), media_type="application/timestamp-reply")

    return Route(path, endpoint, methods=["POST"])
