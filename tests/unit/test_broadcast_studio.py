"""The studio on its own: a real composition and a real encoder (libx264 + AAC, HLS), fed
decoded frames of known colours, without a network. Checks the delay buffer's promises."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from domain_fixtures import in_phase, scheduled, with_cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from broadcast_media import BLUE, CYAN, GREEN, MAGENTA, YELLOW, Segment

from courtroom.broadcast.studio import Studio, StudioConfig
from courtroom.domain import events as e
from courtroom.domain.hearing import HearingState, evolve
from courtroom.domain.phases import Phase


class Camera:
    """What a video tap gives: the newest decoded frame and when it was decoded."""

    def __init__(self, colour: tuple[int, int, int]) -> None:
        self.colour = colour
        self.decoded_at: float | None = None  # a frame held from then (e.g. captured while paused)

    def latest(self) -> tuple[Any, float]:
        img = np.empty((120, 160, 3), np.uint8)
        img[:, :] = self.colour
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        return frame, self.decoded_at or time.monotonic()


def _segments(out: Path) -> list[Segment]:
    return [Segment.of(p.name, p.read_bytes()) for p in sorted(out.glob("seg-*.ts"))]


def test_delay_pause_and_witness(tmp_path: Path) -> None:
    state: HearingState = evolve(in_phase(with_cast(scheduled()), Phase.EVIDENCE), e.BroadcastStarted(1))
    cams = {"judge": Camera(BLUE), "plaintiff": Camera(GREEN), "witness": Camera(MAGENTA),
            "defendant": Camera(GREEN)}
    current = {"state": state}
    out = tmp_path / "hls"
    config = StudioConfig(size=(320, 180), fps=10, delay_s=1.5, segment_s=1, list_size=100)
    studio = Studio(lambda: current["state"], cams.get, out, config)
    studio.start()
    time.sleep(1.0)
    assert not list(out.glob("seg-*.ts")), "nothing leaves the studio before the delay"
    time.sleep(2.0)
    # The judge pauses; from the same instant the party shows yellow, which must never be
    # published (nor anything of the second before, the pause margin).
    current["state"] = evolve(current["state"], e.BroadcastPaused(1))
    cams["plaintiff"].colour = cams["defendant"].colour = YELLOW
    time.sleep(2.5)
    # Resumed, while the party's newest frame is still one decoded during the pause (a
    # frozen or slow camera): it must not be shown either.
    for cam in (cams["plaintiff"], cams["defendant"]):
        cam.decoded_at = time.monotonic() - 0.2
    current["state"] = evolve(current["state"], e.BroadcastResumed(1))
    time.sleep(0.8)
    for cam in (cams["plaintiff"], cams["defendant"]):
        cam.colour, cam.decoded_at = CYAN, None
    time.sleep(3.5)
    studio.stop(publish_rest=True)
    assert studio.error is None
    segments = _segments(out)
    shows = {c: sum(s.shows[c] for s in segments) for c in (BLUE, GREEN, YELLOW, CYAN, MAGENTA)}
    assert shows[BLUE] > 10 and shows[GREEN] > 5 and shows[CYAN] > 5, shows
    assert shows[YELLOW] == 0 and shows[MAGENTA] == 0, (shows, [(s.name, s.shows[YELLOW], s.shows[CYAN], s.shows[GREEN]) for s in segments])
    assert studio.blanked > 0
    assert (out / "index.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")


def test_stop_throws_the_delay_buffer_away(tmp_path: Path) -> None:
    state = evolve(in_phase(with_cast(scheduled()), Phase.EVIDENCE), e.BroadcastStarted(1))
    out = tmp_path / "hls"
    config = StudioConfig(size=(320, 180), fps=10, delay_s=30.0, segment_s=1)
    studio = Studio(lambda: state, {"judge": Camera(BLUE)}.get, out, config)
    studio.start()
    time.sleep(2.0)
    studio.stop()
    assert studio.error is None and studio.ticks >= 10
    assert sum(s.frames for s in _segments(out)) == 0, "a stop publishes nothing still delayed"


def test_an_excluded_party_and_a_closed_hearing_are_not_shown(tmp_path: Path) -> None:
    state = evolve(in_phase(with_cast(scheduled()), Phase.EVIDENCE), e.BroadcastStarted(1))
    for pid in ("plaintiff", "lawyer", "interpreter"):
        state = evolve(state, e.BroadcastExclusionChanged(pid, True))
    cams = {"judge": Camera(BLUE), "defendant": Camera(GREEN), "plaintiff": Camera(YELLOW)}
    current = {"state": evolve(state, e.BroadcastExclusionChanged("defendant", True))}
    out = tmp_path / "hls"
    config = StudioConfig(size=(320, 180), fps=10, delay_s=0.5, segment_s=1, list_size=100)
    studio = Studio(lambda: current["state"], cams.get, out, config)
    studio.start()
    time.sleep(2.5)
    current["state"] = evolve(current["state"], e.PhaseChanged(Phase.CLOSED, Phase.EVIDENCE, "closed"))
    cams["judge"].colour = MAGENTA  # after the close: never published
    time.sleep(2.0)
    studio.stop(publish_rest=True)
    segments = _segments(out)
    shows = {c: sum(s.shows[c] for s in segments) for c in (BLUE, GREEN, YELLOW, MAGENTA)}
    assert shows[BLUE] > 5 and shows[GREEN] == 0 and shows[YELLOW] == 0 and shows[MAGENTA] == 0, shows
