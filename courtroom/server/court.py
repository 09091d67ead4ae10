"""The court office: schedules hearings, invites participants, admits connections.

Shared by the REST API, the websocket endpoint and the CLI, so that a hearing made by
``courtroom demo`` is the same as one made over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from asr.models import ModelRegistry

from ..bus import Bus
from ..config import Settings, load_or_create_secret
from ..domain import commands as c
from ..domain import events as ev
from ..domain.errors import Rejected
from ..domain.hearing import REGISTRY, Actor
from ..domain.roles import Role
from ..store.credentials import CredentialStore
from ..store.engine import open_engine
from ..store.log import EventLog
from .auth import (
    AuthError,
    AuthFailure,
    SessionClaims,
    TokenIssuer,
    code_digest,
    new_join_code,
    token_digest,
)
from .discipline import DisciplineWatch
from .media_bridge import HearingMedia, MediaRooms, media_only
from .placement import NodeInfo, Placement, Previous
from .refusals import SECURITY_STREAM, RefusalLog
from .runtime import (
    Clock,
    HearingRuntime,
    NotOwner,
    Outcome,
    PreCheck,
    Runtimes,
    UnknownHearing,
)
from .sealing import RecordOffice
from .transcription import AudioListener, LiveTranscript

if TYPE_CHECKING:
    from .ws import Connection

log = logging.getLogger(__name__)


# Refusals whose hearing cannot be trusted (a forged token names any hearing it likes)
# go to a server-wide chain of their own (SECURITY_STREAM, from .refusals).


# Why a participant was marked disconnected by a server's start-up recovery.
RESTART = "server restart"
# Why a participant was marked disconnected by the node that took their hearing over.
NODE_LOST = "node lost"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Invitation:
    hearing_id: str
    participant_id: str
    role: Role
    code: str
    join_url: str
    expires_at: datetime


class CommandRefused(Exception):
    def __init__(self, rejection: Rejected) -> None:
        super().__init__(rejection.reason)
        self.rejection = rejection


class Court:
    def __init__(self, settings: Settings, bus: Bus, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        engine = open_engine(settings.effective_database_url)
        self.log = EventLog(engine)
        self.credentials = CredentialStore(engine)
        self.bus = bus
        self.runtimes = Runtimes(
            self.log,
            bus,
            clock,
            rejections_per_window=settings.refusals_per_window,
            rejection_window_s=settings.refusal_window_s,
        )
        self._secret = load_or_create_secret(
            settings.data_dir / "session.secret", "COURTROOM_SECRET"
        )
        self.registry_key = load_or_create_secret(
            settings.data_dir / "registry.key", "COURTROOM_REGISTRY_KEY"
        )
        # Inspectors review flags across hearings; they are not hearing participants.
        self.inspector_key = load_or_create_secret(
            settings.data_dir / "inspector.key", "COURTROOM_INSPECTOR_KEY"
        )
        # Prometheus scrapes /metrics with this key (or the registry key): server/prometheus.py.
        self.metrics_key = load_or_create_secret(
            settings.data_dir / "metrics.key", "COURTROOM_METRICS_KEY"
        )
        self.tokens = TokenIssuer(self._secret, timedelta(seconds=settings.session_ttl_s))
        # Live connections of this process, by (hearing, participant).
        self.connections: dict[tuple[str, str], Connection] = {}
        self.media = MediaRooms(settings)
        # Live transcript: one shared model per language, decoding in worker threads.
        self.models = ModelRegistry(settings.models_dir)
        self._asr_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="asr")
        self.audio_listeners: list[AudioListener] = []  # e.g. the loudness check
        if not media_only():
            self.media.on_room.append(self._start_transcript)
        # Discipline watch and identity checks (vision); loudness rides the transcript's audio.
        self.vision = DisciplineWatch(settings)
        if not media_only():
            self.media.on_room.append(self.vision.on_room)
        self.audio_listeners.append(self.vision.on_audio)
        # What clients are told at welcome (e.g. that live transcription is off).
        self.status_for_clients: dict[str, Any] = {}
        # The sealed record (server/sealing.py). Pre-checks run before the runtime decides a
        # command; a failed one is logged as command_rejected and answered by its reason.
        self.records = RecordOffice(settings, self.log, clock)
        self.pre_checks: dict[type[c.Command], PreCheck] = {
            c.SignDocument: self.records.check_signature
        }
        # Every refused credential, websocket or REST, rate-limited (server/refusals.py).
        self.refusals = RefusalLog(
            self._record_refusal,
            clock,
            per_window=settings.refusals_per_window,
            window_s=settings.refusal_window_s,
        )
        self._recovery: asyncio.Task[None] | None = None
        # Cluster mode: which node holds each hearing (server/placement.py).
        self.placement: Placement | None = None

    def start(self) -> None:
        """Background work of a serving process: refusal summaries and restart recovery."""
        self.refusals.start()
        if self.settings.redis_url is None:
            # One node: nobody can be connected to a process that has just started, so any
            # hearing this process loads has its "connected" flags from a process that died.
            self.runtimes.on_start.append(self._restart_recovery)
            self._recovery = asyncio.create_task(self._recover_all(), name="restart-recovery")

    async def start_placement(self) -> None:
        """Cluster mode: register this node, then renew its leases every heartbeat."""
        s = self.settings
        if not s.clustered or s.redis_url is None:
            return
        if not media_only():
            # Loading dlib's models holds the GIL for seconds (a 3 s stall of every thread
            # measured at load average 14 on 2 cores): longer than a lease tolerates. So a
            # node loads them before it registers, not when its first hearing needs them.
            # (With the checks in child processes, the default, the load happens in the
            # child and no longer stalls this process; the node still waits for it, so its
            # first hearing is watched from the start.)
            await self.vision.worker()
        internal = f"http://{'127.0.0.1' if s.host in ('0.0.0.0', '') else s.host}:{s.port}"
        placement = Placement(
            s.redis_url, s.effective_node_id, s.node_url, internal, lease_ttl_s=s.lease_ttl_s
        )
        placement.on_acquired.append(self._took_over)
        placement.on_lost.append(self._gave_up)
        self.runtimes.guard = lambda h: h == SECURITY_STREAM or placement.holds(h)
        self.placement = placement
        await placement.start()

    async def where(self, hearing_id: str) -> tuple[str | None, NodeInfo | None]:
        """The node holding ``hearing_id`` (placing it if none does); (None, None) alone."""
        if self.placement is None:
            return None, None
        return await self.placement.locate(hearing_id)

    def holds(self, hearing_id: str) -> bool:
        return self.placement is None or self.placement.holds(hearing_id)

    async def _took_over(self, hearing_id: str, previous: Previous | None) -> None:
        """This node now holds ``hearing_id``: catch up, log the move and who was cut off."""
        assert self.placement is not None
        if (await asyncio.to_thread(self.log.head, hearing_id))[0] == 0:
            return  # no such hearing (yet): nothing to take over
        try:
            runtime = await self.runtimes.get(hearing_id)
        except UnknownHearing:
            return  # being scheduled here: nothing to take over
        await runtime.catch_up()
        me = self.placement.node_id
        events: list[ev.Event] = []
        if previous is not None and previous.node_id != me:
            last = datetime.fromtimestamp(previous.at, UTC).isoformat()
            gap = round(max(0.0, time.time() - previous.at), 3)
            events.append(ev.HearingMoved(previous.node_id, me, last, gap))
            log.warning(
                "hearing %s moved from node %s to %s after %.1f s",
                hearing_id, previous.node_id, me, gap,
            )  # fmt: skip
        stale = [p.participant_id for p in runtime.state.participants.values() if p.connected]
        events += [ev.ParticipantDisconnected(p, NODE_LOST) for p in stale]
        if events:
            await runtime.record(events)

    async def _gave_up(self, hearing_id: str) -> None:
        """This node lost ``hearing_id``: its clients reconnect and are sent to the new one."""
        from ..protocol import CloseCode

        for (hid, _), connection in list(self.connections.items()):
            if hid == hearing_id:
                connection.close(CloseCode.MOVING, "the hearing moves to another node; reconnect")
        with contextlib.suppress(Exception):
            await self.media.drop(hearing_id)
        await self.runtimes.drop(hearing_id)

    @staticmethod
    async def _restart_recovery(runtime: HearingRuntime) -> None:
        stale = [p.participant_id for p in runtime.state.participants.values() if p.connected]
        if stale:
            await runtime.record([ev.ParticipantDisconnected(p, RESTART) for p in stale])
            log.warning(
                "hearing %s: %d participant(s) marked disconnected after a restart",
                runtime.hearing_id,
                len(stale),
            )

    async def _recover_all(self) -> None:
        """Load every hearing once at start-up, so the record says when the server restarted."""
        for hearing_id in await asyncio.to_thread(self.log.hearing_ids):
            if hearing_id == SECURITY_STREAM:
                continue
            try:
                await self.runtimes.get(hearing_id)
            except UnknownHearing:
                continue
            except Exception:
                log.exception("restart recovery failed for hearing %s", hearing_id)

    async def _record_refusal(self, stream: str, events: list[ev.Event]) -> None:
        try:
            runtime = await self.runtimes.get(stream, create=stream == SECURITY_STREAM)
        except UnknownHearing:
            runtime = await self.runtimes.get(SECURITY_STREAM, create=True)
        try:
            await runtime.record(events)
        except NotOwner:
            # Another node holds the hearing (REST calls are forwarded there first, so this
            # is rare): the refusal is kept in the server-wide chain instead of lost.
            runtime = await self.runtimes.get(SECURITY_STREAM, create=True)
            await runtime.record(events)

    async def refuse(
        self,
        stream: str,
        participant: str,
        reason: str,
        *,
        route: str,
        source: str,
        always: bool = False,
    ) -> None:
        """Log a refusal in ``stream`` (a hearing whose identity is authentic, or _security)."""
        await self.refusals.refuse(
            stream, participant, reason, route=route, source=source, always=always
        )

    async def _start_transcript(self, room: HearingMedia) -> None:
        transcript = LiveTranscript(room, self.models, self._asr_threads, self.audio_listeners)
        room.on_close.append(transcript.close)

    async def close(self) -> None:
        if self.placement is not None:
            await self.placement.close()
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
        await self.refusals.close()
        await self.media.close()
        await self.vision.close()
        self._asr_threads.shutdown(wait=False, cancel_futures=True)
        await self.runtimes.close()

    def asr_backlog(self) -> int:
        """Audio chunks queued for a vosk worker thread (the pool's own queue)."""
        return self._asr_threads._work_queue.qsize()

    async def runtime(self, hearing_id: str) -> HearingRuntime:
        return await self.runtimes.get(hearing_id)

    async def command(self, hearing_id: str, command: c.Command, actor: Actor) -> Outcome:
        runtime = await self.runtimes.get(hearing_id, create=isinstance(command, c.ScheduleHearing))
        outcome = await runtime.submit(command, actor)
        if outcome.rejected is not None:
            raise CommandRefused(outcome.rejected)
        return outcome

    async def schedule(
        self, case_number: str, title: str, court: str, language: str, scheduled_for: str
    ) -> str:
        hearing_id = "h-" + secrets.token_hex(6)
        if self.placement is not None and not await self.placement.acquire(hearing_id):
            raise NotOwner("")  # draining: another node schedules it (api_cluster.forward)
        await self.command(
            hearing_id,
            c.ScheduleHearing(case_number, title, court, language, scheduled_for),
            REGISTRY,
        )
        return hearing_id

    async def invite(
        self,
        hearing_id: str,
        role: Role,
        display_name: str,
        actor: Actor = REGISTRY,
        *,
        base_url: str = "",
    ) -> Invitation:
        participant_id = "p-" + secrets.token_hex(5)
        invite = c.InviteParticipant(participant_id, role, display_name)
        await self.command(hearing_id, invite, actor)
        return await self.issue_code(hearing_id, participant_id, actor, base_url=base_url)

    async def issue_code(
        self, hearing_id: str, participant_id: str, actor: Actor = REGISTRY, *, base_url: str = ""
    ) -> Invitation:
        """A new one-time code; ``base_url``: how the caller reached us, unless configured."""
        runtime = await self.runtimes.get(hearing_id)
        p = runtime.state.participant(participant_id)
        if p is None:
            raise LookupError("no such participant")
        code = new_join_code()
        now = self.clock()
        expires = now + timedelta(seconds=self.settings.join_code_ttl_s)
        digest = code_digest(self._secret, hearing_id, participant_id, code)
        await asyncio.to_thread(
            self.credentials.issue_join_code,
            digest,
            hearing_id,
            participant_id,
            expires,
            issued_at=now,
        )
        await runtime.record([ev.JoinCodeIssued(participant_id, expires.isoformat())], actor.id)
        base = (
            self.settings.public_url.rstrip("/") or base_url.rstrip("/") or self.settings.base_url
        )
        url = f"{base}/join?h={hearing_id}&p={participant_id}"
        return Invitation(hearing_id, participant_id, p.role, code, url, expires)

    async def open_session(
        self, hearing_id: str, participant_id: str, code: str, *, source: str = ""
    ) -> tuple[str, SessionClaims]:
        """Exchange a join code for a session token. Every refusal is logged: in the hearing,
        or in _security when the hearing or participant does not exist."""
        route = "POST /api/v1/sessions"
        if not self.holds(hearing_id):
            raise NotOwner(hearing_id)  # the owner counts the failures (REST forwards it)
        try:
            runtime = await self.runtimes.get(hearing_id)
        except UnknownHearing:
            await self.refuse(SECURITY_STREAM, "", "no such hearing", route=route, source=source)
            raise
        p = runtime.state.participant(participant_id)
        if p is None:
            await self.refuse(
                SECURITY_STREAM, "", "no such participant", route=route, source=source
            )
            raise AuthError(AuthFailure.WRONG_CODE)
        now = self.clock()
        latest = await asyncio.to_thread(
            self.credentials.latest_join_code, hearing_id, participant_id
        )
        failure: AuthFailure | None = None
        if latest is None:
            failure = AuthFailure.WRONG_CODE
        elif (
            self._failures_since(runtime, participant_id, latest.issued_at)
            >= self.settings.max_failed_codes
        ):
            failure = AuthFailure.LOCKED
        elif code_digest(self._secret, hearing_id, participant_id, code) != latest.code_hash:
            failure = AuthFailure.WRONG_CODE
        elif latest.expired(now):
            failure = AuthFailure.EXPIRED_CODE
        elif not await asyncio.to_thread(
            self.credentials.consume_credential, "join_code", latest.code_hash
        ):
            failure = AuthFailure.USED_CODE
        if failure is not None:
            # Wrong codes are the lock-out's counter: each one is logged, never grouped.
            await self.refuse(
                hearing_id,
                participant_id,
                failure.value,
                route=route,
                source=source,
                always=failure is AuthFailure.WRONG_CODE,
            )
            raise AuthError(failure)
        return self.tokens.issue(hearing_id, participant_id, p.role, now)

    @staticmethod
    def _failures_since(runtime: HearingRuntime, participant_id: str, since: datetime) -> int:
        # Counted from the log's own refusals: the audit log is the single source of truth.
        return runtime.failed_codes(participant_id, since)

    async def admit_token(self, token: str, *, source: str = "") -> SessionClaims:
        """Check a session token for opening a connection: genuine, unexpired, first use."""
        now = self.clock()
        try:
            claims = self.tokens.verify(token, now)
        except AuthError as exc:
            await self._refuse(exc, source)
            raise
        digest = token_digest(claims.token_id)
        if not await asyncio.to_thread(self.credentials.consume_credential, "session", digest):
            replayed = AuthError(AuthFailure.REPLAYED, claims)
            await self._refuse(replayed, source)
            raise replayed
        return claims

    async def check_token(self, token: str, *, route: str, source: str) -> SessionClaims:
        """Check a session token for a REST call: genuine, unexpired and not yet spent on a
        websocket (REST use does not spend it). Refusals are logged like the websocket's."""
        try:
            claims = self.tokens.verify(token, self.clock())
            digest = token_digest(claims.token_id)
            if await asyncio.to_thread(self.credentials.credential_used, "session", digest):
                raise AuthError(AuthFailure.REPLAYED, claims)
        except AuthError as exc:
            await self._refuse(exc, source, route)
            raise
        return claims

    async def refresh_token(self, claims: SessionClaims) -> str:
        token, _ = self.tokens.issue(
            claims.hearing_id, claims.participant_id, claims.role, self.clock()
        )
        return token

    async def _refuse(self, exc: AuthError, source: str, route: str = "ws /ws") -> None:
        claims = exc.claims
        # Unknown hearings fall back to _security (see _record_refusal).
        stream = claims.hearing_id if claims is not None else SECURITY_STREAM
        participant = claims.participant_id if claims is not None else ""
        await self.refuse(stream, participant, exc.failure.value, route=route, source=source)
        if claims is None:
            log.warning("refused %s: %s", route, exc.failure.value)
