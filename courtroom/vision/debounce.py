"""Debouncing: a time series of observations becomes flags (pure; no I/O, no clock).

Every kind runs the same small state machine over a per-sample boolean condition:

* it **opens** once the condition has held for ``hold_s`` seconds (measured from the first
  sample of the run to the current sample), or for PHONE once ``k`` of the last ``n`` phone
  samples, all within ``phone_window_s``, were over the threshold (an event, not a frame);
  ``t0`` is the first sample of that run;
* it **stays open** while the condition holds, and tolerates gaps shorter than ``clear_s``;
* it **closes** once the condition has been false for ``clear_s``; ``t1`` is the first sample
  of that false run (the moment things went back to normal), or the last sample seen when the
  stream ends (``finish``).

Samples where a check did not run (``None``) neither advance nor reset that kind. A single bad
frame therefore never opens a flag, and a single good frame inside a long absence never splits
one flag into two.
"""

from __future__ import annotations

import enum
import hashlib
import io
import logging
import math
import os
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from courtroom.vision.checks import FrameObservation
from courtroom.vision.detector import RGBImage
from courtroom.vision.loudness import LoudnessObservation

Observation = FrameObservation | LoudnessObservation
log = logging.getLogger(__name__)


class FlagKind(enum.Enum):
    LEFT_FRAME = "left_frame"
    EXTRA_PERSON = "extra_person"
    PHONE = "phone"
    IDENTITY_MISMATCH = "identity_mismatch"
    LOUD_NOISE = "loud_noise"


@dataclass(frozen=True, slots=True)
class Flag:
    kind: FlagKind
    participant_id: str
    t0: float
    t1: float | None  # None while the flag is open
    confidence: float
    model_versions: Mapping[str, str]
    evidence_frame_t: float  # sample that opened the flag: snapshot that frame


@dataclass(frozen=True, slots=True)
class DebounceConfig:
    left_frame_s: float = 3.0
    extra_person_s: float = 2.0
    identity_s: float = 4.0
    identity_threshold: float = 0.55
    phone_threshold: float = 0.4  # on the combined score (vision/phone.py), fitted: docs/vision.md
    # Phone use is decided on events, not frames: the cue must hold on K of the last N samples,
    # and those K within ``phone_window_s`` seconds (samples may be sparse or adaptive).
    phone_k: int = 2
    phone_n: int = 4
    phone_window_s: float = 6.0
    loud_s: float = 0.5
    clear_s: float = 1.5  # how long a condition must be gone before a flag closes

    @classmethod
    def from_env(cls) -> DebounceConfig:
        """Defaults, with the phone event rule from ``COURTROOM_PHONE_EVENT`` = "K/N/WINDOW_S"
        (e.g. "2/4/6") and the score threshold from ``COURTROOM_PHONE_THRESHOLD``. A value
        that does not parse is ignored with a warning (the defaults stay)."""
        base = cls()
        try:
            if v := os.environ.get("COURTROOM_PHONE_EVENT"):
                k, n, w = v.split("/")
                nn = max(1, min(30, int(n)))
                base = replace(
                    base,
                    phone_n=nn,
                    phone_k=max(1, min(nn, int(k))),
                    phone_window_s=max(0.5, min(120.0, _number(w))),
                )
            if v := os.environ.get("COURTROOM_PHONE_THRESHOLD"):
                base = replace(base, phone_threshold=max(0.01, min(1.0, _number(v))))
        except ValueError:
            log.warning("COURTROOM_PHONE_EVENT / COURTROOM_PHONE_THRESHOLD not understood; ignored")
            return cls()
        return base


def _number(text: str) -> float:
    x = float(text)
    if math.isnan(x):
        raise ValueError(text)
    return x


@dataclass(slots=True)
class _Track:
    """State machine for one kind. ``strength`` accumulates a per-sample confidence."""

    run_start: float | None = None  # first sample of the current true run
    false_start: float | None = None  # first sample of the current false run, while open
    open_flag: Flag | None = None
    strengths: list[float] = field(default_factory=list)
    window: deque[tuple[float, bool]] = field(default_factory=deque)
    last_t: float | None = None
    first_miss: float | None = None  # PHONE: first sample without a phone after the last hit


class Debouncer:
    """Per participant. ``feed`` returns flags that opened (t1 None) or closed (t1 set)."""

    def __init__(
        self,
        participant_id: str,
        *,
        config: DebounceConfig | None = None,
        model_versions: Mapping[str, str] | None = None,
    ) -> None:
        self.participant_id = participant_id
        self.config = config or DebounceConfig.from_env()
        self.model_versions = dict(model_versions or {})
        self._tracks = {k: _Track() for k in FlagKind}

    @property
    def open_flags(self) -> list[Flag]:
        return [t.open_flag for t in self._tracks.values() if t.open_flag is not None]

    def feed(self, obs: Observation) -> list[Flag]:
        c = self.config
        out: list[Flag] = []
        if isinstance(obs, LoudnessObservation):
            strength = min(1.0, 0.5 + max(0.0, obs.rms_dbfs + 10.0) / 20.0)
            self._step(FlagKind.LOUD_NOISE, obs.t, obs.loud, strength, c.loud_s, out)
            return out
        if obs.faces is not None:
            gone = obs.faces == 0
            # A person box without a face is likely someone looking away: less confident.
            strength = 1.0 if obs.persons in (0, None) else 0.6
            self._step(FlagKind.LEFT_FRAME, obs.t, gone, strength, c.left_frame_s, out)
        counts = [n for n in (obs.faces, obs.persons) if n is not None]
        if counts:
            extra = max(counts) > 1
            strength = 1.0 if len(counts) == 2 and min(counts) > 1 else 0.7
            self._step(FlagKind.EXTRA_PERSON, obs.t, extra, strength, c.extra_person_s, out)
        if obs.identity_distance is not None:
            d = obs.identity_distance
            bad = d > c.identity_threshold
            strength = min(1.0, 0.5 + (d - c.identity_threshold) * 2.5)
            self._step(FlagKind.IDENTITY_MISMATCH, obs.t, bad, strength, c.identity_s, out)
        if obs.phone_score is not None:
            self._phone(obs.t, obs.phone_score, out)
        return out

    def finish(self, t: float | None = None) -> list[Flag]:
        """Close every open flag at ``t`` (default: each kind's last sample)."""
        out: list[Flag] = []
        for tr in self._tracks.values():
            if tr.open_flag is not None:
                end = t if t is not None else tr.last_t
                out.append(self._close(tr, end if end is not None else tr.open_flag.t0))
        return out

    def _phone(self, t: float, score: float, out: list[Flag]) -> None:
        c = self.config
        tr = self._tracks[FlagKind.PHONE]
        hit = score >= c.phone_threshold
        if hit:
            tr.first_miss = None
        elif tr.first_miss is None:
            tr.first_miss = t
        tr.window.append((t, hit))
        while len(tr.window) > c.phone_n or (tr.window and t - tr.window[0][0] > c.phone_window_s):
            tr.window.popleft()
        votes = [wt for wt, h in tr.window if h]
        active = len(votes) >= c.phone_k
        if active and tr.run_start is None:
            tr.run_start = votes[0]
        # k-of-n is the debounce itself (for opening and for staying open), so no hold time.
        self._step(FlagKind.PHONE, t, active, score, 0.0, out)

    def _step(
        self, kind: FlagKind, t: float, cond: bool, strength: float, hold_s: float, out: list[Flag]
    ) -> None:
        tr = self._tracks[kind]
        tr.last_t = t
        if cond:
            tr.false_start = None
            if tr.run_start is None:
                tr.run_start = t
                tr.strengths = []
            tr.strengths.append(strength)
            if tr.open_flag is None and t - tr.run_start >= hold_s:
                tr.open_flag = Flag(
                    kind=kind,
                    participant_id=self.participant_id,
                    t0=tr.run_start,
                    t1=None,
                    confidence=round(_confidence(kind, tr.strengths), 3),
                    model_versions=self.model_versions,
                    evidence_frame_t=t,
                )
                out.append(tr.open_flag)
            return
        if tr.open_flag is None:
            tr.run_start = None
            tr.strengths = []
            return
        if tr.false_start is None:
            tr.false_start = t
        if t - tr.false_start >= self.config.clear_s:
            # PHONE stays open while the k-of-n vote holds, but ends at the first miss after
            # the last detection, not when the vote finally ran out.
            end = tr.first_miss if kind is FlagKind.PHONE and tr.first_miss is not None else None
            out.append(self._close(tr, end if end is not None else tr.false_start))

    def _close(self, tr: _Track, t1: float) -> Flag:
        assert tr.open_flag is not None
        flag = replace(
            tr.open_flag,
            t1=t1,
            confidence=round(_confidence(tr.open_flag.kind, tr.strengths), 3),
        )
        tr.open_flag = None
        tr.run_start = None
        tr.false_start = None
        tr.strengths = []
        tr.window.clear()
        tr.first_miss = None
        return flag


def _confidence(kind: FlagKind, strengths: list[float]) -> float:
    if not strengths:
        return 0.0
    if kind is FlagKind.PHONE:
        return max(strengths)
    return sum(strengths) / len(strengths)


def debounce(
    participant_id: str,
    observations: Iterable[Observation],
    *,
    config: DebounceConfig | None = None,
    model_versions: Mapping[str, str] | None = None,
) -> list[Flag]:
    """Closed flags for a whole series (observations sorted by time), for batch use and tests."""
    d = Debouncer(participant_id, config=config, model_versions=model_versions)
    closed: list[Flag] = []
    for o in observations:
        closed += [f for f in d.feed(o) if f.t1 is not None]
    closed += d.finish()
    return sorted(closed, key=lambda f: (f.t0, f.kind.value))


@dataclass(frozen=True, slots=True)
class Snapshot:
    jpeg: bytes
    sha256: str


def snapshot_jpeg(frame_rgb: RGBImage, max_side: int = 320, quality: int = 80) -> Snapshot:
    """Small JPEG of the evidence frame and its sha256 (the record references it by hash)."""
    from PIL import Image

    img = Image.fromarray(frame_rgb).convert("RGB")
    img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=True)
    data = buf.getvalue()
    return Snapshot(jpeg=data, sha256=hashlib.sha256(data).hexdigest())
