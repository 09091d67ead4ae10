"""A synthetic, fully signed hearing for tests, the benchmark and the demo.

Everything here is made the way the real flow makes it: the log holds the domain's own
events (``hearing_scheduled`` ... ``phase_changed`` to closed, then ``document_signed`` and
``signing_refused``), chained with ``courtroom.store.chain.entry_hash``; the document is
``hearing_log.freeze`` of that log; device keys (P-256) sign WebCrypto-style.
All names are fictitious.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from courtroom.domain import codec
from courtroom.domain import events as ev
from courtroom.domain.phases import Phase
from courtroom.domain.roles import Role
from courtroom.domain.routing import MediaKind
from courtroom.record.document import (
    AuditEntry,
    RecordDocument,
    document_hash,
    oath_hash,
)
from courtroom.record.hearing_log import answers, freeze, oath_statement
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
TITLE = "民间借贷纠纷 庭审笔录 (Loan dispute hearing)"
COURT = "北京市朝阳区人民法院 (Development Court)"
CLERK_REFUSAL = "对第6行记载有异议，拒绝签名"

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


def iso_utc(t: dt.datetime) -> str:
    """The store's spelling of a time: ISO 8601 UTC, microseconds, ``Z``."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Log:
    """Appends real domain events, chained exactly as the store chains them."""

    def __init__(self, hearing_id: str, start: dt.datetime) -> None:
        self.hearing_id = hearing_id
        self.start = start
        self.entries: list[AuditEntry] = []

    def append(self, event: ev.Event, actor: str = "server") -> AuditEntry:
        seq = len(self.entries) + 1
        prev = self.entries[-1].hash if self.entries else GENESIS
        at = iso_utc(self.start + dt.timedelta(seconds=seq))
        payload = json.loads(json.dumps(codec.to_json(event)))
        h = entry_hash(
            hearing_id=self.hearing_id,
            seq=seq,
            type=event.TYPE,
            actor=actor,
            at=at,
            payload=payload,
            prev_hash=prev,
        )
        e = AuditEntry(self.hearing_id, seq, event.TYPE, actor, at, payload, prev, h)
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


def _stroke(strokes: dict[str, bytes], n: int) -> str:
    png = stroke_png(n)
    sha = hashlib.sha256(png).hexdigest()
    strokes[sha] = png
    return sha


def _open_hearing(log: _Log, exported: Mapping[str, str]) -> None:
    log.append(
        ev.HearingScheduled(CASE_NUMBER, TITLE, COURT, "zh-CN", "2026-11-23T09:00:00+08:00"),
        "registry",
    )
    for pid, role, name in _PEOPLE:
        log.append(ev.ParticipantInvited(pid, Role(role), name), "registry")
    log.append(ev.PhaseChanged(Phase.OPENING, Phase.SCHEDULED), "p-judge")
    for n, (pid, _, _) in enumerate(_PEOPLE):
        photo = hashlib.sha256(f"id-photo-{pid}".encode()).hexdigest()
        log.append(ev.IdPhotoRegistered(pid, photo), "p-clerk")
        log.append(ev.IdentityChecked(pid, "entry", True, 0.3 + n / 100, "", "sample-face"))
        log.append(ev.SigningKeyRegistered(pid, exported[pid]), pid)


def _testimony(log: _Log, lines: int, text: Callable[[int], str]) -> dict[str, bytes]:
    log.append(ev.PhaseChanged(Phase.INVESTIGATION, Phase.OPENING), "p-judge")
    speakers = [pid for pid, role, _ in _PEOPLE if role != "clerk"]
    for i in range(lines):
        sp = "p-judge" if i == 0 else "p-clerk" if i == 1 else speakers[i % 4]
        log.append(
            ev.TranscriptLineRecorded(
                f"l{i + 1:05d}", sp, text(i), i * 4.0, i * 4.0 + 3.5, (), "sample-asr"
            )
        )
    if lines > 3:  # the clerk corrects one recognised line
        fixed = text(3).replace("（", "（更正后）（", 1)
        log.append(ev.TranscriptLineCorrected("l00004", fixed), "p-clerk")
    _chat(log)
    files = {
        f"{pid}-av.webm": hashlib.sha256(pid.encode()).digest() * 512 for pid, _, _ in _PEOPLE[:3]
    }
    for name, data in files.items():
        pid = name.removesuffix("-av.webm")
        sha = hashlib.sha256(data).hexdigest()
        log.append(
            ev.RecordingFinished(pid, MediaKind.VIDEO, name, sha, len(data), 0.0, lines * 4.0)
        )
    evidence = hashlib.sha256(b"evidence").hexdigest()
    log.append(
        ev.FlagRaised("f-1", "p-witness", "second_person", 8.0, 0.81, {"face": "v1"}, evidence, 8.5)
    )
    log.append(ev.FlagClosed("f-1", 9.5))
    log.append(ev.FlagReviewed("f-1", "dismissed", "family member passing behind"), "p-judge")
    return files


# The chat of the sample hearing: to everyone, to the bench, clerk <-> waiting witness, a mute.
SAMPLE_CHAT = (
    ("p-plaintiff", "hearing", "原告：请求出示借条原件。"),
    ("p-judge", "bench", "书记员请记录：原告申请出示原件。"),
    ("p-clerk", "participant:p-witness", "证人请稍候，马上请您出庭。"),
)


def _chat(log: _Log) -> None:
    for sender, to, text in SAMPLE_CHAT:
        log.append(ev.ChatMessage(sender, to, text, iso_utc(log.start)), sender)
    log.append(ev.ChatMuteChanged("p-defendant", True), "p-judge")
    log.append(ev.ChatMuteChanged("p-defendant", False), "p-judge")


def build_sample(
    lines: int = 12,
    *,
    hearing_id: str = "h-2026-0001",
    text: Callable[[int], str] = transcript_text,
    refusal: str | None = CLERK_REFUSAL,
    start: dt.datetime | None = None,
) -> SampleHearing:
    """A closed hearing: three record signatures, a witness oath and (by default) the
    clerk's refusal, every one of them an event in the log after the close. The log
    starts at ``start`` (default: two hours ago), one event a second."""
    if start is None:
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    log = _Log(hearing_id, start)
    keys = {pid: ec.generate_private_key(ec.SECP256R1()) for pid, _, _ in _PEOPLE}
    # Alternate the two WebCrypto export formats so both stay exercised.
    exported = {
        pid: (export_jwk if n % 2 == 0 else export_spki)(keys[pid].public_key())
        for n, (pid, _, _) in enumerate(_PEOPLE)
    }
    strokes: dict[str, bytes] = {}
    _open_hearing(log, exported)
    oath = oath_statement(hearing_id, log.entries, OATH_SIGNER)
    assert oath is not None
    digest = oath_hash(hearing_id, oath)
    log.append(
        ev.DocumentSigned(
            OATH_SIGNER,
            "oath",
            digest,
            sign_as(keys[OATH_SIGNER], "oath", digest),
            _stroke(strokes, 0),
        ),
        OATH_SIGNER,
    )
    files = _testimony(log, lines, text)
    log.append(ev.PhaseChanged(Phase.CLOSED, Phase.INVESTIGATION), "p-judge")
    frozen = freeze(hearing_id, log.entries)
    assert frozen is not None
    for n, pid in enumerate(RECORD_SIGNERS, start=1):
        sig = sign_as(keys[pid], "record", frozen.hash)
        log.append(ev.DocumentSigned(pid, "record", frozen.hash, sig, _stroke(strokes, n)), pid)
    if refusal is not None:
        log.append(ev.SigningRefused("p-clerk", "record", refusal), "p-clerk")
    chosen = answers(frozen, log.entries)
    return SampleHearing(
        frozen.document,
        log.entries,
        list(chosen.signatures),
        list(chosen.refusals),
        strokes,
        keys,
        files,
    )
