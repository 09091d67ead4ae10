"""The audio packet duration the server asks of publishers (``a=ptime`` in its offers).

The offers are real aiortc offers (audio, video and a second audio section, as a hearing's
renegotiations make them); the parsed result is checked with aiortc's own SDP parser, so a
line in the wrong section would show as the wrong media's attribute or a parse failure.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection
from aiortc.sdp import SessionDescription

from courtroom.config import Settings
from courtroom.server.media_bridge import audio_ptime_ms, media_config
from media.config import DEFAULT_AUDIO_PTIME_MS, MediaConfig
from media.peer import ask_audio_ptime


def real_offer(kinds: tuple[str, ...]) -> str:
    async def make() -> str:
        pc = RTCPeerConnection()
        try:
            for kind in kinds:
                pc.addTransceiver(kind, direction="sendrecv")
            offer = await pc.createOffer()
            return str(offer.sdp)
        finally:
            await pc.close()

    return asyncio.run(make())


def ptimes_by_section(sdp: str) -> list[tuple[str, list[str]]]:
    sections: list[tuple[str, list[str]]] = []
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            sections.append((line.split()[0][2:], []))
        elif line.startswith("a=ptime:") and sections:
            sections[-1][1].append(line)
        elif line.startswith("a=ptime:"):
            sections.append(("session", [line]))
    return sections


@pytest.mark.parametrize("kinds", [("audio",), ("audio", "video"), ("video", "audio", "audio"), ("video",)])
def test_each_audio_section_asks_once_and_video_is_untouched(kinds: tuple[str, ...]) -> None:
    sdp = real_offer(kinds)
    asked = ask_audio_ptime(sdp, 40)
    assert ptimes_by_section(asked) == [(k, ["a=ptime:40"] if k == "audio" else []) for k in kinds]
    assert asked.endswith("\r\n") and asked.count("\n") == asked.count("\r\n")  # CRLF only
    # everything else is as aiortc wrote it, in order, and aiortc still parses it
    assert [ln for ln in asked.split("\r\n") if not ln.startswith("a=ptime:")] == sdp.split("\r\n")
    parsed = SessionDescription.parse(asked)
    assert [m.kind for m in parsed.media] == list(kinds)


def test_a_ptime_already_there_is_replaced_not_doubled() -> None:
    sdp = ask_audio_ptime(real_offer(("audio", "video")), 20)
    again = ask_audio_ptime(sdp, 60)
    assert ptimes_by_section(again) == [("audio", ["a=ptime:60"]), ("video", [])]


def test_none_asks_nothing() -> None:
    sdp = real_offer(("audio", "video"))
    assert ask_audio_ptime(sdp, None) == sdp


def test_no_media_sections_and_an_empty_sdp() -> None:
    assert ask_audio_ptime("v=0\r\ns=-\r\n", 40) == "v=0\r\ns=-\r\n"
    assert ask_audio_ptime("", 40) == "\r\n"
    # an "m=audiox" line is not an audio section
    assert "a=ptime" not in ask_audio_ptime("v=0\r\nm=audiox 9 X 0\r\n", 40)


def test_the_config_refuses_a_duration_opus_cannot_send() -> None:
    assert MediaConfig().audio_ptime_ms == DEFAULT_AUDIO_PTIME_MS == 40
    for bad in (0, 30, 120, -40):
        with pytest.raises(ValueError, match="audio_ptime_ms"):
            MediaConfig(audio_ptime_ms=bad)
    assert MediaConfig(audio_ptime_ms=None).audio_ptime_ms is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("", 40), ("40", 40), ("20", 20), (" 60 ", 60), ("10", 10), ("off", None), ("OFF", None),
    ("30", 40), ("0", 40), ("-20", 40), ("40.0", 40), ("nan", 40), ("１０", 40), ("4" * 10_000, 40),
    ("\udc80", 40), ("٤٠", 40), ("20 ms", 40),
])
def test_the_setting(raw: str, expected: int | None, monkeypatch: pytest.MonkeyPatch,
                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("COURTROOM_AUDIO_PTIME", raw)
    with caplog.at_level(logging.WARNING):
        assert audio_ptime_ms() == expected
    warned = [r.getMessage() for r in caplog.records if "COURTROOM_AUDIO_PTIME" in r.getMessage()]
    assert len(warned) == (0 if raw.strip().lower() in ("", "off", "10", "20", "40", "60") else 1)
    assert all(len(w) < 200 for w in warned)  # a huge value is not copied into the log


def test_the_setting_reaches_both_kinds_of_node(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COURTROOM_AUDIO_PTIME", "60")
    settings = Settings.from_env(data_dir=tmp_path)
    for media_only in ("", "1"):  # a full node, and a media-only one (forwarding only)
        monkeypatch.setenv("COURTROOM_MEDIA_ONLY", media_only)
        assert media_config(settings, "h-1").audio_ptime_ms == 60
