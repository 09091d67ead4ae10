"""The RTP path (media/rtp.py): keyframe starts, munging across cuts and reconnects,
NACK answers from the source cache, and the plan check before every packet."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from aiortc.codecs import vpx
from aiortc.rtp import RtpPacket
from test_media_forward import vp8_frames

from courtroom.domain.routing import MediaKind
from media import aiortc_internals as internals
from media.forward import SourceHub
from media.rtp import keyframe_start, vp8_keyframe_start

PT, RTX_PT, SSRC, RTX_SSRC = 96, 97, 0x1111, 0x2222


class _Out:
    """Stands in for aiortc_internals.RtpOut: records the plaintext that would be protected
    and sent (the down track writes it into ``buf``)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.buf = memoryview(bytearray(internals.RtpOut.SIZE))

    def send(self, size: int, payload_bytes: int, rtp_timestamp: int, ntp: int) -> bool:
        self.sent.append(bytes(self.buf[:size]))
        return True

    def flush(self, *args: Any) -> None:
        pass


class _Params:
    payload_type, rtx_payload_type, ssrc, rtx_ssrc = PT, RTX_PT, SSRC, RTX_SSRC
    mid, mid_id, abs_send_time_id = "3", 1, 2


def vp8_packets(n_frames: int, gop: int = 10) -> list[RtpPacket]:
    """Real VP8 frames, packetised as aiortc's sender does (small MTU: several per frame)."""
    packets: list[RtpPacket] = []
    seq = 65500  # wraps inside the test
    saved, vpx.PACKET_MAX = vpx.PACKET_MAX, 60  # small frames: still several packets each
    try:
        payload_lists = [vpx.Vp8Encoder._packetize(f, i)
                         for i, f in enumerate(vp8_frames(n_frames, gop=gop))]
    finally:
        vpx.PACKET_MAX = saved
    for i, payloads in enumerate(payload_lists):
        for j, payload in enumerate(payloads):
            p = RtpPacket(payload_type=PT, sequence_number=seq & 0xFFFF, timestamp=i * 6000)
            p.marker = int(j == len(payloads) - 1)
            p.payload = payload
            p._data = payload  # type: ignore[attr-defined]
            packets.append(p)
            seq += 1
    return packets


def parse(data: bytes) -> dict[str, Any]:
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    head = 12
    if b0 & 0x10:
        words = struct.unpack("!H", data[14:16])[0]
        head = 16 + 4 * words
    return {"pt": b1 & 0x7F, "marker": b1 >> 7, "seq": seq, "ts": ts, "ssrc": ssrc,
            "ext": data[12:head], "payload": data[head:]}


def hub_with_subscriber(kind: MediaKind = MediaKind.VIDEO) -> tuple[SourceHub, Any, _Out]:
    hub = SourceHub("judge", kind, rtp=True)
    hub.attach(_no_pli)
    track = hub.subscribe("hearing:judge:video")
    from media.rtp import DownTrack

    down = DownTrack(track, sender=None, cache=hub.cache, video=kind is MediaKind.VIDEO,
                     clock_rate=90000, request_keyframe=hub.request_keyframe)
    out = _Out()
    down.out = out  # type: ignore[assignment]
    track.down = down
    down.bind(_Params())  # type: ignore[arg-type]
    return hub, track, out


async def _no_pli() -> bool:
    return True


def test_vp8_keyframe_start_on_real_packets() -> None:
    packets = vp8_packets(12, gop=10)
    starts = [vp8_keyframe_start(p.payload) for p in packets]
    firsts = [i for i, p in enumerate(packets) if i == 0 or packets[i - 1].marker]
    keyframes = [i for i in firsts if starts[i]]
    assert keyframes and keyframes[0] == 0  # the first frame is a keyframe
    assert len(keyframes) == 2  # frames 0 and 10 (gop 10)
    assert not any(starts[i] for i in range(len(packets)) if i not in firsts)
    assert not vp8_keyframe_start(b"") and not vp8_keyframe_start(b"\x10")


async def test_gated_until_keyframe_then_contiguous_and_rewritten() -> None:
    hub, track, out = hub_with_subscriber()
    packets = vp8_packets(14, gop=10)
    for p in packets[1:]:  # the first keyframe is missed: wait for the next one
        hub.on_packet(p)
    assert track.gated_drops > 0 and out.sent
    first = parse(out.sent[0])
    assert vp8_keyframe_start(first["payload"])
    got = [parse(d) for d in out.sent]
    assert all(g["ssrc"] == SSRC and g["pt"] == PT for g in got)
    assert [(g["seq"] - got[0]["seq"]) & 0xFFFF for g in got] == list(range(len(got)))
    assert got[0]["ext"][:2] == b"\xbe\xde" and b"3" in got[0]["ext"]  # the subscriber's mid
    assert track.forwarded == len(got)
    hub.close()


async def test_cut_restore_and_reconnect_keep_one_sequence_and_monotonic_time() -> None:
    hub, track, out = hub_with_subscriber()
    packets = vp8_packets(30, gop=10)

    def frames(a: int, b: int) -> list[RtpPacket]:
        return [p for p in packets if a * 6000 <= p.timestamp < b * 6000]

    for p in frames(0, 4):
        hub.on_packet(p)
    n_before = len(out.sent)
    track.set_enabled(False)  # cut: nothing more, whatever arrives
    for p in frames(4, 8):
        hub.on_packet(p)
    assert len(out.sent) == n_before
    track.set_enabled(True)  # restore: gated, resumes on the next keyframe (frame 10)
    for p in frames(8, 18):
        hub.on_packet(p)
    hub.attach(_no_pli)  # the publisher reconnects: new epoch, new numbers (keyframe 20)
    for p in frames(18, 30):
        p.sequence_number = (p.sequence_number + 12345) & 0xFFFF
        p.timestamp = (p.timestamp + 777) & 0xFFFFFFFF
        hub.on_packet(p)
    got = [parse(d) for d in out.sent]
    seqs = [(g["seq"] - got[0]["seq"]) & 0xFFFF for g in got]
    assert seqs == list(range(len(got)))  # one contiguous sequence across cut and reconnect
    ts = [(g["ts"] - got[0]["ts"]) & 0xFFFFFFFF for g in got]
    assert ts == sorted(ts)  # never goes back
    assert track.down.runs == 3
    hub.close()


async def test_nack_answered_from_cache_with_rtx_and_miss_asks_keyframe() -> None:
    hub, track, out = hub_with_subscriber()
    for p in vp8_packets(6, gop=10):
        hub.on_packet(p)
    sent = [parse(d) for d in out.sent]
    target = sent[2]
    assert await track.down.retransmit(target["seq"])
    rtx = parse(out.sent[-1])
    assert rtx["pt"] == RTX_PT and rtx["ssrc"] == RTX_SSRC
    assert struct.unpack("!H", rtx["payload"][:2])[0] == target["seq"]  # original seq (OSN)
    assert rtx["payload"][2:] == target["payload"] and rtx["ts"] == target["ts"]
    requests = hub.keyframe_requests
    assert not await track.down.retransmit((sent[0]["seq"] - 50) & 0xFFFF)  # never sent
    assert track.down.rtx_misses == 1 and hub.keyframe_requests == requests + 1
    hub.close()


async def test_plan_check_before_every_packet_and_retransmission() -> None:
    hub, track, out = hub_with_subscriber(MediaKind.AUDIO)
    in_plan = True
    track.allowed = lambda: in_plan
    for seq in range(5):
        p = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960)
        p.payload = b"\xfc\xff\xfe"
        hub.on_packet(p)
    assert track.forwarded == 5
    first = parse(out.sent[0])["seq"]
    in_plan = False  # the plan moved on; the enabled flag was left as it was
    for seq in range(5, 10):
        p = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960)
        p.payload = b"\xfc\xff\xfe"
        hub.on_packet(p)
    assert not await track.down.retransmit(first)
    assert track.forwarded == 5 and len(out.sent) == 5 and track.refused == 5
    hub.close()


def test_the_rtp_tap_sees_packets_before_frame_assembly() -> None:
    seen: list[int] = []
    buf = internals.LowLatencyJitterBuffer(capacity=16, is_video=True)
    buf.on_packet = lambda p: seen.append(p.sequence_number)
    buf.frames_wanted = lambda: False
    p = RtpPacket(payload_type=PT, sequence_number=7, timestamp=0)
    p.marker = 1
    p._data = b"x"  # type: ignore[attr-defined]
    assert buf.add(p) == (False, None) and seen == [7]  # nobody wants frames: none built
    buf.frames_wanted = lambda: True
    p.sequence_number = 8
    _, frame = buf.add(p)
    assert frame is not None and seen == [7, 8]


def one_byte_extensions(ext: bytes) -> dict[int, bytes]:
    """RFC 8285 one-byte header extension elements (after the 0xBEDE header)."""
    assert ext[:2] == b"\xbe\xde" and len(ext) == 4 + 4 * struct.unpack("!H", ext[2:4])[0]
    out: dict[int, bytes] = {}
    i = 4
    while i < len(ext):
        if ext[i] == 0:  # padding
            i += 1
            continue
        ident, length = ext[i] >> 4, (ext[i] & 0x0F) + 1
        out[ident] = ext[i + 1:i + 1 + length]
        i += 1 + length
    return out


async def test_the_subscribers_extensions_are_written_in_place_per_packet() -> None:
    """mid and abs-send-time from the template and the per-packet value, padded to words."""
    hub, _track, out = hub_with_subscriber(MediaKind.AUDIO)
    for seq in range(3):
        p = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960)
        p.payload = bytes([seq]) * 40
        before = internals.abs_send_time(internals.ntp_now())
        hub.on_packet(p)
        got = parse(out.sent[-1])
        ext = one_byte_extensions(got["ext"])
        assert ext[1] == b"3" and len(ext[2]) == 3  # _Params: mid "3" id 1, abs-send-time id 2
        # 6.18 fixed point seconds: the packet's value is now, give or take a few ms
        assert (int.from_bytes(ext[2], "big") - int.from_bytes(before, "big")) % (1 << 24) < 1 << 16
        assert got["payload"] == bytes([seq]) * 40 and got["ssrc"] == SSRC
    hub.close()


# ---- the taps' buffer skips an unrepaired hole at the next keyframe ------------------------


def _vp8(seq: int, ts: int, marker: int, key: bool, first: bool = True) -> RtpPacket:
    """A VP8 packet: descriptor S=1/PID 0 when ``first``, then the frame tag's key bit."""
    descriptor = bytes([0x10 if first else 0x00])
    payload = descriptor + bytes([0x00 if key else 0x01]) + b"frame"
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=ts, marker=marker,
                       payload=payload)
    packet._data = payload[1:]
    return packet


def _buffer(resync: bool) -> internals.LowLatencyJitterBuffer:
    buffer = internals.LowLatencyJitterBuffer(capacity=256, is_video=True)
    if resync:
        buffer.keyframe_start = lambda p: keyframe_start("video/VP8", p)
    return buffer


@pytest.mark.parametrize("resync", [True, False])
def test_a_keyframe_ends_a_hole_that_was_never_repaired(resync: bool) -> None:
    buffer = _buffer(resync)
    assert buffer.add(_vp8(10, 0, 1, key=True))[1] is not None  # frame 1, complete
    buffer.add(_vp8(11, 3000, 0, key=False))  # frame 2's first packet; 12 is lost for good
    buffer.add(_vp8(13, 6000, 1, key=False))  # frame 3, waiting behind the hole
    _pli, frame = buffer.add(_vp8(14, 9000, 1, key=True))  # a keyframe (asked for by PLI)
    if resync:
        assert frame is not None and frame.timestamp == 9000  # assembly restarts at it
        assert buffer.resyncs == 1
        assert buffer.add(_vp8(15, 12000, 1, key=False))[1] is not None  # and goes on
    else:
        assert frame is None  # aiortc's rule: everything waits for packet 12
        assert buffer.add(_vp8(15, 12000, 1, key=False))[1] is None


def test_no_resync_without_a_hole_or_at_a_delta_frame() -> None:
    buffer = _buffer(True)
    buffer.add(_vp8(10, 0, 0, key=True))
    _, frame = buffer.add(_vp8(11, 0, 1, key=True, first=False))  # the keyframe's tail
    assert frame is not None and frame.data == bytes([0x00]) + b"frame" + bytes([0x00]) + b"frame"
    buffer.add(_vp8(12, 3000, 0, key=False))  # a delta frame; 13 lost
    _, frame = buffer.add(_vp8(14, 6000, 1, key=False))  # not a keyframe: still waits
    assert frame is None and buffer.resyncs == 0


class _Sink:
    def __init__(self) -> None:
        self.frames = 0

    def offer(self, frame: Any) -> None:
        self.frames += 1


async def test_with_taps_only_an_assembled_keyframe_answers_a_request() -> None:
    """The first packet of a keyframe is not yet a keyframe the taps and the recorder can use
    (its other packets may be lost): the request stands until one is assembled. Without taps
    the first packet answers it, as before (subscribers take packets, not frames)."""
    hub = SourceHub("party", MediaKind.VIDEO, rtp=True)
    hub.sinks.append(_Sink())
    hub.attach(_no_pli)
    hub.request_keyframe()
    assert hub.keyframes.pending
    hub.on_packet(_vp8(1, 0, 0, key=True))
    assert hub.keyframes.pending  # a start, not a frame
    hub.on_frame("video/VP8", 90000, vp8_frames(1)[0], 0)  # a real VP8 keyframe, assembled
    assert not hub.keyframes.pending
    hub.close()

    bare = SourceHub("party", MediaKind.VIDEO, rtp=True)
    bare.attach(_no_pli)
    bare.request_keyframe()
    bare.on_packet(_vp8(1, 0, 0, key=True))
    assert not bare.keyframes.pending
    bare.close()
