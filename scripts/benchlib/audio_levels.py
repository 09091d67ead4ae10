"""Audio levels on pre-encoded packets, as browsers send them (RFC 6464 ssrc-audio-level).

aiortc's sender writes the extension only for audio it encodes itself; the benches publish
pre-encoded Opus, so without this their packets would carry no level and the server would
decode every one of them (media/quiet.py), which a browser's would not make it do.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def levels_dbov(pcm16k: bytes, samples: int = 320) -> list[int]:
    """The level of each ``samples`` (320: 20 ms) of 16 kHz s16 PCM in -dBov (0 loudest, 127 silence), as aiortc's
    ``compute_audio_level_dbov`` and browsers compute it."""
    x = np.frombuffer(pcm16k, "<i2").astype(np.float64) / 32768.0
    out = []
    for i in range(0, len(x) - samples + 1, samples):
        rms = math.sqrt(float(np.mean(x[i:i + samples] ** 2)))
        out.append(127 if rms <= 0 else max(0, min(127, round(-20 * math.log10(rms)))))
    return out


def send_levels(sender: Any, track: Any) -> None:
    """Have ``sender`` put ``track.level`` (the level of the packet it just handed over, or
    None) in each packet's ssrc-audio-level extension."""
    inner = sender._next_encoded_frame

    async def next_frame(codec: Any) -> Any:
        frame = await inner(codec)
        level = getattr(track, "level", None)
        if frame is not None and level is not None:
            frame.audio_level = -level  # aiortc writes (False, -audio_level)
        return frame

    sender._next_encoded_frame = next_frame
