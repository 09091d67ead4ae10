"""Clips cut from the recording by remux: no decode, no encode.

A clip is one WebM holding a participant's video (and audio, where recorded) from a video
keyframe at or before the asked start to the asked end. The recorded packets are copied as
they are, so the clip is bit-for-bit the media the court received, and its hash can be
logged beside the hashes of the segments it came from.

Times are seconds on the hearing's recording clock. A packet's clock time is its segment's
``start`` plus its timestamp in the file (the recorder writes the first frame at 0), so
segments of one track are stitched by their logged start times, across segment boundaries.
"""

from __future__ import annotations

import fractions
import hashlib
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

MAX_CLIP_S = 120.0  # longer excerpts are the recording itself, not a clip
BOUNDARY_S = 1.0  # at most this between one segment's last frame and the next one's first
_MS = fractions.Fraction(1, 1000)  # WebM timestamps are milliseconds


@dataclass(frozen=True, slots=True)
class Source:
    """One recorded segment file and where it lies on the recording clock."""

    path: Path
    kind: str  # "video" or "audio"
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Clip:
    path: Path
    sha256: str
    bytes: int
    t0: float  # recording-clock time of the first packet (a video keyframe where there is video)
    t1: float  # recording-clock time where the last packet ends
    sources: tuple[str, ...]  # the segment files it was cut from, by name


class NothingToCut(Exception):
    """No recorded media of the participant overlaps the asked span."""


@dataclass(frozen=True, slots=True)
class _Packet:
    t: float  # recording clock
    kind: str
    keyframe: bool
    data: bytes
    duration: float


def _packets(source: Source) -> Iterable[_Packet]:
    """Every packet of ``source`` with its recording-clock time (demux only)."""
    with av.open(str(source.path)) as container:
        stream = container.streams[0]
        tb = stream.time_base or _MS
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue  # the demuxer's flush packet
            t = source.start + float(packet.pts * tb)
            duration = float(packet.duration * tb) if packet.duration else 0.0
            yield _Packet(t, source.kind, bool(packet.is_keyframe), bytes(packet), duration)


def _overlapping(sources: Sequence[Source], kind: str, t0: float, t1: float) -> list[Source]:
    # A segment's end is its last frame, the next one's start its first keyframe: a start
    # falling between the two still takes the keyframe of the segment before.
    chosen = [s for s in sources if s.kind == kind and s.end >= t0 - BOUNDARY_S and s.start <= t1]
    return sorted(chosen, key=lambda s: s.start)


def _start_at_keyframe(video: list[_Packet], t0: float) -> list[_Packet]:
    """From the last keyframe at or before ``t0`` (else the first one after it)."""
    keys = [i for i, p in enumerate(video) if p.keyframe]
    if not keys:
        return []
    at_or_before = [i for i in keys if video[i].t <= t0]
    first = at_or_before[-1] if at_or_before else keys[0]
    return video[first:]


def _template(source: Source) -> tuple[str, dict[str, Any]]:
    """Codec name and the parameters the output stream needs, read from a segment."""
    with av.open(str(source.path)) as container:
        stream = container.streams[0]
        ctx: Any = stream.codec_context
        if source.kind == "video":
            return ctx.name, {"width": ctx.width or 640, "height": ctx.height or 360}
        return ctx.name, {"rate": ctx.sample_rate or 48000}


def cut(sources: Sequence[Source], t0: float, t1: float, out_dir: Path) -> Clip:
    """Remux ``[t0, t1]`` of one participant's recorded segments into a WebM in ``out_dir``,
    named by its SHA-256. Raises :class:`NothingToCut` or ``ValueError`` (a bad span)."""
    if not (t1 > t0) or t1 - t0 > MAX_CLIP_S:
        raise ValueError(f"a clip spans more than 0 and at most {MAX_CLIP_S:g} seconds")
    video_src = _overlapping(sources, "video", t0, t1)
    audio_src = _overlapping(sources, "audio", t0, t1)
    video = _start_at_keyframe([p for s in video_src for p in _packets(s) if p.t <= t1], t0)
    start = video[0].t if video else t0
    audio = [p for s in audio_src for p in _packets(s) if start <= p.t <= t1]
    if not video and not audio:
        raise NothingToCut("no recorded media of this participant in that span")
    used = ([video_src[0]] if video else []) + ([audio_src[0]] if audio else [])
    names = tuple(s.path.name for s in video_src + audio_src)
    # Each kind stays in recorded order (a segment's tail, timed from RTP timestamps, can
    # run past the next segment's start, timed by arrival); only the two kinds interleave.
    merged = sorted(_increasing(video) + _increasing(audio), key=lambda p: p.t)
    return _write(used, merged, start, names, out_dir)


def _increasing(packets: list[_Packet]) -> list[_Packet]:
    """``packets`` in their order, each timed at least 1 ms after the one before."""
    out: list[_Packet] = []
    for p in packets:
        if out and p.t < out[-1].t + 0.001:
            p = _Packet(out[-1].t + 0.001, p.kind, p.keyframe, p.data, p.duration)
        out.append(p)
    return out


def _write(
    templates: list[Source],
    packets: list[_Packet],
    start: float,
    names: tuple[str, ...],
    out_dir: Path,
) -> Clip:
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".clip-{secrets.token_hex(6)}.tmp"
    last: dict[str, int] = {}
    try:
        with av.open(str(tmp), "w", format="webm") as container:
            streams: dict[str, Any] = {}
            for source in templates:
                codec, params = _template(source)
                stream = container.add_mux_stream(codec, **params)
                stream.time_base = _MS
                streams[source.kind] = stream
            for p in packets:
                # Never drop a packet (the frames after it would not decode): the muxer
                # needs increasing timestamps, so a collision after rounding moves on 1 ms.
                pts = max(round((p.t - start) * 1000), last.get(p.kind, -1) + 1)
                packet = av.Packet(p.data)
                packet.pts = packet.dts = pts
                packet.time_base = _MS
                packet.stream = streams[p.kind]
                packet.is_keyframe = p.keyframe
                container.mux(packet)
                last[p.kind] = pts
        digest, size = _hash(tmp)
        path = out_dir / f"{digest}.webm"
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    end = max((p.t + p.duration for p in packets), default=start)
    return Clip(path, digest, size, round(start, 3), round(end, 3), names)


def _hash(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
