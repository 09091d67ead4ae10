"""The server side of scripts/bench_media.py: media worker processes.

Each worker runs hubs (the passthrough ``MediaHub`` with feedback counters, or the
``MediaRelay`` re-encode baseline) on its own event loop, uvloop or asyncio's, and answers
the parent's requests over a pipe: signalling, plans, latencies, the RTP path's accounting,
counters, and a tight-loop timing of the forwarding function.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from aiortc.contrib.media import MediaRelay

from courtroom.domain.routing import Link, MediaKind, Route
from media import aiortc_internals as internals
from media.config import IceMode, MediaConfig
from media.hub import MediaHub
from media.peer import ServerPeer, codec_preferences
from media.rtp import CachedPacket, RtpStats, fan_out


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of ``pid`` in ns resolution (``/proc/<pid>/task/*/schedstat``;
    ``/proc/<pid>/stat`` counts 10 ms ticks, too coarse for a few packets per second).
    Threads that ended are not counted, so use it on long-lived processes only."""
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(FileNotFoundError), \
                    open(f"/proc/{pid}/task/{task}/schedstat") as fh:
                total += int(fh.read().split()[0])
    if total:
        return total / 1e9
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")



class RelayHub(MediaHub):
    """Baseline: aiortc as usual (receiver decodes) + MediaRelay, so one encode per subscriber.

    Two things the first version got wrong, which made the baseline's subscribers
    show 0 fps: its transceivers were not in the offer's ``tracks`` map, so the bench
    clients never counted what they received; and a route whose publisher had not
    answered yet was silently never opened. Now each relay transceiver is labelled
    like an outlet, and a route waits in ``_pending`` and is retried after every answer.
    """

    def __init__(self, config: MediaConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        self._relay = MediaRelay()
        self._receivers: dict[tuple[str, MediaKind], Any] = {}
        self._pending: set[Route] = set()
        self._labels: dict[str, list[tuple[Any, dict[str, str]]]] = {}

    def _attach_receiver(self, participant: str, kind: MediaKind, receiver: Any) -> None:
        self._receivers[(participant, kind)] = receiver

    def open(self, route: Route) -> bool:
        peer = self._peers.get(route.destination)
        receiver = self._receivers.get((route.source, route.kind))
        if peer is None or receiver is None or receiver.track is None:
            self._pending.add(route)
            return False
        self._pending.discard(route)
        track = self._relay.subscribe(receiver.track, buffered=False)
        t = peer.pc.addTransceiver(track, direction="sendonly")
        t.setCodecPreferences(codec_preferences(track.kind, self.config.video_codec))
        labels = self._labels.setdefault(route.destination, [])
        if not labels:
            peer.track_map = lambda peer=peer: self._track_map(peer)  # type: ignore[method-assign]
        labels.append((t, {"source": route.source, "kind": route.kind.value,
                           "link": route.link.value}))
        return True

    def _track_map(self, peer: Any) -> dict[str, dict[str, str]]:
        tracks = ServerPeer.track_map(peer)
        for t, info in self._labels.get(peer.participant, []):
            if t.mid is not None:
                tracks[t.mid] = info
        return tracks

    async def handle_signal(self, participant: str, message: Any) -> None:
        await super().handle_signal(participant, message)
        if message.get("type") == "answer" and self._pending:
            renegotiate = {r.destination for r in sorted(self._pending) if self.open(r)}
            await asyncio.gather(*(self._peers[d].negotiate() for d in renegotiate))


class BenchHub(MediaHub):
    """The passthrough hub plus RTCP feedback counters (server receivers and senders)."""

    def __init__(self, config: MediaConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        self.feedback_in: dict[str, internals.FeedbackCounter] = {}  # publisher pid/kind
        self.feedback_out: dict[str, internals.FeedbackCounter] = {}  # route key

    def _attach_receiver(self, participant: str, kind: MediaKind, receiver: Any) -> None:
        super()._attach_receiver(participant, kind, receiver)
        counter = self.feedback_in.setdefault(f"{participant}/{kind.value}",
                                              internals.FeedbackCounter())
        internals.count_receiver_feedback(receiver, counter)

    def open(self, route: Route) -> bool:
        renegotiate = super().open(route)
        peer = self._peers.get(route.destination)
        outlet = peer.outlets.get((route.source, route.kind, route.link)) if peer else None
        key = f"{route.source}->{route.destination}/{route.kind.value}/{route.link.value}"
        if outlet is not None and key not in self.feedback_out:
            counter = self.feedback_out[key] = internals.FeedbackCounter()
            internals.count_retransmissions(outlet.transceiver.sender, counter)
        return renegotiate

    async def bench_counters(self) -> dict[str, Any]:
        diag = await self.diagnostics()
        for key, counter in self.feedback_in.items():
            diag["sources"].setdefault(key, {}).update(
                {f"server_{k}": v for k, v in counter.as_dict().items()
                 if k in ("plis", "nacked")})
        for key, counter in self.feedback_out.items():
            diag["routes"].setdefault(key, {}).update(
                {k: v for k, v in counter.as_dict().items() if k.startswith("retransmit")})
        return diag



def worker_main(conn: Any, relay: bool, record_dir: str | None, loop: str = "uvloop") -> None:
    """A worker process: ``loop`` is "uvloop" (the server's default) or "asyncio"."""
    if loop == "uvloop":
        import uvloop

        uvloop.run(_worker(conn, relay, record_dir))
    else:
        asyncio.run(_worker(conn, relay, record_dir))


def forwarding_tight_loop(hubs: dict[str, MediaHub], packets: int) -> dict[str, float]:
    """CPU per forwarded packet of ``rtp.fan_out`` called back to back (hot caches, no event
    loop in between) on the live, connected down tracks of the first video source that has
    subscribers: the per-packet cost of the code itself, next to the floor. The copies go to
    the real subscribers (sequence numbers continue the source's), so run it last."""
    for hub in hubs.values():
        for (_pid, kind), source in hub._sources.items():
            tracks = source.hub.subscribers
            if kind is not MediaKind.VIDEO or not tracks:
                continue
            cached = [p for p in source.hub.cache._slots if p is not None]
            last = max(cached, key=lambda p: p.arrival)
            payload = max(cached, key=lambda p: len(p.payload)).payload
            before = sum(t.forwarded for t in tracks)
            c0 = time.thread_time_ns()
            for i in range(1, packets + 1):
                fan_out(CachedPacket((last.seq + i) & 0xFFFF, last.timestamp, 0, payload,
                                     False, last.epoch, time.monotonic()), tracks)
            cpu = time.thread_time_ns() - c0
            out = sum(t.forwarded for t in tracks) - before
            return {"us_per_packet": cpu / max(out, 1) / 1e3, "packets_out": out,
                    "payload_bytes": len(payload)}
    return {"us_per_packet": float("nan"), "packets_out": 0, "payload_bytes": 0}


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
                                 else None, rtp_forwarding=msg.get("rtp", True),
                                 inline_receive=msg.get("inline_receive", True))
            RtpStats.timing = True
            cls = RelayHub if relay else BenchHub
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
        elif op == "rtpstats":
            send({"op": "rtpstats", "values": {
                "forward_ns": RtpStats.forward_ns, "packets_out": RtpStats.packets_out,
                "forward_cpu_ns": RtpStats.forward_cpu_ns,
                "forwarded": sum(n for hub in hubs.values()
                                 for n in hub.counters.forwarded.values()),
                "packets_in": sum(hub.source_hub(pid, kind).packets_in
                                  for hub in hubs.values() for (pid, kind) in hub._sources)}})
        elif op == "counters":
            send({"op": "counters", "values": {
                name: await hub.bench_counters() for name, hub in hubs.items()
                if isinstance(hub, BenchHub)}})
        elif op == "tightloop":
            send({"op": "tightloop", "values": forwarding_tight_loop(hubs, msg["packets"])})
        elif op == "stop":
            for hub in hubs.values():
                await hub.close()
            send({"op": "stopped"})
            return

