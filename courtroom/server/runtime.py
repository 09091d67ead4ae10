"""One runtime per hearing: the single writer of that hearing's log.

Commands queue up and are decided one at a time against the current state, so two
commands never race. The resulting events are appended under an optimistic sequence
check (another node may have written: then the runtime catches up and decides again),
folded into the state, published on the bus with the list of participants allowed to
see them, and the media plan's change is handed to whoever applies it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..bus import Bus, SubscriptionLost
from ..domain import events as ev
from ..domain.codec import from_json, to_json
from ..domain.commands import Command
from ..domain.errors import Refusal, Rejected
from ..domain.hearing import Actor, HearingState, decide, evolve
from ..domain.roles import STAFF
from ..domain.routing import MediaPlan, media_plan
from ..domain.visibility import COURT_ACTOR, actor_for, may_see, sees_all, view_for
from ..logs import hearing_context
from ..store.log import ConcurrencyConflict, EventLog, LogEntry, NewEntry
from .cpu import SIGNALLING, timed
from .refusals import Window, WindowSampler
from .tally import TALLY

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
PlanListener = Callable[[MediaPlan, MediaPlan], Awaitable[None]]
# A check a command must pass before it is decided (e.g. a signature against the registered
# key). It runs inside the writer, so it sees exactly the state the decision will see.
PreCheck = Callable[["HearingRuntime", Command, Actor], Awaitable[tuple[str, str] | None]]
SERVER_ACTOR = "server"
_MAX_ATTEMPTS = 5


def topic(hearing_id: str) -> str:
    return f"hearing.{hearing_id}"


def decode_event(entry: LogEntry) -> ev.Event:
    cls = ev.EVENT_TYPES.get(entry.type)
    if cls is None:
        raise ValueError(f"unknown event type {entry.type!r} at seq {entry.seq}")
    return from_json(cls, entry.payload)


def entry_message(entry: LogEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "event": {"type": entry.type, **entry.payload},
    }


@dataclass(frozen=True)
class Outcome:
    """What became of a command: the entries it appended, and the refusal if refused."""

    entries: list[LogEntry] = field(default_factory=list)
    rejected: Rejected | None = None


@dataclass
class NotOwner(Exception):
    """This node does not hold the hearing's lease (cluster mode): it must not write it."""

    def __init__(self, hearing_id: str) -> None:
        super().__init__(f"this node does not hold hearing {hearing_id}")
        self.hearing_id = hearing_id


WriteGuard = Callable[[str], bool]


@dataclass
class _Job:
    run: Callable[[], Awaitable[Any]]
    done: asyncio.Future[Any]


_RejectionKey = tuple[str, str, str]  # actor, command, code

# Events that never change who hears and sees whom: the media plan is not recomputed after
# them. The plan is O(participants²) routes (20,000 in a case space of 100, ~80 ms to build);
# chat and connection changes must not pay it. An event not listed here replans, so a new
# kind of event is safe by default.
_PLAN_NEUTRAL: tuple[type[ev.Event], ...] = (
    ev.ChatMessage,
    ev.NodeStrained,
    ev.NodeRecovered,
    ev.ChatMuteChanged,
    ev.ParticipantConnected,
    ev.ParticipantDisconnected,
    ev.CommandRejected,
    ev.CommandRejectedSummary,
    ev.TranscriptLineRecorded,
    ev.TranscriptLineCorrected,
)


class HearingRuntime:
    def __init__(
        self,
        hearing_id: str,
        log: EventLog,
        bus: Bus,
        clock: Clock,
        *,
        rejections_per_window: int = 5,
        rejection_window_s: float = 60.0,
    ) -> None:
        self.hearing_id = hearing_id
        self._log = log
        self.bus = bus
        self._clock = clock
        self.state = HearingState(hearing_id)
        self.head = 0
        # Cluster mode: whether this node may write the hearing now (placement.py).
        self.may_write: WriteGuard | None = None
        self._plan: MediaPlan = frozenset()
        self._full_view: tuple[HearingState | None, dict[str, Any]] = (None, {})
        self._plan_listeners: list[PlanListener] = []
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._code_failures: list[tuple[datetime, str]] = []
        # Refused commands alike are logged a few per window, then counted (see refusals.py).
        self._rejections: WindowSampler[_RejectionKey] = WindowSampler(
            per_window=rejections_per_window, window_s=rejection_window_s
        )

    @property
    def plan(self) -> MediaPlan:
        return self._plan

    def failed_codes(self, participant_id: str, since: datetime) -> int:
        """Wrong join codes for ``participant_id`` logged at or after ``since``."""
        return sum(1 for at, pid in self._code_failures if pid == participant_id and at >= since)

    def view(self, viewer: str) -> dict[str, Any]:
        """``view_for`` the current state. Everyone who sees the whole hearing gets the same
        view: it is built once per state, not once per connection (100 in a case space)."""
        if not sees_all(self.state, viewer):
            return view_for(self.state, viewer)
        if self._full_view[0] is not self.state:
            self._full_view = (self.state, view_for(self.state, viewer))
        return self._full_view[1]

    def bench(self) -> list[str]:
        """The judge and clerks of this hearing."""
        return [p.participant_id for p in self.state.participants.values() if p.role in STAFF]

    async def broadcast(self, audience: list[str], message: dict[str, Any]) -> None:
        """A transient message (not logged) for ``audience``, on every node."""
        envelope = {"kind": "broadcast", "audience": audience, "message": message}
        await self.bus.publish(topic(self.hearing_id), envelope)

    async def send_to(self, participant_id: str, message: dict[str, Any]) -> None:
        """A transient message for one participant, on whichever node holds their socket."""
        envelope = {"kind": "direct", "to": participant_id, "message": message}
        await self.bus.publish(topic(self.hearing_id), envelope)

    def add_plan_listener(self, listener: PlanListener) -> None:
        self._plan_listeners.append(listener)

    async def start(self) -> None:
        await self._catch_up(publish=False)
        # Its tasks log with the hearing's id, not the id of whoever loaded it (logs.py).
        context = hearing_context(self.hearing_id)
        h = self.hearing_id
        self._tasks = [
            asyncio.create_task(
                timed(self._writer(), SIGNALLING), name=f"hearing-writer-{h}", context=context
            ),
            asyncio.create_task(
                timed(self._follow_bus(), SIGNALLING), name=f"hearing-follow-{h}", context=context
            ),
            asyncio.create_task(
                self._summaries(), name=f"hearing-summaries-{h}", context=context
            ),
        ]

    async def close(self) -> None:
        if self._tasks and not self._tasks[0].done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self._enqueue(lambda: self._flush_rejections(everything=True)), 5
                )
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def submit(
        self, command: Command, actor: Actor, check: PreCheck | None = None
    ) -> Outcome:
        """Decide ``command``; refusals are appended to the log as ``command_rejected``."""
        result: Outcome = await self._enqueue(
            lambda: self._decide_and_append(command, actor, check)
        )
        return result

    async def record(self, events: Sequence[ev.Event], actor: str = SERVER_ACTOR) -> list[LogEntry]:
        """Append events that need no decision (e.g. refused credentials)."""
        result: list[LogEntry] = await self._enqueue(lambda: self._append_as(list(events), actor))
        return result

    async def missed(self, viewer: str, after: int, upto: int) -> list[dict[str, Any]]:
        """The entries ``after`` < seq <= ``upto`` that ``viewer`` was (or would have been)
        sent live, in order: each judged against the state right after it, as ``_apply``
        judges live events, with the actor hidden where it hides it (a reconnect's catch-up).
        """
        entries = await asyncio.to_thread(self._log.read, self.hearing_id, 0)
        state = HearingState(self.hearing_id)
        out: list[dict[str, Any]] = []
        for entry in entries:
            if entry.seq > upto:
                break
            event = decode_event(entry)
            state = evolve(state, event)
            if entry.seq <= after or not may_see(state, viewer, event, entry.actor):
                continue
            message = entry_message(entry)
            if actor_for(state, viewer, entry.actor) != entry.actor:
                message["actor"] = COURT_ACTOR
            out.append(message)
        return out

    async def catch_up(self) -> None:
        """Read what other nodes appended (e.g. before taking the hearing over)."""
        await self._enqueue(lambda: self._catch_up(publish=False))

    async def _enqueue(self, run: Callable[[], Awaitable[Any]]) -> Any:
        job = _Job(run, asyncio.get_running_loop().create_future())
        await self._queue.put(job)
        return await job.done

    async def _writer(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                job.done.set_result(await job.run())
            except Exception as exc:  # the caller gets it; the writer keeps serving
                if not job.done.done():
                    job.done.set_exception(exc)

    async def _decide_and_append(
        self, command: Command, actor: Actor, check: PreCheck | None = None
    ) -> Outcome:
        sampled: tuple[bool, list[ev.Event]] | None = None  # once per command, not per attempt
        for _ in range(_MAX_ATTEMPTS):
            checked = await check(self, command, actor) if check is not None else None
            if checked is not None:
                code, reason = checked
                decision: list[ev.Event] | Rejected = Rejected(Refusal(code), reason)
            else:
                decision = decide(self.state, command, actor, self._clock())
            if isinstance(decision, Rejected):
                if sampled is None:
                    TALLY.refused_command(decision.code.value)  # once per command (/metrics)
                    sampled = self._sample_rejection(actor.id, command.NAME, decision.code.value)
                log_it, summaries = sampled
                refusal = ev.CommandRejected(command.NAME, decision.code.value, decision.reason)
                events: list[ev.Event] = [*summaries, refusal] if log_it else list(summaries)
                if not events:
                    return Outcome([], decision)  # counted; the summary will say how many
            else:
                events = decision
            if not events:
                return Outcome()
            try:
                entries = await self._append(events, actor.id)
            except ConcurrencyConflict:
                await self._catch_up(publish=False)
                continue
            return Outcome(entries, decision if isinstance(decision, Rejected) else None)
        raise RuntimeError(
            f"hearing {self.hearing_id}: could not append after {_MAX_ATTEMPTS} attempts"
        )

    def _sample_rejection(self, actor: str, command: str, code: str) -> tuple[bool, list[ev.Event]]:
        at = self._clock().isoformat()
        _, log_it, closed = self._rejections.admit((actor, command, code), at)
        return log_it, [_rejection_summary(k, w) for k, w in closed if w.suppressed]

    async def _flush_rejections(self, *, everything: bool = False) -> None:
        """Write the summaries of the windows that are over (runs as a writer job)."""
        by_actor: dict[str, list[ev.Event]] = {}
        for key, window in self._rejections.expired(everything=everything):
            if window.suppressed:
                by_actor.setdefault(key[0], []).append(_rejection_summary(key, window))
        for actor, events in by_actor.items():
            await self._append_as(events, actor)

    async def _summaries(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, self._rejections.window_s / 4))
            try:
                await self._enqueue(self._flush_rejections)
            except Exception:
                log.exception("hearing %s: writing refusal summaries failed", self.hearing_id)

    async def _append_as(self, events: list[ev.Event], actor: str) -> list[LogEntry]:
        for _ in range(_MAX_ATTEMPTS):
            try:
                return await self._append(events, actor)
            except ConcurrencyConflict:
                await self._catch_up(publish=False)
        raise RuntimeError(
            f"hearing {self.hearing_id}: could not append after {_MAX_ATTEMPTS} attempts"
        )

    async def _append(self, events: list[ev.Event], actor: str) -> list[LogEntry]:
        if self.may_write is not None and not self.may_write(self.hearing_id):
            raise NotOwner(self.hearing_id)
        now = self._clock()
        new = [NewEntry(e.TYPE, actor, now, to_json(e)) for e in events]
        entries = await asyncio.to_thread(self._log.append, self.hearing_id, self.head, new)
        await self._apply(entries, publish=True)
        return entries

    async def _apply(self, entries: Sequence[LogEntry], *, publish: bool) -> None:
        replan = False
        for entry in entries:
            if entry.seq <= self.head:
                continue
            event = decode_event(entry)
            self.state = evolve(self.state, event)
            replan = replan or not isinstance(event, _PLAN_NEUTRAL)
            if isinstance(event, ev.AccessRefused) and event.reason == "wrong join code":
                self._code_failures.append((entry.at, event.participant))
            self.head = entry.seq
            if publish:
                audience = [
                    p for p in self.state.participants if may_see(self.state, p, event, entry.actor)
                ]
                # Viewers who may see the event but not who caused it (see actor_for).
                anonymous = [
                    p for p in audience if actor_for(self.state, p, entry.actor) != entry.actor
                ]
                msg = {
                    "kind": "event",
                    "entry": entry_message(entry),
                    "audience": audience,
                    "anonymous": anonymous,
                }
                await self.bus.publish(topic(self.hearing_id), msg)
        if not replan:
            return
        old, new = self._plan, media_plan(self.state)
        if old != new:
            self._plan = new
            for listener in self._plan_listeners:
                try:
                    await listener(old, new)
                except Exception:
                    log.exception("hearing %s: media plan listener failed", self.hearing_id)

    async def _catch_up(self, *, publish: bool) -> None:
        entries = await asyncio.to_thread(self._log.read, self.hearing_id, self.head)
        await self._apply(entries, publish=publish)

    async def _follow_bus(self) -> None:
        """Another node may write this hearing: catch up when the bus shows a newer seq."""
        while True:
            try:
                async with self.bus.subscribe(topic(self.hearing_id)) as sub:
                    async for msg in sub:
                        entry = msg.get("entry") if msg.get("kind") == "event" else None
                        if isinstance(entry, dict) and int(entry.get("seq", 0)) > self.head:
                            await self._enqueue(lambda: self._catch_up(publish=False))
            except SubscriptionLost:
                await self._enqueue(lambda: self._catch_up(publish=False))


def _rejection_summary(key: _RejectionKey, window: Window) -> ev.CommandRejectedSummary:
    _, command, code = key
    return ev.CommandRejectedSummary(
        command, code, window.suppressed, window.first_at, window.last_at
    )


class UnknownHearing(LookupError):
    pass


class Runtimes:
    """The runtimes of this process, started on first use."""

    def __init__(
        self,
        log: EventLog,
        bus: Bus,
        clock: Clock,
        *,
        rejections_per_window: int = 5,
        rejection_window_s: float = 60.0,
    ) -> None:
        self._log = log
        self._bus = bus
        self._clock = clock
        self._per_window = rejections_per_window
        self._window_s = rejection_window_s
        self._runtimes: dict[str, HearingRuntime] = {}
        self._lock = asyncio.Lock()
        self.guard: WriteGuard | None = None
        self.on_start: list[Callable[[HearingRuntime], Awaitable[None]]] = []

    async def get(self, hearing_id: str, *, create: bool = False) -> HearingRuntime:
        runtime = self._runtimes.get(hearing_id)
        if runtime is not None:
            return runtime
        async with self._lock:
            runtime = self._runtimes.get(hearing_id)
            if runtime is not None:
                return runtime
            runtime = HearingRuntime(
                hearing_id,
                self._log,
                self._bus,
                self._clock,
                rejections_per_window=self._per_window,
                rejection_window_s=self._window_s,
            )
            runtime.may_write = self.guard
            await runtime.start()
            if not runtime.state.scheduled and not create:
                await runtime.close()
                raise UnknownHearing(hearing_id)
            for hook in self.on_start:
                await hook(runtime)
            self._runtimes[hearing_id] = runtime
            return runtime

    def loaded(self, hearing_id: str) -> HearingRuntime | None:
        return self._runtimes.get(hearing_id)

    async def drop(self, hearing_id: str) -> None:
        """Forget a hearing's runtime (its lease went to another node)."""
        runtime = self._runtimes.pop(hearing_id, None)
        if runtime is not None:
            await runtime.close()

    async def close(self) -> None:
        for runtime in self._runtimes.values():
            await runtime.close()
        self._runtimes.clear()
