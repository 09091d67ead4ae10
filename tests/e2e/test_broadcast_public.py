"""The public broadcast, end to end: a hearing with a judge, a party and a waiting witness
goes public from the judge's console; a headless Chromium with no login plays it on the
public page (hls.js); the stream's segments, fetched as any HLS client would and decoded
with PyAV, never show the witness's camera (a solid magenta); a pause stops new content
within the delay; the log holds every broadcast event.

Each participant is a real Chromium whose fake camera is a y4m of one known colour.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FLAGS, WAIT_MS, _launch
from court_client import Server, read_log, running_server, schedule
from e2e_helpers import DESKTOP, PHONE, by_id, join, snap
from fake_media import face_y4m, media_flags, silence_wav
from PIL import Image
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from broadcast_media import BLUE, GREEN, MAGENTA, HlsReader

pytestmark = pytest.mark.timeout(300)

JUDGE, PARTY, WITNESS = "王审判长", "张原告", "李证人"
DELAY_S = 4.0
SEGMENT_S = 2  # the studio's default
SLOW_MS = 30_000  # the public page parses hls.js (600 KB) first: slow on a loaded machine


def index(segment: str) -> int:
    return int(segment.removeprefix("seg-").removesuffix(".ts"))


@pytest.fixture
def broadcast_server(tmp_path: Path) -> Iterator[Server]:
    env = {"COURTROOM_BROADCAST_DELAY_S": str(DELAY_S), "COURTROOM_BROADCAST_FPS": "10",
           "COURTROOM_BROADCAST_SIZE": "320x180", "COURTROOM_VISION_FPS": "0.2"}
    with running_server(tmp_path / "data", args=["--ice-loopback-only"], extra_env=env) as s:
        yield s
        print("".join(s.output[-200:]))  # shown with a failure report


def follow(reader: HlsReader, http: httpx.Client, until: Any, timeout: float, page: Any) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, f"timed out; segments {reader.summary()}"
        reader.poll(http)
        page.wait_for_timeout(500)  # lets the public page's player run meanwhile


def playback(page: Any) -> dict[str, float]:
    return dict(page.evaluate("""() => {
        const v = document.querySelector('[data-testid="public-video"]');
        const q = v.getVideoPlaybackQuality();
        return {time: v.currentTime, frames: q.totalVideoFrames, dropped: q.droppedVideoFrames,
                width: v.videoWidth};
    }"""))


def test_a_hearing_goes_public_and_chromium_plays_it(playwright: Any, broadcast_server: Server, tmp_path: Path) -> None:
    server = broadcast_server
    hid, inv = schedule(server, {JUDGE: "judge", PARTY: "plaintiff", WITNESS: "witness"})
    jid, pid, wid = (inv[n]["participant_id"] for n in (JUDGE, PARTY, WITNESS))
    cams = {"judge": BLUE, "party": GREEN, "witness": MAGENTA}
    browsers = {
        who: _launch(playwright, FLAGS + media_flags(
            face_y4m(Image.new("RGB", (640, 360), colour), tmp_path / f"{who}.y4m"),
            silence_wav(tmp_path / f"{who}.wav")))
        for who, colour in cams.items()
    }
    contexts = []

    def open_page(who: str, size: dict[str, int]) -> Any:
        ctx = browsers[who].new_context(viewport=size, locale="zh-CN")
        ctx.set_default_timeout(WAIT_MS)
        contexts.append(ctx)
        return ctx.new_page()

    try:
        judge, party, witness = open_page("judge", DESKTOP), open_page("party", PHONE), open_page("witness", PHONE)
        public = open_page("judge", DESKTOP)  # no login: a fresh context, no credentials
        run(server, hid, jid, pid, wid, inv, judge, party, witness, public)
    finally:
        for ctx in contexts:
            ctx.close()
        for b in browsers.values():
            b.close()


def run(server: Server, hid: str, jid: str, pid: str, wid: str, inv: dict[str, Any],
        judge: Any, party: Any, witness: Any, public: Any) -> None:
    join(judge, inv[JUDGE])
    expect(by_id(judge, "screen-console")).to_be_visible()
    join(party, inv[PARTY])
    join(witness, inv[WITNESS])
    by_id(judge, "act-open_hearing").click()
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "opening")
    by_id(judge, f"act-admit-{pid}").click()
    by_id(judge, f"act-admit-{wid}").click()
    expect(by_id(party, "screen-hearing")).to_be_visible()
    expect(by_id(witness, "screen-waiting")).to_be_visible()

    # Off by default: the public side knows nothing of the hearing.
    public.goto(f"{server.base}/public/{hid}", wait_until="domcontentloaded", timeout=30_000)
    expect(by_id(public, "public-status")).to_have_text("没有这个公开庭审。", timeout=SLOW_MS)

    expect(by_id(judge, "broadcast-status")).to_have_attribute("data-status", "off", timeout=SLOW_MS)
    by_id(judge, "act-start_broadcast").click(timeout=SLOW_MS)
    expect(by_id(judge, "broadcast-status")).to_have_attribute("data-status", "live", timeout=SLOW_MS)
    snap(judge, "broadcast-console-live")

    # The listing shows it on air; its page plays it (hls.js in Chromium).
    public.goto(f"{server.base}/public", wait_until="domcontentloaded", timeout=30_000)
    expect(by_id(public, f"public-item-{hid}")).to_be_visible(timeout=SLOW_MS)
    assert "12345" not in public.locator("body").inner_text()
    by_id(public, f"public-item-{hid}").click()
    expect(by_id(public, "public-status")).to_have_attribute("data-status", "live", timeout=SLOW_MS)
    http = httpx.Client(base_url=server.base, timeout=30)
    playlist = http.get(f"/api/v1/public/hearings/{hid}").json()["playlist"]
    reader = HlsReader(server.base, playlist)
    follow(reader, http, lambda: reader.seen(GREEN) > 10 and reader.seen(BLUE) > 10, 90, public)
    deadline = time.monotonic() + 60
    while not (playback(public)["time"] > 3 and playback(public)["frames"] > 20):
        assert time.monotonic() < deadline, playback(public)
        public.wait_for_timeout(500)
    got = playback(public)
    assert got["width"] == 320, got
    snap(public, "broadcast-public-page")
    body = public.locator("body").inner_text()
    for secret in (JUDGE, PARTY, WITNESS, "12345", "民间借贷"):
        assert secret not in body, body

    # Pause: within the delay, what the public gets is the card, not the hearing. Segments
    # are numbered in the order they were composed: the playlist at the pause ends about
    # DELAY_S before it, so every segment from DELAY_S / 2 s (+ one straddling it) after
    # that one was composed after the pause.
    by_id(judge, "act-pause_broadcast").click(timeout=SLOW_MS)
    expect(by_id(judge, "broadcast-status")).to_have_attribute("data-status", "paused", timeout=SLOW_MS)
    reader.poll(http)
    at_pause = index(max(reader.segments))
    paused = time.monotonic()
    follow(reader, http, lambda: time.monotonic() - paused > DELAY_S + 8, 60, public)
    later = [s for s in reader.ordered() if index(s.name) > at_pause + DELAY_S / SEGMENT_S + 1]
    assert later, reader.summary()
    assert all(s.shows[GREEN] == 0 and s.shows[BLUE] == 0 for s in later), reader.summary()
    expect(by_id(public, "public-status")).to_have_attribute("data-status", "paused", timeout=SLOW_MS)
    before = playback(public)
    public.wait_for_timeout(3000)
    assert playback(public)["time"] > before["time"], "the card plays on"

    by_id(judge, "act-stop_broadcast").click(timeout=SLOW_MS)
    expect(by_id(judge, "broadcast-status")).to_have_attribute("data-status", "off", timeout=SLOW_MS)
    expect(by_id(public, "public-status")).to_have_attribute("data-status", "ended", timeout=SLOW_MS)

    assert reader.seen(MAGENTA) == 0, "the waiting witness must never be published"
    types = [e["event"]["type"] for e in read_log(server, hid)]
    assert [t for t in types if t.startswith("broadcast_")] == [
        "broadcast_started", "broadcast_paused", "broadcast_stopped"], types
