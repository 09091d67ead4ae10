"""A participant's device in the scripted demo: its websocket, REST token and signing key.

The key is a P-256 key made on the "device" and used exactly as the browser client uses
WebCrypto; the server only ever sees its public half.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ..record.signatures import Purpose, export_jwk, signing_message, webcrypto_sign
from .rest import Rest

Message = dict[str, Any]


class Device:
    def __init__(self, ws: ClientConnection, pid: str, rest: Rest) -> None:
        self.ws, self.pid, self.rest = ws, pid, rest
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.received: list[Message] = []
        self.on_signal: Callable[[Message], None] | None = None
        self._n = 0
        self._new = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def join(cls, base: str, hid: str, invite: Message) -> Device:
        """Exchange the one-time code for a session, then say hello on the hearing socket."""
        session = Rest(base).json(
            "POST",
            "/api/v1/sessions",
            {"hearing_id": hid, "participant_id": invite["participant_id"], "code": invite["code"]},
        )
        ws_url = base.replace("http://", "ws://").replace("https://", "wss://") + "/ws"
        ws = await connect(ws_url, open_timeout=15, max_size=2**22)
        device = cls(ws, invite["participant_id"], Rest(base))
        await device.send({"v": 1, "type": "hello", "token": session["token"]})
        welcome = await device.wait_for(lambda m: m["type"] in ("welcome", "refused", "error"))
        if welcome["type"] != "welcome":
            raise RuntimeError(f"{invite['display_name']} was not let in: {welcome}")
        device.rest = Rest(base, welcome["token"])
        return device

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                msg = json.loads(raw)
                if msg.get("type") == "signal" and self.on_signal is not None:
                    self.on_signal(msg["data"])
                self.received.append(msg)
                self._new.set()
        self._new.set()

    async def send(self, msg: Message) -> None:
        await self.ws.send(json.dumps(msg))

    async def command(self, name: str, **args: Any) -> Message:
        """Send a hearing command; raises if the court refuses it."""
        self._n += 1
        mid = f"demo{self._n}"
        await self.send({"v": 1, "type": "command", "id": mid, "name": name, "args": args})
        result = await self.wait_for(lambda m: m["type"] == "result" and m.get("id") == mid)
        if not result.get("ok"):
            raise RuntimeError(f"{name} refused: {result}")
        return result

    async def wait_for(self, pred: Callable[[Message], bool], timeout: float = 30.0) -> Message:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = 0
        while True:
            for m in self.received[seen:]:
                if pred(m):
                    return m
            seen = len(self.received)
            if self._reader.done():
                raise RuntimeError(f"connection closed ({self.ws.close_reason})")
            if loop.time() > deadline:
                raise TimeoutError("the server did not answer in time")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), deadline - loop.time())

    def sign(self, purpose: Purpose, digest: str) -> str:
        return webcrypto_sign(self.key, signing_message(purpose, digest))

    async def register_key(self) -> None:
        await self.command("register_signing_key", public_key=export_jwk(self.key.public_key()))

    async def upload_stroke(self, hid: str, png: bytes) -> str:
        path = f"/api/v1/hearings/{hid}/strokes"
        r = await asyncio.to_thread(self.rest.json, "POST", path, raw=png)
        return str(r["stroke_sha256"])

    async def sign_document(self, purpose: Purpose, digest: str, stroke: str) -> None:
        await self.command(
            "sign_document",
            purpose=purpose,
            signed_hash=digest,
            signature=self.sign(purpose, digest),
            stroke_sha256=stroke,
        )

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
