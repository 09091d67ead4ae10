"""kill -9 of the node that holds a hearing with live media and recording: the new node's
recording clock continues the old one's, each track's hole is logged as a ``media_gap``
before its first new file, the transcript marks the audio hole, and the files on both sides
of the hole decode.

Two nodes over a real redis-server sharing one SQLite file and one data dir (recordings of
both land under it); real aiortc clients signalling over the websocket. The lease is 2 s.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import av
import pytest
from court_client import Client, media_for, read_log, registry, schedule, token_for
from test_cluster import _node, _placement

SEGMENT_S = 10.0  # media.config.MediaConfig.segment_seconds


def _recorded(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["event"] for e in entries if e["event"]["type"] == "recording_finished"]


async def _until(check: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(what)
        await asyncio.sleep(0.5)


def _decodes(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams[0]))


@pytest.mark.timeout(240)
async def test_recording_continues_in_a_new_segment_whose_gap_is_logged(tmp_path: Path, redis_url: str) -> None:
    # Light: the watch is not what this test is about. The default lease (5 s): a node loading
    # its vision models on 2 loaded cores has stalled its loop past a 2 s lease.
    env = {"COURTROOM_VISION_FPS": "0.2", "COURTROOM_LEASE_TTL_S": "5"}
    a = _node(tmp_path, redis_url, "rec-a", {**env, "COURTROOM_ICE_LOOPBACK_ONLY": "1"})
    b = _node(tmp_path, redis_url, "rec-b", {**env, "COURTROOM_ICE_LOOPBACK_ONLY": "1"})
    try:
        hid, inv = schedule(a, {"judge": "judge", "plaintiff": "plaintiff"})
        ids = {name: inv[name]["participant_id"] for name in inv}
        ws = {name: await Client.join(a, token_for(a, inv[name])) for name in inv}
        assert (await ws["judge"].command("open_hearing"))["ok"]
        assert (await ws["judge"].command("admit", participant=ids["plaintiff"]))["ok"]
        peers = [await media_for(ws[name], ids[name]) for name in inv]
        # Every track finishes a first segment on A.
        try:
            await _until(lambda: len({(r["participant"], r["kind"]) for r in _recorded(read_log(b, hid))}) == 4,
                         SEGMENT_S * 4, "no finished segment on A")
        except AssertionError:
            tail = [(e["event"]["type"], e["event"].get("participant")) for e in read_log(b, hid)][-30:]
            raise AssertionError(f"no segment on A: {tail}\n{''.join(a.output[-40:])}") from None
        a.kill()
        for peer in peers:
            await peer.close()
        await _until(lambda: _placement(b, hid)["node_id"] == "rec-b", 30, "not placed on B")
        ws2 = {name: await Client.join(b, ws[name].welcome["token"]) for name in inv}  # type: ignore[index]
        peers = [await media_for(ws2[name], ids[name]) for name in inv]

        def move_gaps() -> Any:
            """Per track: the first file after the kill's move, and the gap logged just for it."""
            entries = read_log(b, hid)
            # The kill's move is the last one (on starved cores a stalled node can lose a
            # lease before the kill; the log then shows that move too).
            moved = max(i for i, e in enumerate(entries) if e["event"]["type"] == "hearing_moved")
            found = {}
            for track in {(r["participant"], r["kind"]) for r in _recorded(entries[:moved])}:
                files = [i for i, e in enumerate(entries) if i > moved and e["event"]["type"] == "recording_finished"
                         and (e["event"]["participant"], e["event"]["kind"]) == track]
                if not files:
                    return None
                first = entries[files[0]]["event"]
                gaps = [i for i, e in enumerate(entries) if e["event"]["type"] == "media_gap"
                        and (e["event"]["participant"], e["event"]["kind"]) == track and e["event"]["t1"] == first["start"]]
                found[track] = (first, files[0], gaps)
            return (entries, moved, found) if len(found) == 4 else None

        try:
            entries, moved_at, found = await _until(move_gaps, SEGMENT_S * 4, "no new files on B")
        except AssertionError:
            tail = [(e["event"]["type"], e["event"].get("start"), e["event"].get("t0")) for e in read_log(b, hid)][-30:]
            raise AssertionError(f"no new files on B: {tail}\n{''.join(b.output[-40:])}") from None
        print("moves:", [e["event"] for e in entries if e["event"]["type"] == "hearing_moved"])
        before = _recorded(entries[:moved_at])  # A's files, up to its death
        last_end: dict[tuple[str, str], float] = {}
        for r in before:
            track = (r["participant"], r["kind"])
            last_end[track] = max(r["end"], last_end.get(track, 0.0))
        new = []
        for track, (first_new, file_seq, gap_seqs) in found.items():
            new.append(first_new)
            # The hole runs from the track's last file on A to its first file on B, logged
            # after the move and before that file...
            assert len(gap_seqs) == 1, (track, gap_seqs)
            gap = entries[gap_seqs[0]]["event"]
            assert gap["t0"] == last_end[track], (gap, last_end)
            assert moved_at < gap_seqs[0] < file_seq
            # ...on one clock: B's files start after A's ended, by about the outage.
            assert 0 < gap["t1"] - gap["t0"] < 60, gap

        # The transcript marks the judge's audio hole as a line of its own.
        with registry(b) as http:
            text = http.get(f"/api/v1/hearings/{hid}/transcript.txt").text
            assert "[no audio from" in text, text
            assert http.get(f"/api/v1/hearings/{hid}/log/verify").json()["ok"]

        # The files on both sides of the hole decode.
        rec_dir = tmp_path / "recordings" / hid
        for track, end in last_end.items():
            old = next(r for r in before if (r["participant"], r["kind"]) == track and r["end"] == end)
            fresh = min((r for r in new if (r["participant"], r["kind"]) == track), key=lambda r: r["start"])
            for r in (old, fresh):
                assert _decodes(rec_dir / r["file"]) > 0, r
        for peer in peers:
            await peer.close()
    finally:
        a.kill()
        b.kill()
