"""The sealed record inside a live hearing: the signing pre-check, strokes, seal, verify.

``RecordOffice`` is the server's side of ``courtroom.record``:

* ``check_signature`` runs before the runtime decides a ``sign_document``: the signed hash
  must be the current record hash (or the witness's oath hash), the ECDSA signature must
  verify with the key registered in the hearing's state, and the stroke image must be
  stored. A failure is refused with a specific code and logged as ``command_rejected``.
* ``store_stroke`` keeps a handwritten signature PNG under
  ``<data_dir>/strokes/<hearing>/<participant>``, so only its signer can use it.
* ``seal`` renders the record, seals it PAdES B-LTA (PDF/A-3b) with the court's keys from
  ``<data_dir>/keys`` (development keys are made on first use and say so), writes
  ``<data_dir>/records/<hearing>.pdf`` and submits ``seal_record`` as the judge.
* ``verify`` checks any sealed PDF against the court's trust root and, given the hearing,
  compares the file's SHA-256 and document hash with ``record_sealed`` and its audit log
  with the database.
* ``receipt`` gives a signer the court's receipt for their ``document_signed`` event;
  each seal is added to the transparency log (``tlog``) with a new signed tree head.

Blocking work (log reads, PDF rendering, signing, verification) runs in threads.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper

from ..config import Settings
from ..domain import commands as c
from ..domain import events as ev
from ..domain.errors import Rejected
from ..domain.hearing import Actor, decide
from ..domain.phases import Phase
from ..domain.roles import Role
from ..record.document import AuditEntry, OathStatement, oath_hash
from ..record.hearing_log import (
    Comparison,
    Frozen,
    answers,
    audit_entry,
    compare_with_database,
    compare_with_seal,
    freeze,
    oath_statement,
    transcript_from_log,
)
from ..record.keys import ROOT_CERT, ROOT_KEY, CourtKeys, init_keys, load_court_keys
from ..record.pdf import render_pdf
from ..record.receipts import make_receipt
from ..record.seal import AUDIT_LOG, seal_record
from ..record.signatures import signing_message, verify_participant_signature
from ..record.transparency import TransparencyLog, record_leaf
from ..record.tsa import LocalTimeStamper, TimeStampAuthority
from ..record.verify import VerificationReport, verify_record
from ..store.log import EventLog
from .runtime import Clock, HearingRuntime

log = logging.getLogger(__name__)

TSA_URL_ENV = "COURTROOM_TSA_URL"
OATH_ROLES = frozenset({Role.WITNESS, Role.INTERPRETER})
# A check before the runtime decides a command: None, or (refusal code, reason).
MAX_STROKE_BYTES = 256 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SHA256 = re.compile(r"[0-9a-f]{64}")
DEV_KEYS_WARNING = (
    "sealed with DEVELOPMENT keys (a self-made CA from `courtroom init-keys`); "
    "a real court puts its own certificates in the keys directory"
)


class SealError(Exception):
    """Sealing is not possible now; ``status`` and ``code`` are for the HTTP answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class SealResult:
    hearing_id: str
    document_hash: str
    sealed_sha256: str
    size: int
    path: Path
    signatures: list[dict[str, str]]
    refusals: list[dict[str, str]]
    superseded: int
    development_keys: bool
    timestamp_authority: str


def png_problem(data: bytes) -> str | None:
    """Why ``data`` is not an acceptable stroke image, or None."""
    if len(data) > MAX_STROKE_BYTES:
        return f"the image is over {MAX_STROKE_BYTES // 1024} KiB"
    if not data.startswith(PNG_MAGIC):
        return "the image is not a PNG"
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG":
                return "the image is not a PNG"
            img.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return "the PNG image is damaged"
    return None


class RecordOffice:
    def __init__(self, settings: Settings, event_log: EventLog, clock: Clock) -> None:
        self.settings = settings
        self._clock = clock
        self.log = event_log
        self.strokes_dir = settings.data_dir / "strokes"
        self.records_dir = settings.data_dir / "records"
        self.keys_dir = settings.data_dir / "keys"
        self.recordings_dir = settings.data_dir / "recordings"
        self._keys: CourtKeys | None = None
        self._tsa: TimeStampAuthority | None = None
        self._keys_lock = threading.Lock()
        self._seal_locks: dict[str, asyncio.Lock] = {}
        self.tlog = TransparencyLog(settings.data_dir / "transparency")

    # --- the log, frozen -------------------------------------------------------------

    def entries(self, hearing_id: str) -> list[AuditEntry]:
        """The hearing's log exactly as stored (blocking)."""
        return [audit_entry(r) for r in self.log.stored_entries(hearing_id)]

    async def frozen(self, hearing_id: str) -> tuple[Frozen | None, list[AuditEntry]]:
        def work() -> tuple[Frozen | None, list[AuditEntry]]:
            entries = self.entries(hearing_id)
            return freeze(hearing_id, entries), entries

        return await asyncio.to_thread(work)

    async def oath(self, hearing_id: str, participant_id: str) -> OathStatement | None:
        entries = await asyncio.to_thread(self.entries, hearing_id)
        return oath_statement(hearing_id, entries, participant_id)

    # --- signing ---------------------------------------------------------------------

    def stroke_path(self, hearing_id: str, participant_id: str, sha256: str) -> Path:
        # Kept per uploader, so a signature can only use its own signer's handwriting.
        return self.strokes_dir / hearing_id / participant_id / f"{sha256}.png"

    async def store_stroke(self, hearing_id: str, participant_id: str, data: bytes) -> str:
        """Store a checked PNG by its SHA-256 (idempotent); raises ValueError if unfit."""
        problem = png_problem(data)
        if problem is not None:
            raise ValueError(problem)
        sha = hashlib.sha256(data).hexdigest()
        path = self.stroke_path(hearing_id, participant_id, sha)

        def write() -> None:
            if path.exists():
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)

        await asyncio.to_thread(write)
        return sha

    async def check_signature(
        self, runtime: HearingRuntime, command: c.Command, actor: Actor
    ) -> tuple[str, str] | None:
        """(code, reason) when a ``sign_document`` must be refused before it is decided.

        Commands the domain would refuse anyway (wrong phase, no key, already answered)
        pass through, so that the domain's own refusal is what the client sees.
        """
        if not isinstance(command, c.SignDocument):
            return None
        state = runtime.state
        if isinstance(decide(state, command, actor, self._clock()), Rejected):
            return None
        me = state.participants[actor.id]
        assert me.signing_key is not None  # decide() refuses a signer without a key
        if command.purpose == "record":
            frozen, _ = await self.frozen(runtime.hearing_id)
            if frozen is None:
                return ("wrong_phase", "the record exists only once the hearing is closed")
            expected = frozen.hash
        else:
            oath = await self.oath(runtime.hearing_id, actor.id)
            if oath is None:
                return ("invalid", f"no oath is administered to a {me.role.value}")
            expected = oath_hash(runtime.hearing_id, oath)
        if command.signed_hash != expected:
            return (
                "hash_mismatch",
                f"signed_hash is not the current {command.purpose} hash {expected}; "
                "fetch it again, review and re-sign",
            )
        message = signing_message("record" if command.purpose == "record" else "oath", expected)
        if not verify_participant_signature(me.signing_key, message, command.signature):
            return (
                "bad_signature",
                "the signature does not verify with your registered signing key "
                f"(ECDSA P-256 over '{message.decode()}')",
            )
        sha = command.stroke_sha256
        mine = (
            self.stroke_path(runtime.hearing_id, actor.id, sha) if _SHA256.fullmatch(sha) else None
        )
        if mine is None or not await asyncio.to_thread(mine.is_file):
            return (
                "stroke_missing",
                "no handwritten signature image with that stroke_sha256; upload it first "
                f"(POST /api/v1/hearings/{runtime.hearing_id}/strokes)",
            )
        return None

    # --- keys and timestamps ---------------------------------------------------------

    def keys(self) -> CourtKeys:
        """The court's keys; development keys are created on first use when none exist."""
        with self._keys_lock:
            if self._keys is None:
                if not (self.keys_dir / ROOT_CERT).exists():
                    init_keys(self.keys_dir)
                    log.warning(
                        "created DEVELOPMENT court keys in %s (courtroom init-keys); "
                        "records sealed with them are for testing only. A real court "
                        "puts its own root.cert.pem, seal.cert.pem and seal.key.pem there.",
                        self.keys_dir,
                    )
                self._keys = load_court_keys(self.keys_dir)
                if self.development_keys:
                    log.warning("sealing with DEVELOPMENT keys from %s", self.keys_dir)
            return self._keys

    @property
    def development_keys(self) -> bool:
        # The development PKI keeps its root key beside the certificates; a court's own
        # layout never does (see docs/record.md §3).
        return (self.keys_dir / ROOT_KEY).exists()

    def timestamper(self, keys: CourtKeys) -> tuple[TimeStamper, str]:
        url = os.environ.get(TSA_URL_ENV, "").strip()
        if url:
            return HTTPTimeStamper(url), url
        if keys.tsa_cert is None or keys.tsa_key is None:
            raise SealError(
                503,
                "no_timestamp_authority",
                f"no local TSA certificate in the keys directory and {TSA_URL_ENV} is not set",
            )
        if self._tsa is None:
            self._tsa = TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root])
        return LocalTimeStamper(self._tsa), "local (this server's clock only)"

    # --- the seal --------------------------------------------------------------------

    def record_path(self, hearing_id: str) -> Path:
        return self.records_dir / f"{hearing_id}.pdf"

    async def seal(self, runtime: HearingRuntime, judge: Actor) -> SealResult:
        hid = runtime.hearing_id
        lock = self._seal_locks.setdefault(hid, asyncio.Lock())
        async with lock:
            if runtime.state.phase is Phase.SEALED:
                raise SealError(409, "wrong_phase", "the record is already sealed")
            if runtime.state.phase is not Phase.CLOSED:
                raise SealError(
                    409,
                    "wrong_phase",
                    f"cannot seal a hearing that is {runtime.state.phase.value}; close it first",
                )
            for _ in range(3):
                built = await asyncio.to_thread(self._build_sealed, hid)
                pdf, frozen, chosen, head, dev, tsa_name = built
                # A signature that arrived while sealing must not be left out: seal again.
                late = [
                    e
                    for e in await asyncio.to_thread(self.log.read, hid, head.seq)
                    if e.type in (ev.DocumentSigned.TYPE, ev.SigningRefused.TYPE)
                ]
                if not late:
                    break
            else:
                raise SealError(409, "busy", "signatures kept arriving while sealing; try again")
            sealed_sha = hashlib.sha256(pdf).hexdigest()
            path = self.record_path(hid)
            await asyncio.to_thread(_write_atomic, path, pdf)
            outcome = await runtime.submit(c.SealRecord(frozen.hash, sealed_sha), judge)
            if outcome.rejected is not None:
                await asyncio.to_thread(path.unlink, True)
                raise SealError(409, outcome.rejected.code.value, outcome.rejected.reason)
            log.info("hearing %s sealed (%d bytes)%s", hid, len(pdf), " [DEV KEYS]" if dev else "")
            await self._publish(record_leaf(hid, frozen.hash, sealed_sha, head))
            return SealResult(
                hearing_id=hid,
                document_hash=frozen.hash,
                sealed_sha256=sealed_sha,
                size=len(pdf),
                path=path,
                signatures=[
                    {"participant_id": s.participant_id, "purpose": s.purpose}
                    for s in chosen.signatures
                ],
                refusals=[
                    {"participant_id": r.participant_id, "purpose": r.purpose, "reason": r.reason}
                    for r in chosen.refusals
                ],
                superseded=len(chosen.superseded),
                development_keys=dev,
                timestamp_authority=tsa_name,
            )

    def _build_sealed(self, hid: str) -> tuple[bytes, Frozen, Any, AuditEntry, bool, str]:
        report = self.log.verify(hid)
        if not report.ok:
            raise SealError(
                409, "log_broken", f"the audit log does not verify, not sealing: {report.problem}"
            )
        entries = self.entries(hid)
        frozen = freeze(hid, entries)
        if frozen is None:
            raise SealError(409, "wrong_phase", "the hearing was never closed")
        chosen = answers(frozen, entries)
        strokes: dict[str, bytes] = {}
        for sig in chosen.signatures:
            sha = sig.stroke_png_sha256
            if sha is not None and sha not in strokes:
                strokes[sha] = self.stroke_path(hid, sig.participant_id, sha).read_bytes()
        keys = self.keys()
        timestamper, tsa_name = self.timestamper(keys)
        rendered = render_pdf(frozen.document, chosen.signatures, chosen.refusals, strokes)
        pdf = seal_record(
            rendered,
            frozen.document,
            entries,
            chosen.signatures,
            keys,
            timestamper,
            refusals=chosen.refusals,
            strokes=strokes,
            reason=f"Sealed hearing record {frozen.document.meta.case_number}",
        )
        return pdf, frozen, chosen, entries[-1], self.development_keys, tsa_name

    # --- anchors outside the court -----------------------------------------------------

    async def _publish(self, leaf: dict[str, Any]) -> None:
        """Add the sealed record to the transparency log with a new signed tree head."""
        keys = await asyncio.to_thread(self.keys)  # may create development keys: off the loop
        timestamper, tsa_name = self.timestamper(keys)
        try:
            await self.tlog.add(leaf, keys, timestamper, tsa_name)
        except Exception:  # the seal stands; the log can be re-published from the DB
            log.exception("could not add hearing %s to the transparency log", leaf["hearing_id"])

    async def receipt(self, hearing_id: str, participant_id: str, purpose: str) -> dict[str, Any]:
        """The court's receipt for the caller's latest logged signature of ``purpose``."""
        entries = await asyncio.to_thread(self.entries, hearing_id)
        mine = [
            e
            for e in entries
            if e.type == ev.DocumentSigned.TYPE
            and e.payload.get("participant") == participant_id
            and e.payload.get("purpose") == purpose
        ]
        if not mine:
            raise SealError(404, "not_found", f"you have not signed the {purpose}")
        # The first use creates development keys (two RSA keys for the test TSA: 0.05-0.15 s
        # here), and a sealing thread may hold the keys' lock meanwhile: not on the event
        # loop, which every hearing's media and messages share.
        keys = await asyncio.to_thread(self.keys)
        return make_receipt(keys, mine[-1], self._clock())

    # --- verification ----------------------------------------------------------------

    async def verify(
        self, pdf: bytes, hearing_id: str | None
    ) -> tuple[VerificationReport, list[Comparison]]:
        root_path = self.keys_dir / ROOT_CERT
        if not root_path.exists():
            raise SealError(503, "no_trust_root", "this server has no trust root configured")
        return await asyncio.to_thread(self._verify, pdf, hearing_id)

    def _verify(
        self, pdf: bytes, hearing_id: str | None
    ) -> tuple[VerificationReport, list[Comparison]]:
        from ..record.keys import load_trust_root

        root = load_trust_root(self.keys_dir / ROOT_CERT)
        recordings = None
        if hearing_id is not None and (self.recordings_dir / hearing_id).is_dir():
            recordings = self.recordings_dir / hearing_id
        report = verify_record(
            pdf,
            trust_root=root,
            recordings_dir=recordings,
            transcript_from_log=transcript_from_log,
            source="upload",
        )
        if hearing_id is None:
            return report, []
        sealed = _sealed_log(pdf)
        if sealed is None:
            return report, [
                Comparison("database.sealed_log", False, "the record carries no audit log")
            ]
        if sealed and sealed[0].hearing_id != hearing_id:
            return report, [
                Comparison(
                    "database.sealed_log",
                    False,
                    f"the record belongs to hearing {sealed[0].hearing_id}, not {hearing_id}",
                )
            ]
        rows = self.log.stored_entries(hearing_id)
        doc_hash = _sealed_document_hash(pdf)
        seal = compare_with_seal(rows, pdf, doc_hash)
        return report, [seal, *compare_with_database(hearing_id, sealed, rows)]


def _sealed_log(pdf: bytes) -> list[AuditEntry] | None:
    import json

    from pyhanko.pdf_utils.reader import PdfFileReader

    from ..record.verify import embedded_files  # the verifier's own attachment reader

    try:
        files = embedded_files(PdfFileReader(io.BytesIO(pdf), strict=False))
        raw = files.get(AUDIT_LOG)
        if raw is None:
            return None
        return [AuditEntry.from_json(json.loads(x)) for x in raw.splitlines() if x.strip()]
    except Exception:  # a damaged file: the verification report already says why
        return None


def _sealed_document_hash(pdf: bytes) -> str | None:
    import json

    from pyhanko.pdf_utils.reader import PdfFileReader

    from ..record.seal import RECORD_JSON
    from ..record.verify import embedded_files

    try:
        raw = embedded_files(PdfFileReader(io.BytesIO(pdf), strict=False)).get(RECORD_JSON)
        return None if raw is None else str(json.loads(raw)["document_hash"])
    except Exception:  # a damaged file: the verification report already says why
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
