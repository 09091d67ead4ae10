"""record.json against the audit log it carries, with the server's own freeze code.

Nothing the court alone can re-make is trusted from record.json: the document is rebuilt
from the log (``hearing_log.freeze``) and compared byte for byte; every signing key comes
from its ``signing_key_registered`` event; each record signature and refusal must be an
event of the log, and each such event of the log must be in record.json.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from courtroom.domain import events as ev
from courtroom.domain.roles import Permission, Role, may
from courtroom.record.document import (
    AuditEntry,
    RecordDocument,
    oath_hash,
    to_json,
)
from courtroom.record.hearing_log import Frozen, answers, freeze, oath_statement
from courtroom.record.seal import stroke_attachment_name
from courtroom.record.signatures import (
    ParticipantSignature,
    SignatureRefusal,
    same_key,
    verify_participant_signature,
)
from courtroom.record.verification.audit import _line_diff
from courtroom.record.verification.report import VerificationReport, first_few

# Who answers the record (signs or refuses); witnesses and interpreters swear the oath.
RECORD_ROLES = frozenset(
    r for r in Role if may(r, Permission.SIGN) and r not in (Role.WITNESS, Role.INTERPRETER)
)


@dataclass(frozen=True)
class Logged:
    """What the log says about signing: keys, and every signature and refusal event."""

    keys: dict[str, AuditEntry]  # participant -> its signing_key_registered entry
    signed: dict[tuple[str, str, str], AuditEntry]  # (participant, purpose, signature)
    refused: dict[tuple[str, str], list[AuditEntry]]  # (participant, purpose)


def read_log(entries: Sequence[AuditEntry]) -> Logged:
    logged = Logged({}, {}, {})
    for e in entries:
        p = e.payload
        if e.type == ev.SigningKeyRegistered.TYPE:
            logged.keys.setdefault(str(p["participant"]), e)  # the domain allows one key
        elif e.type == ev.DocumentSigned.TYPE:
            logged.signed[(str(p["participant"]), str(p["purpose"]), str(p["signature"]))] = e
        elif e.type == ev.SigningRefused.TYPE:
            logged.refused.setdefault((str(p["participant"]), str(p["purpose"])), []).append(e)
    return logged


# --- the document ------------------------------------------------------------------


def _section_diff(name: str, mine: Any, theirs: Any) -> list[str]:
    if mine == theirs:
        return []
    if name == "participants":
        return _participant_diff(mine, theirs)
    if isinstance(mine, dict) and isinstance(theirs, dict):
        keys = [k for k in mine if mine.get(k) != theirs.get(k)]
        return [f"{name}.{', '.join(keys)}"]
    return [name]


def _participant_diff(mine: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[str]:
    logged = {p["participant_id"]: p for p in theirs}
    out = []
    for p in mine:
        other = logged.pop(p["participant_id"], None)
        if other is None:
            out.append(f"participant {p['participant_id']} is not in the log")
        elif other != p:
            fields = ", ".join(k for k in p if p[k] != other.get(k))
            out.append(f"participant {p['participant_id']} {fields}")
    out += [f"participant {pid} is missing" for pid in logged]
    return out or ["participants (order)"]


def document_diff(record: RecordDocument, rebuilt: RecordDocument) -> list[str]:
    mine, theirs = to_json(record), to_json(rebuilt)
    out: list[str] = []
    for name in [*mine, *(k for k in theirs if k not in mine)]:
        if name == "transcript" and mine[name] != theirs[name]:
            out.append(_line_diff(record.transcript, rebuilt.transcript))
        else:
            out += _section_diff(name, mine.get(name), theirs.get(name))
    return out


def check_rebuilt(
    doc: RecordDocument, doc_hash: str, entries: Sequence[AuditEntry], report: VerificationReport
) -> Frozen | None:
    """``doc_hash``: record.json's document hash (equal SHA-256, equal canonical bytes)."""
    try:
        frozen = freeze(doc.meta.hearing_id, entries)
    except (KeyError, ValueError, TypeError) as exc:
        report.fail("record.rebuilt", f"the audit log cannot be replayed: {exc}")
        return None
    if frozen is None:
        report.fail(
            "record.rebuilt", "the audit log never closes the hearing: no document to rebuild"
        )
        return None
    if frozen.hash == doc_hash:
        report.add(
            "record.rebuilt",
            "ok",
            "record.json is byte for byte the document rebuilt from the audit log",
        )
    else:
        report.fail(
            "record.rebuilt",
            "record.json differs from the document rebuilt from the audit log: "
            + first_few(document_diff(doc, frozen.document)),
        )
    return frozen


# --- record.json -> log --------------------------------------------------------------


def _expected_hash(
    doc: RecordDocument, doc_hash: str, sig: ParticipantSignature, entries: Sequence[AuditEntry]
) -> str | None:
    if sig.purpose == "record":
        return doc_hash
    oath = oath_statement(doc.meta.hearing_id, entries, sig.participant_id)
    return None if oath is None else oath_hash(doc.meta.hearing_id, oath)


def _signature_problem(
    sig: ParticipantSignature,
    key_entry: AuditEntry | None,
    expected: str | None,
    event: AuditEntry | None,
) -> str | None:
    if key_entry is None:
        return "no signing_key_registered event for this participant in the audit log"
    key = str(key_entry.payload["public_key"])
    if not same_key(sig.public_key, key):
        return (
            "signature made with a key that is not the one registered for this participant "
            f"(unregistered key; the log registers another at seq {key_entry.seq})"
        )
    if expected is None:
        return f"no {sig.purpose} statement for this participant in the audit log"
    if sig.signed_hash != expected:
        return (
            f"signed hash {sig.signed_hash[:16]}… is not the {sig.purpose} hash "
            f"{expected[:16]}… (the document changed after signing)"
        )
    if not verify_participant_signature(key, sig.message(), sig.signature):
        return "ECDSA signature does not verify with the registered key"
    if event is None:
        return (
            "no document_signed event in the audit log carries this signature "
            "(made outside the hearing)"
        )
    if event.seq <= key_entry.seq:
        return f"signed at seq {event.seq}, before its key was registered at seq {key_entry.seq}"
    if str(event.payload.get("stroke_sha256") or "") != (sig.stroke_png_sha256 or ""):
        return f"the stroke image is not the one logged at seq {event.seq}"
    return None


def check_signatures(
    doc: RecordDocument,
    doc_hash: str,
    sigs: Sequence[ParticipantSignature],
    entries: Sequence[AuditEntry],
    logged: Logged,
    files: Mapping[str, bytes],
    report: VerificationReport,
) -> None:
    for sig in sigs:
        name = f"signature.{sig.participant_id}.{sig.purpose}"
        who = doc.participant(sig.participant_id)
        event = logged.signed.get((sig.participant_id, sig.purpose, sig.signature))
        problem = (
            "signer is not a participant of this hearing"
            if who is None
            else _signature_problem(
                sig,
                logged.keys.get(sig.participant_id),
                _expected_hash(doc, doc_hash, sig, entries),
                event,
            )
        )
        if problem is None and sig.stroke_png_sha256 is not None:
            png = files.get(stroke_attachment_name(sig.stroke_png_sha256))
            if png is None or hashlib.sha256(png).hexdigest() != sig.stroke_png_sha256:
                problem = "handwritten stroke image missing or altered"
        if problem is not None:
            report.fail(name, problem)
            continue
        assert who is not None and event is not None
        key_seq = logged.keys[sig.participant_id].seq
        report.add(
            name,
            "ok",
            f"{who.role} signed the {sig.purpose} hash with the key registered at seq {key_seq}; "
            f"logged at seq {event.seq}",
        )


# --- log -> record.json --------------------------------------------------------------


def _dropped(
    frozen: Frozen,
    sigs: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
    logged: Logged,
) -> list[str]:
    chosen = answers(frozen, _all(logged))
    have = {(s.participant_id, s.purpose, s.signature) for s in sigs}
    out = []
    for s in chosen.signatures:
        if (s.participant_id, s.purpose, s.signature) not in have:
            e = logged.signed[(s.participant_id, s.purpose, s.signature)]
            out.append(
                f"document_signed event seq {e.seq} ({s.participant_id}, {s.purpose}) "
                "is missing from record.json (signature dropped)"
            )
    mine = {(r.participant_id, r.purpose, r.reason, r.at) for r in refusals}
    for r in chosen.refusals:
        if (r.participant_id, r.purpose, r.reason, r.at) not in mine:
            out.append(
                f"signing_refused event by {r.participant_id} ({r.purpose}, {r.at}) "
                "is missing from record.json (refusal dropped)"
            )
    theirs = {(r.participant_id, r.purpose, r.reason, r.at) for r in chosen.refusals}
    for r in refusals:
        if (r.participant_id, r.purpose, r.reason, r.at) not in theirs:
            out.append(
                f"refusal by {r.participant_id} ({r.purpose}) in record.json has no "
                "signing_refused event in the audit log"
            )
    return out


def _all(logged: Logged) -> list[AuditEntry]:
    found = [*logged.signed.values(), *(e for es in logged.refused.values() for e in es)]
    return sorted(found, key=lambda e: e.seq)


def _stale(frozen: Frozen, logged: Logged) -> list[str]:
    """Record signatures logged after the close for another document: the server refuses
    those, so the log before the close was rewritten after they were made."""
    out = []
    for (pid, purpose, _), e in sorted(logged.signed.items(), key=lambda kv: kv[1].seq):
        signed = str(e.payload["signed_hash"])
        if purpose == "record" and e.seq > frozen.close.seq and signed != frozen.hash:
            out.append(
                f"document_signed event seq {e.seq} ({pid}) signed record hash {signed[:16]}…, "
                f"not the document rebuilt from the log ({frozen.hash[:16]}…): the log before "
                "the close was changed after they signed"
            )
    return out


def check_log_answers(
    frozen: Frozen,
    sigs: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
    logged: Logged,
    report: VerificationReport,
) -> None:
    problems = _stale(frozen, logged) + _dropped(frozen, sigs, refusals, logged)
    if problems:
        report.fail("signatures.log", first_few(problems))
    else:
        report.add(
            "signatures.log",
            "ok",
            "every signature and refusal in record.json is an event of the log, and back",
        )


def check_expected(frozen: Frozen, logged: Logged, report: VerificationReport) -> None:
    """Who answers the record (from the log) and did not: neither signed nor refused."""
    chosen = answers(frozen, _all(logged))
    signers = {s.participant_id for s in chosen.signatures if s.purpose == "record"}
    refusers = {r.participant_id for r in chosen.refusals if r.purpose == "record"}
    people = [p for p in frozen.state.participants.values() if p.role in RECORD_ROLES]
    silent = [p for p in people if p.participant_id not in signers | refusers]
    signed = sum(1 for p in people if p.participant_id in signers)
    refused = sum(1 for p in people if p.participant_id in refusers)
    if silent:
        names = ", ".join(f"{p.display_name} ({p.role.value})" for p in silent)
        report.add(
            "signatures.expected",
            "warning",
            f"expected to sign the record but neither signed nor refused: {names}",
        )
    else:
        report.add(
            "signatures.expected",
            "ok",
            f"all {len(people)} who answer the record did: {signed} signed, {refused} refused",
        )


def summarise(
    sigs: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
    report: VerificationReport,
) -> None:
    """A sealed record that no one signed fails: the judge and the clerk sign every record
    (a refusal is noted, and so is who signed), so an empty record was emptied."""
    n_rec = sum(1 for s in sigs if s.purpose == "record")
    counts = (
        f"{n_rec} record signature(s), {len(sigs) - n_rec} oath signature(s), "
        f"{len(refusals)} refusal(s)"
    )
    if n_rec:
        report.add("signatures.summary", "ok", counts)
    else:
        report.fail("signatures.summary", f"no one signed the record ({counts})")
