"""Sans-I/O wrapper over one `vosk.KaldiRecognizer` per track.

Bytes in (16 kHz mono s16), typed events out; no threads, no asyncio, no clock. An energy
gate in front of vosk keeps silent tracks almost free: only voiced audio, a short pre-roll
before it and a hangover after it reach the decoder.

Time mapping: vosk reports word times relative to all audio it has been fed since the
recognizer was created (they keep counting across utterances, FinalResult and Reset). The
gate skips audio, so we keep a table of (fed sample, stream sample) at every resumption and map
vosk times back onto the stream clock: stream time = origin + stream sample / 16000.
"""

from __future__ import annotations

import bisect
import json
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from asr.events import AsrEvent, EndOfSpeech, Final, Partial, Word
from asr.models import KaldiRecognizer
from asr.resample import BYTES_PER_SAMPLE, RATE

__all__ = ["DEFAULT_GATE", "GateConfig", "Recognizer", "RecognizerStats"]

_FRAME = RATE // 100  # gate decisions every 10 ms
_FRAME_BYTES = _FRAME * BYTES_PER_SAMPLE
WARMUP_S = 0.3  # enough for vosk to decode once (FinalResult forces it): the ~0.8 s CPU stall


@dataclass(frozen=True, slots=True, kw_only=True)
class GateConfig:
    """Energy gate. Digital silence and room noise sit near -60..-80 dBFS on the fixture
    recordings, speech at -20..-45, so a fixed -50 dBFS threshold separates them. A room
    louder than the threshold keeps the gate open: more CPU, never lost speech.
    """

    enabled: bool = True
    threshold_dbfs: float = -50.0
    # Kept before the first voiced frame so soft onsets (fricatives, breathy vowels) survive.
    pre_roll_s: float = 0.3
    # Fed after the last voiced frame: vosk needs trailing silence to endpoint (rule2 = 0.5 s);
    # when the hangover ends without an endpoint we force FinalResult.
    hangover_s: float = 0.6


DEFAULT_GATE = GateConfig()


@dataclass(slots=True)
class RecognizerStats:
    samples_in: int = 0
    samples_fed: int = 0  # reached vosk
    frames_fed: int = 0  # 10 ms frames that reached vosk
    vosk_calls: int = 0
    finals: int = 0
    partials: int = 0
    warmup_calls: int = 0  # vosk calls of warm_up(), not counted in vosk_calls
    quiet_inline: int = 0  # accept_if_quiet() calls that kept the gate closed


class Recognizer:
    """One track's recognizer. Not thread-safe: call it from one thread at a time."""

    def __init__(
        self,
        model: Any,
        *,
        origin: float = 0.0,
        gate: GateConfig = DEFAULT_GATE,
        chunk_s: float = 0.1,
    ) -> None:
        self._rec = KaldiRecognizer(model, RATE)
        self._rec.SetWords(True)
        self._origin = origin
        self._gate = gate
        self._chunk_bytes = max(_FRAME_BYTES, int(chunk_s * RATE) * BYTES_PER_SAMPLE)
        self._threshold = (10 ** (gate.threshold_dbfs / 10)) * 32768.0**2 * _FRAME
        self._pre_roll: deque[bytes] = deque(maxlen=max(0, round(gate.pre_roll_s * 100)))
        self._hangover_frames = max(1, round(gate.hangover_s * 100))
        self._open = not gate.enabled
        self._quiet_frames = 0
        self._last_voiced_end = 0  # stream sample
        self._leftover = b""
        self._pending = bytearray()  # gated audio waiting to fill a vosk chunk
        self._seg_fed: list[int] = [0]  # fed sample where each contiguous segment starts
        self._seg_in: list[int] = [0]  # ...and the stream sample it corresponds to
        self._utterance_open = False  # vosk holds audio not yet finalized
        self._last_partial = ""
        self._ended = False
        self._vosk_offset = 0  # samples vosk was fed by warm_up()
        self.stats = RecognizerStats()

    @property
    def chunk_bytes(self) -> int:
        """Audio per vosk call (``chunk_s``), in bytes of 16 kHz mono s16."""
        return self._chunk_bytes

    @property
    def gate_closed(self) -> bool:
        """The energy gate is shut: nothing reaches vosk until a voiced frame."""
        return self._gate.enabled and not self._open

    def set_origin(self, origin: float) -> None:
        """Move the stream clock's origin; only before the first audio."""
        if self.stats.samples_in:
            raise RuntimeError("set_origin() after audio was accepted")
        self._origin = origin

    def warm_up(self, seconds: float = WARMUP_S) -> None:
        """Decode a little room noise (about -70 dBFS) now and forget it, so that vosk's
        first-decode stall (about 0.8 s of CPU per fresh recognizer with the Korean model)
        happens before the participant speaks, not on their first words. Quiet noise, like the
        pre-roll vosk would see anyway: loud warm-up audio skews the recognizer's speaker
        adaptation and costs accuracy. Call before any audio; stream times are unaffected."""
        if self.stats.samples_in or self._utterance_open:
            raise RuntimeError("warm_up() after audio was accepted")
        rng = np.random.default_rng(0)
        noise = rng.normal(0, 10, int(seconds * RATE)).astype("<i2").tobytes()
        step = self._chunk_bytes
        for i in range(0, len(noise), step):
            self._rec.AcceptWaveform(noise[i : i + step])
            self.stats.warmup_calls += 1
        self._rec.FinalResult()
        # vosk's clock keeps counting the warm-up audio (not stream audio): map it away.
        self._vosk_offset += len(noise) // BYTES_PER_SAMPLE

    def accept_if_quiet(self, pcm16k: bytes) -> bool:
        """Take ``pcm16k`` if the gate is closed and stays closed through it (only pre-roll
        and the clock move, vosk is not called): cheap enough for the event loop. Returns
        False, having changed nothing, if the audio would open the gate (use accept())."""
        if not self.gate_closed or self._ended or len(pcm16k) % BYTES_PER_SAMPLE:
            return False
        data = self._leftover + pcm16k if self._leftover else pcm16k
        whole = len(data) - len(data) % _FRAME_BYTES
        energies = _frame_energies(data[:whole])
        if energies.size and float(energies.max()) > self._threshold:
            return False
        for i in range(whole // _FRAME_BYTES):
            self._pre_roll.append(data[i * _FRAME_BYTES : (i + 1) * _FRAME_BYTES])
        self.stats.samples_in += whole // BYTES_PER_SAMPLE
        self._leftover = data[whole:]
        self.stats.quiet_inline += 1
        return True

    @property
    def stream_time(self) -> float:
        """Stream-clock time of the end of the audio accepted so far."""
        return self._origin + self.stats.samples_in / RATE

    def accept(self, pcm16k: bytes) -> list[AsrEvent]:
        if self._ended:
            raise RuntimeError("recognizer already ended")
        data = self._leftover + pcm16k if self._leftover else pcm16k
        whole = len(data) - len(data) % _FRAME_BYTES
        self._leftover = data[whole:]
        events: list[AsrEvent] = []
        if not self._gate.enabled:
            self.stats.samples_in += whole // BYTES_PER_SAMPLE
            self._feed(memoryview(data)[:whole], events)
            return events
        energies = _frame_energies(data[:whole])
        for i, energy in enumerate(energies):
            frame = data[i * _FRAME_BYTES : (i + 1) * _FRAME_BYTES]
            start = self.stats.samples_in
            self.stats.samples_in += _FRAME
            voiced = energy > self._threshold
            if voiced:
                self._last_voiced_end = self.stats.samples_in
                self._quiet_frames = 0
                if not self._open:
                    self._open_gate(start)
            if not self._open:
                self._pre_roll.append(frame)
                continue
            self._feed(frame, events)
            if not voiced:
                self._quiet_frames += 1
                if self._quiet_frames >= self._hangover_frames:
                    self._close_gate(events)
        return events

    def flush(self) -> list[AsrEvent]:
        """Force a final for whatever is pending (the speaker may still be talking)."""
        events: list[AsrEvent] = []
        if self._open and self._leftover:
            self.stats.samples_in += len(self._leftover) // BYTES_PER_SAMPLE
            self._feed(self._leftover, events)
            self._leftover = b""
        self._finalize(events)
        return events

    def end(self) -> list[AsrEvent]:
        """End of input: flush, and report end of speech if the gate was open."""
        if self._ended:
            return []
        events = self.flush()
        if self._open and self._gate.enabled:
            events.append(EndOfSpeech(self._origin + self._last_voiced_end / RATE))
            self._open = False
        self._ended = True
        return events

    def skip(self, samples: int) -> list[AsrEvent]:
        """Advance the clock over audio that will never arrive (dropped upstream).

        The utterance in progress is finalized: decoding across a hole would glue words
        from both sides together.
        """
        events = self.flush()
        if self._open and self._gate.enabled:
            events.append(EndOfSpeech(self._origin + self._last_voiced_end / RATE))
            self._open = not self._gate.enabled
        self._pre_roll.clear()
        self._leftover = b""
        self.stats.samples_in += samples
        if not self._gate.enabled:
            self._mark_segment(self.stats.samples_in)
        return events

    # -- internals --------------------------------------------------------------------------

    def _open_gate(self, start: int) -> None:
        pre = b"".join(self._pre_roll)
        self._pre_roll.clear()
        self._open = True
        self._mark_segment(start - len(pre) // BYTES_PER_SAMPLE)
        if pre:
            self._pending += pre
            self._count_fed(len(pre))

    def _close_gate(self, events: list[AsrEvent]) -> None:
        self._finalize(events)
        self._open = False
        self._quiet_frames = 0
        events.append(EndOfSpeech(self._origin + self._last_voiced_end / RATE))

    def _mark_segment(self, in_sample: int) -> None:
        fed = self.stats.samples_fed
        if in_sample - fed == self._seg_in[-1] - self._seg_fed[-1]:
            return  # contiguous with the previous segment
        if self._seg_fed[-1] == fed:
            self._seg_in[-1] = in_sample
        else:
            self._seg_fed.append(fed)
            self._seg_in.append(in_sample)

    def _count_fed(self, nbytes: int) -> None:
        samples = nbytes // BYTES_PER_SAMPLE
        self.stats.samples_fed += samples
        self.stats.frames_fed += samples // _FRAME

    def _feed(self, data: bytes | memoryview, events: list[AsrEvent]) -> None:
        self._pending += data
        self._count_fed(len(data))
        if len(self._pending) >= self._chunk_bytes:
            self._decode(events)

    def _decode(self, events: list[AsrEvent]) -> None:
        if not self._pending:
            return
        chunk = bytes(self._pending)
        self._pending.clear()
        self.stats.vosk_calls += 1
        self._utterance_open = True
        if self._rec.AcceptWaveform(chunk):
            self._emit_final(self._rec.Result(), events)
            return
        text = str(json.loads(self._rec.PartialResult()).get("partial", ""))
        if text and text != self._last_partial:
            self._last_partial = text
            self.stats.partials += 1
            events.append(Partial(text, self._to_time(self.stats.samples_fed)))

    def _finalize(self, events: list[AsrEvent]) -> None:
        self._decode(events)
        if self._utterance_open:
            self._emit_final(self._rec.FinalResult(), events)

    def _emit_final(self, result_json: str, events: list[AsrEvent]) -> None:
        self._utterance_open = False
        self._last_partial = ""
        result = json.loads(result_json)
        text = str(result.get("text", "")).strip()
        if not text:
            return
        words = tuple(
            Word(
                str(w["word"]),
                self._to_time(round(float(w["start"]) * RATE) - self._vosk_offset),
                self._to_time(round(float(w["end"]) * RATE) - self._vosk_offset),
                float(w.get("conf", math.nan)),
            )
            for w in result.get("result", ())
        )
        if words:
            t0, t1 = words[0].t0, words[-1].t1
        else:
            t0 = t1 = self._to_time(self.stats.samples_fed)
        self.stats.finals += 1
        events.append(Final(text, t0, t1, words))

    def _to_time(self, fed_sample: int) -> float:
        i = bisect.bisect_right(self._seg_fed, fed_sample) - 1
        return self._origin + (self._seg_in[i] + fed_sample - self._seg_fed[i]) / RATE


def _frame_energies(data: bytes) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Sum of squares per 10 ms frame."""
    x = np.frombuffer(data, dtype="<i2").astype(np.float64).reshape(-1, _FRAME)
    energies: np.ndarray[Any, np.dtype[np.float64]] = np.einsum("ij,ij->i", x, x)
    return energies
