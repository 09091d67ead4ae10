"""The review player in Chromium: a live hearing where the party, speaking Korean (espeak-ng),
walks out of the frame mid-sentence; the inspector opens the flag in the console, plays its
evidence clip, jumps to it in the review player: the party's video is at the flag's time
(±1 s) and the transcript line highlighted is the one spoken then. Then plays the seconds
around it, dismisses the flag and exports a clip there; the log holds every step."""

from __future__ import annotations

import asyncio
import fractions
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import pytest
import scenes
from aiortc.mediastreams import MediaStreamTrack
from court_client import SEOUL_HEARING, Client, media_for, read_log, running_server, schedule
from court_client import token_for as token
from e2e_helpers import DESKTOP, by_id, snap
from playwright.sync_api import expect
from speech import korean_speech
from test_server_review import SceneVideo, watching
from test_server_vision import ARGS, ENV, INSPECTOR_KEY, inspector, stop

from asr.batch import read_pcm16k

pytestmark = pytest.mark.timeout(300)
FRAME = 320  # 20 ms at 16 kHz


class CueSpeech(MediaStreamTrack):  # type: ignore[misc]
    """A live microphone: silence until the test says something, in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.pending = b""
        self._n = 0
        self._start: float | None = None

    def say(self, pcm: bytes) -> None:
        self.pending += pcm

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._n * FRAME / 16000
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        chunk, self.pending = self.pending[: FRAME * 2], self.pending[FRAME * 2 :]
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(chunk.ljust(FRAME * 2, b"\0"))
        frame.sample_rate = 16000
        frame.pts = self._n * FRAME
        frame.time_base = fractions.Fraction(1, 16000)
        self._n += 1
        return frame


async def new_flag(judge: Client, after: int, kind: str, timeout: float) -> dict[str, Any]:
    """The first ``kind`` flag the judge is sent after message number ``after``."""
    deadline = time.monotonic() + timeout
    while True:
        for m in judge.received[after:]:
            event = m.get("event", {}) if m["type"] == "event" else {}
            if event.get("type") == "flag_raised" and event.get("kind") == kind:
                return dict(event)
        assert time.monotonic() < deadline, f"no {kind} flag after the scene changed"
        await asyncio.sleep(0.2)


async def live_hearing(server: Any, tmp: Path) -> tuple[str, str, dict[str, Any]]:
    """A hearing whose party speaks three sentences and leaves the frame during the second."""
    speech = korean_speech(tmp / "speech")
    hid, inv = schedule(server, {"judge": "judge", "plaintiff": "plaintiff"}, SEOUL_HEARING)
    pid = inv["plaintiff"]["participant_id"]
    judge = await Client.join(server, token(server, inv["judge"]))
    party = await Client.join(server, token(server, inv["plaintiff"]))
    assert (await judge.command("open_hearing"))["ok"]
    assert (await judge.command("admit", participant=pid))["ok"]
    person, empty = scenes.letterbox(scenes.man(2)), scenes.letterbox(scenes.empty_room())
    video, mic = SceneVideo(person), CueSpeech()
    peer = await media_for(party, pid, video_track=lambda: video, audio_track=lambda: mic)
    await watching(server, hid, pid)
    first, during, after = speech["home"], speech["greeting"], speech["debt"]
    mic.say(read_pcm16k(first.path))
    await asyncio.sleep(first.duration_s + 1.5)
    mic.say(read_pcm16k(during.path))
    await asyncio.sleep(1.0)  # mid-sentence, the party walks out of the frame
    seen = len(judge.received)
    video.scene = empty
    flag = await new_flag(judge, seen, "left_frame", 40)
    video.scene = person
    await asyncio.sleep(max(0.0, during.duration_s - 1.0) + 1.5)
    mic.say(read_pcm16k(after.path))
    await asyncio.sleep(after.duration_s + 2.0)
    deadline = time.monotonic() + 60
    while not [
        e
        for e in read_log(server, hid)
        if e["event"]["type"] == "evidence_clip_kept" and e["event"]["flag_id"] == flag["flag_id"]
    ]:
        assert time.monotonic() < deadline, "no clip for the flag"
        await asyncio.sleep(0.5)
    await stop([peer], [judge, party])
    return hid, pid, flag


def spoken_at(server: Any, hid: str, pid: str, t: float, timeout: float = 90) -> list[Any]:
    """The transcript lines of ``pid`` spanning ``t`` (the live transcript may lag under load)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [e["event"] for e in read_log(server, hid)]
        lines = [x for x in lines if x["type"] == "transcript_line" and x["speaker"] == pid]
        spoken = [x for x in lines if x["t0"] <= t <= x["t1"]]
        if spoken:
            return spoken
        assert time.monotonic() < deadline, (t, [(x["t0"], x["t1"], x["text"]) for x in lines])
        time.sleep(1.0)


def test_jump_to_a_flag_from_the_inspector_console(pages: Any, tmp_path: Path) -> None:
    # 1 sample a second (the default): less CPU beside the live transcript on a shared machine.
    env = {**ENV, "COURTROOM_VISION_FPS": "1"}
    with running_server(tmp_path / "data", args=ARGS, extra_env=env) as server:
        try:
            _review_in_chromium(pages, server, tmp_path)
        finally:
            print("".join(server.output[-200:]))  # shown with a failure (-rA or on error)


def _review_in_chromium(pages: Any, server: Any, tmp_path: Path) -> None:
    # In a thread: the aiortc peers run their own event loop, and Playwright's is running here.
    with ThreadPoolExecutor(1) as pool:
        hid, pid, flag = pool.submit(asyncio.run, live_hearing(server, tmp_path)).result()
    spoken = spoken_at(server, hid, pid, flag["t0"])

    page = pages.open(DESKTOP)
    page.goto(server.base + "/inspector.html")
    by_id(page, "insp-key").fill(INSPECTOR_KEY)
    by_id(page, "insp-go").click()
    page.locator(f"tr.flag-row[data-flag='{flag['flag_id']}']").click()
    # The console plays the flag's evidence clip.
    clip = by_id(page, "clip-player")
    expect(clip).to_be_visible()
    page.wait_for_function("document.querySelector('[data-testid=clip-player]').readyState >= 1")
    assert clip.evaluate("v => v.duration") >= 7.0  # 4 s before the flag to 4 s after

    by_id(page, "open-review").click()
    expect(by_id(page, "rv-flag-title")).to_have_attribute("data-flag", flag["flag_id"])
    video = by_id(page, f"media-{pid}-video")
    page.wait_for_function(
        f"(() => {{ const v = document.querySelector('[data-testid=media-{pid}-video]');"
        " return v && v.readyState >= 2 && !v.seeking; })()"
    )
    at = video.evaluate("v => Number(v.dataset.segStart) + v.currentTime")
    assert abs(at - flag["t0"]) <= 1.0, (at, flag["t0"])
    current = page.locator("[data-testid=rv-line][aria-current=true]")
    expect(current).to_have_count(1)
    assert current.get_attribute("data-line") == spoken[0]["line_id"]
    snap(page, "review-player")

    # The seconds around it play: the video advances, frames are decoded.
    by_id(page, "rv-around").click()
    page.wait_for_timeout(2500)
    later = video.evaluate("v => Number(v.dataset.segStart) + v.currentTime")
    assert later > flag["t0"] - 3 + 1.0, (later, flag["t0"])
    frames = video.evaluate("v => v.getVideoPlaybackQuality().totalVideoFrames")
    assert frames > 0

    # The timeline is a keyboard slider too.
    before = float(
        by_id(page, "review").locator(".rv-bar").evaluate("b => b.closest('[data-t]').dataset.t")
    )
    # (back, not forward: a short hearing's timeline may end less than 5 s after the flag)
    by_id(page, "rv-bar").press("ArrowLeft")
    after = float(by_id(page, "rv-bar").evaluate("b => b.closest('[data-t]').dataset.t"))
    assert after == pytest.approx(max(before - 5, 0), abs=0.5)

    # Dismissed there, and a clip exported there: both on the record.
    by_id(page, "rv-note").fill("stood up to fetch a document")
    by_id(page, "rv-dismiss").click()
    expect(by_id(page, "rv-review-result")).to_contain_text("已排除")
    by_id(page, "rv-export").click()
    expect(by_id(page, "rv-export-result")).to_contain_text("SHA-256")
    assert pages.console[page] == []

    entries = read_log(server, hid)
    reviews = [e for e in entries if e["event"]["type"] == "flag_reviewed"]
    assert [(e["actor"], e["event"]["disposition"]) for e in reviews] == [
        ("inspector", "dismissed")
    ]
    assert [e["actor"] for e in entries if e["event"]["type"] == "clip_exported"] == ["inspector"]
    # Counted per kind and outcome for the inspectors' statistics.
    with inspector(server) as http:
        stats = http.get("/api/v1/flags/stats", params={"hearing": hid}).json()
    assert stats["kinds"]["left_frame"]["dismissed"] == 1
    assert stats["kinds"]["left_frame"]["dismissal_rate"] == 1.0
    views = {
        (e["actor"], e["event"]["what"])
        for e in entries
        if e["event"]["type"] == "recording_viewed"
    }
    assert {
        ("inspector", "timeline"),
        ("inspector", "recording"),
        ("inspector", "clip"),
    } <= views
