#!/usr/bin/env python
"""Media hub benchmark: real aiortc peers on loopback, servers in worker processes.

1. Forwarding cost: one 640x360@15 VP8 publisher, K subscribers. Server CPU with K
   subscribers minus with 0, per subscriber, for the passthrough hub and for a
   MediaRelay baseline (decode once, one encode per subscriber) in the same run.
2. Server-added latency: frame complete at the server -> handed to the sender, p50/p95.
3. Capacity: H 5-party hearings (audio+video, taps, recording), hearings assigned
   round-robin to 2 media worker processes; every subscriber must keep >= 14 fps.

Clients publish pre-encoded VP8 (encoded once, looped) and count received frames
without decoding, so the client side stays cheap enough to share the 2 cores.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import av  # noqa: E402
import numpy as np  # noqa: E402
from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.contrib.media import MediaRelay  # noqa: E402
from aiortc.mediastreams import MediaStreamTrack  # noqa: E402

from courtroom.domain.routing import Link, MediaKind, Route  # noqa: E402
from media import aiortc_internals as internals  # noqa: E402
from media.config import IceMode, MediaConfig  # noqa: E402
from media.hub import MediaHub  # noqa: E402
from media.peer import codec_preferences, filter_loopback_candidates, rtc_configuration  # noqa: E402

W, H, FPS = 640, 360, 15


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- server side (worker process) -------------------------------------------------

class RelayHub(MediaHub):
    """Baseline: aiortc as usual (receiver decodes) + MediaRelay, so one encode per subscriber."""

    def __init__(self, config: MediaConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        self._relay = MediaRelay()
        self._receivers: dict[tuple[str, MediaKind], Any] = {}

    def _attach_receiver(self, participant: str, kind: MediaKind, receiver: Any) -> None:
        self._receivers[(participant, kind)] = receiver

    def open(self, route: Route) -> bool:
        peer = self._peers.get(route.destination)
        receiver = self._receivers.get((route.source, route.kind))
        if peer is None or receiver is None or receiver.track is None:
            return False
        track = self._relay.subscribe(receiver.track, buffered=False)
        t = peer.pc.addTransceiver(track, direction="sendonly")
        t.setCodecPreferences(codec_preferences(track.kind, self.config.video_codec))
        return True


def worker_main(conn: Any, relay: bool, record_dir: str | None) -> None:
    asyncio.run(_worker(conn, relay, record_dir))


async def _worker(conn: Any, relay: bool, record_dir: str | None) -> None:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    threading.Thread(target=lambda: [loop.call_soon_threadsafe(inbox.put_nowait, m)
                                     for m in iter(conn.recv, None)], daemon=True).start()
    hubs: dict[str, MediaHub] = {}
    tasks: set[asyncio.Future[None]] = set()
    send_lock = threading.Lock()

    def send(obj: Any) -> None:
        with send_lock:
            conn.send(obj)

    while True:
        msg = await inbox.get()
        op = msg["op"]
        if op == "hub":
            config = MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, taps=msg["taps"],
                                 recording_dir=Path(record_dir) if msg["record"] and record_dir
                                 else None)
            cls = RelayHub if relay else MediaHub
            hub = cls(config, hearing=msg["hearing"])
            hub.send_signal = (lambda h: lambda pid, m: send(
                {"op": "signal", "hearing": h, "pid": pid, "msg": m}))(msg["hearing"])
            hubs[msg["hearing"]] = hub
        elif op == "signal":
            task = asyncio.ensure_future(hubs[msg["hearing"]].handle_signal(msg["pid"], msg["msg"]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif op == "plan":
            plan = frozenset(Route(s, MediaKind(k), d, Link(li)) for s, k, d, li in msg["routes"])
            await hubs[msg["hearing"]].apply_plan(plan)
        elif op == "latency":
            lat: list[float] = []
            for hub in hubs.values():
                lat.extend(hub.latencies())
            send({"op": "latency", "values": lat})
        elif op == "stop":
            for hub in hubs.values():
                await hub.close()
            send({"op": "stopped"})
            return


# --- client side (parent process) ------------------------------------------------

def encoded_loop(seconds: int = 2) -> list[bytes]:
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = W, H, "yuv420p"
    enc.time_base = fractions.Fraction(1, 90000)
    enc.bit_rate = 600_000
    enc.gop_size = FPS  # a keyframe every second: pre-encoded tracks ignore PLI
    enc.options = {"deadline": "realtime", "cpu-used": "8"}
    out: list[bytes] = []
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    for i in range(seconds * FPS):
        img = np.roll(noise, i * 8, axis=1)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i * 6000
        out.extend(bytes(p) for p in enc.encode(frame))
    return out


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
    def __init__(self, kind: str, packets: list[bytes], step: int, period: float,
                 rate: int) -> None:
        super().__init__()
        self.kind = kind
        self._packets, self._step, self._period, self._rate = packets, step, period, rate
        self._i = 0
        self._t0: float | None = None

    async def recv(self) -> Any:
        if self._t0 is None:
            self._t0 = time.monotonic()
        delay = self._t0 + self._i * self._period - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        p = av.Packet(self._packets[self._i % len(self._packets)])
        p.pts, p.time_base = self._i * self._step, fractions.Fraction(1, self._rate)
        self._i += 1
        return p


class BenchClient:
    def __init__(self, hearing: str, pid: str, send: Any, video: list[bytes] | None,
                 audio: bytes | None) -> None:
        self.hearing, self.pid, self._send = hearing, pid, send
        self.video, self.audio = video, audio
        self.pc: RTCPeerConnection | None = None
        self.frames: dict[str, list[float]] = {}
        self.tracks: dict[str, dict[str, str]] = {}
        self._published = False
        self.config = MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY)

    async def handle(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "config":
            self.pc = RTCPeerConnection(rtc_configuration(self.config, []))
        elif msg["type"] == "offer":
            assert self.pc is not None
            await self.pc.setRemoteDescription(RTCSessionDescription(
                sdp=filter_loopback_candidates(msg["sdp"]), type="offer"))
            self.tracks = msg["tracks"]
            for t in self.pc.getTransceivers():
                mid = t.mid
                if mid is not None and "source" in self.tracks.get(mid, {}):
                    # count frames without decoding them
                    internals.tap_receiver(t.receiver, lambda *a, mid=mid: self.frames.setdefault(
                        mid, []).append(time.monotonic()))
            if not self._published:
                self._published = True
                if self.audio is not None:
                    self.pc.addTrack(PacketTrack("audio", [self.audio], 960, 0.02, 48000))
                if self.video is not None:
                    self.pc.addTrack(PacketTrack("video", self.video, 6000, 1 / FPS, 90000))
            answer = await self.pc.createAnswer()
            with internals.loopback_ice():
                await self.pc.setLocalDescription(answer)
            self._send({"op": "signal", "hearing": self.hearing, "pid": self.pid,
                        "msg": {"type": "answer", "sdp": self.pc.localDescription.sdp,
                                "seq": msg["seq"]}})

    def fps(self, since: float, until: float) -> dict[str, float]:
        out = {}
        for mid, info in self.tracks.items():
            if info.get("kind") == "video":
                n = sum(1 for t in self.frames.get(mid, []) if since <= t < until)
                out[f"{info['source']}->{self.pid}"] = n / (until - since)
        return out


class Cluster:
    """Worker processes plus the parent's client event loop."""

    def __init__(self, workers: int, relay: bool, record_dir: str | None) -> None:
        ctx = mp.get_context("spawn")
        self.conns, self.procs = [], []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker_main, args=(child, relay, record_dir), daemon=True)
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
                      video: list[bytes], audio: bytes | None) -> None:
        self.assign[name] = len(self.assign) % len(self.conns)
        self.send(name, {"op": "hub", "hearing": name, "taps": taps, "record": record})
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


async def fanout_cost(relay: bool, subscribers: int, seconds: float, video: list[bytes]
                      ) -> tuple[float, list[float], float]:
    cluster = Cluster(1, relay, None)
    people = ["pub"] + [f"sub{i}" for i in range(subscribers)]
    routes = [("pub", "video", s, "hearing") for s in people[1:]]
    await cluster.hearing("h", people, ["pub"], routes, taps=False, record=False,
                          video=video, audio=None)
    await asyncio.sleep(1.5)  # warm up
    c0, t0 = cluster.cpu()[0], time.monotonic()
    await asyncio.sleep(seconds)
    c1, t1 = cluster.cpu()[0], time.monotonic()
    fps = [f for c in cluster.clients.values() for f in c.fps(t0, t1).values()]
    lat = await cluster.latency()
    await cluster.stop()
    return (c1 - c0) / (t1 - t0), lat, min(fps) if fps else 0.0


async def capacity(hearings: int, seconds: float, video: list[bytes], audio: bytes,
                   record_dir: str) -> dict[str, Any]:
    cluster = Cluster(2, False, record_dir)
    people = ["judge", "party", "witness", "clerk", "lawyer"]
    routes = [(s, k, d, "hearing") for s in people for d in people if s != d
              for k in ("audio", "video")]
    for h in range(hearings):
        await cluster.hearing(f"h{h}", people, people, routes, taps=True, record=True,
                              video=video, audio=audio)
    await asyncio.sleep(2.0)
    c0, t0, p0 = cluster.cpu(), time.monotonic(), cpu_seconds(os.getpid())
    await asyncio.sleep(seconds)
    c1, t1, p1 = cluster.cpu(), time.monotonic(), cpu_seconds(os.getpid())
    fps = [f for c in cluster.clients.values() for f in c.fps(t0, t1).values()]
    await cluster.stop()
    per_worker = [(b - a) / (t1 - t0) for a, b in zip(c0, c1, strict=True)]
    return {"hearings": hearings, "min_fps": round(min(fps), 2) if fps else 0.0,
            "median_fps": round(sorted(fps)[len(fps) // 2], 2) if fps else 0.0,
            "subscribers": len(fps), "worker_cpu": [round(x, 3) for x in per_worker],
            "client_process_cpu": round((p1 - p0) / (t1 - t0), 3),
            "ok": bool(fps) and len(fps) == hearings * 20 and min(fps) >= 14.0}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--subscribers", type=int, default=4)
    ap.add_argument("--max-hearings", type=int, default=2,
                    help="try 1..N 5-party hearings (quick default: 2)")
    args = ap.parse_args()

    video = encoded_loop()
    audio = opus_packet()
    result: dict[str, Any] = {}
    base_pt, _, _ = await fanout_cost(False, 0, args.seconds, video)
    k_pt, lat, fps_pt = await fanout_cost(False, args.subscribers, args.seconds, video)
    base_rl, _, _ = await fanout_cost(True, 0, args.seconds, video)
    k_rl, _, fps_rl = await fanout_cost(True, args.subscribers, args.seconds, video)
    per_pt = max(k_pt - base_pt, 1e-4) / args.subscribers
    per_rl = max(k_rl - base_rl, 1e-4) / args.subscribers
    print(f"passthrough: server {base_pt:.3f} core with 0 subs, {k_pt:.3f} with "
          f"{args.subscribers} -> {per_pt:.4f} core/stream (min fps {fps_pt:.1f})")
    print(f"MediaRelay : server {base_rl:.3f} core with 0 subs, {k_rl:.3f} with "
          f"{args.subscribers} -> {per_rl:.4f} core/stream (min fps {fps_rl:.1f})")
    print(f"server-added latency: p50 {pct(lat, .5) * 1000:.2f} ms, p95 {pct(lat, .95) * 1000:.2f} ms")
    result.update({
        "cpu_per_stream_passthrough": round(per_pt, 4),
        "cpu_per_stream_relay": round(per_rl, 4),
        "cost_ratio": round(per_pt / per_rl, 4),
        "latency_p50_ms": round(pct(lat, .5) * 1000, 2),
        "latency_p95_ms": round(pct(lat, .95) * 1000, 2),
    })
    runs = []
    with tempfile.TemporaryDirectory() as rec:
        for h in range(1, args.max_hearings + 1):
            run = await capacity(h, args.seconds, video, audio, rec)
            runs.append(run)
            print(f"{h} hearing(s) on 2 workers: subscriber fps min {run['min_fps']} "
                  f"median {run['median_fps']}, worker cpu {run['worker_cpu']}, "
                  f"client process cpu {run['client_process_cpu']}, ok={run['ok']}")
            if not run["ok"]:
                break
    carried = max((r["hearings"] for r in runs if r["ok"]), default=0)
    best = next((r for r in runs if r["hearings"] == carried), None)
    per_hearing = sum(best["worker_cpu"]) / carried if best else None
    result.update({
        "hearings_ok": carried,
        "hearings_tried": len(runs),
        "cpu_per_hearing": round(per_hearing, 3) if per_hearing else None,
        "hearings_est_2_cores": int(2 * 0.85 / per_hearing) if per_hearing else None,
        "capacity_runs": runs,
    })
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
