"""media/aiortc_receive.py: the aiortc/aioice code it stands in for (pins), run_inline, and the
datagram wrapper (empty datagrams dropped, media past the STUN parse, loopback rule kept)."""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace
from typing import Any

import aioice.ice
import pytest
from aiortc.rtcdtlstransport import RTCDtlsTransport

from media import aiortc_receive as receive
from media.aiortc_ice import _MARK as LOOPBACK_MARK


def test_aiortc_receive_loop_is_what_the_inline_path_repeats() -> None:
    recv_next = inspect.getsource(RTCDtlsTransport._recv_next)
    for line in ("self.__rx_bytes += len(data)", "self.__rx_packets += 1",
                 "elif first_byte > 127 and first_byte < 192 and self._rx_srtp:",
                 "arrival_time_ms = clock.current_ms()", "if is_rtcp(data):",
                 "data = self._rx_srtp.unprotect_rtcp(data)", "await self._handle_rtcp_data(data)",
                 "data = self._rx_srtp.unprotect(data)",
                 "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)",
                 "except pylibsrtp.Error as exc:"):
        assert line in recv_next, line
    init = inspect.getsource(RTCDtlsTransport.__init__)
    assert "self._rx_srtp: Session = None" in init
    assert "self.__rx_bytes = 0" in init and "self.__rx_packets = 0" in init
    assert "self._state = State.NEW" in init
    for name in ("_handle_rtp_data", "_handle_rtcp_data"):
        assert inspect.iscoroutinefunction(getattr(RTCDtlsTransport, name))
    assert list(inspect.signature(RTCDtlsTransport._handle_rtp_data).parameters) == [
        "self", "data", "arrival_time_ms"]
    # aioice: non-STUN data goes to the connection's queue, after a STUN parse attempt
    assert "self._queue.put_nowait((data, component))" in inspect.getsource(
        aioice.ice.Connection.data_received)
    received = inspect.getsource(receive.harden_datagram_receive)
    assert "original(self, data, addr)" in received
    stun_source = inspect.getsource(inspect.unwrap(aioice.ice.StunProtocol.datagram_received))
    assert "self.receiver.data_received(data, self.local_candidate.component)" in stun_source


def test_first_byte_demultiplexing() -> None:
    assert receive.is_media(b"\x80\x60") and receive.is_media(b"\xbf")
    for data in (b"", b"\x00\x01", b"\x16\xfe", b"\x7f", b"\xc0"):
        assert not receive.is_media(data)


async def test_run_inline_finishes_a_coroutine_that_never_waits_before_returning() -> None:
    done: list[int] = []

    async def handler() -> None:
        done.append(1)

    receive.run_inline(handler())
    assert done == [1]  # on this stack, no task


async def test_run_inline_hands_a_coroutine_that_waits_to_a_task() -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()
    got: list[Any] = []

    async def handler() -> None:
        got.append("before")
        await asyncio.sleep(0)  # a bare yield
        got.append(await future)
        got.append("after")

    receive.run_inline(handler())
    assert got == ["before"]
    await asyncio.sleep(0.01)
    assert got == ["before"]
    future.set_result(7)
    for _ in range(10):
        await asyncio.sleep(0)
    assert got == ["before", 7, "after"]


async def test_run_inline_passes_a_failed_future_into_the_coroutine() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    caught: list[str] = []

    async def handler() -> None:
        try:
            await future
        except ConnectionError as exc:
            caught.append(str(exc))

    receive.run_inline(handler())
    future.set_exception(ConnectionError("gone"))
    for _ in range(10):
        await asyncio.sleep(0)
    assert caught == ["gone"]


def test_run_inline_raises_what_the_coroutine_raises_before_waiting() -> None:
    async def handler() -> None:
        raise ValueError("bad packet")

    with pytest.raises(ValueError, match="bad packet"):
        receive.run_inline(handler())


class _Connection:
    """Stands in for aioice's Connection: records what reaches ``data_received``."""

    def __init__(self, loopback_only: bool) -> None:
        self.got: list[bytes] = []
        if loopback_only:
            setattr(self, LOOPBACK_MARK, True)

    def data_received(self, data: bytes, component: int) -> None:
        self.got.append(data)


def _protocol(connection: _Connection) -> Any:
    """A real aioice StunProtocol (it needs a running loop) behind the wrapper."""
    receive.harden_datagram_receive()
    protocol = aioice.ice.StunProtocol(connection)
    protocol.local_candidate = SimpleNamespace(component=1)
    return protocol


async def test_empty_datagrams_are_dropped_and_media_is_not_parsed_as_stun(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection = _Connection(loopback_only=False)
    protocol = _protocol(connection)
    parsed: list[bytes] = []
    real_parse = aioice.stun.parse_message

    def parse(data: bytes, *args: Any, **kwargs: Any) -> Any:
        parsed.append(data)
        return real_parse(data, *args, **kwargs)

    monkeypatch.setattr(aioice.stun, "parse_message", parse)
    rtp = b"\x80\x60" + bytes(30)
    dtls = b"\x16\xfe\xfd" + bytes(20)
    for data in (b"", rtp, dtls):
        protocol.datagram_received(data, ("203.0.113.9", 4000))
    assert connection.got == [rtp, dtls]  # the empty one never reached the connection
    assert parsed == [dtls]  # only the non-media datagram was tried as STUN


async def test_a_loopback_only_connection_takes_no_media_from_elsewhere() -> None:
    connection = _Connection(loopback_only=True)
    protocol = _protocol(connection)
    rtp = b"\x80\x60" + bytes(30)
    protocol.datagram_received(rtp, ("203.0.113.9", 4000))
    assert connection.got == []
    protocol.datagram_received(rtp, ("127.0.0.1", 4000))
    assert connection.got == [rtp]


@pytest.mark.parametrize(("raw", "expected"), [
    ("", True), ("inline", True), (" INLINE ", True), ("queued", False), ("Queued", False),
    ("off", True), ("\udcff", True), ("q" * 10000, True),
])
def test_the_receive_setting_is_parsed_and_bad_values_fall_back(
    raw: str, expected: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    from courtroom.server.media_bridge import inline_receive

    monkeypatch.setenv("COURTROOM_MEDIA_RECEIVE", raw)
    assert inline_receive() is expected
    warned = [r.getMessage() for r in caplog.records if "COURTROOM_MEDIA_RECEIVE" in r.getMessage()]
    assert len(warned) == (0 if raw.strip().lower() in ("", "inline", "queued") else 1)
    assert all(len(w) < 200 for w in warned)  # a huge value is not copied into the log
