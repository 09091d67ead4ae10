"""The client side of scripts/bench_media.py: pre-encoded publishers and counting subscribers.

Clients publish pre-encoded VP8 (a camera-like scene at 600 kbit/s, looped, with a
pre-encoded keyframe branch per frame so PLIs are answered as a browser would) and
Opus, and count received frames without decoding them, so the client side stays cheap
enough to share the cores with the server it measures. :class:`Cluster` starts the media
worker processes (``media_worker``) and runs every client on the parent's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import multiprocessing as mp
import os
import pickle
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from media import aiortc_internals as internals
from media.config import IceMode, MediaConfig
from media.forward import is_keyframe
from media.peer import filter_loopback_candidates, rtc_configuration

from .media_worker import cpu_seconds, worker_main

W, H, FPS = 640, 360, 15


def scene(i: int, texture: np.ndarray) -> np.ndarray:
    """A camera-like picture: lit background, a textured figure moving, sensor noise.

    (Pure random noise made libvpx overshoot 600 kbit/s threefold, with 212 KB
    keyframes; a webcam scene at this rate gives keyframes of about 25 KB.)"""
    y = np.linspace(0, 1, H)[:, None]
    x = np.linspace(0, 1, W)[None, :]
    img = np.repeat((60 + 80 * x + 40 * y)[:, :, None], 3, axis=2)
    cx, cy = int(W / 2 + 80 * np.sin(i / 10)), int(H / 2 + 20 * np.cos(i / 7))
    img[cy - 90:cy + 90, cx - 60:cx + 60] = texture
    img += np.random.default_rng(i).normal(0, 3, (H, W, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


class VideoLoop:
    """Pre-encoded 640x360@15 VP8 at 600 kbit/s, looped, with keyframes on demand.

    ``main`` is the loop (a keyframe at frame 0 only). ``branches[i]`` is the same
    pictures re-encoded from frame i on, starting with a keyframe: a publisher that
    gets a PLI at frame i switches to that branch, which rejoins ``main`` at the
    loop's keyframe. So the stream stays decodable, as a browser's does, and the
    publisher answers keyframe requests the way a browser does, with no live encoder.
    """

    CACHE = Path(tempfile.gettempdir()) / "courtroom-bench-media-vp8-loop-v1.pickle"

    @classmethod
    def load(cls, seconds: int = 2) -> VideoLoop:
        """Built once (about 10-15 s on a loaded machine), then cached in the temp dir."""
        loop = cls.__new__(cls)
        try:
            with cls.CACHE.open("rb") as fh:
                loop.main, loop.branches = pickle.load(fh)  # plain lists and dicts only
            if len(loop.main) == seconds * FPS:
                return loop
        except Exception:  # a stale or broken cache is rebuilt
            pass
        loop = cls(seconds)
        with contextlib.suppress(OSError):
            tmp = cls.CACHE.with_suffix(f".{os.getpid()}")
            tmp.write_bytes(pickle.dumps((loop.main, loop.branches)))
            tmp.replace(cls.CACHE)
        return loop

    def __init__(self, seconds: int = 2) -> None:
        rng = np.random.default_rng(1)
        texture = np.kron(rng.integers(60, 200, (45, 30, 3)), np.ones((4, 4, 1)))
        frames = [av.VideoFrame.from_ndarray(scene(i, texture), format="rgb24")
                  .reformat(format="yuv420p") for i in range(seconds * FPS)]
        self.main = self._encode(frames)
        self.branches = {i: self._encode(frames[i:]) for i in range(1, len(frames))}

    @staticmethod
    def _encode(frames: list[Any]) -> list[bytes]:
        enc = av.CodecContext.create("libvpx", "w")
        enc.width, enc.height, enc.pix_fmt = W, H, "yuv420p"
        enc.time_base = fractions.Fraction(1, 90000)
        enc.bit_rate = 600_000
        enc.gop_size = 10_000  # only the first frame is a keyframe
        enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        out: list[bytes] = []
        for i, frame in enumerate(frames):
            frame.pts = i * 6000
            out.extend(bytes(p) for p in enc.encode(frame))
        out.extend(bytes(p) for p in enc.encode(None))
        assert len(out) == len(frames) and is_keyframe("video/vp8", out[0])
        return out

    def __len__(self) -> int:
        return len(self.main)


def opus_packet() -> bytes:
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "stereo", "s16"
    enc.time_base = fractions.Fraction(1, 48000)
    pkts: list[bytes] = []
    for i in range(5):
        tone = (np.sin(np.arange(960) / 7) * 4000).astype(np.int16)
        f = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16",
                                       layout="stereo")
        f.sample_rate, f.pts = 48000, i * 960
        pkts.extend(bytes(p) for p in enc.encode(f))
    return pkts[-1]


class PacketTrack(MediaStreamTrack):  # type: ignore[misc]
    """Paced pre-encoded packets; video honours keyframe requests (see VideoLoop)."""

    def __init__(self, kind: str, packets: list[bytes] | VideoLoop, step: int, period: float,
                 rate: int) -> None:
        super().__init__()
        self.kind = kind
        self._packets, self._step, self._period, self._rate = packets, step, period, rate
        self._i = 0
        self._t0: float | None = None
        self._branch: int | None = None
        self._keyframe_due = False
        self.sent = 0
        self.keyframes_sent = 0
        self.keyframe_requests = 0  # PLI/FIR from the server

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self._keyframe_due = isinstance(self._packets, VideoLoop)

    def counters(self) -> dict[str, int]:
        return {"sent": self.sent, "keyframes_sent": self.keyframes_sent,
                "keyframe_requests": self.keyframe_requests}

    def _next(self) -> bytes:
        loop = self._packets
        index = self._i % len(loop)
        if not isinstance(loop, VideoLoop):
            return loop[index]
        if index == 0:
            self._branch = None  # the loop's own keyframe
        elif self._keyframe_due:
            self._branch = index
        self._keyframe_due = False
        if self._branch is None:
            return loop.main[index]
        return loop.branches[self._branch][index - self._branch]

    async def recv(self) -> Any:
        if self._t0 is None:
            self._t0 = time.monotonic()
        delay = self._t0 + self._i * self._period - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = self._next()
        p = av.Packet(data)
        p.pts, p.time_base = self._i * self._step, fractions.Fraction(1, self._rate)
        self._i += 1
        self.sent += 1
        if self.kind == "video" and is_keyframe("video/vp8", data):
            self.keyframes_sent += 1
        return p


class BenchClient:
    def __init__(self, hearing: str, pid: str, send: Any, video: VideoLoop | None,
                 audio: bytes | None) -> None:
        self.hearing, self.pid, self._send = hearing, pid, send
        self.video, self.audio = video, audio
        self.pc: RTCPeerConnection | None = None
        self.frames: dict[str, list[float]] = {}
        self.tracks: dict[str, dict[str, str]] = {}
        self._published = False
        self.config = MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY)
        self.publishing: dict[str, tuple[PacketTrack, internals.FeedbackCounter]] = {}
        self.receiving: dict[str, tuple[Any, internals.FeedbackCounter]] = {}  # mid

    async def handle(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "config":
            internals.enlarge_rtx_history()  # browsers keep ~1 s of packets for NACK
            internals.tolerant_ice_consent()  # browsers' consent rule (RFC 7675), not aioice's
            self.pc = RTCPeerConnection(rtc_configuration(self.config, []))
        elif msg["type"] == "offer":
            assert self.pc is not None
            await self.pc.setRemoteDescription(RTCSessionDescription(
                sdp=filter_loopback_candidates(msg["sdp"]), type="offer"))
            self.tracks = msg["tracks"]
            for t in self.pc.getTransceivers():
                mid = t.mid
                if (mid is not None and "source" in self.tracks.get(mid, {})
                        and mid not in self.receiving):
                    # count frames without decoding them
                    internals.tap_receiver(t.receiver, lambda *a, mid=mid: self.frames.setdefault(
                        mid, []).append(time.monotonic()))
                    counter = internals.FeedbackCounter()
                    internals.count_receiver_feedback(t.receiver, counter)
                    self.receiving[mid] = (t.receiver, counter)
            if not self._published:
                self._published = True
                tracks = []
                if self.audio is not None:
                    tracks.append(PacketTrack("audio", [self.audio], 960, 0.02, 48000))
                if self.video is not None:
                    tracks.append(PacketTrack("video", self.video, 6000, 1 / FPS, 90000))
                for track in tracks:
                    sender = self.pc.addTrack(track)
                    internals.relay_keyframe_requests(sender, track.request_keyframe)
                    counter = internals.FeedbackCounter()
                    internals.count_retransmissions(sender, counter)
                    self.publishing[track.kind] = (track, counter)
            answer = await self.pc.createAnswer()
            with internals.loopback_ice():
                await self.pc.setLocalDescription(answer)
            # 20 "browsers" share this one event loop: give their sockets room for bursts
            internals.enlarge_socket_buffers(self.pc)
            self._send({"op": "signal", "hearing": self.hearing, "pid": self.pid,
                        "msg": {"type": "answer", "sdp": self.pc.localDescription.sdp,
                                "seq": msg["seq"]}})

    async def counters(self) -> dict[str, Any]:
        """Publisher side per kind; subscriber side per received route (src->dst/kind)."""
        publish = {kind: {**track.counters(), **{k: v for k, v in c.as_dict().items()
                                                 if k.startswith("retransmit")}}
                   for kind, (track, c) in self.publishing.items()}
        recv: dict[str, dict[str, int]] = {}
        for mid, (receiver, counter) in self.receiving.items():
            info = self.tracks.get(mid, {})
            report = await receiver.getStats()
            inbound = [s for s in report.values() if s.type == "inbound-rtp"]
            recv[f"{info.get('source')}->{self.pid}/{info.get('kind')}/{info.get('link')}"] = {
                "frames": len(self.frames.get(mid, [])),
                "rtp_received": sum(s.packetsReceived for s in inbound),
                "rtp_lost": sum(s.packetsLost for s in inbound),
                "plis": counter.plis, "nacked": counter.nacked}
        return {"publish": publish, "recv": recv}

    def fps(self, since: float, until: float) -> dict[str, float]:
        out = {}
        for mid, info in self.tracks.items():
            if info.get("kind") == "video":
                n = sum(1 for t in self.frames.get(mid, []) if since <= t < until)
                out[f"{info['source']}->{self.pid}"] = n / (until - since)
        return out


class Cluster:
    """Worker processes plus the parent's client event loop."""

    def __init__(self, workers: int, relay: bool, record_dir: str | None,
                 rtp: bool = True, loop: str = "uvloop", inline_receive: bool = True) -> None:
        self.rtp = rtp
        self.inline_receive = inline_receive  # MediaConfig.inline_receive of every hub
        ctx = mp.get_context("spawn")
        self.conns, self.procs = [], []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker_main, args=(child, relay, record_dir, loop),
                            daemon=True)
            p.start()
            self.conns.append(parent)
            self.procs.append(p)
        self.clients: dict[tuple[str, str], BenchClient] = {}
        self.assign: dict[str, int] = {}
        self.replies: asyncio.Queue[Any] = asyncio.Queue()
        self.tasks: set[asyncio.Future[None]] = set()
        loop = asyncio.get_running_loop()
        for conn in self.conns:
            threading.Thread(target=self._reader, args=(conn, loop), daemon=True).start()

    def _reader(self, conn: Any, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                msg = conn.recv()
            except EOFError:
                return
            loop.call_soon_threadsafe(self._dispatch, msg)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if msg["op"] == "signal":
            client = self.clients[(msg["hearing"], msg["pid"])]
            task = asyncio.ensure_future(client.handle(msg["msg"]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        else:
            self.replies.put_nowait(msg)

    def send(self, hearing: str, obj: dict[str, Any]) -> None:
        self.conns[self.assign[hearing]].send(obj)

    async def hearing(self, name: str, people: list[str], publishers: list[str],
                      routes: list[tuple[str, str, str, str]], *, taps: bool, record: bool,
                      video: VideoLoop, audio: bytes | None) -> None:
        self.assign[name] = len(self.assign) % len(self.conns)
        self.send(name, {"op": "hub", "hearing": name, "taps": taps, "record": record,
                         "rtp": self.rtp, "inline_receive": self.inline_receive})
        for pid in people:
            pub = pid in publishers
            client = BenchClient(name, pid, lambda o, n=name: self.send(n, o),
                                 video if pub else None, audio if pub else None)
            self.clients[(name, pid)] = client
            self.send(name, {"op": "signal", "hearing": name, "pid": pid,
                             "msg": {"type": "hello"}})
        await asyncio.sleep(1.0)
        self.send(name, {"op": "plan", "hearing": name, "routes": routes})

    def cpu(self) -> list[float]:
        return [cpu_seconds(p.pid) for p in self.procs]

    async def latency(self) -> list[float]:
        values: list[float] = []
        for conn in self.conns:
            conn.send({"op": "latency"})
        for _ in self.conns:
            values.extend((await asyncio.wait_for(self.replies.get(), 10))["values"])
        return values

    async def rtp_stats(self) -> dict[str, int]:
        """Worker 0's RTP-path accounting (forwarding function time, packets in/out)."""
        self.conns[0].send({"op": "rtpstats"})
        return dict((await asyncio.wait_for(self.replies.get(), 10))["values"])

    async def tight_loop(self, packets: int) -> dict[str, float]:
        """Worker 0's forwarding function timed back to back (``forwarding_tight_loop``)."""
        self.conns[0].send({"op": "tightloop", "packets": packets})
        return dict((await asyncio.wait_for(self.replies.get(), 60))["values"])

    async def counters(self) -> dict[str, Any]:
        """Every hub's and every client's counters, keyed by hearing."""
        server: dict[str, Any] = {}
        for conn in self.conns:
            conn.send({"op": "counters"})
        for _ in self.conns:
            server.update((await asyncio.wait_for(self.replies.get(), 10))["values"])
        clients: dict[str, dict[str, Any]] = {}
        for (hearing, pid), client in self.clients.items():
            clients.setdefault(hearing, {})[pid] = await client.counters()
        return {"server": server, "clients": clients}

    async def stop(self) -> None:
        for conn in self.conns:
            conn.send({"op": "stop"})
        for _ in self.conns:
            try:
                await asyncio.wait_for(self.replies.get(), 10)
            except TimeoutError:
                break
        for client in self.clients.values():
            if client.pc is not None:
                await client.pc.close()
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()

