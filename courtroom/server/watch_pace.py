"""When the discipline watch checks a participant's frame: full rate after a cue, slower when calm.

The checks (YOLOX, face detection) cost about 0.1 s of CPU a frame; at 1 fps for four watched
participants that was half a core per hearing, most of it spent confirming that nothing had
changed. :class:`WatchPace` decides, per participant and per tick of the watch (still every
``1 / fps`` seconds, each participant at its own phase), whether this tick's frame goes to the
checker:

* **hot**, for ``hot_s`` after a cue: every tick is checked, as before. A cue is anything that
  may lead to a flag or change one: an observation that differs from the previous one (faces,
  persons, a phone seen at all), a flag open or raised for the participant (loud noise included),
  or a large change in the picture (below). ``hot_s`` is longer than the longest debounce hold
  (identity, 4 s), so a condition that starts while hot is sampled at full rate until its flag
  opens, exactly as without pacing;
* **calm** otherwise: a check every ``calm_period_s`` (the back-off), plus at once whenever the
  picture has changed a lot since the last checked frame: the **motion gate**, a comparison of
  two 36-row luma thumbnails (about 0.1 ms, on the event loop), so someone leaving the frame or
  a second person stepping in is seen at the next tick, not at the next back-off check.

The checks themselves, their thresholds and the debounce decisions are untouched
(courtroom/vision/); only *which frames* reach them changes. Identity rounds keep their own
schedule (courtroom/server/discipline.py) and are never held back by the pace.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)
Thumb = npt.NDArray[np.float32]
_THUMB_ROWS = 36


def env_number(name: str, lo: float, hi: float) -> float | None:
    """A number setting, clamped to [lo, hi]; None when unset, or when it is not a number
    (logged, and the default used)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw) if len(raw) <= 32 else float("nan")
    except ValueError:
        value = float("nan")
    if value != value:  # NaN: not a number
        log.warning("%s=%r is not a number; using the default", name, raw[:20])
        return None
    return max(lo, min(hi, value))


@dataclass(frozen=True)
class PaceConfig:
    enabled: bool = True
    calm_period_s: float = 3.0  # back-off while calm: 0.33 fps
    hot_s: float = 5.0  # full rate for this long after a cue (> the longest debounce hold)
    motion_level: float = 24.0  # a thumbnail cell changed by more than this (luma, 0..255)...
    motion_share: float = 0.06  # ...in at least this share of the picture: a large change

    @classmethod
    def from_env(cls) -> PaceConfig:
        """``COURTROOM_VISION_PACE=off`` checks every tick (the former behaviour, for benches);
        ``COURTROOM_VISION_CALM_S`` sets the back-off period (1-10 s)."""
        kw: dict[str, Any] = {}
        if os.environ.get("COURTROOM_VISION_PACE", "").lower() in {"off", "0", "false"}:
            kw["enabled"] = False
        if (v := env_number("COURTROOM_VISION_CALM_S", 1.0, 10.0)) is not None:
            kw["calm_period_s"] = v
        return cls(**kw)


def luma_thumb(frame: Any) -> Thumb | None:
    """A small luma picture of ``frame`` (an ``av.VideoFrame`` in a YUV format, or an RGB
    array) for the motion gate; ``None`` when the frame's layout is not one of those."""
    if isinstance(frame, np.ndarray):
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            return None
        y = frame[::2, ::2, 1]  # green carries most of the luma; enough for a motion gate
    else:
        fmt = getattr(getattr(frame, "format", None), "name", "")
        if not str(fmt).startswith(("yuv", "yuvj", "nv12")):
            return None
        plane = frame.planes[0]
        width, height, stride = int(frame.width), int(frame.height), int(plane.line_size)
        # The plane's buffer may be padded past its last row: take exactly height rows.
        if stride < width or plane.buffer_size < stride * height:
            return None
        rows = np.frombuffer(plane, np.uint8, count=stride * height).reshape(height, stride)
        y = rows[::2, :width:2]
    h, w = y.shape
    step = max(1, h // _THUMB_ROWS)
    hh, ww = h // step * step, w // step * step
    if hh == 0 or ww == 0:
        return None
    cells = y[:hh, :ww].reshape(hh // step, step, ww // step, step)
    thumb: Thumb = cells.mean(axis=(1, 3), dtype=np.float32)
    return thumb


def changed_share(a: Thumb, b: Thumb, level: float) -> float:
    """Share of thumbnail cells whose luma moved by more than ``level``, after taking out the
    picture-wide shift (a camera's exposure adjusting is not a change of scene)."""
    if a.shape != b.shape:
        return 1.0
    d = a - b
    d -= np.float32(np.median(d))
    return float(np.count_nonzero(np.abs(d) > level)) / d.size


class WatchPace:
    """One watched participant's pace. Times are ``time.monotonic()`` seconds."""

    def __init__(self, config: PaceConfig) -> None:
        self.config = config
        self._ref: Thumb | None = None  # thumbnail of the last checked frame
        self._last_check: float | None = None
        self._hot_until = 0.0
        self._signature: tuple[object, ...] | None = None
        self.checked = 0
        self.skipped = 0
        self.motion_cues = 0

    def hot(self, now: float) -> bool:
        return now < self._hot_until

    def due(self, now: float, thumb: Thumb | None) -> bool:
        """Should this tick's frame be checked? Counts the answer."""
        check = self._due(now, thumb)
        if check:
            self.checked += 1
        else:
            self.skipped += 1
        return check

    def _due(self, now: float, thumb: Thumb | None) -> bool:
        c = self.config
        if not c.enabled or self._last_check is None or self.hot(now):
            return True
        # Compared even when the back-off check is due anyway: a large change is a cue (full
        # rate, and the identity patrol's next round sooner) whatever the checks then report.
        # Someone else sitting down shows the same counts of faces and persons.
        if thumb is not None and self._ref is not None and (
            changed_share(thumb, self._ref, c.motion_level) >= c.motion_share
        ):
            self.motion_cues += 1
            self.cue(now)
            return True
        if now - self._last_check >= c.calm_period_s - 1e-3:
            return True
        return thumb is None or self._ref is None  # nothing to compare: do not guess

    def observed(self, now: float, thumb: Thumb | None, signature: tuple[object, ...]) -> None:
        """A checked frame's outcome; ``signature`` summarises what the checks saw (a change
        from the previous one is a cue)."""
        self._ref = thumb
        self._last_check = now
        if signature != self._signature:  # the first check of someone counts as a change
            self.cue(now)
        self._signature = signature

    def cue(self, now: float) -> None:
        """Something happened (or may): full rate for the next ``hot_s``."""
        self._hot_until = max(self._hot_until, now + self.config.hot_s)
