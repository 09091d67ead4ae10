"""RTP-level forwarding: packets in, rewritten packets out, no frames in between.

The source side (:class:`media.forward.SourceHub`) gets every accepted RTP packet of a
publisher once (``aiortc_internals.tap_receiver_packets``), wraps it in a
:class:`CachedPacket` kept in a per-source :class:`PacketCache`, and hands it to each
subscriber's :class:`DownTrack`. A down track rewrites the 12-byte header (payload
type, SSRC, sequence number, timestamp), writes the subscriber's own header
extensions (mid, abs-send-time), and hands the bytes to SRTP and the socket
(``aiortc_internals.RtpOut``). Nothing is depayloaded or re-packetised per subscriber.

Munging: a down track forwards in *runs*. A run starts at a packet that can start
decoding (video: the first packet of a keyframe; audio: any) after the track was
new, cut, restored or its publisher reconnected. At a run's start the offsets are
chosen so the subscriber sees one contiguous sequence (the next number after the
last it got) and a monotonic timestamp (advanced by the wall time since the last
packet). Inside a run the offsets are fixed, so upstream loss shows as a gap that
the subscriber NACKs; packets older than the run's first are dropped.

NACKs name munged numbers: the down track maps them back to the source's, finds the
packet in the cache and resends it (RTX-wrapped when negotiated). A miss becomes a
keyframe request upstream.

Isolation: before every packet (and every retransmission) the down track asks its
``ForwardTrack.allowed()`` -- "is my route in the current plan?" -- so nothing
leaves on a route the plan removed, whatever the enabled flag says.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from media import aiortc_internals as internals

if TYPE_CHECKING:
    from media.forward import ForwardTrack

HEADER = struct.Struct("!BBHII")
MARKER_SEQ_TS = struct.Struct("!BHI")  # bytes 1-7 of the header: M|PT, sequence, timestamp
RTX_OSN = struct.Struct("!H")
CACHE_SIZE = 1024  # packets per source: covers a 640x360 keyframe burst several times over


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether a VP8 RTP payload is the first packet of a key frame (RFC 7741)."""
    n = len(payload)
    if n < 2:
        return False
    b0 = payload[0]
    if not b0 & 0x10 or b0 & 0x07:  # S=1 and partition index 0: the frame's first packet
        return False
    i = 1
    if b0 & 0x80:  # X: extended control bits
        x = payload[1]
        i = 2
        if x & 0x80:  # I: picture id, 7 or 15 bits
            if i >= n:
                return False
            i += 2 if payload[i] & 0x80 else 1
        if x & 0x40:  # L: TL0PICIDX
            i += 1
        if x & 0x30:  # T or K: TID/KEYIDX
            i += 1
    return i < n and (payload[i] & 0x01) == 0  # VP8 payload header: P = 0 is a key frame


def h264_keyframe_start(data: bytes) -> bool:
    """Whether a depayloaded H.264 packet (Annex B) carries an IDR slice or an SPS."""
    from media.forward import is_keyframe

    return is_keyframe("video/h264", data)


def keyframe_start(mime_type: str, packet: Any) -> bool:
    mime = mime_type.lower()
    if mime == "video/vp8":
        return vp8_keyframe_start(packet.payload)
    if mime == "video/h264":
        return h264_keyframe_start(packet._data)
    return True


class CachedPacket:
    """One received packet as the source's down tracks and NACK answers need it."""

    __slots__ = ("arrival", "epoch", "keyframe", "marker", "payload", "seq", "timestamp")

    def __init__(self, seq: int, timestamp: int, marker: int, payload: bytes, keyframe: bool,
                 epoch: int, arrival: float) -> None:
        self.seq = seq
        self.timestamp = timestamp
        self.marker = marker
        self.payload = payload
        self.keyframe = keyframe
        self.epoch = epoch
        self.arrival = arrival


class PacketCache:
    """The last ``size`` packets of one source, by original sequence number."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._slots: list[CachedPacket | None] = [None] * size

    def put(self, packet: CachedPacket) -> None:
        self._slots[packet.seq % self._size] = packet

    def get(self, seq: int, epoch: int) -> CachedPacket | None:
        packet = self._slots[seq % self._size]
        if packet is None or packet.seq != seq or packet.epoch != epoch:
            return None
        return packet


class RtpStats:
    """Process-wide accounting of the forwarding function (for the bench)."""

    forward_ns = 0  # wall time in fan_out (perf_counter_ns): preemption included
    forward_cpu_ns = 0  # CPU time of the thread in fan_out (thread_time_ns)
    packets_out = 0
    timing = False  # measure both (four clock reads per source packet)


class DownTrack:
    """One (source, subscriber) route on the RTP path: munging, NACK answers, counters.

    Counters live on the owning :class:`ForwardTrack` (``forwarded``, ``refused``,
    ``gated_drops``) so diagnostics read the same names on either path.

    The per-packet work is kept to what the packet needs: the subscriber's header (its
    payload type, SSRC and header extensions) is built once at :meth:`bind` as a template;
    per packet the template, the munged marker/PT, sequence number and timestamp, the
    abs-send-time value and the payload are written into ``RtpOut.buf``, which is then
    SRTP-protected in place and sent. No ``RtpPacket``, no bytes object for the plaintext.
    """

    __slots__ = (
        "_abs_at",
        "_head",
        "_head_len",
        "_rtx_head",
        "cache",
        "clock_rate",
        "count",
        "epoch",
        "last_time",
        "last_ts",
        "late",
        "max_seq",
        "next_seq",
        "out",
        "params",
        "request_keyframe",
        "rtx_misses",
        "rtx_requests",
        "rtx_seq",
        "run_start",
        "running",
        "runs",
        "send_failed",
        "seq_offset",
        "track",
        "ts_offset",
        "unbound",
        "video",
    )

    def __init__(self, track: ForwardTrack, sender: Any, cache: PacketCache, *, video: bool,
                 clock_rate: int, count: list[int] | None = None,
                 request_keyframe: Callable[[], None] | None = None) -> None:
        self.track = track
        self.out = internals.RtpOut(sender)
        self.cache = cache
        self.video = video
        self.clock_rate = clock_rate
        self.count = count if count is not None else [0]  # the route's cell in HubCounters
        self.request_keyframe = request_keyframe
        self.params: internals.SendParameters | None = None
        self._head: bytes | None = None  # the subscriber's header template, set by bind()
        self._rtx_head = b""
        self._head_len = 0
        self._abs_at = 0  # offset of the abs-send-time value in the header (0: none)
        # munging state
        self.running = False
        self.epoch = -1
        self.run_start = 0
        self.seq_offset = 0
        self.ts_offset = 0
        self.next_seq = int.from_bytes(os.urandom(2), "big")
        self.last_ts: int | None = None
        self.last_time = 0.0
        self.max_seq = 0
        self.rtx_seq = int.from_bytes(os.urandom(2), "big")
        # counters
        self.unbound = 0  # packets before the subscriber's sender started
        self.send_failed = 0  # transport not connected, or a packet too large
        self.late = 0  # older than the current run's first packet
        self.rtx_requests = 0
        self.rtx_misses = 0
        self.runs = 0

    # -- setup ----------------------------------------------------------------
    def bind(self, params: internals.SendParameters) -> None:
        """The subscriber's sender started: rewrite for its negotiated parameters."""
        self.params = params
        elements = b""
        if params.mid_id is not None and params.mid:
            mid = params.mid.encode()
            elements += bytes([(params.mid_id << 4) | (len(mid) - 1)]) + mid
        ext = b""
        abs_at = 0
        if params.abs_send_time_id is not None:
            abs_at = 12 + 4 + len(elements) + 1  # after the ext header and this element's id
            elements += bytes([(params.abs_send_time_id << 4) | 2]) + b"\x00\x00\x00"
        if elements:
            words = (len(elements) + 3) // 4
            ext = b"\xbe\xde" + words.to_bytes(2, "big") + elements.ljust(words * 4, b"\x00")
        first = 0x90 if ext else 0x80
        self._head = HEADER.pack(first, params.payload_type, 0, 0, params.ssrc) + ext
        rtx_pt = params.rtx_payload_type if params.rtx_payload_type is not None else 0
        self._rtx_head = HEADER.pack(first, rtx_pt, 0, 0, params.rtx_ssrc) + ext
        self._head_len = len(self._head)
        self._abs_at = abs_at
        self.reset()
        if self.video and self.request_keyframe is not None:
            self.request_keyframe()

    def reset(self) -> None:
        """Cut, restore or a new publisher connection: the next run starts afresh."""
        self.running = False
        self.out.flush()
        if self.video:
            self.track.gated = True

    # -- forwarding -------------------------------------------------------------
    def forward(self, packet: CachedPacket, abs_time: bytes, ntp: int) -> bool:
        """Rewrite and send one source packet; True if it went on the wire."""
        track = self.track
        if not track._enabled:
            return False
        if not track.allowed():
            track.refused += 1
            return False
        head = self._head
        if head is None:
            self.unbound += 1
            return False
        seq = packet.seq
        if not self.running or packet.epoch != self.epoch:
            if self.video and not packet.keyframe:
                track.gated_drops += 1
                return False
            self._start_run(packet)
        elif ((seq - self.run_start) & 0xFFFF) >= 0x8000:
            self.late += 1
            return False
        out_seq = (seq + self.seq_offset) & 0xFFFF
        out_ts = (packet.timestamp + self.ts_offset) & 0xFFFFFFFF
        if ((seq - self.max_seq) & 0xFFFF) < 0x8000:
            self.max_seq = seq
            self.next_seq = (out_seq + 1) & 0xFFFF
            self.last_ts = out_ts
            self.last_time = packet.arrival
        payload = packet.payload
        size = self._write(head, (packet.marker << 7) | head[1], out_seq, out_ts, abs_time,
                           payload)
        if not size or not self.out.send(size, len(payload), out_ts, ntp):
            self.send_failed += 1
            return False
        track.forwarded += 1
        self.count[0] += 1
        if packet.marker:  # a frame's last packet: server-added latency, as the frame path
            track.latencies.append(time.monotonic() - packet.arrival)
        return True

    def _write(self, head: bytes, marker_pt: int, seq: int, ts: int, abs_time: bytes,
               payload: bytes) -> int:
        """The plaintext packet into ``out.buf``: template, then the per-packet fields."""
        start = self._head_len
        size = start + len(payload)
        if size > internals.RtpOut.ROOM:
            return 0
        buf = self.out.buf
        buf[:start] = head
        MARKER_SEQ_TS.pack_into(buf, 1, marker_pt, seq, ts)
        at = self._abs_at
        if at:
            buf[at:at + 3] = abs_time
        buf[start:size] = payload
        return size

    def _start_run(self, packet: CachedPacket) -> None:
        self.runs += 1
        self.running = True
        self.epoch = packet.epoch
        self.run_start = packet.seq
        self.max_seq = packet.seq
        self.seq_offset = (self.next_seq - packet.seq) & 0xFFFF
        if self.last_ts is None:
            base = int.from_bytes(os.urandom(4), "big")
        else:
            elapsed = max(packet.arrival - self.last_time, 0.001)
            base = (self.last_ts + max(1, int(elapsed * self.clock_rate))) & 0xFFFFFFFF
        self.ts_offset = (base - packet.timestamp) & 0xFFFFFFFF
        self.track.gated = False

    # -- NACK -----------------------------------------------------------------
    async def retransmit(self, seq: int) -> bool:
        """Answer a subscriber's NACK for munged ``seq`` from the source's cache."""
        self.rtx_requests += 1
        params = self.params
        track = self.track
        head = self._head
        if (params is None or head is None or not self.running or not track._enabled
                or not track.allowed()):
            return False
        original = (seq - self.seq_offset) & 0xFFFF
        cached = self.cache.get(original, self.epoch)
        if cached is None or ((original - self.run_start) & 0xFFFF) >= 0x8000:
            self.rtx_misses += 1
            if self.video and self.request_keyframe is not None:
                self.request_keyframe()
            return False
        ts = (cached.timestamp + self.ts_offset) & 0xFFFFFFFF
        ntp = internals.ntp_now()
        abs_time = internals.abs_send_time(ntp)
        marker = cached.marker << 7
        if params.rtx_payload_type is not None:
            # RTX (RFC 4588): the subscriber's RTX type, SSRC and sequence; OSN = munged seq
            size = self._write(self._rtx_head, marker | params.rtx_payload_type, self.rtx_seq,
                               ts, abs_time, RTX_OSN.pack(seq) + cached.payload)
            self.rtx_seq = (self.rtx_seq + 1) & 0xFFFF
        else:
            size = self._write(head, marker | params.payload_type, seq, ts, abs_time,
                               cached.payload)
        return bool(size) and self.out.send(size, len(cached.payload), ts, ntp)

    def counters(self) -> dict[str, int]:
        return {"rtp_unbound": self.unbound, "rtp_send_failed": self.send_failed,
                "rtp_late": self.late, "rtp_runs": self.runs,
                "retransmit_requests": self.rtx_requests,
                "retransmit_misses": self.rtx_misses}


def fan_out(packet: CachedPacket, tracks: Any) -> None:
    """Forward one source packet to every subscriber's down track."""
    ntp = internals.ntp_now()
    abs_time = internals.abs_send_time(ntp)
    if RtpStats.timing:
        t0 = time.perf_counter_ns()
        c0 = time.thread_time_ns()
        n = 0
        for track in tracks:
            down = track.down
            if down is not None:
                n += down.forward(packet, abs_time, ntp)
        RtpStats.forward_cpu_ns += time.thread_time_ns() - c0
        RtpStats.forward_ns += time.perf_counter_ns() - t0
        RtpStats.packets_out += n
        return
    for track in tracks:
        down = track.down
        if down is not None:
            down.forward(packet, abs_time, ntp)
