"""Evidence clips and the review player's REST side, through the whole stack: a real server,
a real aiortc peer whose camera shows a person, then an empty room (a ``left_frame`` flag),
the real models; a client that knows only docs/protocol.md (the review routes, the grant)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
import scenes
from court_client import Client, media_for, read_log, running_server, schedule, token_for
from test_server_vision import ARGS, ENV, FixtureVideo, inspector, stop


class SceneVideo(FixtureVideo):
    """Shows ``scene`` (a frame the test switches) at 10 fps in real time."""

    def __init__(self, scene: Any) -> None:
        super().__init__([(1.0, scene)])
        self.scene = scene

    async def recv(self) -> Any:
        self.schedule = [(1.0, self.scene)]
        return await super().recv()


async def watching(server: Any, hid: str, pid: str, timeout: float = 90) -> None:
    """Until the watch has checked frames of ``pid``. Its models load on the first room, and
    on a loaded machine the server answers slowly meanwhile: a slow answer is asked again."""
    deadline = time.monotonic() + timeout
    watch: Any = None
    with inspector(server) as http:
        while True:
            try:
                watch = http.get(f"/api/v1/hearings/{hid}/vision").json()
            except httpx.TransportError:
                watch = "no answer"
            else:
                if pid in watch["watched"] and watch["samples"] >= 2:
                    return
            assert time.monotonic() < deadline, watch
            await asyncio.sleep(0.5)


async def wait_log(server: Any, hid: str, type_: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in read_log(server, hid) if e["event"]["type"] == type_]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no {type_} in the log after {timeout} s"
        await asyncio.sleep(0.5)


def first_packet_is_keyframe(data: bytes, tmp: Path) -> tuple[bool, float]:
    path = tmp / "clip.webm"
    path.write_bytes(data)
    with av.open(str(path)) as c:
        packets = [p for p in c.demux(video=0) if p.size]
        frames = sum(1 for _ in av.open(str(path)).decode(video=0))
        span = float((packets[-1].pts - packets[0].pts) * packets[0].time_base)
    assert frames == len(packets)  # every packet decodes: nothing lost at the cut
    return bool(packets[0].is_keyframe), span


@pytest.mark.timeout(150)
async def test_a_flag_keeps_a_clip_and_the_review_api_serves_and_logs_it(tmp_path: Path) -> None:
    person = scenes.letterbox(scenes.man(2))
    empty = scenes.letterbox(scenes.empty_room())
    track = SceneVideo(person)

    with running_server(tmp_path, args=ARGS, extra_env=ENV) as server:
        hid, inv = schedule(server, {"judge": "judge", "plaintiff": "plaintiff"})
        pid = inv["plaintiff"]["participant_id"]
        judge_token = token_for(server, inv["judge"])
        judge = await Client.join(server, judge_token)
        party_token = token_for(server, inv["plaintiff"])
        party = await Client.join(server, party_token)
        assert (await judge.command("open_hearing"))["ok"]
        assert (await judge.command("admit", participant=pid))["ok"]
        peer = await media_for(party, pid, audio=False, video_track=lambda: track)
        await watching(server, hid, pid)
        track.scene = empty
        raised = (
            await judge.wait_for(
                lambda m: m["type"] == "event" and m["event"]["type"] == "flag_raised", 30
            )
        )["event"]
        track.scene = person
        # The clip waits for the recorder to finish a segment past its end (~10 s segments).
        kept = (await wait_log(server, hid, "evidence_clip_kept", 45))["event"]
        assert kept["flag_id"] == raised["flag_id"] and kept["participant"] == pid
        assert kept["t0"] <= raised["t0"]  # the clip holds the flag's start
        gaps = [e["event"] for e in read_log(server, hid) if e["event"]["type"] == "media_gap"]
        # From a keyframe at or before the asked start, unless the asked start lies in a gap
        # or before the participant's recording began (then from its first keyframe).
        first = min(
            e["event"]["start"]
            for e in read_log(server, hid)
            if e["event"]["type"] == "recording_finished"
            and e["event"]["participant"] == pid
            and e["event"]["kind"] == "video"
        )
        asked = max(raised["t0"] - 4.0, first)
        if not [g for g in gaps if g["t0"] - 1 <= asked <= g["t1"] + 1]:
            assert kept["t0"] <= asked + 0.01 or (asked == first and kept["t0"] < first + 1.0)
        assert kept["t1"] >= raised["evidence_t"] + 4.0 - 0.5
        assert kept["sources"] and all(s.startswith(f"{pid}-") for s in kept["sources"])

        with inspector(server) as http:
            # The inspector console's flag carries the clip; its bytes match the logged hash.
            flag = http.get("/api/v1/flags", params={"hearing": hid}).json()["flags"][0]
            assert flag["clip_sha256"] == kept["sha256"]
            clip = http.get(flag["clip_url"])
            assert clip.status_code == 200 and clip.headers["content-type"] == "video/webm"
            assert hashlib.sha256(clip.content).hexdigest() == kept["sha256"]
            key, span = first_packet_is_keyframe(clip.content, tmp_path)
            assert key and span == pytest.approx(kept["t1"] - kept["t0"], abs=0.3)

            # Export a clip around the flag, as a reviewer does from the player.
            url = f"/api/v1/hearings/{hid}/clips"
            r = http.post(
                url, json={"participant": pid, "t0": raised["t0"] - 1, "t1": raised["t0"] + 2}
            )
            assert r.status_code == 201, r.text
            exported = r.json()
            assert exported["t0"] <= raised["t0"] - 1 + 0.01
            got = httpx.get(server.base + exported["url"])  # the grant in the URL suffices
            assert hashlib.sha256(got.content).hexdigest() == exported["sha256"]
            for bad, code in [
                ({"participant": pid, "t0": "1", "t1": 3}, 400),
                ({"participant": pid, "t0": 5, "t1": 4}, 400),
                ({"participant": pid, "t0": 0, "t1": 1e9}, 400),
                ({"participant": pid, "t0": True, "t1": 3}, 400),
                ({"participant": "p-nobody", "t0": 0, "t1": 3}, 404),
                ({"participant": "../x", "t0": 0, "t1": 3}, 404),
                ({"participant": pid, "t0": 900, "t1": 903}, 404),  # nothing recorded then
                ({"t0": 0, "t1": 3}, 400),
            ]:
                assert http.post(url, json=bad).status_code == code, bad
            for raw in [
                b'{"participant": "\\ud800", "t0": 0, "t1": 1}',
                b"[" * 500 + b"]" * 500,
                b"",
            ]:
                r = http.post(url, content=raw, headers={"Content-Type": "application/json"})
                assert r.status_code == 400, raw[:40]

        # The judge opens the timeline with the session token; media by grant, with ranges.
        # The welcome's fresh token (the one presented was spent opening the websocket).
        bench = {"Authorization": f"Bearer {judge.received[0]['token']}"}
        tl = httpx.get(f"{server.base}/api/v1/hearings/{hid}/review", headers=bench).json()
        video = next(t for t in tl["tracks"] if t["participant"] == pid and t["kind"] == "video")
        seg = video["segments"][0]
        assert tl["origin"] and tl["duration"] > 0 and "grant=" in seg["url"]
        (f,) = [x for x in tl["flags"] if x["flag_id"] == raised["flag_id"]]
        assert (
            f["at"] == pytest.approx(raised["t0"], abs=0.01)
            and f["clip"]["sha256"] == kept["sha256"]
        )
        types = {m["type"] for m in tl["marks"]}
        assert {"flag", "phase", "clip"} <= types
        whole = httpx.get(server.base + seg["url"])
        assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
        assert hashlib.sha256(whole.content).hexdigest() == seg["sha256"]
        part = httpx.get(server.base + seg["url"], headers={"Range": "bytes=100-299"})
        assert part.status_code == 206 and part.content == whole.content[100:300]
        assert part.headers["content-range"] == f"bytes 100-299/{len(whole.content)}"

        # Forged, tampered or missing grants, and the wrong people, are refused and logged.
        base = seg["url"].split("?")[0]
        grant = tl["grant"]
        forged = grant.replace("judge", "inspector", 1) if "judge" in grant else grant[:-1] + "0"
        for query in [
            f"?grant={forged}",
            f"?grant={grant[:-2]}zz",
            "?grant=a.b.c.d",
            "?grant=",
            "",
        ]:
            assert httpx.get(server.base + base + query).status_code == 401, query
        other, _ = schedule(server, {"judge": "judge"})
        assert httpx.get(server.base + seg["url"].replace(hid, other, 1)).status_code == 401
        for name in ["..%2Fcourtroom.db", f"{'0' * 64}.webm", "x-video-00000-1.webm"]:
            assert (
                httpx.get(
                    f"{server.base}/api/v1/hearings/{hid}/review/media/{name}?grant={grant}"
                ).status_code
                == 404
            )
        party_auth = {"Authorization": f"Bearer {party.received[0]['token']}"}
        assert httpx.get(
            f"{server.base}/api/v1/hearings/{hid}/review", headers=party_auth
        ).status_code in (401, 403)

        await asyncio.sleep(1.0)
        log = read_log(server, hid)
        views = [
            (e["actor"], e["event"]["what"], e["event"]["item"])
            for e in log
            if e["event"]["type"] == "recording_viewed"
        ]
        assert ("inspector", "clip", f"{kept['sha256']}.webm") in views
        assert (inv["judge"]["participant_id"], "timeline", "") in views
        assert (inv["judge"]["participant_id"], "recording", seg["file"]) in views
        assert len([v for v in views if v[2] == seg["file"]]) == 1  # range requests: one view
        exports = [e for e in log if e["event"]["type"] == "clip_exported"]
        assert [(e["actor"], e["event"]["sha256"]) for e in exports] == [
            ("inspector", exported["sha256"])
        ]
        refusals = [e["event"]["reason"] for e in log if e["event"]["type"] == "access_refused"]
        assert "bad review grant" in refusals
        # The flagged participant is told nothing of clips or views.
        assert not [
            m
            for m in party.received
            if m["type"] == "event"
            and m["event"]["type"] in ("evidence_clip_kept", "recording_viewed", "clip_exported")
        ]
        assert [
            m
            for m in judge.received
            if m["type"] == "event" and m["event"]["type"] == "evidence_clip_kept"
        ]
        await stop([peer], [judge, party])
