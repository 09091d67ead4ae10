"""Pins the aiortc / aioice private names and behaviours media/aiortc_internals.py relies on."""

from __future__ import annotations

import inspect
import struct
from importlib.metadata import version
from types import SimpleNamespace

import aioice.ice
import pytest
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RtpPacket

from media import aiortc_internals as internals


def test_versions_are_the_pinned_ones() -> None:
    assert version("aiortc").startswith("1.16.")
    assert version("aioice").startswith("0.13.")


def test_receiver_private_names() -> None:
    init = inspect.getsource(RTCRtpReceiver.__init__)
    assert "self.__decoder_queue: queue.Queue = queue.Queue()" in init
    assert "self.__jitter_buffer = JitterBuffer(" in init
    assert "self.__kind = kind" in init
    handle = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    # frames go through the jitter buffer, get a re-based timestamp, then onto the queue
    assert "self.__jitter_buffer.add(packet)" in handle
    assert "self.__timestamp_mapper.map(" in handle
    assert "self.__decoder_queue.put((codec, encoded_frame))" in handle
    receive = inspect.getsource(RTCRtpReceiver.receive)
    assert "self.__decoder_queue" in receive  # the thread reads the (swapped) attribute
    assert inspect.iscoroutinefunction(RTCRtpReceiver._send_rtcp_pli)
    assert list(inspect.signature(RTCRtpReceiver._send_rtcp_pli).parameters) == ["self", "media_ssrc"]
    assert internals.DECODER_QUEUE_ATTR == "_RTCRtpReceiver__decoder_queue"


def test_sender_keyframe_and_pack_path() -> None:
    rtcp = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "self._send_keyframe()" in rtcp  # PLI and FIR both land here
    nxt = inspect.getsource(RTCRtpSender._next_encoded_frame)
    assert "self.__encoder.pack(data)" in nxt  # non-Frame data is only packetised
    for encoder in (Vp8Encoder, OpusEncoder, H264Encoder):
        assert callable(encoder.pack)


def test_jitter_frame_semantics() -> None:
    frame = JitterFrame(data=b"abc", timestamp=42)
    assert (frame.data, frame.timestamp) == (b"abc", 42)
    for name in ("_remove_frame", "remove", "smart_remove"):
        assert hasattr(JitterBuffer, name)
    buf = JitterBuffer(capacity=16, prefetch=0, is_video=True)
    for name in ("_packets", "_origin", "_capacity", "_is_video", "_prefetch"):
        assert hasattr(buf, name)


def _rtp(seq: int, ts: int, marker: int, data: bytes) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts)
    packet.marker = marker
    packet._data = data
    return packet


def test_low_latency_buffer_emits_on_marker_and_audio_at_once() -> None:
    video = internals.LowLatencyJitterBuffer(capacity=16, is_video=True)
    assert video.add(_rtp(1, 100, 0, b"a")) == (False, None)
    _pli, frame = video.add(_rtp(2, 100, 1, b"b"))
    assert frame is not None and (frame.data, frame.timestamp) == (b"ab", 100)
    audio = internals.LowLatencyJitterBuffer(capacity=16, is_video=False)
    _, frame = audio.add(_rtp(7, 960, 1, b"x"))
    assert frame is not None and frame.data == b"x"
    assert audio.add(_rtp(6, 0, 1, b"late")) == (False, None)  # reordered: dropped


def test_audio_frames_carry_the_packets_audio_level() -> None:
    """aiortc asks for ssrc-audio-level on audio and parses it into ``extensions.audio_level``
    as (vad, -dBov); the audio buffer hands the level on with the frame (media/quiet.py)."""
    from aiortc.codecs import HEADER_EXTENSIONS
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap

    uris = [e.uri for e in HEADER_EXTENSIONS["audio"]]
    assert "urn:ietf:params:rtp-hdrext:ssrc-audio-level" in uris
    ext_map = HeaderExtensionsMap()
    ext_map.configure(RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(
        id=2, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level")]))
    packet = _rtp(9, 1920, 1, b"y")
    packet.extensions.audio_level = (False, 73)
    parsed = RtpPacket.parse(packet.serialize(ext_map), ext_map)
    assert parsed.extensions.audio_level == (False, 73)
    parsed._data = b"y"
    audio = internals.LowLatencyJitterBuffer(capacity=16, is_video=False)
    _, frame = audio.add(parsed)
    assert frame is not None and frame.audio_level == 73
    _, frame = audio.add(_rtp(10, 2880, 1, b"z"))  # a sender without the extension
    assert frame is not None and frame.audio_level is None


def test_aioice_hooks_exist() -> None:
    # Other tests may already have installed our wrappers: pin what they wrap.
    original = inspect.unwrap
    assert list(inspect.signature(original(aioice.ice.get_host_addresses)).parameters) == [
        "use_ipv4", "use_ipv6"]
    assert "get_host_addresses(" in inspect.getsource(original(aioice.ice.Connection.gather_candidates))
    assert "self.receiver" in inspect.getsource(aioice.ice.StunProtocol.__init__)
    assert "self._nominated" in inspect.getsource(aioice.ice.Connection.__init__)
    assert "self._connection = gatherer._connection" in inspect.getsource(RTCIceTransport.__init__)


@pytest.mark.timeout(10)
async def test_loopback_scope_gathers_only_127() -> None:
    conn = aioice.ice.Connection(ice_controlling=True)
    with internals.loopback_ice():
        await conn.gather_candidates()
    assert {c.host for c in conn.local_candidates} == {"127.0.0.1"}
    assert internals.ice_connection_is_loopback_only(conn)
    assert "127.0.0.1" not in aioice.ice.get_host_addresses(True, False)  # outside the scope
    protocol = conn._protocols[0]
    protocol.datagram_received(b"\x80not-stun", ("10.1.2.3", 5000))
    assert conn._queue.qsize() == 0  # off-host datagram ignored
    protocol.datagram_received(b"\x80not-stun", ("127.0.0.1", 5000))
    assert conn._queue.qsize() == 1
    await conn.close()


def test_rtx_history_and_feedback_names() -> None:
    """enlarge_rtx_history / count_* / enlarge_socket_buffers rely on these."""
    from aiortc import rtcrtpsender

    assert rtcrtpsender.RTP_HISTORY_SIZE >= 128  # a module global, read at every use
    retransmit = inspect.getsource(RTCRtpSender._retransmit)
    assert "self.__rtp_history.get(sequence_number % RTP_HISTORY_SIZE)" in retransmit
    run = inspect.getsource(RTCRtpSender._run_rtp)
    assert "self.__rtp_history[packet.sequence_number % RTP_HISTORY_SIZE]" in run
    assert internals.RTP_HISTORY_ATTR == "_RTCRtpSender__rtp_history"
    rtcp = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "await self._retransmit(seq)" in rtcp
    assert list(inspect.signature(RTCRtpReceiver._send_rtcp_nack).parameters) == [
        "self", "media_ssrc", "lost"]
    assert "_protocols" in inspect.getsource(aioice.ice.Connection.__init__)


def test_rtp_path_names() -> None:
    """tap_receiver_packets / on_sender_start / answer_nacks / RtpOut rely on these."""
    from aiortc import clock
    from aiortc.rtcdtlstransport import RTCDtlsTransport, State

    handle = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    # RTX is unwrapped and the payload depayloaded before the jitter buffer sees the packet
    assert handle.index("packet = unwrap_rtx(") < handle.index("self.__jitter_buffer.add(packet)")
    assert handle.index("packet._data = depayload(") < handle.index("self.__jitter_buffer.add(")
    assert internals.JITTER_BUFFER_ATTR == "_RTCRtpReceiver__jitter_buffer"
    send = inspect.getsource(RTCRtpSender.send)
    assert "self.__mid = parameters.muxId" in send
    assert "self.__rtx_payload_type = codec.payloadType" in send
    assert "self._run_rtp(parameters.codecs[0])" in send
    init = inspect.getsource(RTCRtpSender.__init__)
    for name in ("self._ssrc = ", "self._rtx_ssrc = "):
        assert name in init
    rtcp_loop = inspect.getsource(RTCRtpSender._run_rtcp)
    for name in ("self.__ntp_timestamp", "self.__rtp_timestamp", "self.__packet_count",
                 "self.__octet_count"):
        assert name in rtcp_loop  # the SR is built from the counts RtpOut keeps current
    assert [f"_RTCRtpSender__{n}" for n in
            ("packet_count", "octet_count", "ntp_timestamp", "rtp_timestamp")] == list(
        internals.SENDER_COUNTS)
    run = inspect.getsource(RTCRtpSender._run_rtp)
    assert "await self._next_encoded_frame(codec)" in run  # idles while the track yields nothing
    send_rtp = inspect.getsource(RTCDtlsTransport._send_rtp)
    assert "self._state != State.CONNECTED" in send_rtp
    assert "data = self._tx_srtp.protect(data)" in send_rtp
    assert "self.__tx_bytes += len(data)" in send_rtp and "self.__tx_packets += 1" in send_rtp
    assert State.CONNECTED is internals.DtlsState.CONNECTED
    sendto = inspect.getsource(aioice.ice.Connection.sendto)
    assert "self._nominated.get(component)" in sendto
    assert "self.transport.sendto(data, addr)" in inspect.getsource(
        aioice.ice.StunProtocol.send_data)
    assert "clock.current_ntp_time() >> 14" in run  # abs-send-time, as abs_send_time() does
    assert callable(clock.current_ntp_time)


def test_rtp_out_protects_in_place_exactly_as_pylibsrtp_does() -> None:
    """RtpOut calls libsrtp through pylibsrtp's private ``Session._srtp`` and
    ``_binding.lib.srtp_protect`` (in place, ``int *`` length): the bytes it sends must be
    the bytes ``Session.protect`` returns for the same packet and key."""
    import os

    import pylibsrtp
    from pylibsrtp import Policy, Session

    assert pylibsrtp.__version__.startswith("1.0")
    assert str(internals.srtp_ffi.typeof(internals.srtp_protect)) == (
        "<ctype 'srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)'>")
    source = inspect.getsource(Session)
    assert "self._srtp = ffi.gc(srtp" in source and "func(self._srtp[0]" in source
    assert internals.SRTP_MAX_TRAILER == 144

    key = os.urandom(30)

    def session() -> Session:
        policy = Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND)
        policy.allow_repeat_tx = True
        return Session(policy=policy)

    reference, ours = session(), session()
    sent: list[bytes] = []

    transport_closed: list[bool] = []

    def sendto(data: bytes, addr: tuple[str, int]) -> None:
        if transport_closed:
            raise RuntimeError("unable to perform operation on <UDPTransport closed=True>")
        sent.append(data)

    pair = SimpleNamespace(remote_addr=("127.0.0.1", 9), protocol=SimpleNamespace(
        transport=SimpleNamespace(sendto=sendto)))
    dtls = SimpleNamespace(_state=internals.DtlsState.CONNECTED, _tx_srtp=ours,
                           _RTCDtlsTransport__tx_bytes=0, _RTCDtlsTransport__tx_packets=0,
                           transport=SimpleNamespace(_connection=SimpleNamespace(
                               _nominated={1: pair})))
    sender = SimpleNamespace(transport=dtls)
    out = internals.RtpOut(sender)  # type: ignore[arg-type]
    for seq in range(40):  # past FLUSH_EVERY: the counts reach the sender
        packet = struct.pack("!BBHII", 0x80, 96, seq, seq * 3000, 0xABCDEF) + os.urandom(1100)
        out.buf[:len(packet)] = packet
        assert out.send(len(packet), 1100, seq * 3000, 0)
        assert sent[-1] == reference.protect(packet)
    assert sender._RTCRtpSender__packet_count == 32
    out.flush()
    assert sender._RTCRtpSender__packet_count == 40
    assert dtls._RTCDtlsTransport__tx_packets == 40
    assert dtls._RTCDtlsTransport__tx_bytes == sum(map(len, sent))

    transport_closed.append(True)  # uvloop raises once the ICE transport closed
    out.buf[:len(packet)] = packet
    assert not out.send(len(packet), 1100, 0, 0)  # refused, never raised into the receiver
    dtls._state = internals.DtlsState.CLOSED
    assert not out.send(len(packet), 1100, 0, 0)
    assert len(sent) == 40


def test_ntp_now_matches_aiortc_clock() -> None:
    from aiortc import clock

    ours, theirs = internals.ntp_now(), clock.current_ntp_time()
    assert abs(ours - theirs) < (1 << 32) // 100  # within 10 ms
    assert internals.abs_send_time(theirs) == ((theirs >> 14) & 0xFFFFFF).to_bytes(3, "big")


def test_consent_check_names() -> None:
    """tolerant_ice_consent replaces query_consent: what it reads must still be there."""
    from media import aiortc_ice

    original = inspect.getsource(aiortc_ice.STOCK_QUERY_CONSENT)
    assert "self.remote_password" in original
    assert "self._nominated.values()" in original
    assert "self.build_request(pair, nominate=False)" in original
    assert "pair.protocol.request(" in original
    assert "retransmissions=0" in original  # the rule the patch exists to replace
    assert "self._query_consent_task = None" in original
    assert isinstance(aioice.ice.CONSENT_INTERVAL, (int, float))
    connect = inspect.getsource(aioice.ice.Connection.connect)
    assert "self.query_consent()" in connect  # looked up on the instance: a patch applies
    close = inspect.getsource(aioice.ice.Connection.close)
    assert "self._query_consent_task" in close
    assert "retransmissions" in inspect.signature(aioice.ice.StunProtocol.request).parameters
