"""A signer's receipt: what the court acknowledged when a participant signed.

When a ``document_signed`` event is logged, the signer's device fetches and keeps a
receipt signed by the court: the hearing, the participant, the purpose, the hash they
signed and the chain head right after their signature (the seq and hash of their own
``document_signed`` event, which commits to every event before it, the close included).
A later file is the one they signed only if its document hash is that hash, its audit
log holds that event with that hash, and record.json carries their signature.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from asn1crypto import x509

from courtroom.domain import events as ev
from courtroom.record.court_sign import sign_statement, statement_problem
from courtroom.record.document import AuditEntry, RecordDocument, document_hash
from courtroom.record.keys import CourtKeys
from courtroom.record.signatures import ParticipantSignature
from courtroom.record.verification.report import VerificationReport

RECEIPT_FORMAT = "courtroom-receipt/1"


def make_receipt(keys: CourtKeys, entry: AuditEntry, issued_at: dt.datetime) -> dict[str, Any]:
    """The receipt for a logged ``document_signed`` entry."""
    if entry.type != ev.DocumentSigned.TYPE:
        raise ValueError(f"seq {entry.seq} is not a document_signed event")
    p = entry.payload
    body = {
        "format": RECEIPT_FORMAT,
        "hearing_id": entry.hearing_id,
        "participant_id": str(p["participant"]),
        "purpose": str(p["purpose"]),
        "signed_hash": str(p["signed_hash"]),
        "chain_head": {"seq": entry.seq, "hash": entry.hash},
        "issued_at": issued_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return sign_statement(keys, body)


def _problem(
    body: Mapping[str, Any],
    doc: RecordDocument,
    sigs: Sequence[ParticipantSignature],
    entries: Sequence[AuditEntry],
) -> str | None:
    pid, purpose, signed = body["participant_id"], body["purpose"], body["signed_hash"]
    head = body["chain_head"]
    if body["hearing_id"] != doc.meta.hearing_id:
        return f"the receipt is for hearing {body['hearing_id']}, not {doc.meta.hearing_id}"
    if purpose == "record" and document_hash(doc) != signed:
        return (
            f"this record's document hash {document_hash(doc)[:16]}… is not the one {pid} "
            f"signed ({signed[:16]}…): the record was changed after they signed"
        )
    at = next((e for e in entries if e.seq == head["seq"]), None)
    if at is None or at.hash != head["hash"]:
        return (
            f"the audit log has no event seq {head['seq']} with hash {str(head['hash'])[:16]}…, "
            f"which the court acknowledged to {pid}: the log was rewritten after they signed"
        )
    if not any(
        s.participant_id == pid and s.purpose == purpose and s.signed_hash == signed for s in sigs
    ):
        return (
            f"{pid}'s {purpose} signature, acknowledged at seq {head['seq']}, "
            "is missing from record.json (dropped)"
        )
    return None


def check_receipt(
    receipt: Mapping[str, Any],
    trust_root: x509.Certificate,
    doc: RecordDocument,
    sigs: Sequence[ParticipantSignature],
    entries: Sequence[AuditEntry],
    report: VerificationReport,
) -> None:
    body = receipt.get("body")
    if not isinstance(body, dict) or body.get("format") != RECEIPT_FORMAT:
        report.fail("receipt", "not a courtroom receipt")
        return
    name = f"receipt.{body.get('participant_id')}.{body.get('purpose')}"
    problem = statement_problem(receipt, trust_root)
    if problem is not None:
        report.fail(name, f"the receipt is not the court's: {problem}")
        return
    try:
        problem = _problem(body, doc, sigs, entries)
    except (KeyError, TypeError) as exc:
        problem = f"the receipt is incomplete ({exc})"
    if problem is not None:
        report.fail(name, problem)
    else:
        report.add(
            name,
            "ok",
            f"this is the record {body['participant_id']} signed; their event seq "
            f"{body['chain_head']['seq']} is in the log unchanged",
        )
