"""Recordings: remuxed WebM segments that PyAV and ffprobe open, hashed, and SIGKILL-safe."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import pytest
from media_clients import LoopbackClient, wire

from courtroom.domain.routing import MediaKind, Route
from media.config import IceMode, MediaConfig
from media.hub import MediaHub
from media.recording import FinishedFile

pytestmark = [pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def ffprobe(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-show_entries",
         "stream=codec_name,nb_read_packets,width,height", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=20, check=True)
    return dict(json.loads(out.stdout))


def decodes(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams[0]))


@pytest.mark.timeout(40)
async def test_hub_records_every_track_as_received(tmp_path: Path) -> None:
    done: list[FinishedFile] = []
    hub = MediaHub(MediaConfig(ice_mode=IceMode.LOOPBACK_ONLY, recording_dir=tmp_path,
                               segment_seconds=1.0), hearing="h1", on_recording=done.append)
    clients = {p: LoopbackClient(p, hub) for p in ("judge", "party")}
    wire(hub, clients)
    await asyncio.gather(*(c.connect() for c in clients.values()))
    await hub.apply_plan(frozenset({Route("judge", MediaKind.VIDEO, "party")}))
    await asyncio.sleep(2.6)
    for c in clients.values():
        await c.close()
    await hub.close()
    t_end = hub.clock.now()

    assert {(f.participant, f.kind) for f in done} == {
        (p, k) for p in ("judge", "party") for k in ("audio", "video")}
    for f in done:
        assert f.path.parent == tmp_path / "h1"
        assert hashlib.sha256(f.path.read_bytes()).hexdigest() == f.sha256
        assert f.size == f.path.stat().st_size
        assert 0 <= f.start <= f.end <= t_end
        streams = ffprobe(f.path)["streams"]
        assert isinstance(streams, list)
        assert streams[0]["codec_name"] == ("vp8" if f.kind == "video" else "opus")
        assert int(streams[0]["nb_read_packets"]) > 0
        assert decodes(f.path) > 0
    videos = [f for f in done if f.kind == "video" and f.participant == "judge"]
    assert len(videos) >= 2  # segmented (new file at a keyframe after 1 s)


KILL_SCRIPT = textwrap.dedent("""
    import fractions, sys, time
    import av, numpy as np
    from pathlib import Path
    from media.forward import EncodedFrame, is_keyframe
    from media.recording import RecordingClock, TrackRecorder
    out = Path(sys.argv[1]); clock = RecordingClock()
    enc = av.CodecContext.create("libvpx", "w"); enc.width, enc.height = 160, 120
    enc.pix_fmt = "yuv420p"; enc.time_base = fractions.Fraction(1, 90000); enc.gop_size = 10
    enc.options = {"deadline": "realtime", "cpu-used": "8"}
    rec = TrackRecorder(out, "witness", "video", clock, lambda f: print(f.path, flush=True),
                        segment_seconds=1.0)
    i = 0
    while True:
        img = np.full((120, 160, 3), (i * 7) % 255, np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i * 6000
        for p in enc.encode(frame):
            d = bytes(p)
            rec.offer(EncodedFrame("video/VP8", 90000, d, i * 6000, is_keyframe("video/VP8", d),
                                   time.monotonic(), 1))
        i += 1
        time.sleep(1 / 15)
""")


@pytest.mark.timeout(30)
def test_sigkill_leaves_segments_playable(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 15
        finished = 0
        assert proc.stdout is not None
        while finished < 2:  # two segments closed, a third one open
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline
            finished += 1
        time.sleep(0.8)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
    files = sorted(tmp_path.glob("*.webm"))
    assert len(files) >= 3
    for path in files:  # the finished ones and the one being written at the kill
        streams = ffprobe(path)["streams"]
        assert isinstance(streams, list) and streams[0]["codec_name"] == "vp8"
        assert int(streams[0]["nb_read_packets"]) > 0, path
        assert decodes(path) > 0, path
