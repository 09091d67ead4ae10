"""Every use of aiortc / aioice private internals, in one place.

aiortc has no public API for packet passthrough, keyframe relay or loopback-only
ICE, so the media layer reaches into a few private names. Each hook below is
small, documented, and pinned by ``tests/unit/test_media_aiortc_pins.py``
against the installed versions (aiortc 1.16, aioice 0.13, pylibsrtp 1.0; see pyproject.toml).

Hooks:

* :func:`tap_receiver` replaces ``RTCRtpReceiver.__decoder_queue`` so every
  depayloaded encoded frame (a ``JitterFrame``: ``.data`` is the whole frame,
  ``.timestamp`` the RTP timestamp re-based to 0 by the receiver) reaches us
  instead of aiortc's decoder thread. The receiver never decodes any more.
* :func:`resync_at_keyframes` lets that buffer skip a hole NACK did not repair at the
  next keyframe (it reads the receiver's ``__codecs``).
* :func:`install_low_latency_jitter_buffer` replaces ``RTCRtpReceiver.__jitter_buffer``:
  aiortc's buffer holds a video frame until the next frame's first packet arrives
  (one frame interval) and audio four frames deep (~80 ms). A forwarding hub
  wants each frame the moment it is complete (marker bit / single-packet Opus).
* :func:`relay_keyframe_requests` overrides a sender's ``_send_keyframe``: with
  packet tracks aiortc would only set a flag that the (unused) encoder reads.
* :func:`send_pli` calls ``RTCRtpReceiver._send_rtcp_pli`` to ask the publisher
  for a keyframe.
* The RTP path (``media/rtp.py``): :func:`tap_receiver_packets` hands every accepted
  packet to the source hub from inside our jitter buffer; :func:`on_sender_start`
  captures a subscriber sender's negotiated parameters (payload types, SSRCs, mid,
  extension ids) by wrapping ``send``; :func:`answer_nacks` replaces the sender's
  ``_retransmit``; :class:`RtpOut` SRTP-protects a ready packet in place (pylibsrtp's
  private ``Session._srtp`` and ``_binding.lib.srtp_protect``), sends it on the
  nominated ICE pair and keeps the sender's SR counts (``__packet_count``,
  ``__octet_count``, ``__rtp_timestamp``, ``__ntp_timestamp``) current.
* SRTP received in the socket callback (:func:`receive_srtp_inline`) is in
  ``media/aiortc_receive.py``, re-exported here.
* ICE (:func:`loopback_ice`, :func:`tolerant_ice_consent`) is in ``media/aiortc_ice.py``, whose
  names are re-exported here.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import rtcrtpsender
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.utils import uint16_add, uint16_gt
from pylibsrtp import SRTP_MAX_TRAILER_LEN as SRTP_MAX_TRAILER
from pylibsrtp._binding import ffi as srtp_ffi
from pylibsrtp._binding import lib as _srtp_lib

# ICE (loopback-only mode, consent) lives in media/aiortc_ice.py; re-exported for callers.
from media.aiortc_ice import LOOPBACK as LOOPBACK
from media.aiortc_ice import ice_connection_is_loopback_only as ice_connection_is_loopback_only
from media.aiortc_ice import loopback_ice as loopback_ice
from media.aiortc_ice import selected_candidate_pairs as selected_candidate_pairs
from media.aiortc_ice import tolerant_ice_consent as tolerant_ice_consent

# SRTP received in the socket callback lives in media/aiortc_receive.py; re-exported.
from media.aiortc_receive import harden_datagram_receive as harden_datagram_receive
from media.aiortc_receive import receive_srtp_inline as receive_srtp_inline

# srtp_err_status_t srtp_protect(srtp_t ctx, void *rtp_hdr, int *len_ptr): in place
srtp_protect = _srtp_lib.srtp_protect

DECODER_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"
JITTER_BUFFER_ATTR = "_RTCRtpReceiver__jitter_buffer"
RECEIVER_KIND_ATTR = "_RTCRtpReceiver__kind"

# (mime type e.g. "video/VP8", clock rate, frame data, rtp timestamp from 0, audio level in
# -dBov from the packet's ssrc-audio-level extension or None)
FrameCallback = Callable[[str, int, bytes, int, "int | None"], None]


class _TapQueue:
    """Stands in for the receiver's decoder ``queue.Queue``.

    ``_handle_rtp_packet`` calls ``put((codec, JitterFrame))`` on the event loop;
    we hand the frame to the hub synchronously. ``None`` (the stop sentinel) still
    goes to the original queue so aiortc's idle decoder thread exits cleanly.
    """

    def __init__(self, original: queue.Queue[Any], on_frame: FrameCallback) -> None:
        self._original = original
        self._on_frame = on_frame

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        # the decoder thread may be started after the swap and then reads from us
        return self._original.get(block, timeout)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            self._original.put(None)
            return
        codec, frame = item
        self._on_frame(codec.mimeType, codec.clockRate, frame.data, frame.timestamp,
                       getattr(frame, "audio_level", None))


def tap_receiver(receiver: RTCRtpReceiver, on_frame: FrameCallback) -> None:
    """Route the receiver's encoded frames to ``on_frame`` instead of its decoder."""
    original = getattr(receiver, DECODER_QUEUE_ATTR)
    if isinstance(original, _TapQueue):
        original = original._original
    setattr(receiver, DECODER_QUEUE_ATTR, _TapQueue(original, on_frame))


class LowLatencyJitterBuffer(JitterBuffer):  # type: ignore[misc]
    """Emits each frame as soon as it is complete.

    It is also the RTP path's tap: every packet the receiver accepted (SRTP removed,
    RTX unwrapped, payload depayloaded into ``packet._data``) goes to ``on_packet``
    first, once per source, before any frame assembly. When ``frames_wanted()`` is
    False (no tap or recorder), frames are not assembled at all.

    Video: contiguous packets from the buffer origin up to one with the marker
    bit. Audio (one Opus frame per packet): every packet at once, dropping
    reordered ones older than the last emitted (there is no NACK for audio).
    Overflow handling (and the PLI it triggers) is aiortc's.
    """

    def __init__(self, capacity: int, is_video: bool) -> None:
        super().__init__(capacity=capacity, prefetch=0, is_video=is_video)
        self._last_audio_seq: int | None = None
        self.on_packet: Callable[[Any], None] | None = None
        self.frames_wanted: Callable[[], bool] = lambda: True
        # Video: whether a packet starts a keyframe (set by resync_at_keyframes); None keeps
        # aiortc's behaviour, waiting for a hole until the buffer overflows.
        self.keyframe_start: Callable[[Any], bool] | None = None
        self.resyncs = 0

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        if self.on_packet is not None:
            self.on_packet(packet)
            if not self.frames_wanted():
                return False, None
        if not self._is_video:
            seq = packet.sequence_number
            if self._last_audio_seq is not None and not uint16_gt(seq, self._last_audio_seq):
                return False, None
            self._last_audio_seq = seq
            frame = JitterFrame(data=packet._data, timestamp=packet.timestamp)
            # one Opus frame per packet: the packet's ssrc-audio-level (vad, level) goes with
            # it, so the audio tap can leave quiet audio undecoded (media/quiet.py)
            level = packet.extensions.audio_level
            frame.audio_level = level[1] if level is not None else None
            return False, frame
        if self.keyframe_start is not None and self._origin is not None:
            self._resync_at_keyframe(packet)
        pli, frame = super().add(packet)
        return pli, frame

    def _resync_at_keyframe(self, packet: Any) -> None:
        """A keyframe's first packet behind a hole restarts assembly at it, as a browser's frame
        buffer does. The frames in front wait for a packet NACK did not bring back, and would
        hold everything behind them until the buffer overflows (256 packets: about 17 s of
        15 fps video for the recorder and the vision tap; 512 in an aiortc client); the
        keyframe makes them unnecessary. A frame of the hole that would still have been
        repaired is lost to the taps (forwarding, packet by packet, never waits here)."""
        delta = uint16_add(packet.sequence_number, -self._origin)
        if not 0 < delta < self._capacity or self.keyframe_start is None:
            return
        if not self.keyframe_start(packet):
            return
        packets, origin, capacity = self._packets, self._origin, self._capacity
        if any(packets[(origin + i) % capacity] is None for i in range(delta)):
            self.remove(delta)  # origin moves to the keyframe's first packet
            self.resyncs += 1

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        packets: list[Any] = []
        timestamp: int | None = None
        for count in range(self._capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                return None
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                # the previous frame ended without a marker bit: emit it anyway
                self.remove(count)
                return JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)
        return None


def install_low_latency_jitter_buffer(receiver: RTCRtpReceiver) -> LowLatencyJitterBuffer:
    kind = getattr(receiver, RECEIVER_KIND_ATTR)
    buffer = LowLatencyJitterBuffer(capacity=16 if kind == "audio" else 256,
                                    is_video=kind == "video")
    setattr(receiver, JITTER_BUFFER_ATTR, buffer)
    return buffer


RECEIVER_CODECS_ATTR = "_RTCRtpReceiver__codecs"  # payload type -> RTCRtpCodecParameters


def resync_at_keyframes(receiver: RTCRtpReceiver,
                        starts: Callable[[str, Any], bool]) -> LowLatencyJitterBuffer:
    """Let ``receiver``'s video buffer skip an unrepaired hole at the next keyframe.

    ``starts(mime_type, packet)`` says whether a packet starts a keyframe (media.rtp's
    ``keyframe_start``); the codec is looked up per packet by payload type in the receiver's
    negotiated codecs (RTX is unwrapped to the original type before the buffer sees it).
    """
    buffer = getattr(receiver, JITTER_BUFFER_ATTR)
    if not isinstance(buffer, LowLatencyJitterBuffer):
        buffer = install_low_latency_jitter_buffer(receiver)

    def keyframe(packet: Any) -> bool:
        codec = getattr(receiver, RECEIVER_CODECS_ATTR, {}).get(packet.payload_type)
        return codec is not None and starts(codec.mimeType, packet)

    buffer.keyframe_start = keyframe
    return buffer


def tap_receiver_packets(receiver: RTCRtpReceiver, on_packet: Callable[[Any], None],
                         frames_wanted: Callable[[], bool]) -> None:
    """Hand every accepted RTP packet of ``receiver`` to ``on_packet`` (the RTP path).

    Needs the :class:`LowLatencyJitterBuffer` installed by the peer. The packet is
    aiortc's ``RtpPacket``: ``sequence_number``, ``timestamp``, ``marker``,
    ``payload`` (as sent, RTX unwrapped) and ``_data`` (depayloaded).
    """
    buffer = getattr(receiver, JITTER_BUFFER_ATTR)
    if not isinstance(buffer, LowLatencyJitterBuffer):
        buffer = install_low_latency_jitter_buffer(receiver)
    buffer.on_packet = on_packet
    buffer.frames_wanted = frames_wanted


def relay_keyframe_requests(sender: RTCRtpSender, on_request: Callable[[], None]) -> None:
    """Call ``on_request`` when the remote receiver sends PLI or FIR for this sender."""
    sender._send_keyframe = on_request


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Send a Picture Loss Indication for every SSRC the receiver has seen recently.

    Returns False when no SSRC was seen yet (the caller retries later).
    """
    sources = receiver.getSynchronizationSources()
    for source in sources:
        await receiver._send_rtcp_pli(source.source)
    return bool(sources)


# --- the RTP path's send side: ready packets straight to SRTP and the socket ------------

SENDER_MID_ATTR = "_RTCRtpSender__mid"
SENDER_RTX_PT_ATTR = "_RTCRtpSender__rtx_payload_type"
SENDER_COUNTS = ("_RTCRtpSender__packet_count", "_RTCRtpSender__octet_count",
                 "_RTCRtpSender__ntp_timestamp", "_RTCRtpSender__rtp_timestamp")
DTLS_TX_ATTRS = ("_RTCDtlsTransport__tx_bytes", "_RTCDtlsTransport__tx_packets")
URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


class SendParameters:
    """What a subscriber's sender negotiated: all a forwarded packet needs to be rewritten."""

    __slots__ = (
        "abs_send_time_id",
        "mid",
        "mid_id",
        "payload_type",
        "rtx_payload_type",
        "rtx_ssrc",
        "ssrc",
    )

    def __init__(self, sender: RTCRtpSender, parameters: Any) -> None:
        self.payload_type: int = parameters.codecs[0].payloadType
        self.rtx_payload_type: int | None = getattr(sender, SENDER_RTX_PT_ATTR, None)
        self.ssrc: int = sender._ssrc
        self.rtx_ssrc: int = sender._rtx_ssrc
        self.mid: str | None = parameters.muxId or getattr(sender, SENDER_MID_ATTR, None)
        ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        self.mid_id: int | None = ids.get(URI_MID)
        self.abs_send_time_id: int | None = ids.get(URI_ABS_SEND_TIME)


def on_sender_start(sender: RTCRtpSender, callback: Callable[[SendParameters], None]) -> None:
    """Call ``callback`` with the negotiated parameters when aiortc starts ``sender``.

    Wraps ``RTCRtpSender.send`` (called once the transports are connected). aiortc's
    own RTP loop still starts; with the RTP path its track never yields anything, so
    it idles, while its RTCP loop keeps sending SR/SDES from the counts we update.
    """
    original = sender.send

    async def send(parameters: Any) -> None:
        await original(parameters)
        callback(SendParameters(sender, parameters))

    sender.send = send


def answer_nacks(sender: RTCRtpSender, retransmit: Callable[[int], Awaitable[bool]]) -> None:
    """A subscriber's NACKed sequence numbers go to ``retransmit`` (not aiortc's history)."""
    sender._retransmit = retransmit


class RtpOut:
    """Protects and sends ready RTP packets on a sender's transport, synchronously.

    The down track writes the plaintext packet into :attr:`buf` (a fixed buffer, so no
    bytes object is built per packet for the plaintext) and calls :meth:`send`, which
    SRTP-protects it in place with the transport's libsrtp context (pylibsrtp's
    ``Session._srtp`` and ``_binding.lib.srtp_protect``: the C call ``Session.protect``
    makes, minus its per-packet allocation and copies) and hands it to ``sendto`` on the
    nominated ICE pair (``RTCIceTransport._connection``, aioice ``Connection._nominated``,
    ``StunProtocol.transport``), as aiortc's ``_send_rtp`` and ``send_data`` do, with no
    coroutine per packet. The transport, SRTP context and pair are looked up once, when
    the DTLS transport is first seen connected, and the state is re-checked per packet.

    The sender's SR counts (``__packet_count``, ``__octet_count``, ``__rtp_timestamp``,
    ``__ntp_timestamp``) and the transport's byte counts are kept here and written to
    aiortc's objects every ``FLUSH_EVERY`` packets and on :meth:`flush`: aiortc reads them
    only for the SR (every 0.5-1.5 s) and ``getStats``, so per-packet writes bought nothing.
    """

    FLUSH_EVERY = 16  # packets (a power of two: the check is a mask)
    SIZE = 2048
    ROOM = SIZE - SRTP_MAX_TRAILER  # largest plaintext packet that fits

    __slots__ = ("_addr", "_cdata", "_ctx", "_dtls", "_len", "_raw", "_sendto", "_session",
                 "buf", "octets", "packets", "sender", "unflushed_bytes", "unflushed_packets")

    def __init__(self, sender: RTCRtpSender | None) -> None:
        self.sender = sender
        self._cdata = srtp_ffi.new("char[]", self.SIZE)
        self._raw = srtp_ffi.buffer(self._cdata)
        self.buf = memoryview(self._raw)  # writable view: the plaintext goes here
        self._len = srtp_ffi.new("int *")
        self._dtls: Any = None
        self._session: Any = None
        self._ctx: Any = None
        self._sendto: Callable[[bytes, Any], None] | None = None
        self._addr: Any = None
        self.packets = 0
        self.octets = 0
        self.unflushed_packets = 0  # sent since the last flush (transport counts)
        self.unflushed_bytes = 0

    def _connect(self) -> bool:
        """Look up the connected transport, its SRTP context and the nominated pair."""
        dtls = self.sender.transport if self.sender is not None else None
        if dtls is None or dtls._state is not DtlsState.CONNECTED:
            return False
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None or pair.protocol.transport is None:
            return False
        self._session = dtls._tx_srtp  # kept so the libsrtp context outlives us
        self._ctx = self._session._srtp[0]
        self._sendto = pair.protocol.transport.sendto
        self._addr = pair.remote_addr
        self._dtls = dtls
        return True

    def send(self, size: int, payload_bytes: int, rtp_timestamp: int, ntp: int) -> bool:
        """SRTP-protect the first ``size`` bytes of :attr:`buf` and send them."""
        dtls = self._dtls
        if (dtls is None or dtls._state is not DtlsState.CONNECTED) and not self._connect():
            return False
        length = self._len
        length[0] = size
        if srtp_protect(self._ctx, self._cdata, length):
            return False  # a libsrtp error (the packet is not sent)
        size = length[0]
        try:
            self._sendto(self._raw[0:size], self._addr)  # bytes: a queued datagram keeps its own
        except (OSError, RuntimeError):  # uvloop raises on a transport closed under us
            self._dtls = None  # look the pair up again next time (or fail there)
            return False
        self.packets += 1
        self.octets += payload_bytes
        self.unflushed_bytes += size
        self.unflushed_packets += 1
        if not self.packets & (self.FLUSH_EVERY - 1):
            self.flush(rtp_timestamp, ntp)
        return True

    def flush(self, rtp_timestamp: int | None = None, ntp: int | None = None) -> None:
        """Write the counts into aiortc's sender (SR, stats) and DTLS transport (stats)."""
        sender, dtls = self.sender, self._dtls
        if sender is None:
            return
        sender._RTCRtpSender__packet_count = self.packets
        sender._RTCRtpSender__octet_count = self.octets
        if rtp_timestamp is not None and ntp is not None:
            sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # one consistent SR pair
            sender._RTCRtpSender__ntp_timestamp = ntp
        if dtls is not None:
            dtls._RTCDtlsTransport__tx_bytes += self.unflushed_bytes
            dtls._RTCDtlsTransport__tx_packets += self.unflushed_packets
        self.unflushed_bytes = self.unflushed_packets = 0


NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)


def ntp_now() -> int:
    """The 64-bit NTP time now, as aiortc's ``clock.current_ntp_time`` (which goes through
    ``datetime``); read once per source packet, not per subscriber."""
    return int((time.time() + NTP_EPOCH_OFFSET) * 4294967296.0)


def abs_send_time(ntp: int) -> bytes:
    """The 3-byte abs-send-time extension value (6.18 fixed point seconds), as aiortc sends."""
    return ((ntp >> 14) & 0x00FFFFFF).to_bytes(3, "big")


# --- socket buffers and retransmission history ----------------------------------

# The kernel books 512 KiB: ~220 loopback datagrams (keyframe bursts) but at most ~2 s of a
# publisher's media, so a server past its limit drops (NACK/PLI repair) instead of queueing:
# at 4 MiB it read media and STUN 10-30 s late, and every peer's ICE consent expired at once.
SOCKET_BUFFER_BYTES = 256 << 10
RTX_HISTORY_PACKETS = 1024


def enlarge_socket_buffers(pc: Any, size: int = SOCKET_BUFFER_BYTES) -> list[int]:
    """Raise SO_RCVBUF/SO_SNDBUF of every ICE socket of ``pc`` (call after gathering).

    The Linux default (~208 KiB, about 90 loopback datagrams of 1.2 KB) is smaller than
    one 640x360 VP8 keyframe sent as a burst, so a busy event loop lets the kernel drop
    the tail of keyframes. The kernel caps the value at ``net.core.rmem_max``; returns
    the receive sizes it granted (it reports twice the bookkeeping size). Uses
    ``RTCIceTransport._connection`` and aioice ``Connection._protocols``.
    """
    granted: list[int] = []
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        ice = transceiver.receiver.transport.transport
        connection = getattr(ice, "_connection", None)
        if connection is None or id(connection) in seen:
            continue
        seen.add(id(connection))
        for protocol in getattr(connection, "_protocols", []):
            transport = getattr(protocol, "transport", None)
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is None:
                continue
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
                granted.append(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    return granted


def enlarge_rtx_history(packets: int = RTX_HISTORY_PACKETS) -> None:
    """Keep ``packets`` sent RTP packets per sender for NACK repair (aiortc keeps 128).

    128 packets is less than one large keyframe: a NACK for its first packets arrives
    after they left the history, the loss is never repaired, and the receiver's jitter
    buffer stalls until it overflows. aiortc's sender indexes its history by
    ``seq % RTP_HISTORY_SIZE``, a module global read at every use. Process-wide; the
    receivers' NACK window (``rtcrtpreceiver.RTP_HISTORY_SIZE``) is left as it is.
    """
    rtcrtpsender.RTP_HISTORY_SIZE = max(packets, rtcrtpsender.RTP_HISTORY_SIZE)


# --- diagnostics (benches): RTCP feedback and retransmissions ---------------------

RTP_HISTORY_ATTR = "_RTCRtpSender__rtp_history"


class FeedbackCounter:
    """What one side sent or served in RTCP feedback (counts only)."""

    def __init__(self) -> None:
        self.plis = 0  # PLIs this receiver sent
        self.nacked = 0  # sequence numbers this receiver NACKed
        self.retransmit_requests = 0  # NACKed sequence numbers this sender was asked for
        self.retransmit_misses = 0  # ... that were no longer in its RTP history

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def count_receiver_feedback(receiver: RTCRtpReceiver, counter: FeedbackCounter) -> None:
    """Count the PLIs and NACKed packets ``receiver`` sends (wraps ``_send_rtcp_*``)."""
    send_pli, send_nack = receiver._send_rtcp_pli, receiver._send_rtcp_nack

    async def pli(media_ssrc: int) -> None:
        counter.plis += 1
        await send_pli(media_ssrc)

    async def nack(media_ssrc: int, lost: list[int]) -> None:
        counter.nacked += len(lost)
        await send_nack(media_ssrc, lost)

    receiver._send_rtcp_pli = pli
    receiver._send_rtcp_nack = nack


def count_retransmissions(sender: RTCRtpSender, counter: FeedbackCounter) -> None:
    """Count NACKed packets ``sender`` was asked to resend, and history misses."""
    retransmit = sender._retransmit
    history: dict[int, Any] = getattr(sender, RTP_HISTORY_ATTR)

    async def counted(sequence_number: int) -> None:
        counter.retransmit_requests += 1
        packet = history.get(sequence_number % rtcrtpsender.RTP_HISTORY_SIZE)
        served = await retransmit(sequence_number)
        if served is False or (served is None and (
                packet is None or packet.sequence_number != sequence_number)):
            counter.retransmit_misses += 1  # the RTP path's answerer says so itself

    sender._retransmit = counted
