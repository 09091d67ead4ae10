"""The public broadcast through the whole stack: real aiortc participants, a real server,
a real encoder (libx264 + AAC, HLS); the stream is read back as the public reads it.

Cameras show known colours: the witness magenta (never published, waiting or called in),
the judge blue, the party green until the judge pauses, then yellow (said after the
pause: never published), then cyan after the resume.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx
import pytest
from court_client import Client, Server, media_for, read_log, running_server, schedule, token_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from broadcast_media import BLUE, CYAN, GREEN, MAGENTA, YELLOW, HlsReader, SolidVideo

DELAY_S = 3.0
# Small and slow where it does not matter, so the test holds on a shared, loaded machine.
ENV = {"COURTROOM_BROADCAST_DELAY_S": str(DELAY_S), "COURTROOM_BROADCAST_FPS": "10",
       "COURTROOM_BROADCAST_SIZE": "320x180", "COURTROOM_VISION_FPS": "0.2"}


@pytest.mark.timeout(180)
async def test_public_broadcast_shows_bench_and_party_never_the_witness_and_pauses(tmp_path: Path) -> None:
    with running_server(tmp_path, args=["--ice-loopback-only"], extra_env=ENV) as server:
        try:
            await _broadcast_scenario(server)
        finally:
            print("".join(server.output[-300:]))  # shown with the failure report


async def _broadcast_scenario(server: Server) -> None:
    hid, inv = schedule(server, {"judge": "judge", "plaintiff": "plaintiff", "witness": "witness"})
    ids = {name: inv[name]["participant_id"] for name in inv}
    ws = {name: await Client.join(server, token_for(server, inv[name])) for name in inv}
    judge = ws["judge"]
    http = httpx.Client(base_url=server.base, timeout=60)
    # Not public until the judge says so: the public side does not know the hearing.
    assert http.get(f"/api/v1/public/hearings/{hid}").status_code == 404
    assert (await judge.command("announce_broadcast", listed=True))["ok"]
    listing = http.get("/api/v1/public/hearings").json()
    assert [h["hearing_id"] for h in listing["upcoming"]] == [hid]
    public = listing["upcoming"][0]
    assert public["status"] == "announced" and public["playlist"] is None
    # No case parties: no case number, no title, no names.
    text = http.get(f"/api/v1/public/hearings/{hid}").text
    for secret in ("京0105", "借贷", "plaintiff", "witness", ids["plaintiff"]):
        assert secret not in text

    await _hostile(server, http, judge, hid)

    assert (await judge.command("open_hearing"))["ok"]
    for name in ("plaintiff", "witness"):
        assert (await judge.command("admit", participant=ids[name]))["ok"]
    cams = {n: SolidVideo(c, size=(160, 90), fps=10)
            for n, c in (("judge", BLUE), ("plaintiff", GREEN), ("witness", MAGENTA))}
    peers = {n: await media_for(ws[n], ids[n], video_track=lambda n=n: cams[n]) for n in inv}  # type: ignore[misc]

    # Only the judge may broadcast; a party's attempt is refused and logged.
    refused = await ws["plaintiff"].command("start_broadcast")
    assert not refused["ok"] and refused["code"] == "forbidden"
    assert (await judge.command("start_broadcast"))["ok"]
    public = http.get(f"/api/v1/public/hearings/{hid}").json()
    assert public["status"] == "live" and public["delay_s"] == DELAY_S
    reader = HlsReader(server.base, public["playlist"])
    await reader.follow(http, lambda: reader.seen(GREEN) > 10 and reader.seen(BLUE) > 10, timeout=90)

    # The witness is called in: still never in the broadcast.
    assert (await judge.command("call_in", participant=ids["witness"]))["ok"]
    called_in = time.monotonic()
    await reader.follow(http, lambda: time.monotonic() - called_in > DELAY_S + 5, timeout=60)

    # Pause, and the party's camera changes at once: nothing of it may ever be published.
    assert (await judge.command("pause_broadcast"))["ok"]
    cams["plaintiff"].colour = YELLOW
    paused = time.monotonic()
    before_pause = set(reader.segments)
    # Within the delay (and some slack for a starved machine) the public gets the card only.
    await reader.follow(http, lambda: card_now(reader, before_pause), timeout=DELAY_S + 60)
    took = time.monotonic() - paused
    assert took < DELAY_S + 40, took

    assert (await judge.command("resume_broadcast"))["ok"]
    cams["plaintiff"].colour = CYAN
    await reader.follow(http, lambda: reader.seen(CYAN) > 10, timeout=90)
    assert (await judge.command("stop_broadcast"))["ok"]
    await asyncio.sleep(1.0)
    assert (await asyncio.to_thread(http.get, public["playlist"])).status_code == 404  # off air: nothing served
    assert http.get(f"/api/v1/public/hearings/{hid}").json()["status"] == "ended"

    assert reader.seen(MAGENTA) == 0, "the witness must never be published"
    assert reader.seen(YELLOW) == 0, "nothing after the pause may be published"
    assert any(s.audio_rms > 0.01 for s in reader.ordered()), "the mixed audio is there"

    log = read_log(server, hid)
    types = [e["event"]["type"] for e in log]
    for t in ("broadcast_announced", "broadcast_started", "broadcast_paused",
              "broadcast_resumed", "broadcast_stopped"):
        assert types.count(t) == 1, (t, types)
    rejected = [e for e in log if e["event"]["type"] == "command_rejected"]
    assert any(e["event"]["command"] == "start_broadcast" and e["actor"] == ids["plaintiff"]
               for e in rejected), rejected
    for peer in peers.values():
        await peer.close()


def card_now(reader: HlsReader, before: set[str]) -> bool:
    """The newest segment, written since the pause, ends on the card (no bench, no party)."""
    new = [s for s in reader.ordered() if s.name not in before]
    return bool(new) and new[-1].last_shows.get(GREEN, 1) == 0 and new[-1].last_shows.get(BLUE, 1) == 0


async def _hostile(server: Server, http: httpx.Client, judge: Client, hid: str) -> None:
    """What a stranger or a careless client may try on what the broadcast adds."""
    for path in (
        "/api/v1/public/hearings/%ED%A0%80",  # a lone surrogate, UTF-8 encoded
        "/api/v1/public/hearings/" + "a" * 5000,
        "/api/v1/public/hearings/_security",
        f"/public/{hid}/hls/0/index.m3u8",
        f"/public/{hid}/hls/1/index.m3u8",  # announced, not on air
        f"/public/{hid}/hls/abc/index.m3u8",
        f"/public/{hid}/hls/1/..%2F..%2Fcourtroom.db",
        f"/public/{hid}/hls/1/seg-1.ts",
        f"/api/v1/public/hearings/{hid}/captions",  # the court has not enabled captions
    ):
        r = await asyncio.to_thread(http.get, path)
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert r.json()["error"] in ("not_found", "captions_off")
    assert (await asyncio.to_thread(http.post, "/api/v1/public/hearings")).status_code == 405
    # Malformed commands are answered with an error and change nothing.
    await judge.send({"v": 1, "type": "command", "id": "x1", "name": "start_broadcast", "args": {"delay": 0}})
    bad = await judge.wait_for(lambda m: m.get("id") == "x1" or m["type"] == "error")
    assert bad["type"] == "error" or not bad.get("ok"), bad
    await judge.send('{"v": 1, "type": "command", "id": "x2", "name": "exclude_from_broadcast", '
                     '"args": {"participant": "\\ud800"}}')
    bad = await judge.wait_for(lambda m: m.get("id") == "x2" or (m["type"] == "error" and m is not bad))
    assert bad["type"] == "error" or not bad.get("ok"), bad
    refused = await judge.command("exclude_from_broadcast", participant="p-nobody")
    assert not refused["ok"] and refused["code"] == "unknown_participant"
    # Starting before the hearing is open is refused (and logged), and so is a replay.
    refused = await judge.command("start_broadcast")
    assert not refused["ok"] and refused["code"] == "wrong_phase"
