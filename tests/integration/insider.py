"""What someone holding the court's keys can do with the project's own library.

``Parts`` is what a sealed file is made of; every attack takes the parts (from the
synthetic sample or read back from a server-made file), changes them consistently the
way an insider would, and re-seals them with the court's own keys and TSA.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from courtroom.domain import events as ev
from courtroom.record.document import AuditEntry, RecordDocument, document_hash, from_json
from courtroom.record.hearing_log import answers, freeze
from courtroom.record.keys import CourtKeys
from courtroom.record.pdf import render_pdf
from courtroom.record.sample import sign_as
from courtroom.record.seal import AUDIT_LOG, RECORD_JSON, seal_record, stroke_attachment_name
from courtroom.record.signatures import ParticipantSignature, SignatureRefusal, export_jwk
from courtroom.record.tsa import LocalTimeStamper, TimeStampAuthority
from courtroom.record.verify import embedded_files
from courtroom.store.chain import GENESIS, entry_hash

FORGED_LINE = "被告当庭承认全部借款事实。"
Clock = Callable[[], object]


@dataclass(frozen=True)
class Parts:
    doc: RecordDocument
    entries: list[AuditEntry]
    sigs: list[ParticipantSignature]
    refusals: list[SignatureRefusal]
    strokes: dict[str, bytes] = field(default_factory=dict)
    pages_of: RecordDocument | None = None  # render these pages instead of doc's


def parts_from_pdf(pdf: bytes) -> Parts:
    from pyhanko.pdf_utils.reader import PdfFileReader

    files = embedded_files(PdfFileReader(io.BytesIO(pdf), strict=False))
    record = json.loads(files[RECORD_JSON])
    sigs = [ParticipantSignature.from_json(s) for s in record["signatures"]]
    strokes = {
        s.stroke_png_sha256: files[stroke_attachment_name(s.stroke_png_sha256)]
        for s in sigs
        if s.stroke_png_sha256
    }
    return Parts(
        from_json(record["document"]),
        [AuditEntry.from_json(json.loads(x)) for x in files[AUDIT_LOG].splitlines() if x],
        sigs,
        [SignatureRefusal.from_json(r) for r in record["refusals"]],
        strokes,
    )


def stamper(keys: CourtKeys, clock: Clock | None = None) -> LocalTimeStamper:
    assert keys.tsa_cert is not None and keys.tsa_key is not None
    kw = {} if clock is None else {"clock": clock}
    tsa = TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root], **kw)  # type: ignore[arg-type]
    return LocalTimeStamper(tsa)


def reseal(parts: Parts, keys: CourtKeys, clock: Clock | None = None) -> bytes:
    rendered = render_pdf(parts.pages_of or parts.doc, parts.sigs, parts.refusals, parts.strokes)
    return seal_record(
        rendered,
        parts.doc,
        parts.entries,
        parts.sigs,
        keys,
        stamper(keys, clock),
        refusals=parts.refusals,
        strokes=parts.strokes,
    )


def rechain(entries: Sequence[AuditEntry]) -> list[AuditEntry]:
    out: list[AuditEntry] = []
    prev = GENESIS
    for n, e in enumerate(entries, start=1):
        h = entry_hash(
            hearing_id=e.hearing_id,
            seq=n,
            type=e.type,
            actor=e.actor,
            at=e.at,
            payload=e.payload,
            prev_hash=prev,
        )
        out.append(dataclasses.replace(e, seq=n, prev_hash=prev, hash=h))
        prev = h
    return out


def replace_line(doc: RecordDocument, i: int, text: str) -> RecordDocument:
    row = dataclasses.replace(doc.transcript[i], text=text)
    return dataclasses.replace(doc, transcript=(*doc.transcript[:i], row, *doc.transcript[i + 1 :]))


def fresh_keys(parts: Parts) -> dict[str, ec.EllipticCurvePrivateKey]:
    return {
        p.participant_id: ec.generate_private_key(ec.SECP256R1()) for p in parts.doc.participants
    }


def swap_keys_in_record_json(parts: Parts) -> Parts:
    """New keys put into record.json, identity checks "verified", every signature re-made;
    the log untouched."""
    fresh = fresh_keys(parts)
    people = tuple(
        dataclasses.replace(
            p,
            public_key=export_jwk(fresh[p.participant_id].public_key()),
            identity_check="verified",
        )
        for p in parts.doc.participants
    )
    doc = dataclasses.replace(parts.doc, participants=people)
    digest = document_hash(doc)
    sigs = []
    for s in parts.sigs:
        signed = digest if s.purpose == "record" else s.signed_hash
        sigs.append(
            dataclasses.replace(
                s,
                signed_hash=signed,
                signature=sign_as(fresh[s.participant_id], s.purpose, signed),
                public_key=export_jwk(fresh[s.participant_id].public_key()),
            )
        )
    return dataclasses.replace(parts, doc=doc, sigs=sigs)


def _refreeze(parts: Parts, entries: list[AuditEntry], sigs: bool = True) -> Parts:
    frozen = freeze(parts.doc.meta.hearing_id, entries)
    assert frozen is not None
    chosen = answers(frozen, entries)
    kept = list(chosen.signatures) if sigs else [s for s in parts.sigs if s.purpose == "oath"]
    return dataclasses.replace(
        parts, doc=frozen.document, entries=entries, sigs=kept, refusals=list(chosen.refusals)
    )


def drop_line_and_rechain(parts: Parts, line_id: str, *, keep_stale_events: bool) -> Parts:
    """A transcript line removed from the log, the log re-chained, the document re-frozen;
    the record signatures, now stale, dropped from record.json (and from the log)."""
    entries = [
        e
        for e in parts.entries
        if not (e.type == ev.TranscriptLineRecorded.TYPE and e.payload["line_id"] == line_id)
        and (
            keep_stale_events
            or not (e.type == ev.DocumentSigned.TYPE and e.payload["purpose"] == "record")
        )
    ]
    return _refreeze(parts, rechain(entries), sigs=False)


def _resign(
    entries: Sequence[AuditEntry],
    purpose: str,
    digest: str,
    keys: dict[str, ec.EllipticCurvePrivateKey],
) -> list[AuditEntry]:
    out = []
    for e in entries:
        if e.type == ev.DocumentSigned.TYPE and e.payload["purpose"] == purpose:
            pid = str(e.payload["participant"])
            sig = sign_as(keys[pid], purpose, digest)  # type: ignore[arg-type]
            e = dataclasses.replace(
                e, payload={**e.payload, "signed_hash": digest, "signature": sig}
            )
        out.append(e)
    return rechain(out)


def rewrite_history(parts: Parts, line_id: str) -> Parts:
    """Log, keys and signatures rewritten: new device keys registered, a line changed,
    every signature re-made with the new keys, the chain recomputed."""
    fresh = fresh_keys(parts)
    changed: list[AuditEntry] = []
    for e in parts.entries:
        p = dict(e.payload)
        if e.type == ev.SigningKeyRegistered.TYPE:
            p["public_key"] = export_jwk(fresh[str(p["participant"])].public_key())
        elif e.type == ev.TranscriptLineRecorded.TYPE and p["line_id"] == line_id:
            p["text"] = FORGED_LINE
        changed.append(dataclasses.replace(e, payload=p))
    oath = next((s for s in parts.sigs if s.purpose == "oath"), None)
    entries = rechain(changed)
    if oath is not None:
        entries = _resign(entries, "oath", oath.signed_hash, fresh)
    frozen = freeze(parts.doc.meta.hearing_id, entries)
    assert frozen is not None
    return _refreeze(parts, _resign(entries, "record", frozen.hash, fresh))


def resign_after_rechain(
    parts: Parts, drop_seq: int, keys: dict[str, ec.EllipticCurvePrivateKey]
) -> Parts:
    """One event removed, the log re-chained and re-signed with the signers' own keys."""
    entries = rechain([e for e in parts.entries if e.seq != drop_seq])
    frozen = freeze(parts.doc.meta.hearing_id, entries)
    assert frozen is not None
    return _refreeze(parts, _resign(entries, "record", frozen.hash, keys))


def poke_padding(pdf: bytes) -> bytes:
    """One byte changed deep in the zero padding of the seal's /Contents."""
    end = pdf.index(b">", pdf.index(b"/Contents <"))
    bad = bytearray(pdf)
    bad[end - 10] = ord("7")
    return bytes(bad)
