"""The PDF side: PAdES signatures, coverage, /Contents padding, the attachments.

pyHanko reports a signature's ``bottom_line`` as True without a timestamp, so a trusted
RFC 3161 token is required explicitly; it raises (not reports) on a damaged file, so any
exception is a failure. The bytes of /Contents after the DER-encoded CMS blob are not
covered by any signature: pyHanko and pdfsig ignore them, so a changed byte there keeps
the file "valid" while its SHA-256 no longer equals the logged ``sealed_sha256``. They
must be zeros.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, tsp, x509

from courtroom.record.verification.ltv import LtaOutcome, validate_lta
from courtroom.record.verification.report import VerificationReport


@dataclass(frozen=True, slots=True)
class SealTimestamp:
    """The RFC 3161 token of the court seal: when, by whom, under which policy."""

    field: str
    gen_time: dt.datetime
    tsa: str
    policy: str
    accuracy_s: float


@dataclass
class PdfFindings:
    attachments: dict[str, bytes]
    timestamps: list[SealTimestamp]


def embedded_files(reader: Any) -> dict[str, bytes]:
    """Every embedded file by name (the /EmbeddedFiles name tree, walked)."""
    # DictionaryObject.__getitem__ dereferences; .get() does not.
    root = reader.root
    names = root["/Names"] if "/Names" in root else None  # noqa: SIM401
    tree = names["/EmbeddedFiles"] if names is not None and "/EmbeddedFiles" in names else None
    out: dict[str, bytes] = {}

    def walk(node: Any) -> None:
        if "/Names" in node:
            arr = node["/Names"]
            for i in range(0, len(arr) - 1, 2):
                spec = arr[i + 1].get_object()
                name = str(spec["/UF"] if "/UF" in spec else arr[i])
                out[name] = spec["/EF"]["/F"].data
        if "/Kids" in node:
            for kid in node["/Kids"]:
                walk(kid.get_object())

    if tree is not None:
        walk(tree.get_object())
    return out


def _der_length(blob: bytes) -> int:
    """Total length of the DER TLV at the start of ``blob`` (definite lengths only)."""
    if len(blob) < 2:
        raise ValueError("too short")
    first = blob[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 4 or len(blob) < 2 + n:
        raise ValueError("not a definite DER length")
    return 2 + n + int.from_bytes(blob[2 : 2 + n], "big")


def contents_padding_problem(pdf: bytes, byte_range: Any) -> str | None:
    """Why the /Contents hex string is not ``<CMS blob + zeros>``, or None."""
    start, end = int(byte_range[0]) + int(byte_range[1]), int(byte_range[2])
    raw = pdf[start:end]
    if not (raw.startswith(b"<") and raw.endswith(b">")):
        return "/Contents is not a hex string between the signed byte ranges"
    hexed = raw[1:-1]
    try:
        blob = bytes.fromhex(hexed.decode("ascii"))
        used = _der_length(blob)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"/Contents cannot be read: {exc}"
    rest = blob[used:]
    if used > len(blob):
        return "/Contents is shorter than the CMS blob it holds"
    bad = next((i for i, b in enumerate(rest) if b != 0), None)
    if bad is not None:
        count = sum(1 for b in rest if b != 0)
        return (
            f"{count} non-zero byte(s) in the /Contents padding after the CMS blob "
            f"(first at file offset {start + 1 + 2 * (used + bad)}): the file was changed "
            "outside the signed bytes, so its SHA-256 is no longer the one logged at sealing"
        )
    return None


def seal_timestamp(field_name: str, signer_info: Any) -> SealTimestamp | None:
    """The signature-time-stamp token's genTime, TSA and policy, if the CMS has one."""
    attrs = signer_info["unsigned_attrs"]
    if attrs.native is None:
        return None
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            return token_timestamp(field_name, attr["values"][0])
    return None


def token_timestamp(label: str, token: cms.ContentInfo) -> SealTimestamp:
    """genTime, TSA name, policy and accuracy of an RFC 3161 token."""
    tst: tsp.TSTInfo = token["content"]["encap_content_info"]["content"].parsed
    name = tst["tsa"]
    tsa = _tsa_name(name.chosen if name.native is not None else None, token)
    acc = tst["accuracy"]
    seconds = 0.0 if acc.native is None else float(acc["seconds"].native or 0)
    return SealTimestamp(label, tst["gen_time"].native, tsa, tst["policy"].dotted, seconds)


def _tsa_name(general_name: Any, token: cms.ContentInfo) -> str:
    if isinstance(general_name, x509.Name):
        return str(general_name.human_friendly)
    certs = token["content"]["certificates"]
    if certs.native:
        return str(certs[0].chosen.subject.human_friendly)
    return "an unnamed time-stamp authority"


def _signature_problems(st: Any, at: dt.datetime | None = None) -> list[str]:
    problems = []
    if not st.intact:
        problems.append("signed bytes were altered (digest mismatch)")
    if not st.valid:
        problems.append("cryptographic signature invalid")
    expiry = st.signing_cert["tbs_certificate"]["validity"]["not_after"].native
    if not st.trusted and at is not None and expiry < at:
        problems.append(
            f"expired: the seal certificate expired on {expiry.isoformat()}, and this record "
            "has no document timestamp chain (PAdES B-LTA) to prove it was sealed before"
        )
    elif not st.trusted:
        problems.append("signer certificate does not chain to the trust root")
    if st.docmdp_ok is False:
        problems.append(f"modifications after signing not permitted ({st.modification_level})")
    tv = st.timestamp_validity
    if tv is None:
        problems.append("no signature timestamp (PAdES B-T required)")
    elif not (tv.intact and tv.valid and tv.trusted):
        problems.append("signature timestamp not valid or not trusted")
    if not st.bottom_line and not problems:
        problems.append(st.summary())
    return problems


def _check_signature(sig: Any, vc: Any, report: VerificationReport, lta: LtaOutcome | None) -> None:
    from pyhanko.sign.validation import validate_pdf_signature

    name = f"pades.{sig.field_name}"
    if sig.sig_object_type == "/DocTimeStamp":
        _check_doc_timestamp(sig, vc, report, lta)
        return
    if lta is not None and lta.ok:
        st = lta.status
    else:
        st = validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc)
    problems = _signature_problems(st, vc.moment)
    if lta is not None and not lta.ok:
        # The plain check names tampering or a foreign root more precisely; expiry is
        # the LTA chain's to explain.
        specific = [p for p in problems if not p.startswith(("expired", "signature timestamp"))]
        problems = specific or [lta.message]
    if problems:
        report.fail(name, "; ".join(problems))
        return
    tv = st.timestamp_validity
    assert tv is not None  # _signature_problems requires one
    level = "B-LTA, revocation checked against the embedded CRL" if lta else "B-T"
    report.add(
        name,
        "ok",
        f"signed by {st.signing_cert.subject.human_friendly}; "
        f"timestamp {tv.timestamp.isoformat()} trusted; "
        f"coverage {st.coverage.name if st.coverage else '?'}; PAdES {level}",
    )


def _check_doc_timestamp(
    sig: Any, vc: Any, report: VerificationReport, lta: LtaOutcome | None
) -> None:
    from pyhanko.sign.validation import validate_pdf_timestamp

    name = f"pades.{sig.field_name}"
    when = sig.signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    if lta is not None:
        if lta.ok:
            report.add(name, "ok", f"document timestamp {when.isoformat()}, in the B-LTA chain")
        else:
            report.fail(name, f"document timestamp {when.isoformat()}: {lta.message}")
        return
    ts = validate_pdf_timestamp(sig, validation_context=vc)
    if ts.intact and ts.valid and ts.trusted:
        report.add(name, "ok", f"document timestamp {ts.timestamp} trusted")
    else:
        report.fail(name, f"document timestamp not valid: {ts.summary()}")


def _only_validation_data(sig: Any) -> bool:
    """Whether every revision after ``sig``'s only adds DSS validation data."""
    from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel
    from pyhanko.sign.diff_analysis.policy_api import DiffResult

    result = sig.evaluate_modifications(DEFAULT_DIFF_POLICY)
    return isinstance(result, DiffResult) and result.modification_level in (
        ModificationLevel.NONE,
        ModificationLevel.LTA_UPDATES,
    )


def _check_coverage(last: Any, report: VerificationReport) -> None:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    try:
        coverage = last.evaluate_signature_coverage()
    except Exception as exc:
        report.fail("pades.coverage", f"cannot evaluate coverage: {exc}")
        return
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        report.add("pades.coverage", "ok", "the last signature covers the entire file")
    elif coverage == SignatureCoverageLevel.ENTIRE_REVISION and _only_validation_data(last):
        report.add(
            "pades.coverage",
            "ok",
            "the last signature covers everything but validation data appended after it "
            "(certificates and CRLs in the DSS, as archive-renew writes)",
        )
    else:
        report.fail(
            "pades.coverage", f"bytes were added after the last signature ({coverage.name})"
        )


def _lta(sigs: list[Any], trust_root: x509.Certificate, at: dt.datetime) -> LtaOutcome | None:
    """The B-LTA outcome for the seal, when the file has document timestamps."""
    if not any(s.sig_object_type == "/DocTimeStamp" for s in sigs):
        return None
    seal = next((s for s in sigs if s.sig_object_type != "/DocTimeStamp"), None)
    if seal is None:
        return None
    try:
        return validate_lta(seal, trust_root, at)
    except Exception as exc:
        return LtaOutcome(
            False, f"long-term validation raised {type(exc).__name__}: {exc}", None, None
        )


def check_pdf(
    pdf: bytes,
    trust_root: x509.Certificate,
    report: VerificationReport,
    at: dt.datetime | None = None,
) -> PdfFindings | None:
    """Signatures, coverage and padding; returns the attachments and seal timestamps."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = list(reader.embedded_signatures)
        found = PdfFindings(embedded_files(reader), [])
    except Exception as exc:  # pyHanko raises (not reports) on a damaged file
        report.fail("pades", f"PDF cannot be parsed: {type(exc).__name__}: {exc}")
        return None
    if not sigs:
        report.fail("pades", "the PDF carries no signature")
        return found
    # Offline: no fetching. A B-T record (no DSS) is checked soft-fail; a B-LTA one by
    # ltv.py, revocation required, against the CRLs in its Document Security Store.
    at = at or dt.datetime.now(dt.UTC)
    vc = ValidationContext(
        trust_roots=[trust_root], allow_fetching=False, revocation_mode="soft-fail", moment=at
    )
    lta = _lta(sigs, trust_root, at)
    padding: list[str] = []
    for sig in sigs:
        try:
            _check_signature(sig, vc, report, lta)
            stamp = seal_timestamp(sig.field_name, sig.signer_info)
        except Exception as exc:
            report.fail(f"pades.{sig.field_name}", f"validation raised {type(exc).__name__}: {exc}")
            continue
        if stamp is not None:
            found.timestamps.append(stamp)
        problem = contents_padding_problem(pdf, sig.byte_range)
        if problem is not None:
            padding.append(f"{sig.field_name}: {problem}")
    if padding:
        report.fail("pades.padding", "; ".join(padding))
    else:
        report.add("pades.padding", "ok", "every /Contents is its CMS blob followed by zeros")
    _check_coverage(sigs[-1], report)
    return found
