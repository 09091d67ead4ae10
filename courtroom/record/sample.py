"""A synthetic, fully signed hearing for tests, the benchmark and the demo.

Everything here is made the way the real flow makes it: device keys (P-256) sign
WebCrypto-style, the audit log is chained with ``courtroom.store.chain.entry_hash``, the
document's head is the ``hearing.closed`` entry and the record signatures come after it.
All names are fictitious.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from courtroom.record.document import (
    AuditEntry,
    AuditHead,
    FlagEntry,
    HearingMeta,
    OathStatement,
    RecordDocument,
    RecordingFile,
    RecordParticipant,
    TranscriptLine,
    document_hash,
    oath_hash,
)
from courtroom.record.signatures import (
    ParticipantSignature,
    Purpose,
    SignatureRefusal,
    export_jwk,
    export_spki,
    signing_message,
    webcrypto_sign,
)
from courtroom.store.chain import GENESIS, entry_hash

OPENING_LINE = "审判长：现在开庭，核对当事人身份。"
CASE_NUMBER = "京0105民初12345号"

_PEOPLE: tuple[tuple[str, str, str], ...] = (
    ("p-judge", "judge", "赵审判"),
    ("p-clerk", "clerk", "钱书记"),
    ("p-plaintiff", "plaintiff", "孙原告 (Sun Yuan)"),
    ("p-defendant", "defendant", "李被告"),
    ("p-witness", "witness", "周证人"),
)
RECORD_SIGNERS = ("p-judge", "p-plaintiff", "p-defendant")
OATH_SIGNER = "p-witness"

_SENTENCES = (
    "原告，请陈述你的诉讼请求和事实理由。",
    "The plaintiff asks the court to order repayment of the loan principal of 200,000 yuan.",
    "被告对原告提交的借款合同的真实性没有异议，但对利息的计算方式有异议。",
    "Witness, please state where you were on the evening of 3 March.",
    "我当时在公司加班，大约晚上九点离开，没有看到双方签字的过程。",
    "Objection: the question calls for speculation about the defendant's intent.",
    "本院依法组织双方当事人进行质证，请被告发表质证意见。",
    "The custody schedule proposed in Exhibit 7 was never agreed in writing.",
    "证人所述与转账记录（见证据三）相互印证，本院予以确认。",
    "双方当事人是否愿意在法庭主持下进行调解？Both parties: yes or no.",
)


@dataclass
class SampleHearing:
    doc: RecordDocument
    entries: list[AuditEntry]
    signatures: list[ParticipantSignature]
    refusals: list[SignatureRefusal]
    strokes: dict[str, bytes]
    device_keys: dict[str, ec.EllipticCurvePrivateKey]
    recording_files: dict[str, bytes] = field(default_factory=dict)

    @property
    def document_hash(self) -> str:
        return document_hash(self.doc)


def stroke_png(seed: int, width: int = 360, height: int = 110) -> bytes:
    """An RGBA PNG squiggle standing in for a handwritten signature."""
    from PIL import Image, ImageDraw  # Pillow is only needed to fake strokes

    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    points = [
        (10 + i * (width - 20) / 24, height / 2 + ((i * 37 + seed * 11) % 50 - 25) * (1 + seed % 2))
        for i in range(25)
    ]
    draw.line(points, fill=(10, 20, 90, 255), width=4, joint="curve")
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


class _Log:
    def __init__(self, hearing_id: str) -> None:
        self.hearing_id = hearing_id
        self.entries: list[AuditEntry] = []

    def append(self, type_: str, actor: str, payload: Mapping[str, Any]) -> AuditEntry:
        seq = len(self.entries) + 1
        prev = self.entries[-1].hash if self.entries else GENESIS
        at = f"2026-11-23T{9 + seq // 3600:02d}:{seq // 60 % 60:02d}:{seq % 60:02d}.000Z"
        h = entry_hash(
            hearing_id=self.hearing_id,
            seq=seq,
            type=type_,
            actor=actor,
            at=at,
            payload=payload,
            prev_hash=prev,
        )
        e = AuditEntry(self.hearing_id, seq, type_, actor, at, dict(payload), prev, h)
        self.entries.append(e)
        return e


def transcript_text(i: int) -> str:
    if i == 0:
        return OPENING_LINE
    if i == 1:
        return f"书记员：本案案号为{CASE_NUMBER}，当事人均已到庭。"
    return f"{_SENTENCES[i % len(_SENTENCES)]}（{i}）"


def sign_as(key: ec.EllipticCurvePrivateKey, purpose: Purpose, signed_hash: str) -> str:
    return webcrypto_sign(key, signing_message(purpose, signed_hash))


def build_sample(
    lines: int = 12,
    *,
    hearing_id: str = "h-2026-0001",
    text: Callable[[int], str] = transcript_text,
) -> SampleHearing:
    log = _Log(hearing_id)
    keys = {pid: ec.generate_private_key(ec.SECP256R1()) for pid, _, _ in _PEOPLE}
    # Alternate the two WebCrypto export formats so both stay exercised.
    exported = {
        pid: (export_jwk if n % 2 == 0 else export_spki)(keys[pid].public_key())
        for n, (pid, _, _) in enumerate(_PEOPLE)
    }
    participants = tuple(
        RecordParticipant(pid, role, name, "verified", exported[pid]) for pid, role, name in _PEOPLE
    )
    log.append("hearing.opened", "p-judge", {"case_number": CASE_NUMBER})
    for p in participants:
        log.append(
            "participant.identity_checked",
            "p-clerk",
            {
                "participant_id": p.participant_id,
                "result": p.identity_check,
                "public_key": p.public_key,
            },
        )

    oath = OathStatement(
        OATH_SIGNER,
        "我保证向法庭如实陈述，如有虚假陈述，愿意承担法律责任。",
        "2026-11-23T09:05:00.000Z",
    )
    log.append(
        "oath.presented",
        "p-clerk",
        {"participant_id": OATH_SIGNER, "text": oath.text, "presented_at": oath.presented_at},
    )
    strokes: dict[str, bytes] = {}
    signatures: list[ParticipantSignature] = []

    def make_signature(pid: str, purpose: Purpose, signed_hash: str, n: int) -> None:
        png = stroke_png(n)
        sha = hashlib.sha256(png).hexdigest()
        strokes[sha] = png
        sig = ParticipantSignature(
            participant_id=pid,
            purpose=purpose,
            signed_hash=signed_hash,
            signature=sign_as(keys[pid], purpose, signed_hash),
            public_key=exported[pid],
            stroke_png_sha256=sha,
            signed_at=f"2026-11-23T11:0{n}:00.000Z",
        )
        signatures.append(sig)
        log.append("signature.recorded", pid, sig.to_json())

    make_signature(OATH_SIGNER, "oath", oath_hash(hearing_id, oath), 0)

    speakers = [p for p in participants if p.role != "clerk"]
    transcript: list[TranscriptLine] = []
    for i in range(lines):
        sp = participants[0] if i == 0 else participants[1] if i == 1 else speakers[i % 4]
        line = TranscriptLine(
            f"l{i + 1:05d}",
            sp.participant_id,
            sp.display_name,
            i * 4000,
            i * 4000 + 3500,
            text(i),
        )
        log.append(
            "transcript.line",
            sp.participant_id,
            {
                "line_id": line.line_id,
                "speaker_id": line.speaker_id,
                "speaker_name": line.speaker_name,
                "t0_ms": line.t0_ms,
                "t1_ms": line.t1_ms,
                "text": line.text,
            },
        )
        transcript.append(line)
    if lines > 3:  # the clerk corrects one recognised line
        old = transcript[3]
        fixed = TranscriptLine(
            old.line_id,
            old.speaker_id,
            old.speaker_name,
            old.t0_ms,
            old.t1_ms,
            old.text.replace("（", "（更正后）（", 1),
            True,
            old.text,
        )
        transcript[3] = fixed
        log.append(
            "transcript.corrected", "p-clerk", {"line_id": fixed.line_id, "text": fixed.text}
        )

    recording_files = {
        f"{pid}-av.webm": hashlib.sha256(pid.encode()).digest() * 512 for pid, _, _ in _PEOPLE[:3]
    }
    recordings = tuple(
        RecordingFile(
            name,
            hashlib.sha256(data).hexdigest(),
            len(data),
            name.removesuffix("-av.webm"),
            "av",
            0,
            lines * 4000,
        )
        for name, data in recording_files.items()
    )
    for r in recordings:
        log.append(
            "recording.finalized", "server", {"name": r.name, "sha256": r.sha256, "bytes": r.bytes}
        )
    flags = (
        FlagEntry(
            "second_person",
            "p-witness",
            8000,
            9500,
            0.81,
            "dismissed",
            "family member passing behind",
        ),
    )
    log.append("flag.disposed", "p-judge", {"kind": "second_person", "disposition": "dismissed"})
    closed = log.append("hearing.closed", "p-judge", {})

    doc = RecordDocument(
        meta=HearingMeta(
            hearing_id,
            CASE_NUMBER,
            "民间借贷纠纷 庭审笔录 (Loan dispute hearing)",
            "北京市朝阳区人民法院 (Development Court)",
            "zh-CN",
            "2026-11-23T09:00:00.000Z",
            "2026-11-23T10:55:00.000Z",
        ),
        participants=participants,
        transcript=tuple(transcript),
        recordings=recordings,
        flags=flags,
        audit_head=AuditHead(closed.seq, closed.hash),
        oaths=(oath,),
    )
    h = document_hash(doc)
    for n, pid in enumerate(RECORD_SIGNERS, start=1):
        make_signature(pid, "record", h, n)
    return SampleHearing(doc, log.entries, signatures, [], strokes, keys, recording_files)
