"""Broadcast composition next to forwarding, on the same hearing, in the same run.

The hearing: a judge and a plaintiff in the hearing, a witness waiting. All three publish
the same pre-encoded media (``media_clients.VideoLoop``, 640x360@15 VP8, and one Opus
packet, looped). Measured, in one run:

* forwarding: the media worker's CPU with the hearing's routes (judge <-> plaintiff, audio
  and video: 4 forwarded streams; the waiting witness receives and sends nothing) minus the
  same worker with the same three publishers and no routes, as ``bench_media`` measures its
  per-stream cost (with K subscribers minus with none), on the RTP path and uvloop;
* composition: ``courtroom.broadcast.studio.Studio`` fed as the server feeds it, with the
  *decoded* frames of that same VP8 loop in the judge's, plaintiff's and witness's taps
  (15 fps) and that same Opus packet in the on-air voices' sinks (50 a second): this
  process's CPU (every thread, libx264's included) minus the same feeders with no studio.

Not counted in the composition: decoding the taps (the server decodes them for vision and
transcription anyway while a hearing is recorded or watched; docs/media.md).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import av

from .media_clients import Cluster, VideoLoop, opus_packet
from .media_flow import median_of
from .media_worker import cpu_seconds

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "tests" / "unit"))  # domain_fixtures: a hearing's state

from domain_fixtures import in_phase, scheduled, with_cast  # noqa: E402

from courtroom.broadcast.mix import AudioSink  # noqa: E402
from courtroom.broadcast.studio import Studio, StudioConfig  # noqa: E402
from courtroom.domain import events as e  # noqa: E402
from courtroom.domain.hearing import evolve  # noqa: E402
from courtroom.domain.phases import Phase  # noqa: E402
from media.forward import EncodedFrame  # noqa: E402

ON_AIR = ("judge", "plaintiff")
WAITING = "witness"
SIZES = ((640, 360), (1280, 720))


def hearing_routes() -> list[tuple[str, str, str, str]]:
    """The hearing's plan: the two on the bench and the floor see and hear each other."""
    a, b = ON_AIR
    return [(s, k, d, "hearing") for s, d in ((a, b), (b, a)) for k in ("audio", "video")]


async def forwarding_window(routes: list[tuple[str, str, str, str]], seconds: float,
                            video: VideoLoop, audio: bytes) -> dict[str, Any]:
    """One media worker with the hearing's three publishers and ``routes``: its CPU."""
    cluster = Cluster(1, False, None)
    people = [*ON_AIR, WAITING]
    await cluster.hearing("h", people, people, routes, taps=False, record=False,
                          video=video, audio=audio)
    await asyncio.sleep(1.5)  # warm up (ICE, DTLS, first keyframes)
    c0, t0 = cluster.cpu()[0], time.monotonic()
    await asyncio.sleep(seconds)
    c1, t1 = cluster.cpu()[0], time.monotonic()
    fps = [f for c in cluster.clients.values() for f in c.fps(t0, t1).values()]
    await cluster.stop()
    return {"cores": (c1 - c0) / (t1 - t0), "min_fps": round(min(fps), 2) if fps else 0.0,
            "load": round(os.getloadavg()[0], 2)}


async def forwarding_same_hearing(seconds: float, video: VideoLoop, audio: bytes,
                                  rounds: int = 1) -> dict[str, Any]:
    """The median of ``rounds`` differences: a difference of two noisy server figures
    (about 0.05 core each) that is itself about 0.01 core swings with the shared cores."""
    return await median_of(rounds, lambda: forwarding_once(seconds, video, audio))


async def forwarding_once(seconds: float, video: VideoLoop, audio: bytes) -> dict[str, Any]:
    """The hearing's forwarding CPU: with its routes minus with none, same publishers."""
    base = await forwarding_window([], seconds, video, audio)
    full = await forwarding_window(hearing_routes(), seconds, video, audio)
    streams = len(hearing_routes())
    marginal = full["cores"] - base["cores"]
    return {"cores": round(marginal, 4), "streams": streams,
            "per_stream": round(marginal / streams, 5),
            "server_no_routes_cores": round(base["cores"], 4),
            "server_with_routes_cores": round(full["cores"], 4),
            "min_fps": full["min_fps"], "load": [base["load"], full["load"]],
            # a subscriber under 14 fps: the shared cores starved it, the figure is low
            "starved": full["min_fps"] < 14.0}


class Tap:
    """The newest decoded frame of one participant, as media/stages.LatestFrameTap keeps it."""

    def __init__(self) -> None:
        self.frame: Any = None
        self.at = 0.0
        self._lock = threading.Lock()

    def latest(self) -> tuple[Any, float] | None:
        with self._lock:
            return None if self.frame is None else (self.frame, self.at)

    def put(self, frame: Any) -> None:
        with self._lock:
            self.frame, self.at = frame, time.monotonic()


def decoded(video: VideoLoop) -> list[Any]:
    """The VP8 loop the publishers send, decoded once, as a tap's decoder gives it."""
    dec = av.CodecContext.create("libvpx", "r")
    frames = [f for data in video.main for f in dec.decode(av.Packet(data))]
    assert frames and frames[0].width == 640, "the VP8 loop did not decode"
    return frames


def feeders(taps: dict[str, Tap], sinks: list[AudioSink], frames: list[Any], audio: bytes,
            stop: threading.Event) -> list[threading.Thread]:
    def video() -> None:
        i = 0
        while not stop.wait(1 / 15):
            for tap in taps.values():
                tap.put(frames[i % len(frames)])
            i += 1

    def voice() -> None:
        i = 0
        while not stop.wait(0.02):
            for sink in sinks:
                sink.offer(EncodedFrame("audio/opus", 48000, audio, i * 960, True,
                                        time.monotonic(), 0))
            i += 1

    return [threading.Thread(target=video, daemon=True), threading.Thread(target=voice, daemon=True)]


def on_air_state() -> Any:
    """A hearing in evidence with a broadcast on, only the judge and the plaintiff on air."""
    state = evolve(in_phase(with_cast(scheduled()), Phase.EVIDENCE), e.BroadcastStarted(1))
    for pid in ("defendant", "lawyer", "interpreter", "clerk"):
        state = evolve(state, e.BroadcastExclusionChanged(pid, True))
    return state


def composition_window(size: tuple[int, int] | None, seconds: float, fps: int,
                       frames: list[Any], audio: bytes) -> dict[str, Any]:
    """This process's CPU over ``seconds`` with a studio at ``size`` (None: feeders only)."""
    state = on_air_state()
    taps = {pid: Tap() for pid in (*ON_AIR, WAITING)}
    sinks = [AudioSink(pid) for pid in ON_AIR]
    stop = threading.Event()
    threads = feeders(taps, sinks, frames, audio, stop)
    for t in threads:
        t.start()
    studio = None
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as out:
        if size is not None:
            studio = Studio(lambda: state, taps.get, Path(out) / "hls",
                            StudioConfig(size=size, fps=fps, delay_s=2.0))
            for sink in sinks:
                studio.add_voice(sink)
            studio.start()
        time.sleep(1.0)  # warm up (encoder start, first segments)
        c0, t0 = cpu_seconds(os.getpid()), time.monotonic()
        time.sleep(seconds)
        result["cores"] = round((cpu_seconds(os.getpid()) - c0) / (time.monotonic() - t0), 4)
        if studio is not None:
            ticks, skipped = studio.ticks, studio.skipped
            studio.stop(publish_rest=True)
            result.update(ticks=ticks, skipped=skipped,
                          segments=len(list((Path(out) / "hls").glob("seg-*.ts"))),
                          error=repr(studio.error) if studio.error else None)
    stop.set()
    for t in threads:
        t.join()
    result["load"] = round(os.getloadavg()[0], 2)
    return result


async def broadcast_vs_forwarding(seconds: float, fps: int = 15,
                                  rounds: int = 1) -> dict[str, Any]:
    """Both figures, one run, and their ratios; flat keys for bench_media's JSON."""
    video, audio = VideoLoop.load(), opus_packet()
    forwarding = await forwarding_same_hearing(seconds, video, audio, rounds)
    frames = decoded(video)
    base = composition_window(None, seconds, fps, frames, audio)
    runs: dict[str, Any] = {}
    for w, h in SIZES:
        got = composition_window((w, h), seconds, fps, frames, audio)
        got["composition_cores"] = round(got["cores"] - base["cores"], 4)
        runs[f"{w}x{h}"] = got
    fwd = max(forwarding["cores"], 1e-4)  # a floor so a noise-level figure cannot divide by 0
    out: dict[str, Any] = {"forwarding_same_hearing_core": forwarding["cores"],
                           "forwarding_same_hearing": forwarding,
                           "broadcast_feeders_baseline_core": base["cores"],
                           "broadcast_fps": fps, "broadcast_seconds": seconds,
                           "broadcast_runs": runs}
    server = forwarding["server_with_routes_cores"]  # receiving too: the hearing's whole media
    for size, run in runs.items():
        out[f"broadcast_{size}_core"] = run["composition_cores"]
        out[f"broadcast_{size}_to_forwarding"] = round(run["composition_cores"] / fwd, 1)
        out[f"broadcast_{size}_to_hearing_media_server"] = round(
            run["composition_cores"] / max(server, 1e-4), 2)
        # a studio that skipped ticks was starved by the shared cores: its figure is low
        out[f"broadcast_{size}_starved"] = bool(run.get("skipped"))
    out["broadcast_720_to_360"] = round(runs["1280x720"]["composition_cores"]
                                        / max(runs["640x360"]["composition_cores"], 1e-6), 2)
    return out
