"""Long-term validation: the seal through its chain of document timestamps (PAdES B-LTA).

Walked newest first, offline, with the certificates and CRLs of the file's Document
Security Store:

* the newest document timestamp is validated at the verification time (its revocation
  information can only be as fresh as the last renewal, so revocation is soft-fail for it
  alone; its certificate must not have expired);
* every older document timestamp, and then the seal, is validated at the genTime of the
  timestamp just after it (which proves it existed then), with revocation information
  required: a CRL from the DSS valid at that time.

When a certificate has expired at the verification time and no later timestamp covers
it, the report says "expired" and names the certificate, not "does not chain".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from asn1crypto import x509


@dataclass(frozen=True)
class LtaOutcome:
    ok: bool
    message: str
    status: Any  # pyHanko's PdfSignatureStatus for the seal, when validated
    newest: dt.datetime | None  # the newest document timestamp


def _gen_time(sig: Any) -> dt.datetime:
    when: dt.datetime = sig.signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    return when


def _not_after(cert: x509.Certificate) -> dt.datetime:
    when: dt.datetime = cert["tbs_certificate"]["validity"]["not_after"].native
    return when


def _context(dss: Any, root: x509.Certificate, moment: dt.datetime, mode: str) -> Any:
    kwargs: dict[str, Any] = {
        "trust_roots": [root],
        "allow_fetching": False,
        "revocation_mode": mode,
    }
    if dss is None:
        from pyhanko_certvalidator import ValidationContext

        return ValidationContext(moment=moment, **kwargs)
    return dss.as_validation_context({**kwargs, "moment": moment})


def _expired_message(kind: str, cert: x509.Certificate, at: dt.datetime, when: str) -> str:
    return (
        f"expired: the {kind} ({when}) was made with a certificate "
        f"({cert.subject.human_friendly}) that expired on {_not_after(cert).isoformat()}, "
        f"before {at.isoformat()}, and no later document timestamp covers it; the archive "
        "was not renewed in time (courtroom archive-renew)"
    )


def _check_timestamps(stamps: list[Any], dss: Any, root: x509.Certificate, at: dt.datetime) -> str:
    """Empty if the chain holds, else why not. ``stamps`` newest first."""
    from pyhanko.sign.validation import validate_pdf_timestamp

    moment, mode = at, "soft-fail"
    for ts in stamps:
        when = _gen_time(ts)
        st = validate_pdf_timestamp(ts, validation_context=_context(dss, root, moment, mode))
        if not (st.intact and st.valid):
            return f"document timestamp {when.isoformat()}: signed bytes were altered"
        if not st.trusted:
            if _not_after(ts.signer_cert) < moment:
                return _expired_message("document timestamp", ts.signer_cert, at, when.isoformat())
            return f"document timestamp {when.isoformat()} not trusted at {moment.isoformat()}"
        moment, mode = when, "require"
    return ""


def validate_lta(seal: Any, trust_root: x509.Certificate, at: dt.datetime) -> LtaOutcome:
    """Validate the seal ``seal`` as PAdES B-LTA at ``at``."""
    from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
    from pyhanko.sign.validation.errors import NoDSSFoundError

    reader = seal.reader
    stamps = sorted(
        (s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"),
        key=lambda s: s.signed_revision,
        reverse=True,
    )
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        dss = None
    newest = _gen_time(stamps[0]) if stamps else None
    problem = _check_timestamps(stamps, dss, trust_root, at)
    if problem:
        return LtaOutcome(False, problem, None, newest)
    moment = _gen_time(stamps[-1]) if stamps else at
    vc = _context(dss, trust_root, moment, "require" if dss is not None else "soft-fail")
    st = validate_pdf_signature(seal, signer_validation_context=vc, ts_validation_context=vc)
    if not st.trusted and _not_after(seal.signer_cert) < moment:
        return LtaOutcome(False, _expired_message("seal", seal.signer_cert, at, "seal"), st, newest)
    return LtaOutcome(True, "", st, newest)
