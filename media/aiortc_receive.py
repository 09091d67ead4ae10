"""The receive side of SRTP, handled where the datagram arrives (aiortc/aioice internals).

aiortc receives every datagram in three hops: aioice's ``StunProtocol.datagram_received``
first tries to parse it as STUN (an exception per media packet), then puts it on the
``Connection``'s asyncio queue; the DTLS transport's task wakes, awaits it through four
coroutines (``RTCIceTransport._recv``, ``Connection.recv``, ``recvfrom``, ``Queue.get``),
and awaits two more to unprotect, parse and route it. For a forwarding server that is a
task switch and a pile of coroutine frames per packet, on the one event loop that also
forwards, records and runs the hearing.

Here, once the DTLS handshake has given the transport its SRTP session:

* :func:`harden_datagram_receive` sends RTP/RTCP datagrams (first byte 128-191, RFC 7983) to
  the connection without the STUN parse, and drops empty datagrams (one of them used to close
  a peer's DTLS transport); everything else goes the usual way.
* :func:`receive_srtp_inline` replaces the connection's ``data_received`` so an SRTP or
  SRTCP datagram is unprotected and handled at once, in the socket callback, by aiortc's own
  ``RTCDtlsTransport._handle_rtp_data`` / ``_handle_rtcp_data`` (the same code its receive
  loop runs, routing to the same receivers and senders). DTLS datagrams, and anything that
  arrives before the SRTP session exists, still go through the queue to aiortc's loop.

Those handlers are coroutines that never wait on anything in practice (their only awaits are
RTCP sends, which end in a synchronous ``sendto``); :func:`run_inline` runs such a coroutine
to its end on the caller's stack and hands it to a task only if it really suspends.

What changes: an exception while handling one packet is logged and that packet dropped,
where aiortc's loop would have closed the whole transport. ``COURTROOM_MEDIA_RECEIVE=queued``
(media_bridge) keeps aiortc's path, for comparison and as a fallback. Pinned by
``tests/unit/test_media_aiortc_receive.py``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Coroutine
from typing import Any

import aioice.ice
import pylibsrtp
from aiortc import clock
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import is_rtcp

from media.aiortc_ice import LOOPBACK, ice_connection_is_loopback_only

log = logging.getLogger(__name__)

RX_BYTES_ATTR = "_RTCDtlsTransport__rx_bytes"
RX_PACKETS_ATTR = "_RTCDtlsTransport__rx_packets"
_INLINE_MARK = "_courtroom_inline_dtls"
_hardened = False
_resumed: set[asyncio.Future[None]] = set()


def is_media(data: bytes) -> bool:
    """RTP or RTCP by RFC 7983's first-byte demultiplexing (STUN is 0-3, DTLS 20-63)."""
    return bool(data) and 127 < data[0] < 192


def harden_datagram_receive() -> None:
    """Wrap aioice's ``StunProtocol.datagram_received`` (process-wide, idempotent):

    * an empty datagram is dropped. aioice hands it on as data, and aiortc's receive loop then
      fails on its first byte (an ``IndexError``) and closes the DTLS transport: one empty UDP
      datagram to a peer's port, from anywhere, ended that participant's media;
    * RTP/RTCP (first byte 128-191, RFC 7983) goes straight to the connection, without the
      attempt to parse it as STUN that aioice makes on every datagram.

    Keeps the loopback-only rule (aiortc_ice): a connection gathered in loopback mode never
    takes a datagram from another address."""
    global _hardened
    if _hardened:
        return
    _hardened = True
    original = aioice.ice.StunProtocol.datagram_received

    @functools.wraps(original)
    def datagram_received(self: Any, data: bytes | str, addr: tuple[Any, ...]) -> None:
        if not data:
            return
        if isinstance(data, bytes) and is_media(data):
            if ice_connection_is_loopback_only(self.receiver) and addr[0] != LOOPBACK:
                return
            self.receiver.data_received(data, self.local_candidate.component)
            return
        original(self, data, addr)

    aioice.ice.StunProtocol.datagram_received = datagram_received  # type: ignore[method-assign]


def run_inline(coro: Coroutine[Any, Any, Any]) -> None:
    """Run ``coro`` now, on this stack; if it suspends, a task finishes it.

    An exception it raises before suspending reaches the caller."""
    try:
        waiting = coro.send(None)
    except StopIteration:
        return
    task = asyncio.ensure_future(_resume(coro, waiting))
    _resumed.add(task)  # held until done (the loop keeps only weak references to tasks)
    task.add_done_callback(_resumed.discard)


async def _resume(coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
    """Go on with a coroutine suspended on ``waiting`` (what it yielded), as a task would."""
    while True:
        try:
            if waiting is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False
                await asyncio.wait([waiting])  # the coroutine reads the result itself
        except BaseException:
            coro.close()
            raise
        try:
            waiting = coro.send(None)
        except StopIteration:
            return


def receive_srtp_inline(pc: Any) -> int:
    """Handle SRTP/SRTCP of every transport of ``pc`` in the socket callback (module doc).

    Idempotent; call after each ``setLocalDescription`` (new transceivers bring transports).
    Returns how many connections were switched now. Uses ``RTCIceTransport._connection``,
    ``RTCDtlsTransport._rx_srtp``, ``_state``, ``_handle_rtp_data``, ``_handle_rtcp_data``
    and its ``__rx_bytes`` / ``__rx_packets`` counts."""
    harden_datagram_receive()
    switched = 0
    for transceiver in pc.getTransceivers():
        for dtls in (transceiver.receiver.transport, transceiver.sender.transport):
            connection = getattr(getattr(dtls, "transport", None), "_connection", None)
            if connection is None or getattr(connection, _INLINE_MARK, None) is dtls:
                continue
            setattr(connection, _INLINE_MARK, dtls)
            connection.data_received = _inline_receiver(dtls, connection.data_received)
            switched += 1
    return switched


def _inline_receiver(dtls: RTCDtlsTransport, queued: Any) -> Any:
    counts = dtls.__dict__
    failed = False

    def data_received(data: bytes, component: int) -> None:
        nonlocal failed
        srtp = dtls._rx_srtp
        if srtp is None or dtls._state is not DtlsState.CONNECTED or not is_media(data):
            queued(data, component)  # DTLS, or before the handshake: aiortc's own loop
            return
        counts[RX_BYTES_ATTR] += len(data)
        counts[RX_PACKETS_ATTR] += 1
        try:
            if is_rtcp(data):
                run_inline(dtls._handle_rtcp_data(srtp.unprotect_rtcp(data)))
            else:
                arrival = clock.current_ms()
                run_inline(dtls._handle_rtp_data(srtp.unprotect(data), arrival_time_ms=arrival))
        except pylibsrtp.Error:
            pass  # not authentic, or a replay: dropped, as aiortc does
        except Exception as exc:  # one bad packet must not end the connection
            if not failed:  # once per transport: a broken handler would flood the log
                failed = True
                log.warning("an SRTP packet could not be handled (%s); later failures on this "
                            "transport are not logged", type(exc).__name__)

    return data_received
