"""The canonical hearing record: plain frozen dataclasses, their JSON form and its hash.

The JSON form is canonicalised with RFC 8785 (JCS), so the same record gives the same
bytes in Python and in a browser (``canonicalize`` in JS), and ``document_hash`` is the
SHA-256 of those bytes. That hash is what every participant signs and what the court
seal binds. Times inside a hearing are integer milliseconds (no float rounding across
languages); wall-clock times are ISO 8601 UTC strings exactly as stored.

The record carries the audit chain's head at freeze time, not the entries: the entries
travel alongside (``audit-log.jsonl`` in the sealed PDF) because signature events are
appended to the log after the document was frozen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import rfc8785

from courtroom.record.chat_record import ChatEntry, chat_from_json, chat_to_json
from courtroom.store.chain import entry_hash

FORMAT = "courtroom-record/1"

JsonObject = dict[str, Any]


class RecordFormatError(ValueError):
    """record.json (or an audit-log line) does not have the expected shape."""


@dataclass(frozen=True, slots=True)
class HearingMeta:
    hearing_id: str
    case_number: str
    title: str
    court: str
    language: str  # BCP 47, e.g. "zh-CN"
    opened_at: str  # ISO 8601 UTC
    closed_at: str


@dataclass(frozen=True, slots=True)
class RecordParticipant:
    participant_id: str
    role: str
    display_name: str
    identity_check: str  # result as recorded, e.g. "verified", "failed", "not_required"
    # WebCrypto export of the device key registered when the identity check passed:
    # a JWK (JSON text) or SPKI DER in base64. None: this participant cannot sign.
    public_key: str | None = None


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    line_id: str
    speaker_id: str
    speaker_name: str
    t0_ms: int
    t1_ms: int
    text: str  # final text, corrections applied
    corrected: bool = False
    original_text: str | None = None  # recogniser text before the clerk's correction


@dataclass(frozen=True, slots=True)
class TranscriptGap:
    """No audio from a participant (a ``media_gap`` on their audio): marked in the transcript."""

    speaker_id: str
    speaker_name: str
    t0_ms: int
    t1_ms: int


@dataclass(frozen=True, slots=True)
class RecordingFile:
    name: str
    sha256: str
    bytes: int
    participant_id: str | None  # None: a mixed track
    kind: str  # "audio" | "video" | "av"
    start_ms: int  # on the recording clock
    end_ms: int


@dataclass(frozen=True, slots=True)
class FlagEntry:
    kind: str
    participant_id: str
    t0_ms: int
    t1_ms: int
    confidence: float
    disposition: str  # e.g. "dismissed", "upheld", "pending"
    note: str = ""


@dataclass(frozen=True, slots=True)
class OathStatement:
    """An oath as presented to a witness; the witness signs ``oath_hash`` of it."""

    participant_id: str
    text: str
    presented_at: str


@dataclass(frozen=True, slots=True)
class AuditHead:
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored audit-log row, the exact fields ``courtroom.store.chain.entry_hash`` covers."""

    hearing_id: str
    seq: int
    type: str
    actor: str
    at: str
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        return entry_hash(
            hearing_id=self.hearing_id,
            seq=self.seq,
            type=self.type,
            actor=self.actor,
            at=self.at,
            payload=self.payload,
            prev_hash=self.prev_hash,
        )

    def hash_matches(self) -> bool:
        """``computed_hash() == hash``, via fast encodings first.

        A fast encoding can only cause a false mismatch (then the next one is tried), never
        a false match: a match means these bytes are the ones the store hashed.
        """
        body = self.to_json()
        del body["hash"]
        if hashlib.sha256(_c_encoded(_integral_floats(body))).hexdigest() == self.hash:
            return True  # event times are floats; JCS spells 4.0 as "4" and 3.5 as "3.5"
        if hashlib.sha256(canonical_json(body)).hexdigest() == self.hash:
            return True
        return self.computed_hash() == self.hash  # the store's function has the last word

    def to_json(self) -> JsonObject:
        return {
            "hearing_id": self.hearing_id,
            "seq": self.seq,
            "type": self.type,
            "actor": self.actor,
            "at": self.at,
            "payload": dict(self.payload),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> AuditEntry:
        try:
            return cls(
                hearing_id=_str(obj["hearing_id"]),
                seq=_int(obj["seq"]),
                type=_str(obj["type"]),
                actor=_str(obj["actor"]),
                at=_str(obj["at"]),
                payload=_obj(obj["payload"]),
                prev_hash=_str(obj["prev_hash"]),
                hash=_str(obj["hash"]),
            )
        except (KeyError, TypeError) as exc:
            raise RecordFormatError(f"bad audit entry: {exc}") from exc


@dataclass(frozen=True, slots=True)
class RecordDocument:
    meta: HearingMeta
    participants: tuple[RecordParticipant, ...]
    transcript: tuple[TranscriptLine, ...]
    recordings: tuple[RecordingFile, ...]
    flags: tuple[FlagEntry, ...]
    audit_head: AuditHead
    oaths: tuple[OathStatement, ...] = field(default=())
    # In record.json only when there are any, so a record without gaps keeps its bytes.
    transcript_gaps: tuple[TranscriptGap, ...] = field(default=())
    # Chat messages and mutes (chat_record.py); likewise only when there are any.
    chat: tuple[ChatEntry, ...] = field(default=())

    def participant(self, participant_id: str) -> RecordParticipant | None:
        for p in self.participants:
            if p.participant_id == participant_id:
                return p
        return None


# --- JSON form -----------------------------------------------------------------------


def transcript_in_time_order(doc: RecordDocument) -> list[TranscriptLine | TranscriptGap]:
    """The transcript's lines in their order, each gap before the first line that starts after
    it (a line and a gap that start together: the line first)."""
    gaps = sorted(doc.transcript_gaps, key=lambda g: (g.t0_ms, g.t1_ms, g.speaker_id))
    out: list[TranscriptLine | TranscriptGap] = []
    i = 0
    for line in doc.transcript:
        while i < len(gaps) and gaps[i].t0_ms < line.t0_ms:
            out.append(gaps[i])
            i += 1
        out.append(line)
    return out + gaps[i:]


def gap_label(gap: TranscriptGap) -> str:
    """A gap as the record shows it, in both languages."""
    span = f"{gap.t0_ms / 1000:.1f}–{gap.t1_ms / 1000:.1f} s"
    return f"〔无音频 no audio〕 {gap.speaker_name} {span}"


def to_json(doc: RecordDocument) -> JsonObject:
    m = doc.meta
    out: JsonObject = {
        "format": FORMAT,
        "meta": {
            "hearing_id": m.hearing_id,
            "case_number": m.case_number,
            "title": m.title,
            "court": m.court,
            "language": m.language,
            "opened_at": m.opened_at,
            "closed_at": m.closed_at,
        },
        "participants": [
            {
                "participant_id": p.participant_id,
                "role": p.role,
                "display_name": p.display_name,
                "identity_check": p.identity_check,
                "public_key": p.public_key,
            }
            for p in doc.participants
        ],
        "transcript": [
            {
                "line_id": t.line_id,
                "speaker_id": t.speaker_id,
                "speaker_name": t.speaker_name,
                "t0_ms": t.t0_ms,
                "t1_ms": t.t1_ms,
                "text": t.text,
                "corrected": t.corrected,
                "original_text": t.original_text,
            }
            for t in doc.transcript
        ],
        "recordings": [
            {
                "name": r.name,
                "sha256": r.sha256,
                "bytes": r.bytes,
                "participant_id": r.participant_id,
                "kind": r.kind,
                "start_ms": r.start_ms,
                "end_ms": r.end_ms,
            }
            for r in doc.recordings
        ],
        "flags": [
            {
                "kind": f.kind,
                "participant_id": f.participant_id,
                "t0_ms": f.t0_ms,
                "t1_ms": f.t1_ms,
                "confidence": f.confidence,
                "disposition": f.disposition,
                "note": f.note,
            }
            for f in doc.flags
        ],
        "oaths": [
            {"participant_id": o.participant_id, "text": o.text, "presented_at": o.presented_at}
            for o in doc.oaths
        ],
        "audit_head": {"seq": doc.audit_head.seq, "hash": doc.audit_head.hash},
    }
    if doc.transcript_gaps:
        out["transcript_gaps"] = [
            {
                "speaker_id": g.speaker_id,
                "speaker_name": g.speaker_name,
                "t0_ms": g.t0_ms,
                "t1_ms": g.t1_ms,
            }
            for g in doc.transcript_gaps
        ]
    if doc.chat:
        out["chat"] = chat_to_json(doc.chat)
    return out


def from_json(obj: Mapping[str, Any]) -> RecordDocument:
    """Inverse of ``to_json``; raises ``RecordFormatError`` on any shape problem."""
    try:
        if obj.get("format") != FORMAT:
            raise RecordFormatError(f"unknown record format {obj.get('format')!r}")
        m = _obj(obj["meta"])
        head = _obj(obj["audit_head"])
        return RecordDocument(
            meta=HearingMeta(
                hearing_id=_str(m["hearing_id"]),
                case_number=_str(m["case_number"]),
                title=_str(m["title"]),
                court=_str(m["court"]),
                language=_str(m["language"]),
                opened_at=_str(m["opened_at"]),
                closed_at=_str(m["closed_at"]),
            ),
            participants=tuple(
                RecordParticipant(
                    participant_id=_str(p["participant_id"]),
                    role=_str(p["role"]),
                    display_name=_str(p["display_name"]),
                    identity_check=_str(p["identity_check"]),
                    public_key=_opt_str(p["public_key"]),
                )
                for p in map(_obj, _list(obj["participants"]))
            ),
            transcript=tuple(
                TranscriptLine(
                    line_id=_str(t["line_id"]),
                    speaker_id=_str(t["speaker_id"]),
                    speaker_name=_str(t["speaker_name"]),
                    t0_ms=_int(t["t0_ms"]),
                    t1_ms=_int(t["t1_ms"]),
                    text=_str(t["text"]),
                    corrected=_bool(t["corrected"]),
                    original_text=_opt_str(t["original_text"]),
                )
                for t in map(_obj, _list(obj["transcript"]))
            ),
            recordings=tuple(
                RecordingFile(
                    name=_str(r["name"]),
                    sha256=_str(r["sha256"]),
                    bytes=_int(r["bytes"]),
                    participant_id=_opt_str(r["participant_id"]),
                    kind=_str(r["kind"]),
                    start_ms=_int(r["start_ms"]),
                    end_ms=_int(r["end_ms"]),
                )
                for r in map(_obj, _list(obj["recordings"]))
            ),
            flags=tuple(
                FlagEntry(
                    kind=_str(f["kind"]),
                    participant_id=_str(f["participant_id"]),
                    t0_ms=_int(f["t0_ms"]),
                    t1_ms=_int(f["t1_ms"]),
                    confidence=_num(f["confidence"]),
                    disposition=_str(f["disposition"]),
                    note=_str(f["note"]),
                )
                for f in map(_obj, _list(obj["flags"]))
            ),
            oaths=tuple(
                OathStatement(
                    participant_id=_str(o["participant_id"]),
                    text=_str(o["text"]),
                    presented_at=_str(o["presented_at"]),
                )
                for o in map(_obj, _list(obj["oaths"]))
            ),
            audit_head=AuditHead(seq=_int(head["seq"]), hash=_str(head["hash"])),
            transcript_gaps=tuple(
                TranscriptGap(
                    speaker_id=_str(g["speaker_id"]),
                    speaker_name=_str(g["speaker_name"]),
                    t0_ms=_int(g["t0_ms"]),
                    t1_ms=_int(g["t1_ms"]),
                )
                for g in map(_obj, _list(obj.get("transcript_gaps", [])))
            ),
            chat=chat_from_json([_obj(c) for c in _list(obj.get("chat", []))]),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise RecordFormatError(f"record.json has an unexpected shape: {exc!r}") from exc


_INT_MAX = 2**53 - 1  # JCS numbers are IEEE doubles: larger integers are refused


def _stdlib_is_jcs(obj: Any) -> bool:
    """Whether ``json.dumps(sort_keys, compact, ensure_ascii=False)`` equals RFC 8785 here.

    The stdlib encoder escapes strings exactly as JCS does (same character set, lowercase
    \\u00xx) and agrees on null/bools/safe integers. It differs only on floats (spelling),
    on integers beyond 2**53, and on key order when keys hold characters above U+FFFF
    (JCS sorts UTF-16 code units). Those inputs go to the exact, slower encoder.
    """
    stack = [obj]
    while stack:
        o = stack.pop()
        t = type(o)
        if t is str or t is bool or o is None:
            continue
        if t is int:
            if not -_INT_MAX <= o <= _INT_MAX:
                return False
        elif t is dict:
            for k, v in o.items():
                if type(k) is not str or not (k.isascii() or max(k) <= "\uffff"):
                    return False
                stack.append(v)
        elif t is list or t is tuple:
            stack.extend(o)
        else:
            return False
    return True


def _integral_floats(obj: Any) -> Any:
    """``obj`` with every integral float (within ±2^53) as an int, as JCS spells it."""
    t = type(obj)
    if t is float and obj.is_integer() and abs(obj) <= _INT_MAX:
        return int(obj)
    if t is dict:
        return {k: _integral_floats(v) for k, v in obj.items()}
    if t is list or t is tuple:
        return [_integral_floats(v) for v in obj]
    return obj


def _c_encoded(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_json(obj: Any) -> bytes:
    """RFC 8785 bytes of any JSON value (used for record.json, the manifest, log lines).

    The pure-Python rfc8785 encoder costs ~0.1 ms per audit entry, which dominated sealing
    and verification, so the C stdlib encoder is used for every subtree where it provably
    gives the same bytes (see ``_stdlib_is_jcs``) and JCS's compositional form (sorted
    members, no whitespace) joins them; only the odd float goes through rfc8785. A property
    test compares the result with rfc8785 itself.
    """
    if _stdlib_is_jcs(obj):
        try:
            return json.dumps(
                obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8")
        except UnicodeEncodeError:
            return bytes(rfc8785.dumps(obj))  # lone surrogate: rfc8785 raises its own error
    t = type(obj)
    if t is dict and all(type(k) is str for k in obj):
        members = sorted(obj.items(), key=lambda kv: kv[0].encode("utf-16be"))
        return (
            b"{"
            + b",".join(canonical_json(k) + b":" + canonical_json(v) for k, v in members)
            + b"}"
        )
    if t is list or t is tuple:
        return b"[" + b",".join(canonical_json(v) for v in obj) + b"]"
    return bytes(rfc8785.dumps(obj))


def canonical_bytes(doc: RecordDocument) -> bytes:
    return canonical_json(to_json(doc))


def document_hash(doc: RecordDocument) -> str:
    """SHA-256 hex of the canonical document: what each participant signs."""
    return hashlib.sha256(canonical_bytes(doc)).hexdigest()


def oath_hash(hearing_id: str, oath: OathStatement) -> str:
    """SHA-256 hex a witness signs for an oath (bound to the hearing and the witness)."""
    return hashlib.sha256(
        canonical_json(
            {
                "format": "courtroom-oath/1",
                "hearing_id": hearing_id,
                "participant_id": oath.participant_id,
                "text": oath.text,
                "presented_at": oath.presented_at,
            }
        )
    ).hexdigest()


# --- strict JSON field readers (bool is an int in Python; reject it where an int is due)


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError(f"expected a string, got {type(v).__name__}")
    return v


def _opt_str(v: Any) -> str | None:
    return None if v is None else _str(v)


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected an integer, got {type(v).__name__}")
    return v


def _num(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TypeError(f"expected a number, got {type(v).__name__}")
    return float(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"expected a boolean, got {type(v).__name__}")
    return v


def _obj(v: Any) -> JsonObject:
    if not isinstance(v, dict):
        raise TypeError(f"expected an object, got {type(v).__name__}")
    return v


def _list(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise TypeError(f"expected an array, got {type(v).__name__}")
    return v
