"""Quiet audio is not decoded (media/quiet.py): the Opus TOC arithmetic against libopus's
own packets, and the skip decisions with their exact time accounting."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
import pytest

from media.forward import EncodedFrame
from media.quiet import Check, QuietAudio, Silence, opus_samples
from media.stages import AudioTap, DecodeWorker


def opus_packets(frame_ms: str, seconds: float = 0.5, loud: bool = True) -> list[bytes]:
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "stereo", "s16"
    enc.options = {"frame_duration": frame_ms}
    rng = np.random.default_rng(1)
    n = int(seconds * 48000)
    amp = 6000 if loud else 3
    pcm = (rng.normal(0, amp, (1, 2 * n))).astype(np.int16)
    out: list[bytes] = []
    for i in range(0, n, 960):
        frame = av.AudioFrame.from_ndarray(pcm[:, 2 * i:2 * (i + 960)], format="s16",
                                           layout="stereo")
        frame.sample_rate, frame.pts = 48000, i
        frame.time_base = fractions.Fraction(1, 48000)
        out += [bytes(p) for p in enc.encode(frame)]
    out += [bytes(p) for p in enc.encode(None)]
    return out


def decoded_samples(packet: bytes) -> int:
    dec = av.CodecContext.create("libopus", "r")
    return sum(f.samples for f in dec.decode(av.Packet(packet)))


@pytest.mark.parametrize("frame_ms", ["2.5", "10", "20", "40", "60"])
def test_opus_samples_match_what_libopus_decodes(frame_ms: str) -> None:
    for loud in (True, False):
        packets = opus_packets(frame_ms, loud=loud)
        assert packets
        for packet in packets[1:4]:
            # decoded at 48 kHz; the taps count 16 kHz samples
            assert opus_samples(packet, 48000) == decoded_samples(packet), (frame_ms, packet[:2])
            assert opus_samples(packet) == decoded_samples(packet) // 3


def test_opus_samples_of_malformed_packets_are_zero_not_an_error() -> None:
    assert opus_samples(b"") == 0
    assert opus_samples(b"\x03") == 0  # code 3 without its frame-count byte
    assert opus_samples(b"\xff\x00") == 0  # code 3 that says 0 frames
    # a forged TOC may not stretch the transcript's clock: at most 120 ms per packet
    assert opus_samples(bytes([0x1B, 0x02])) == 2 * 960  # SILK 60 ms x 2 = 120 ms: allowed
    assert opus_samples(bytes([0x1B, 0x03])) == 0  # 3 x 60 ms
    assert opus_samples(bytes([0xFB, 0x3F])) == 0  # CELT 20 ms x 63


TWENTY_MS = opus_packets("20", seconds=0.04)[1]  # a real 20 ms packet (320 samples at 16 kHz)


def frames(levels: list[int | None], start: float = 0.0) -> list[EncodedFrame]:
    return [EncodedFrame("audio/opus", 48000, TWENTY_MS, i * 960, True, start + i * 0.02, 1,
                         level) for i, level in enumerate(levels)]


def run(quiet: QuietAudio, seq: list[EncodedFrame],
        checks: list[Check] | None = None) -> list[EncodedFrame | Silence]:
    """What ``quiet`` hands the decode thread for the tap (level checks set apart)."""
    out: list[EncodedFrame | Silence] = []
    for frame in seq:
        for item in quiet.admit(frame):
            if isinstance(item, Check):
                if checks is not None:
                    checks.append(item)
            else:
                out.append(item)
    return out


def accounted(items: list[EncodedFrame | Silence]) -> int:
    return sum(i.samples if isinstance(i, Silence) else opus_samples(i.data) for i in items)


def test_speech_then_silence_then_speech_keeps_every_sample_and_the_order() -> None:
    quiet = QuietAudio(quiet_dbov=-58, hold_s=1.0, preroll=16, report_s=1.0)
    levels = [20] * 30 + [80] * 500 + [25] * 30  # 0.6 s speech, 10 s quiet, 0.6 s speech
    seq = frames(levels)
    checks: list[Check] = []
    out = run(quiet, seq, checks)
    assert accounted(out) == len(seq) * 320  # nothing lost, nothing counted twice
    decoded = [i for i in out if isinstance(i, EncodedFrame)]
    silences = [i for i in out if isinstance(i, Silence)]
    # the speech, the 1 s hold (the ASR gate's 0.6 s hangover runs on real audio), the
    # pre-roll before the second speech (the gate's 0.3 s) and the second speech
    assert len(decoded) == 30 + 50 + 16 + 30
    assert decoded == seq[:80] + seq[-46:]
    assert quiet.skipped == 450
    # silence goes on every second, not every packet
    assert 8 <= len(silences) <= 10
    assert all(s.samples <= 16000 + 320 for s in silences)
    # in time order: each item ends no earlier than the one before
    ends = [i.arrival for i in out]
    assert ends == sorted(ends)
    # the silence before the pre-roll ends with the frame just before the pre-roll
    last = silences[-1]
    assert out[out.index(last) + 1] is seq[-46]
    assert last.arrival == seq[-47].arrival
    # one skipped frame in 8 to 16 is decoded apart, to check its level
    assert 450 // 16 <= len(checks) == quiet.checks <= 450 // 8
    assert all(c.frame in seq[80:530] for c in checks)


def test_a_short_pause_is_decoded_whole() -> None:
    quiet = QuietAudio()
    seq = frames([20] * 10 + [90] * 40 + [20] * 10)  # 0.8 s pause: under the 1 s hold
    assert run(quiet, seq) == seq
    assert quiet.skipped == 0


def test_a_sender_without_audio_levels_is_decoded_as_before() -> None:
    quiet = QuietAudio()
    seq = frames([None] * 300)
    assert run(quiet, seq) == seq


def test_a_frame_without_a_level_inside_silence_ends_the_skip() -> None:
    quiet = QuietAudio(preroll=4)
    seq = frames([90] * 200 + [None] + [90] * 10)
    out = run(quiet, seq)
    assert accounted(out) == len(seq) * 320
    i = out.index(seq[200])
    assert out[i - 4:i] == seq[196:200]  # its pre-roll came first
    assert isinstance(out[i - 5], Silence)


def test_the_threshold_is_inclusive_and_in_dbov() -> None:
    quiet = QuietAudio(quiet_dbov=-40, hold_s=0.1, preroll=0, report_s=0.1)
    out = run(quiet, frames([40] * 30))  # exactly -40 dBov: quiet
    assert quiet.skipped == 25  # after the 0.1 s hold
    assert accounted(out) == 30 * 320  # 5 decoded, then 5 reports of 0.1 s
    assert [i.samples for i in out if isinstance(i, Silence)] == [1600] * 5
    loud = QuietAudio(quiet_dbov=-40, hold_s=0.1, preroll=0, report_s=0.1)
    assert run(loud, frames([39] * 30)) == frames([39] * 30)
    assert loud.skipped == 0


async def test_a_sender_whose_quiet_frames_are_loud_is_decoded_whole() -> None:
    """Forged levels (speech marked -127 dBov to keep it out of the transcript): a skipped
    frame decoded apart gives the lie away, and from then on everything is decoded."""
    quiet_pcm = opus_packets("20", seconds=2.0, loud=False)[1:]
    loud_pcm = opus_packets("20", seconds=2.0, loud=True)[1:]
    data = quiet_pcm[:60] + loud_pcm[:80]
    seq = [EncodedFrame("audio/opus", 48000, d, i * 960, True, 100 + i * 0.02, 1, 127)
           for i, d in enumerate(data)]
    tap = AudioTap(maxlen=1000)
    worker = DecodeWorker("audio", audio_tap=tap, quiet=QuietAudio())
    assert worker.quiet is not None
    for frame in seq:
        worker.offer(frame)
        await asyncio.sleep(0.002)  # the worker's verdict reaches the loop between frames
    deadline = time.monotonic() + 5
    while worker.quiet.trusted and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert not worker.quiet.trusted and worker.mismatches == 1
    assert 1 <= worker.quiet.checks <= 16 + 1  # found by the first check of a loud frame
    # after that, every frame is decoded again
    skipped = worker.quiet.skipped
    for i, d in enumerate(loud_pcm[80:100]):
        worker.offer(EncodedFrame("audio/opus", 48000, d, (140 + i) * 960, True, 103 + i * 0.02,
                                  1, 127))
    assert worker.quiet.skipped == skipped
    await asyncio.to_thread(worker.close)


async def test_honest_quiet_frames_pass_their_checks() -> None:
    data = opus_packets("20", seconds=4.0, loud=False)[1:]
    tap = AudioTap(maxlen=1000)
    worker = DecodeWorker("audio", audio_tap=tap, quiet=QuietAudio())
    assert worker.quiet is not None
    for i, d in enumerate(data):
        worker.offer(EncodedFrame("audio/opus", 48000, d, i * 960, True, 100 + i * 0.02, 1, 80))
    await asyncio.sleep(0.3)
    assert worker.quiet.checks >= 8 and worker.quiet.skipped > 100
    assert worker.quiet.trusted and worker.mismatches == 0
    await asyncio.to_thread(worker.close)


@pytest.mark.parametrize(("raw", "expected"), [
    ("", -58.0), ("-50", -50.0), (" -70 ", -70.0), ("off", None), ("OFF", None), ("no", None),
    ("-127", -127.0), ("-128", -58.0), ("-49", -58.0), ("0", -58.0), ("12", -58.0),
    ("nan", -58.0), ("-inf", -58.0),
    ("loud", -58.0), ("\udcff", -58.0), ("-5" * 5000, -58.0),
])
def test_the_courts_setting_is_parsed_and_bad_values_fall_back(
    raw: str, expected: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from courtroom.server.media_bridge import quiet_audio_dbov

    monkeypatch.setenv("COURTROOM_QUIET_AUDIO", raw)
    assert quiet_audio_dbov() == expected
