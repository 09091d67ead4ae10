"""HLS output: H.264 (libx264) + AAC in MPEG-TS segments and a live ``index.m3u8``.

FFmpeg's own HLS muxer (through PyAV) writes the playlist and the segments. Every
segment starts on a keyframe (a fixed GOP of one segment, no scene cuts), so a player
can join at any segment. Old segments are deleted as the playlist moves on: the public
sees the live window only; the court's record is the per-track recording, not this.
"""

from __future__ import annotations

import fractions
from pathlib import Path
from typing import Any

import av
import numpy as np

from .mix import RATE

PLAYLIST = "index.m3u8"
SEGMENT_PATTERN = "seg-%05d.ts"


class HlsEncoder:
    def __init__(
        self,
        out_dir: Path,
        size: tuple[int, int],
        fps: int,
        *,
        segment_s: int = 2,
        list_size: int = 6,
        video_bitrate: int | None = None,
    ) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = out_dir
        self.frames = 0
        self._samples = 0
        self._out: Any = av.open(
            str(out_dir / PLAYLIST),
            mode="w",
            format="hls",
            options={
                "hls_time": str(segment_s),
                "hls_list_size": str(list_size),
                "hls_flags": "delete_segments+independent_segments",
                # Segments stay a while after leaving the playlist: a player that read the
                # previous playlist may still ask for them.
                "hls_delete_threshold": "3",
                "hls_segment_filename": str(out_dir / SEGMENT_PATTERN),
            },
        )
        width, height = size
        video: Any = self._out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.bit_rate = video_bitrate or width * height * 3  # ~700 kbit/s at 640x360
        video.options = {
            "preset": "veryfast",
            "tune": "zerolatency",
            "g": str(fps * segment_s),
            "keyint_min": str(fps * segment_s),
            "sc_threshold": "0",
        }
        audio: Any = self._out.add_stream("aac", rate=RATE)
        audio.layout = "mono"
        audio.bit_rate = 64_000
        self._video, self._audio = video, audio
        self._tb = fractions.Fraction(1, fps)

    def write(self, picture: np.ndarray[Any, Any], pcm: np.ndarray[Any, Any]) -> None:
        """One tick: an RGB picture and its mono 48 kHz samples."""
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts, frame.time_base = self.frames, self._tb
        self.frames += 1
        for packet in self._video.encode(frame):
            self._out.mux(packet)
        sound = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        sound.sample_rate, sound.pts = RATE, self._samples
        self._samples += len(pcm)
        for packet in self._audio.encode(sound):
            self._out.mux(packet)

    def close(self) -> None:
        """Flush and end the playlist (``#EXT-X-ENDLIST``: players stop there)."""
        for stream in (self._video, self._audio):
            for packet in stream.encode(None):
                self._out.mux(packet)
        self._out.close()
