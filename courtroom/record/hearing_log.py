"""From a hearing's audit log to the record: freeze at close, oaths, answers, comparisons.

Pure functions over the stored log (``AuditEntry`` rows, ``at`` as the stored text), so
the server, the verifier and tests build exactly the same document:

* ``freeze(hearing_id, entries)`` — the canonical ``RecordDocument`` from the log **up to
  and including the latest ``phase_changed`` to ``closed``**. Signatures appended after
  the close do not change what is signed; a reopen and a new close make a new document.
* ``transcript_from_log(entries)`` — the transcript rebuilt from ``transcript_line`` and
  ``transcript_correction`` events (the hearing's real event types); pass it to
  ``verify_record(..., transcript_from_log=...)``.
* ``oath_statement`` — the oath a witness or interpreter signs, fixed from their
  invitation on (``presented_at`` is the ``at`` of their ``participant_invited`` event).
* ``answers`` — the participant signatures and refusals that belong in a sealed record.
* ``compare_with_database`` — a sealed record's audit log against the live database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from courtroom.domain import events as ev
from courtroom.domain.codec import from_json
from courtroom.domain.hearing import HearingState, evolve
from courtroom.domain.phases import Phase
from courtroom.domain.roles import Role
from courtroom.record.chat_record import chat_from_log, chat_row
from courtroom.record.document import (
    AuditEntry,
    AuditHead,
    FlagEntry,
    HearingMeta,
    OathStatement,
    RecordDocument,
    RecordingFile,
    RecordParticipant,
    TranscriptGap,
    TranscriptLine,
    document_hash,
    gap_label,
    oath_hash,
    transcript_in_time_order,
)
from courtroom.record.signatures import ParticipantSignature, SignatureRefusal
from courtroom.store.verify import StoredEntry, verify_chain

# The one place the oath texts live: (Chinese, English) per role that swears one.
OATHS: Mapping[Role, tuple[str, str]] = {
    Role.WITNESS: (
        "我保证向法庭如实陈述，如有虚假陈述，愿意承担法律责任。",
        "I promise to tell the court the truth. If I make a false statement, "
        "I accept legal responsibility for it.",
    ),
    Role.INTERPRETER: (
        "我保证如实翻译，不歪曲、不隐瞒，如有虚假翻译，愿意承担法律责任。",
        "I promise to interpret faithfully, without distortion or omission. If I "
        "interpret falsely, I accept legal responsibility for it.",
    ),
}


def oath_text(role: Role) -> str | None:
    """The bilingual oath for ``role`` (Chinese, then English), or None if it swears none."""
    pair = OATHS.get(role)
    return None if pair is None else f"{pair[0]} {pair[1]}"


def audit_entry(row: StoredEntry) -> AuditEntry:
    """A stored row as the record library's ``AuditEntry`` (payload decoded)."""
    return AuditEntry(
        hearing_id=row.hearing_id,
        seq=row.seq,
        type=row.type,
        actor=row.actor,
        at=row.at,
        payload=json.loads(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def decode(entry: AuditEntry) -> ev.Event:
    cls = ev.EVENT_TYPES.get(entry.type)
    if cls is None:
        raise ValueError(f"unknown event type {entry.type!r} at seq {entry.seq}")
    return from_json(cls, dict(entry.payload))


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def last_close(entries: Sequence[AuditEntry]) -> AuditEntry | None:
    """The latest ``phase_changed`` that closed the hearing."""
    closes = [
        e for e in entries if e.type == ev.PhaseChanged.TYPE and e.payload.get("phase") == "closed"
    ]
    return closes[-1] if closes else None


def transcript_from_log(entries: Sequence[AuditEntry]) -> tuple[TranscriptLine, ...] | None:
    """The transcript from ``transcript_line`` + ``transcript_correction`` events.

    Corrections are applied; ``original_text`` keeps the recogniser's text of a corrected
    line. Speaker names come from ``participant_invited``. None when the log has no
    transcript events (the verifier then reports the check as not applicable).
    """
    names: dict[str, str] = {}
    lines: dict[str, TranscriptLine] = {}
    seen = False
    for e in entries:
        p = e.payload
        if e.type == ev.ParticipantInvited.TYPE:
            names[str(p["participant"])] = str(p["display_name"])
        elif e.type == ev.TranscriptLineRecorded.TYPE:
            seen = True
            speaker = str(p["speaker"])
            lines[str(p["line_id"])] = TranscriptLine(
                line_id=str(p["line_id"]),
                speaker_id=speaker,
                speaker_name=names.get(speaker, speaker),
                t0_ms=_ms(float(p["t0"])),
                t1_ms=_ms(float(p["t1"])),
                text=str(p["text"]),
            )
        elif e.type == ev.TranscriptLineCorrected.TYPE:
            seen = True
            old = lines[str(p["line_id"])]
            lines[old.line_id] = TranscriptLine(
                old.line_id,
                old.speaker_id,
                old.speaker_name,
                old.t0_ms,
                old.t1_ms,
                str(p["text"]),
                True,
                old.original_text if old.corrected else old.text,
            )
    return tuple(lines.values()) if seen else None


def oath_statement(
    hearing_id: str, entries: Sequence[AuditEntry], participant_id: str
) -> OathStatement | None:
    """The oath presented to ``participant_id``, or None if their role swears none."""
    for e in entries:
        if e.type == ev.ParticipantInvited.TYPE and e.payload.get("participant") == participant_id:
            text = oath_text(Role(str(e.payload["role"])))
            return None if text is None else OathStatement(participant_id, text, e.at)
    return None


def _identity(state: HearingState, pid: str, overrides: Mapping[str, str]) -> str:
    p = state.participants[pid]
    if p.identity == "overridden":
        return f"overridden by the judge: {overrides.get(pid, '')}".rstrip(": ")
    if p.identity == "matched":
        return "verified"
    if p.identity == "mismatched":
        return "failed"
    return "unchecked" if p.id_photo is not None else "not_required"


def _name(state: HearingState, pid: str) -> str:
    p = state.participants.get(pid)
    return pid if p is None else p.display_name


@dataclass(frozen=True)
class Frozen:
    """The document frozen at the latest close, and where in the log that close is."""

    document: RecordDocument
    hash: str
    close: AuditEntry
    state: HearingState  # the hearing as it stood at the close


def freeze(hearing_id: str, entries: Sequence[AuditEntry]) -> Frozen | None:
    """The canonical record as of the latest close; None if the hearing never closed."""
    close = last_close(entries)
    if close is None:
        return None
    upto = [e for e in entries if e.seq <= close.seq]
    state = HearingState(hearing_id)
    opened_at = ""
    overrides: dict[str, str] = {}
    recordings: list[RecordingFile] = []
    sworn: list[str] = []
    for entry in upto:
        event = decode(entry)
        state = evolve(state, event)
        if isinstance(event, ev.PhaseChanged) and event.phase is Phase.OPENING and not opened_at:
            if event.previous is Phase.SCHEDULED:
                opened_at = entry.at
        elif isinstance(event, ev.IdentityOverridden):
            overrides[event.participant] = event.reason
        elif isinstance(event, ev.RecordingFinished):
            recordings.append(
                RecordingFile(
                    name=event.file,
                    sha256=event.sha256,
                    bytes=event.bytes,
                    participant_id=event.participant,
                    kind=event.kind.value,
                    start_ms=_ms(event.start),
                    end_ms=_ms(event.end),
                )
            )
        elif (
            isinstance(event, ev.DocumentSigned | ev.SigningRefused)
            and event.purpose == "oath"
            and event.participant not in sworn
        ):
            sworn.append(event.participant)
    oaths = tuple(o for pid in sworn if (o := oath_statement(hearing_id, upto, pid)) is not None)
    doc = RecordDocument(
        meta=HearingMeta(
            hearing_id=hearing_id,
            case_number=state.case_number,
            title=state.title,
            court=state.court,
            language=state.language,
            opened_at=opened_at,
            closed_at=close.at,
        ),
        participants=tuple(
            RecordParticipant(
                participant_id=p.participant_id,
                role=p.role.value,
                display_name=p.display_name,
                identity_check=_identity(state, p.participant_id, overrides),
                public_key=p.signing_key,
            )
            for p in state.participants.values()
        ),
        transcript=transcript_from_log(upto) or (),
        recordings=tuple(recordings),
        flags=tuple(
            FlagEntry(
                kind=f.kind,
                participant_id=f.participant,
                t0_ms=_ms(f.t0),
                t1_ms=_ms(f.t1 if f.t1 is not None else f.t0),
                confidence=f.confidence,
                disposition=f.disposition or ("pending" if f.t1 is not None else "open"),
                note=f.note,
            )
            for f in state.flags.values()
        ),
        audit_head=AuditHead(close.seq, close.hash),
        oaths=oaths,
        transcript_gaps=tuple(
            TranscriptGap(g.speaker, _name(state, g.speaker), _ms(g.t0), _ms(g.t1))
            for g in state.audio_gaps
        ),
        chat=chat_from_log(upto),
    )
    return Frozen(doc, document_hash(doc), close, state)


@dataclass(frozen=True)
class Answers:
    signatures: tuple[ParticipantSignature, ...]
    refusals: tuple[SignatureRefusal, ...]
    # Record signatures/refusals given to an earlier version (before a reopen).
    superseded: tuple[AuditEntry, ...]


def answers(frozen: Frozen, entries: Sequence[AuditEntry]) -> Answers:
    """Signatures and refusals for the sealed record: oaths, and the record as frozen."""
    doc = frozen.document
    oaths = {o.participant_id: oath_hash(doc.meta.hearing_id, o) for o in doc.oaths}
    sigs: list[ParticipantSignature] = []
    refusals: list[SignatureRefusal] = []
    superseded: list[AuditEntry] = []
    for entry in entries:
        if entry.type not in (ev.DocumentSigned.TYPE, ev.SigningRefused.TYPE):
            continue
        event = decode(entry)
        if isinstance(event, ev.DocumentSigned):
            want = doc_hash_for(event.purpose, event.participant, frozen.hash, oaths)
            who = doc.participant(event.participant)
            if want is None or event.signed_hash != want or who is None or not who.public_key:
                superseded.append(entry)
                continue
            sigs.append(
                ParticipantSignature(
                    participant_id=event.participant,
                    purpose="record" if event.purpose == "record" else "oath",
                    signed_hash=event.signed_hash,
                    signature=event.signature,
                    public_key=who.public_key,
                    stroke_png_sha256=event.stroke_sha256 or None,
                    signed_at=entry.at,
                )
            )
        elif isinstance(event, ev.SigningRefused):
            if event.purpose == "record" and entry.seq < frozen.close.seq:
                superseded.append(entry)
                continue
            refusals.append(
                SignatureRefusal(
                    participant_id=event.participant,
                    reason=event.reason,
                    at=entry.at,
                    purpose="record" if event.purpose == "record" else "oath",
                )
            )
    return Answers(tuple(sigs), tuple(refusals), tuple(superseded))


def doc_hash_for(
    purpose: str, participant_id: str, record_hash: str, oaths: Mapping[str, str]
) -> str | None:
    if purpose == "record":
        return record_hash
    if purpose == "oath":
        return oaths.get(participant_id)
    return None


def _clock(ms: int) -> str:
    s = ms // 1000
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def render_text(doc: RecordDocument, doc_hash: str) -> str:
    """The record as plain text, for review on a signer's device before signing."""
    m = doc.meta
    out = [
        m.title,
        f"案号 Case No.: {m.case_number}",
        f"法院 Court: {m.court}",
        f"开庭 Opened: {m.opened_at}",
        f"闭庭 Closed: {m.closed_at}",
        "",
        "参加人员 Participants:",
        *(f"  {p.role}: {p.display_name} (identity: {p.identity_check})" for p in doc.participants),
        "",
        "庭审笔录 Transcript:",
    ]
    for t in transcript_in_time_order(doc):
        if isinstance(t, TranscriptGap):
            out.append(f"  [{_clock(t.t0_ms)}] {gap_label(t)}")
            continue
        mark = " 〔已更正 corrected〕" if t.corrected else ""
        out.append(f"  [{_clock(t.t0_ms)}] {t.speaker_name}: {t.text}{mark}")
    if doc.recordings:
        out += ["", "录音录像 Recordings:"]
        out += [f"  {r.name} {r.bytes} B sha256 {r.sha256}" for r in doc.recordings]
    if doc.flags:
        out += ["", "标记 Flags:"]
        out += [
            f"  [{_clock(f.t0_ms)}-{_clock(f.t1_ms)}] {f.kind} {f.participant_id} "
            f"{f.disposition} {f.note}".rstrip()
            for f in doc.flags
        ]
    if doc.chat:
        names = {p.participant_id: p.display_name for p in doc.participants}
        out += ["", "聊天记录 Chat:"]
        out += ["  [{}] {}: {}".format(*chat_row(c, names)) for c in doc.chat]
    if doc.oaths:
        out += ["", "保证书 Oaths:"]
        out += [f"  {o.participant_id}: {o.text}" for o in doc.oaths]
    out += [
        "",
        f"审计链 Audit head: #{doc.audit_head.seq} {doc.audit_head.hash}",
        f"文档哈希 Document SHA-256: {doc_hash}",
    ]
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Comparison:
    name: str
    ok: bool
    message: str


def compare_with_database(
    hearing_id: str, sealed: Sequence[AuditEntry], rows: Sequence[StoredEntry]
) -> list[Comparison]:
    """A sealed record's audit log against the database's chain for the same hearing.

    ``database.chain``: the stored chain verifies, anchored at the sealed head (so rows
    deleted from the end or a rewritten chain are caught too). ``database.sealed_log``:
    every event the record carries is in the database unchanged.
    """
    out: list[Comparison] = []
    if not sealed:
        return [Comparison("database.sealed_log", False, "the record carries no audit log")]
    head = sealed[-1]
    report = verify_chain(hearing_id, rows, anchor=(head.seq, head.hash))
    if report.ok:
        out.append(
            Comparison(
                "database.chain",
                True,
                f"the database chain verifies to seq {report.head_seq} "
                f"and contains the sealed head seq {head.seq}",
            )
        )
    else:
        out.append(Comparison("database.chain", False, f"database chain broken: {report.problem}"))
    by_seq = {r.seq: r for r in rows}
    diffs: list[str] = []
    for e in sealed:
        row = by_seq.get(e.seq)
        if row is None:
            diffs.append(f"seq {e.seq} is in the sealed record but not in the database")
            continue
        stored = audit_entry(row)
        fields = [
            f
            for f in ("type", "actor", "at", "payload", "prev_hash", "hash")
            if getattr(stored, f) != getattr(e, f)
        ]
        if fields:
            diffs.append(
                f"seq {e.seq} ({e.type}) differs between the database and the sealed record "
                f"({', '.join(fields)})"
            )
    if diffs:
        more = f" (+{len(diffs) - 3} more)" if len(diffs) > 3 else ""
        out.append(Comparison("database.sealed_log", False, "; ".join(diffs[:3]) + more))
    else:
        later = sum(1 for r in rows if r.seq > head.seq)
        out.append(
            Comparison(
                "database.sealed_log",
                True,
                f"the database holds the sealed log unchanged (seq 1-{head.seq}), "
                f"plus {later} later event(s)",
            )
        )
    return out


def sealed_revision(pdf: bytes, sealed_sha256: str) -> int | None:
    """How many incremental updates follow the sealed bytes in ``pdf`` (0: it is the sealed
    file), or None when no revision of ``pdf`` hashes to ``sealed_sha256``.

    ``courtroom archive-renew`` appends revisions (revocation data, a new document timestamp)
    after the seal, so a renewed record no longer hashes to the logged ``sealed_sha256``; its
    sealed revision, a prefix ending at one of the ``%%EOF`` markers, still does.
    """
    if hashlib.sha256(pdf).hexdigest() == sealed_sha256:
        return 0
    ends = [m.end() for m in re.finditer(rb"%%EOF\r?\n?", pdf)]
    for i, end in enumerate(ends):
        if hashlib.sha256(pdf[:end]).hexdigest() == sealed_sha256:
            later = len(ends) - i - 1
            return later or None  # bytes after the seal that are no whole revision: not ours
    return None


def compare_with_seal(rows: Sequence[StoredEntry], pdf: bytes, doc_hash: str | None) -> Comparison:
    """An uploaded file against the database's ``record_sealed`` event for its hearing:
    the file (or its sealed revision, when archive renewals were appended) must hash to the
    logged ``sealed_sha256``, and record.json's document hash must be the one logged."""
    sealed = [r for r in rows if r.type == ev.RecordSealed.TYPE]
    if not sealed:
        return Comparison("database.sealed_file", False, "this hearing has no record_sealed event")
    row = sealed[-1]
    event = json.loads(row.payload)
    logged = str(event.get("sealed_sha256"))
    later = sealed_revision(pdf, logged)
    if later is None:
        return Comparison(
            "database.sealed_file",
            False,
            f"the uploaded file's SHA-256 {hashlib.sha256(pdf).hexdigest()[:16]}… is not the "
            f"sealed_sha256 {logged[:16]}… logged when the hearing was sealed (seq {row.seq}), "
            "nor is any earlier revision of it: this is not the file the court sealed",
        )
    if doc_hash != event.get("document_hash"):
        return Comparison(
            "database.sealed_file",
            False,
            f"record.json's document hash is not the document_hash logged at seq {row.seq}",
        )
    renewed = (
        f", plus {later} later revision(s) (archive renewals; the seal and timestamp checks "
        "cover them)"
        if later
        else ""
    )
    return Comparison(
        "database.sealed_file",
        True,
        f"the file and its document hash are the ones logged as sealed at seq {row.seq}{renewed}",
    )
