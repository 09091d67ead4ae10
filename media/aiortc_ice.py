"""aioice private internals for ICE: loopback-only gathering and tolerant consent checks.

Split from ``media/aiortc_internals.py`` (which re-exports these names) to keep each module
small; pinned by ``tests/unit/test_media_aiortc_pins.py`` like the rest.

* :func:`loopback_ice` / the aioice hooks make ICE gather host candidates on 127.0.0.1 only and
  ignore datagrams from other addresses (aioice skips loopback by default). Scoped by a context
  variable so production peers in the same process keep gathering all interfaces.
* :func:`tolerant_ice_consent` replaces aioice's ``Connection.query_consent`` (it uses
  ``remote_password``, ``_nominated``, ``build_request`` and ``_query_consent_task``) so a
  lagging event loop does not expire every peer's consent at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import random
import time
from collections.abc import Iterator
from typing import Any

import aioice.ice
from aioice import stun

LOOPBACK = "127.0.0.1"

# --- ICE consent freshness that a busy event loop does not break (RFC 7675) ----------

CONSENT_EXPIRY_S = 30.0  # RFC 7675 5.1: consent expires 30 s after the last answer
CONSENT_RETRANSMISSIONS = 3  # a check waits 0.5 + 1 + 2 + 4 = 7.5 s for its answer
STOCK_QUERY_CONSENT = aioice.ice.Connection.query_consent  # what the patch replaces (pins)
_consent_patched = False


def tolerant_ice_consent() -> None:
    """Replace aioice's consent checks (``Connection.query_consent``) with RFC 7675's rule.

    aioice sends each check once, waits 0.5 s, and closes after six failures in a row (aioice
    issue 58): a loop that lags half a second (uvloop runs due timers before reading sockets)
    fails them all, and every peer of the process closes at once. Here a check is retransmitted
    (a late answer counts) and consent expires 30 s after the last answer, as in the RFC and
    browsers; a peer that is really gone still goes after 30-45 s. Process-wide, idempotent."""
    global _consent_patched
    if _consent_patched:
        return
    _consent_patched = True
    log = logging.getLogger("aioice.ice")

    async def query_consent(self: Any) -> None:
        assert self.remote_password is not None
        answered = time.monotonic()
        while True:
            await asyncio.sleep(aioice.ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
            for pair in list(self._nominated.values()):
                try:
                    await pair.protocol.request(
                        self.build_request(pair, nominate=False), pair.remote_addr,
                        integrity_key=self.remote_password.encode("utf8"),
                        retransmissions=CONSENT_RETRANSMISSIONS,
                    )
                    answered = time.monotonic()
                except stun.TransactionError as exc:
                    log.debug("%s consent check unanswered: %r", self, exc)
            if time.monotonic() - answered >= CONSENT_EXPIRY_S:
                log.info("%s consent expired (no answer in %.0f s)", self, CONSENT_EXPIRY_S)
                self._query_consent_task = None
                await self.close()
                return

    aioice.ice.Connection.query_consent = query_consent  # type: ignore[method-assign]


# --- ICE: loopback-only mode -------------------------------------------------

_loopback_only: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "courtroom_loopback_only", default=False
)
_MARK = "_courtroom_loopback_only"
_installed = False


def _install_ice_hooks() -> None:
    """Wrap aioice once; the wrappers do nothing unless loopback mode is active."""
    global _installed
    if _installed:
        return
    _installed = True

    original_get_host_addresses = aioice.ice.get_host_addresses

    @functools.wraps(original_get_host_addresses)
    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if _loopback_only.get():
            return [LOOPBACK]
        return list(original_get_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6))

    aioice.ice.get_host_addresses = get_host_addresses

    original_gather = aioice.ice.Connection.gather_candidates

    @functools.wraps(original_gather)
    async def gather_candidates(self: Any) -> None:
        if _loopback_only.get():
            setattr(self, _MARK, True)
        await original_gather(self)

    aioice.ice.Connection.gather_candidates = gather_candidates

    original_received = aioice.ice.StunProtocol.datagram_received

    @functools.wraps(original_received)
    def datagram_received(self: Any, data: bytes | str, addr: tuple[Any, ...]) -> None:
        if getattr(self.receiver, _MARK, False) and addr[0] != LOOPBACK:
            return  # never answer (or learn peer-reflexive candidates from) off-host peers
        original_received(self, data, addr)

    aioice.ice.StunProtocol.datagram_received = datagram_received


@contextlib.contextmanager
def loopback_ice(enabled: bool = True) -> Iterator[None]:
    """Within this scope, ICE gathering (and the tasks it spawns) uses 127.0.0.1 only.

    Wrap ``setLocalDescription`` (where aiortc gathers) in it. Connections gathered
    this way are marked and drop every datagram not from 127.0.0.1.
    """
    if not enabled:
        yield
        return
    _install_ice_hooks()
    token = _loopback_only.set(True)
    try:
        yield
    finally:
        _loopback_only.reset(token)


def ice_connection_is_loopback_only(connection: Any) -> bool:
    return bool(getattr(connection, _MARK, False))


def selected_candidate_pairs(pc: Any) -> list[tuple[str, str]]:
    """(local host, remote host) of every nominated ICE pair of ``pc`` (for checks/tests).

    Uses ``RTCIceTransport._connection`` and aioice ``Connection._nominated``.
    """
    pairs: list[tuple[str, str]] = []
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection
        if id(connection) in seen:
            continue
        seen.add(id(connection))
        for pair in connection._nominated.values():
            pairs.append((pair.local_candidate.host, pair.remote_candidate.host))
    return pairs
