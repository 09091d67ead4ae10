"""Long-term validation: the seal through its chain of document timestamps (PAdES B-LTA).

pyHanko's ETSI EN 319 102-1 LTA validation, offline: the newest document timestamp is
validated at the verification time; each one gives proof of existence for what precedes
it, so the seal and older timestamps are validated at those earlier times with the
revocation information in the Document Security Store (the CA's CRL, required for every
certificate). Revocation information can only be as fresh as the last renewal, so for
time-stamp authorities any age is accepted; their certificates must not have expired.

When a certificate has expired at the verification time and no later timestamp covers
it, the report says "expired" and names the certificate, not "does not chain".
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from asn1crypto import x509

_ANY_AGE = dt.timedelta(days=365 * 100)


@dataclass(frozen=True)
class LtaOutcome:
    ok: bool
    message: str
    status: Any  # pyHanko's PdfSignatureStatus, when it got that far
    newest: dt.datetime | None  # the newest document timestamp


def _spec(trust_root: x509.Certificate) -> Any:
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
    from pyhanko_certvalidator.registry import SimpleTrustManager

    trust = SimpleTrustManager.build(trust_roots=[trust_root])  # type: ignore[no-untyped-call]
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=trust, revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO)
            ),
            ts_cert_validation_policy=CertValidationPolicySpec(
                trust_manager=trust,
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO, freshness=_ANY_AGE),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )


def _timestamp_certs(reader: Any) -> list[tuple[dt.datetime, x509.Certificate]]:
    out = []
    for sig in reader.embedded_signatures:
        if sig.sig_object_type == "/DocTimeStamp":
            tst = sig.signed_data["encap_content_info"]["content"].parsed
            out.append((tst["gen_time"].native, sig.signer_cert))
    return sorted(out, key=lambda t: t[0])


def _expired(cert: x509.Certificate, at: dt.datetime) -> bool:
    return bool(cert["tbs_certificate"]["validity"]["not_after"].native < at)


def _why(sig: Any, at: dt.datetime, subindication: Any) -> str:
    stamps = _timestamp_certs(sig.reader)
    if stamps and _expired(stamps[-1][1], at):
        cert = stamps[-1][1]
        return (
            f"expired: the newest document timestamp ({stamps[-1][0].isoformat()}) was made "
            f"with a certificate ({cert.subject.human_friendly}) that expired on "
            f"{cert['tbs_certificate']['validity']['not_after'].native.isoformat()}, before "
            f"{at.isoformat()}; the archive was not renewed in time (courtroom archive-renew)"
        )
    if _expired(sig.signer_cert, at):
        return (
            f"expired: the seal certificate expired on "
            f"{sig.signer_cert['tbs_certificate']['validity']['not_after'].native.isoformat()} "
            f"and no valid document timestamp proves the seal existed before that "
            f"({subindication})"
        )
    return f"the long-term validation chain is broken ({subindication})"


def validate_lta(sig: Any, trust_root: x509.Certificate, at: dt.datetime) -> LtaOutcome:
    """Validate the seal ``sig`` as PAdES B-LTA at ``at``."""
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

    timing = ValidationTimingInfo(at, at, False)
    res = asyncio.run(ades_lta_validation(sig, _spec(trust_root), timing_info=timing))
    newest = res.oldest_evidence_record_timestamp
    stamps = _timestamp_certs(sig.reader)
    newest = stamps[-1][0] if stamps else None
    if type(res.ades_subindic).__name__ == "AdESPassed":
        return LtaOutcome(True, "", res.api_status, newest)
    return LtaOutcome(False, _why(sig, at, res.ades_subindic), res.api_status, newest)
