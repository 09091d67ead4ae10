"""Clips by remux: the recorder's own segments (media/recording.py) of a VP8 track whose frame
colour encodes its time, and an Opus track; the clip starts at a keyframe at or before the
asked start, spans segments, copies the packets unchanged and is named by its hash."""

from __future__ import annotations

import fractions
import hashlib
import itertools
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from media.clips import NothingToCut, Source, cut
from media.forward import EncodedFrame
from media.recording import FinishedFile, RecordingClock, TrackRecorder

FPS = 10
KEY_EVERY = 10  # one keyframe a second


def _shade(t: float) -> int:
    return int(20 + t * 20) % 256  # 0.1 s apart stays > 1 level apart after VP8


def _video_frames(seconds: float) -> list[tuple[float, bytes, bool]]:
    enc: Any = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 160, 120, "yuv420p"
    enc.time_base = fractions.Fraction(1, FPS)
    enc.gop_size = KEY_EVERY
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out = []
    for i in range(int(seconds * FPS)):
        rgb = np.full((120, 160, 3), _shade(i / FPS), np.uint8)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        frame.pict_type = av.video.frame.PictureType.I if i % KEY_EVERY == 0 else 0
        for p in enc.encode(frame):
            out.append((float(p.pts) / FPS, bytes(p), bool(p.is_keyframe)))
    return out


def _audio_frames(seconds: float) -> list[tuple[float, bytes]]:
    enc: Any = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "mono", "s16"
    out, n = [], 960
    for i in range(int(seconds * 50)):
        pcm = (np.sin(np.arange(n) / 8.0) * 3000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, i * n
        for p in enc.encode(frame):
            out.append((i / 50, bytes(p)))
    return out


def _record(
    tmp: Path, seconds: float = 8.0, first_late_s: float = 0.0
) -> tuple[list[FinishedFile], RecordingClock]:
    clock = RecordingClock()
    done: list[FinishedFile] = []
    origin = clock.at(0.0) * -1  # clock.at(origin + t) == t

    video = TrackRecorder(tmp, "p1", "video", clock, done.append, segment_seconds=4.0)
    for t, data, key in _video_frames(seconds):
        late = first_late_s if t == 0 else 0.0  # the first frame arrived late: timed late
        video.offer(
            EncodedFrame("video/VP8", 90000, data, int(t * 90000), key, origin + t + late, 0)
        )
    video.close()
    audio = TrackRecorder(tmp, "p1", "audio", clock, done.append, segment_seconds=4.0)
    for t, data in _audio_frames(seconds):
        audio.offer(EncodedFrame("audio/opus", 48000, data, int(t * 48000), True, origin + t, 0))
    audio.close()
    return done, clock


def _sources(done: list[FinishedFile]) -> list[Source]:
    return [Source(f.path, f.kind, f.start, f.end) for f in done]


def _first_shade(path: Path) -> int:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return int(frame.to_ndarray(format="rgb24")[60, 80, 0])


def test_a_clip_starts_at_the_keyframe_before_and_spans_two_segments(tmp_path: Path) -> None:
    done, _ = _record(tmp_path / "rec")
    assert len([f for f in done if f.kind == "video"]) == 2
    clip = cut(_sources(done), 3.35, 5.5, tmp_path / "clips")

    assert clip.t0 == pytest.approx(3.0, abs=0.01)  # the keyframe at or before 3.35
    assert clip.t1 == pytest.approx(5.5, abs=0.15)
    assert clip.path.name == f"{clip.sha256}.webm"
    assert hashlib.sha256(clip.path.read_bytes()).hexdigest() == clip.sha256
    assert clip.bytes == clip.path.stat().st_size
    assert len(clip.sources) == 4  # two video and two audio segments
    assert abs(_first_shade(clip.path) - _shade(3.0)) <= 1
    with av.open(str(clip.path)) as c:
        assert {s.type for s in c.streams} == {"video", "audio"}
        frames = list(c.decode(video=0))
        assert len(frames) == pytest.approx(26, abs=1)  # 3.0 .. 5.5 at 10 fps
        last = frames[-1].to_ndarray(format="rgb24")[60, 80, 0]
        assert abs(int(last) - _shade(5.5)) <= 1


def test_the_packets_are_copied_not_re_encoded(tmp_path: Path) -> None:
    done, _ = _record(tmp_path / "rec")
    clip = cut(_sources(done), 1.0, 2.0, tmp_path / "clips")
    first = next(f for f in done if f.kind == "video")
    with av.open(str(first.path)) as c:
        source = [bytes(p) for p in c.demux(video=0) if p.size]
    with av.open(str(clip.path)) as c:
        copied = [bytes(p) for p in c.demux(video=0) if p.size]
    assert copied and copied == source[10 : 10 + len(copied)]


def test_a_segment_timed_late_overlapping_the_next_stays_in_order(tmp_path: Path) -> None:
    # The first segment is timed from its first frame's late arrival, so its tail runs 1.5 s
    # into the next segment's time: the clip must not interleave the two.
    done, _ = _record(tmp_path / "rec", first_late_s=1.5)
    clip = cut(_sources(done), 3.0, 6.5, tmp_path / "clips")
    with av.open(str(clip.path)) as c:
        packets = [p for p in c.demux(video=0) if p.size]
        pts = [p.pts for p in packets]
    with av.open(str(clip.path)) as c:
        frames = list(c.decode(video=0))  # an interleaved clip fails to decode here
    assert pts == sorted(pts) and len(frames) == len(packets)
    shades = [int(f.to_ndarray(format="rgb24")[60, 80, 0]) for f in frames]
    assert all(b >= a - 1 for a, b in itertools.pairwise(shades))  # time runs forward
    assert abs(shades[-1] - _shade(6.5)) <= 1  # the next segment's frames are in, after


def test_a_start_between_two_segments_takes_the_keyframe_before(tmp_path: Path) -> None:
    done, _ = _record(tmp_path / "rec")
    first = next(f for f in done if f.kind == "video")
    between = first.end + 0.05  # after the first segment's last frame, before the next one
    clip = cut(_sources(done), between, between + 1.0, tmp_path / "clips")
    assert clip.t0 == pytest.approx(3.0, abs=0.01)


def test_nothing_recorded_there_and_bad_spans_are_refused(tmp_path: Path) -> None:
    done, _ = _record(tmp_path / "rec", seconds=2.0)
    with pytest.raises(NothingToCut):
        cut(_sources(done), 50.0, 55.0, tmp_path / "clips")
    for t0, t1 in ((3.0, 3.0), (5.0, 1.0), (0.0, 1000.0), (float("nan"), 1.0)):
        with pytest.raises(ValueError):
            cut(_sources(done), t0, t1, tmp_path / "clips")
    assert not list((tmp_path / "clips").glob("*")) if (tmp_path / "clips").exists() else True
