"""The hearing websocket: authenticate, then commands in, events and state out.

Each connection runs three small loops: the reader (client messages), the forwarder
(bus events this participant may see) and the writer (the only task that sends, fed by
a bounded queue, so a slow client is cut off instead of slowing the hearing). A writer
that stops (its send failed) ends the session, so the client sees a close and reconnects
instead of sitting on a socket that tells it nothing. A client that stops reading altogether
is closed by uvicorn's keepalive (no pong within 20 s of a ping sent every 20 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .. import protocol as proto
from ..bus import SubscriptionLost
from ..domain import commands as c
from ..domain.hearing import Actor
from ..domain.presence import Presence
from ..domain.visibility import COURT_ACTOR
from ..logs import in_hearing
from .auth import AuthError, SessionClaims
from .court import Court
from .cpu import SIGNALLING, timed
from .refusals import SECURITY_STREAM
from .runtime import HearingRuntime, NotOwner, UnknownHearing, topic

log = logging.getLogger(__name__)

_OUTBOX = 1024
_SLOW_MESSAGE_S = 2.0  # handling one client message longer than this is logged
# Events that change nothing in a participant's view of the state: no `state` message after
# them. In a case space of 100, a `state` (100 participants) to each of 100 sockets after every
# chat message was most of the cost of a message.
_VIEW_UNCHANGED = frozenset({"chat_message"})
_TYPING_EVERY_S = 1.0
_RATE = 40.0  # messages per second a client may send, with a burst of twice that


class _Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class Connection:
    def __init__(self, court: Court, websocket: WebSocket) -> None:
        self.court = court
        self.ws = websocket
        self.outbox: asyncio.Queue[dict[str, Any] | _Closed] = asyncio.Queue(_OUTBOX)
        self._allowance = 2 * _RATE
        self._last = time.monotonic()
        self._closing = False
        self._after: int | None = None  # the hello's cursor: catch up from there
        self._typed = -_TYPING_EVERY_S  # when this connection's last typing signal went out
        self._writer_gone = asyncio.Event()  # set when the writer returns: nothing more is heard

    def send(self, message: dict[str, Any]) -> None:
        if self._closing:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("websocket outbox full (%d messages): closing", _OUTBOX)
            self.close(1013, "client too slow; reconnect to resynchronise")

    async def _deliver(self, message: dict[str, Any]) -> None:
        """Queue ``message``, waiting for room (a catch-up may be longer than the outbox)."""
        if not self._closing:
            await self.outbox.put(message)

    def close(self, code: int, reason: str) -> None:
        """Close after what is queued; the first close decides the code."""
        if self._closing:
            return
        self._closing = True
        if self.outbox.full():
            self.outbox.get_nowait()  # a slow client loses one message, not the close
        self.outbox.put_nowait(_Closed(code, reason))

    def _within_rate(self) -> bool:
        now = time.monotonic()
        self._allowance = min(2 * _RATE, self._allowance + (now - self._last) * _RATE)
        self._last = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    async def run(self) -> None:
        await self.ws.accept()
        writer = asyncio.create_task(timed(self._writer(), SIGNALLING))
        try:
            await self._session()
        except _Closed as exc:
            self.close(exc.code, exc.reason)
        except WebSocketDisconnect:
            pass
        except Exception:
            # Never a bare close: say so, then close with 1011 (the server's fault).
            log.exception("websocket session failed")
            self.send(proto.error(proto.ErrorCode.INTERNAL, "the server failed; reconnect"))
            self.close(1011, "server error")
        finally:
            if not writer.done():
                self.close(1000, "bye")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, 5)

    async def _writer(self) -> None:
        try:
            await self._write_all()
        finally:
            self._writer_gone.set()

    async def _write_all(self) -> None:
        while True:
            item = await self.outbox.get()
            if isinstance(item, _Closed):
                if self.ws.client_state is WebSocketState.CONNECTED:
                    with contextlib.suppress(Exception):
                        await self.ws.close(item.code, item.reason)
                return
            try:
                text = json.dumps(item, ensure_ascii=False, allow_nan=False)
                text.encode("utf-8")  # a lone surrogate must cost one message, not the socket
            except (TypeError, ValueError):
                log.error("dropped an unencodable %r message", item.get("type"))
                continue
            try:
                await self.ws.send_text(text)
            except Exception as exc:
                # The socket is gone (or broken): the session ends with it (see _serve).
                log.info("websocket send failed (%s): ending the session", type(exc).__name__)
                self._closing = True
                return

    async def _refuse_anonymous(self, reason: str) -> None:
        """A connection turned away before it named a hearing: logged in _security."""
        await self.court.refuse(SECURITY_STREAM, "", reason, route="ws /ws", source=self._source)

    @property
    def _source(self) -> str:
        return self.ws.client.host if self.ws.client is not None else ""

    async def _hello(self) -> SessionClaims:
        try:
            frame = await asyncio.wait_for(self.ws.receive(), self.court.settings.hello_timeout_s)
        except TimeoutError:
            await self._refuse_anonymous("no hello in time")
            raise _Closed(proto.CloseCode.HELLO_TIMEOUT, "no hello in time") from None
        if frame["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(frame.get("code", 1000))
        text = frame.get("text")
        raw = text if text is not None else frame.get("bytes") or b""
        try:
            msg = proto.parse(raw)
        except proto.ProtocolError as exc:
            self.send(proto.error(exc.code, exc.message, exc.msg_id))
            await self._refuse_anonymous("first message was not a valid hello")
            raise _Closed(proto.CloseCode.BAD_HELLO, "first message must be a hello") from None
        if not isinstance(msg, proto.Hello):
            self.send(
                proto.error(proto.ErrorCode.NOT_AUTHENTICATED, "send a hello with your token first")
            )
            await self._refuse_anonymous("first message was not a hello")
            raise _Closed(proto.CloseCode.BAD_HELLO, "first message must be a hello")
        await self._placed_here(msg.token)
        self._after = msg.after
        try:
            return await self.court.admit_token(msg.token, source=self._source)
        except AuthError as exc:
            self.send(proto.error(proto.ErrorCode.NOT_AUTHENTICATED, exc.failure.value))
            raise _Closed(proto.CloseCode.UNAUTHORIZED, exc.failure.value) from None

    async def _placed_here(self, token: str) -> None:
        """Cluster mode: a hearing held by another node is redirected there, before the
        single-use token is spent (the client presents it again at the owner)."""
        court = self.court
        if court.placement is None:
            return
        try:
            claims = court.tokens.verify(token, court.clock())
        except AuthError:
            return  # admit_token refuses it and logs why
        owner, node = await court.where(claims.hearing_id)
        if owner == court.placement.node_id and court.holds(claims.hearing_id):
            return
        if node is not None and node.alive and node.url:
            url = node.url.replace("http", "ws", 1) + "/ws"
            log.info("hearing %s is held by node %s: redirected", claims.hearing_id, node.node_id)
            self.send(proto.message("redirect", url=url, node=node.node_id))
            raise _Closed(proto.CloseCode.MOVED, f"held by node {node.node_id}")
        log.info("hearing %s: no live node holds it (owner %s)", claims.hearing_id, owner)
        raise _Closed(proto.CloseCode.MOVING, "no node holds this hearing yet; reconnect soon")

    async def _session(self) -> None:
        claims = await self._hello()
        try:
            runtime = await self.court.runtime(claims.hearing_id)
        except UnknownHearing:
            raise _Closed(proto.CloseCode.UNAUTHORIZED, "no such hearing") from None
        actor = Actor(claims.participant_id, claims.role)
        in_hearing(claims.hearing_id, claims.participant_id)  # ids on this socket's log lines
        # Subscribe before connecting, so that no event between the two is missed.
        async with self.court.bus.subscribe(topic(runtime.hearing_id)) as sub:
            outcome = await runtime.submit(c.Connect(), actor)
            if outcome.rejected is not None:
                self.send(
                    proto.message(
                        "refused", code=outcome.rejected.code.value, reason=outcome.rejected.reason
                    )
                )
                raise _Closed(proto.CloseCode.REFUSED, outcome.rejected.code.value)
            previous = self.court.connections.get((runtime.hearing_id, actor.id))
            self.court.connections[(runtime.hearing_id, actor.id)] = self
            if previous is not None:
                previous.close(proto.CloseCode.REPLACED, "connected again elsewhere")
            try:
                # The state and the head are taken together (no await between them); every
                # event past the head is published after the subscription began, so it is
                # in ``sub``: the catch-up reads the log up to the head, ``sub`` the rest.
                head, state = runtime.head, runtime.view(actor.id)
                self.send(
                    proto.message(
                        "welcome",
                        participant_id=actor.id,
                        role=actor.role.value,
                        head_seq=head,
                        state=state,
                        token=await self.court.refresh_token(claims),
                        status=self.court.status_for_clients,
                    )
                )
                live_after = 0
                if self._after is not None:
                    for entry in await runtime.missed(actor.id, self._after, head):
                        await self._deliver(proto.message("event", **entry))
                    live_after = head  # what is at or below the head was caught up, or seen
                await self._serve(runtime, actor, claims, sub, live_after)
            finally:
                if self.court.connections.get((runtime.hearing_id, actor.id)) is self:
                    del self.court.connections[(runtime.hearing_id, actor.id)]
                    room = self.court.media.get(runtime.hearing_id)
                    if room is not None:
                        await room.disconnect(actor.id)
                    # A node that lost the hearing leaves it to the new owner to record.
                    with contextlib.suppress(NotOwner):
                        await runtime.submit(c.Disconnect(), actor)

    async def _serve(
        self,
        runtime: HearingRuntime,
        actor: Actor,
        claims: SessionClaims,
        sub: Any,
        live_after: int = 0,
    ) -> None:
        forwarder = self._forwarder(runtime, actor, sub, live_after)
        tasks = [
            asyncio.create_task(timed(self._reader(runtime, actor), SIGNALLING)),
            asyncio.create_task(timed(forwarder, SIGNALLING)),
            asyncio.create_task(self._refresher(claims)),
            # Nothing more can be said to this client: end the session (it reconnects).
            asyncio.create_task(self._writer_gone.wait()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise _Closed / WebSocketDisconnect
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _reader(self, runtime: HearingRuntime, actor: Actor) -> None:
        while True:
            raw = await self.ws.receive()
            if raw["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(raw.get("code", 1000))
            text = raw.get("text")
            data = text if text is not None else raw.get("bytes", b"")
            if not self._within_rate():
                self.send(
                    proto.error(
                        proto.ErrorCode.BUSY, f"more than {_RATE:.0f} messages a second; slow down"
                    )
                )
                continue
            try:
                msg = proto.parse(data)
            except proto.ProtocolError as exc:
                self.send(proto.error(exc.code, exc.message, exc.msg_id))
                continue
            started = time.monotonic()
            try:
                await self._handle(runtime, actor, msg)
                _note_slow(msg, time.monotonic() - started)
            except (_Closed, WebSocketDisconnect, asyncio.CancelledError):
                raise
            except Exception:
                # A bug must not cost the client its connection: log it, answer, carry on.
                log.exception("hearing %s: failed on a %s message", runtime.hearing_id, type(msg))
                msg_id = msg.id if isinstance(msg, proto.CommandMessage | proto.Ping) else None
                self.send(
                    proto.error(
                        proto.ErrorCode.INTERNAL, "the server failed on this message", msg_id
                    )
                )

    async def _handle(
        self, runtime: HearingRuntime, actor: Actor, msg: proto.ClientMessage
    ) -> None:
        if isinstance(msg, proto.Ping):
            self.send(proto.message("pong", id=msg.id))
        elif isinstance(msg, proto.Hello):
            self.send(
                proto.error(
                    proto.ErrorCode.ALREADY_AUTHENTICATED,
                    "this connection is already authenticated",
                )
            )
        elif isinstance(msg, proto.CommandMessage):
            check = self.court.pre_checks.get(type(msg.command))
            outcome = await runtime.submit(msg.command, actor, check)
            if outcome.rejected is not None:
                self.send(proto.rejected(msg.id, outcome.rejected))
            else:
                self.send(proto.accepted(msg.id, [e.seq for e in outcome.entries]))
                if isinstance(msg.command, c.Typing):
                    await self._typing(runtime, actor, msg.command.to)
        elif isinstance(msg, proto.SignalMessage):
            room = await self.court.media.room(runtime)
            problem = await room.handle_signal(actor, msg.data)
            if problem is not None:
                self.send(proto.error(proto.ErrorCode.MALFORMED, problem))

    async def _typing(self, runtime: HearingRuntime, actor: Actor, to: str) -> None:
        """Tell the bench who is writing, at most once per _TYPING_EVERY_S per connection
        (more often tells nothing new: the bench shows it for a few seconds)."""
        now = time.monotonic()
        if now - self._typed < _TYPING_EVERY_S:
            return
        self._typed = now
        bench = [p for p in runtime.bench() if p != actor.id]
        if bench:
            await runtime.broadcast(bench, proto.message("typing", participant=actor.id, to=to))

    async def _forwarder(
        self, runtime: HearingRuntime, actor: Actor, sub: Any, live_after: int = 0
    ) -> None:
        """Live events this participant may see; after a catch-up, only those past its head."""
        try:
            async for msg in sub:
                if msg.get("kind") == "event" and actor.id in msg.get("audience", ()):
                    entry = msg["entry"]
                    if int(entry.get("seq", 0)) <= live_after:
                        continue  # sent by the catch-up
                    if actor.id in msg.get("anonymous", ()):
                        entry = {**entry, "actor": COURT_ACTOR}
                    self.send(proto.message("event", **entry))
                    event = entry["event"]
                    if event["type"] not in _VIEW_UNCHANGED:
                        self.send(proto.message("state", state=runtime.view(actor.id)))
                    if event.get("participant") == actor.id and event.get("presence") in (
                        Presence.DISMISSED.value,
                        Presence.REMOVED.value,
                    ):
                        raise _Closed(proto.CloseCode.REFUSED, event["presence"])
                elif self._addressed_to(msg, actor.id):
                    self.send(msg["message"])
        except SubscriptionLost:
            raise _Closed(1013, "fell behind; reconnect to resynchronise") from None

    @staticmethod
    def _addressed_to(msg: dict[str, Any], participant_id: str) -> bool:
        """Transient messages (e.g. live partial transcript lines) for this participant."""
        if msg.get("kind") == "direct":
            return bool(msg.get("to") == participant_id)
        return msg.get("kind") == "broadcast" and participant_id in msg.get("audience", ())

    async def _refresher(self, claims: SessionClaims) -> None:
        # A fresh single-use token for the next reconnect, well before the last one expires.
        while True:
            await asyncio.sleep(self.court.settings.session_ttl_s / 3)
            self.send(proto.message("token", token=await self.court.refresh_token(claims)))


def _note_slow(msg: proto.ClientMessage, took_s: float) -> None:
    """A message whose handling held this client's next ones back: say which kind it was."""
    if took_s < _SLOW_MESSAGE_S:
        return
    if isinstance(msg, proto.CommandMessage):
        what = f"command {msg.command.NAME}"
    elif isinstance(msg, proto.SignalMessage):
        what = f"signal {msg.data.get('type')!s:.20}"
    else:
        what = type(msg).__name__
    log.warning("a client's %s took %.1f s; its next messages waited", what, took_s)


async def hearing_socket(websocket: WebSocket) -> None:
    court: Court = websocket.app.state.court
    await timed(Connection(court, websocket).run(), SIGNALLING)
