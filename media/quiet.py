"""Quiet audio is not decoded: the sender's audio level (RFC 6464) says it is quiet.

Every participant's audio is decoded for the live transcript and the loudness check, yet
most of a hearing's participants are silent most of the time, and everything their quiet
audio could give (an ASR gate that stays shut, a loudness window far below "loud") is
known from the level the sender puts on each packet. Browsers send the
``ssrc-audio-level`` header extension on every audio packet (aiortc negotiates it), with
the level of the audio they encoded, in -dBov (0 loudest, 127 silence).

:class:`QuietAudio` decides, per frame, on the event loop (an integer comparison), what
the decode thread must do:

* a frame with no level (a sender without the extension): decode it, as before;
* a loud enough frame: decode it. If frames were being skipped, the last ``preroll``
  skipped frames are decoded first, in order, so the ASR gate has its pre-roll (0.3 s)
  before the first word;
* a quiet frame: decode it until the audio has been quiet for ``hold_s`` (longer than the
  ASR gate's 0.6 s hangover, so the utterance that just ended is finalized on real audio);
  after that, skip it.

Time is kept exact: each skipped frame is counted, by its duration from the Opus TOC byte,
either as decoded pre-roll or, once it falls out of the pre-roll ring, as :class:`Silence`
that the tap consumer turns into zeros. Silence is handed on at least every ``report_s``
(one tap item a second instead of fifty), so the transcript's clock and the loudness
check keep moving while someone is silent.

The level is the sender's word, so it is checked: every quiet-marked frame that is decoded
anyway (the hold, the pre-roll) is measured, and while skipping, one skipped frame in 8 to 16
(at random) is decoded apart as a :class:`Check`. A frame marked quiet that decodes louder
than ``MISMATCH_DBFS`` means the levels lie (a client that forges them to keep its speech out
of the transcript, or a broken one): :meth:`QuietAudio.distrust` and everything from that
sender is decoded again. Speech lost before that is at most the frames since the last check,
and the recording, which never decodes, keeps all of it.

The threshold sits well below the ASR gate (-50 dBFS on 10 ms frames): a 20 ms packet at
-58 dBov has no 10 ms half above -55 dBFS, so nothing the gate would open on is skipped.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from media.config import DEFAULT_QUIET_DBOV

if TYPE_CHECKING:
    from media.forward import EncodedFrame

TAP_RATE = 16_000  # the audio taps' sample rate (16 kHz mono s16)
MISMATCH_DBFS = -45.0  # a frame marked quiet that decodes louder than this: the levels lie
# frame duration in 48 kHz samples per TOC configuration (RFC 6716, 3.1)
_SILK = (480, 960, 1920, 2880)  # 10, 20, 40, 60 ms
_HYBRID = (480, 960)  # 10, 20 ms
_CELT = (120, 240, 480, 960)  # 2.5, 5, 10, 20 ms
_MAX_PACKET = 5760  # 120 ms at 48 kHz: the most one packet may hold


def opus_samples(data: bytes, rate: int = TAP_RATE) -> int:
    """Samples at ``rate`` that one Opus packet decodes to (0 for a malformed packet)."""
    if not data:
        return 0
    toc = data[0]
    config = toc >> 3
    if config < 12:
        per_frame = _SILK[config % 4]
    elif config < 16:
        per_frame = _HYBRID[config % 2]
    else:
        per_frame = _CELT[config % 4]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        if len(data) < 2:
            return 0
        frames = data[1] & 0x3F
    if per_frame * frames > _MAX_PACKET:
        return 0  # RFC 6716 3.2.5: more than 120 ms in one packet is malformed
    return per_frame * frames * rate // 48_000


@dataclass(frozen=True, slots=True)
class Silence:
    """``samples`` of quiet audio at 16 kHz that were not decoded (a tap item), ending with
    a frame that arrived at ``arrival`` (``time.monotonic()``, as ``EncodedFrame.arrival``)."""

    samples: int
    arrival: float


@dataclass(frozen=True, slots=True)
class Check:
    """A skipped frame to decode apart, only to see that it is as quiet as its level says."""

    frame: EncodedFrame

    @property
    def arrival(self) -> float:
        return self.frame.arrival


class QuietAudio:
    """Which audio frames the decode thread decodes, and which it reports as silence."""

    def __init__(self, *, quiet_dbov: float = DEFAULT_QUIET_DBOV, hold_s: float = 1.0,
                 preroll: int = 16, report_s: float = 1.0) -> None:
        # -dBov on the wire: a level at or above this number is quiet
        self._quiet_level = -quiet_dbov
        self._hold = round(hold_s * TAP_RATE)
        self._report = round(report_s * TAP_RATE)
        self._ring: deque[EncodedFrame] = deque()
        self._preroll = preroll
        self._quiet_for = 0  # samples of quiet audio in a row
        self._unreported = 0  # skipped samples that left the ring, not yet reported
        self._unreported_until = 0.0  # arrival of the last of them
        self.skipped = 0  # frames not decoded (counter)
        self.checks = 0  # skipped frames decoded apart to check their level
        self.trusted = True  # False once a level was found to lie: everything is decoded
        self._next_check = random.randint(8, 16)

    def is_quiet(self, frame: EncodedFrame) -> bool:
        """Whether the sender marked ``frame`` quiet."""
        return frame.audio_level is not None and frame.audio_level >= self._quiet_level

    def distrust(self) -> None:
        """A frame marked quiet was loud: decode this sender's audio whole from now on."""
        self.trusted = False

    @property
    def skipping(self) -> bool:
        return self._quiet_for >= self._hold

    def admit(self, frame: EncodedFrame) -> list[EncodedFrame | Silence | Check]:
        """What to hand the decode thread for ``frame``, in order (may be empty)."""
        if not self.trusted or not self.is_quiet(frame):
            self._quiet_for = 0
            if not self._ring and not self._unreported:
                return [frame]
            out: list[EncodedFrame | Silence | Check] = []
            if self._unreported:
                out.append(self._silence())
            out.extend(self._ring)
            self._ring.clear()
            out.append(frame)
            return out
        if not self.skipping:
            self._quiet_for += opus_samples(frame.data)
            return [frame]
        self.skipped += 1
        self._ring.append(frame)
        skip: list[EncodedFrame | Silence | Check] = []
        if len(self._ring) > self._preroll:
            oldest = self._ring.popleft()
            self._unreported += opus_samples(oldest.data)
            self._unreported_until = oldest.arrival
        if self._unreported >= self._report:
            skip.append(self._silence())
        self._next_check -= 1
        if self._next_check <= 0:
            self._next_check = random.randint(8, 16)
            self.checks += 1
            skip.append(Check(frame))
        return skip

    def _silence(self) -> Silence:
        silence = Silence(self._unreported, self._unreported_until)
        self._unreported = 0
        return silence

