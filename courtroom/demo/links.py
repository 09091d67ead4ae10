"""``courtroom demo``: schedule a sample hearing and print each role's join link and code.

The links are the server's own: the demo asks the running server (``--server``, else
``--public-url`` / ``COURTROOM_PUBLIC_URL``, else ``http://127.0.0.1:<--port>``) over its REST
API, so they carry the address it is really reached at. With no server answering it writes
the hearing into the database directly and says which address the links assume.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from .casts import HEARINGS, DemoHearing, pick
from .rest import Rest, answers, registry_key


@dataclass(frozen=True)
class Invitation:
    role: str
    name: str
    join_url: str
    code: str


def candidates(server: str | None, public_url: str, port: int) -> list[str]:
    """Where to look for the running server, in order."""
    found = [server] if server else []
    if public_url:
        found.append(public_url)
    found.append(f"http://127.0.0.1:{port}")
    return [x.rstrip("/") for x in dict.fromkeys(found)]


def rebase(join_url: str, public_url: str) -> str:
    """``join_url`` with its scheme and host replaced by ``public_url``'s."""
    if not public_url:
        return join_url
    _, sep, rest = join_url.partition("/join")
    return public_url.rstrip("/") + sep + rest if sep else join_url


def via_server(base: str, key: str, language: str | None) -> tuple[DemoHearing, str, list[Any]]:
    rest = Rest(base, key)
    status = rest.json("GET", "/api/v1/status")
    lang, note = pick(status.get("transcription", {}), language)
    demo = HEARINGS[lang]
    hid = rest.json("POST", "/api/v1/hearings", demo.body())["hearing_id"]
    invites = []
    for role, name in demo.cast:
        inv = rest.json(
            "POST", f"/api/v1/hearings/{hid}/participants", {"role": role, "display_name": name}
        )
        invites.append(Invitation(role, name, inv["join_url"], inv["code"]))
    return demo, note, [hid, *invites]


async def via_database(settings: Settings, language: str | None) -> tuple[str, str, list[Any]]:
    from ..bus import InProcessBus
    from ..domain.roles import Role
    from ..server.court import Court
    from ..server.status import transcription_status

    lang, note = pick(transcription_status(settings), language)
    demo = HEARINGS[lang]
    bus = InProcessBus()
    court = Court(settings, bus)
    try:
        b = demo.body()
        hid = await court.schedule(
            b["case_number"], b["title"], b["court"], lang, b["scheduled_for"]
        )
        invites = []
        for role, name in demo.cast:
            inv = await court.invite(hid, Role(role), name)
            invites.append(Invitation(role, name, inv.join_url, inv.code))
    finally:
        await court.close()
        await bus.close()
    return lang, note, [hid, *invites]


def run(settings: Settings, *, server: str | None, port: int, language: str | None) -> int:
    public = settings.public_url
    for base in candidates(server, public, port):
        if not answers(base):
            continue
        try:
            key = registry_key(settings.data_dir)
        except OSError:
            print(
                f"courtroom demo: the server at {base} answers, but its registry key is not "
                f"in {settings.data_dir}: pass the server's --data-dir, or set "
                "COURTROOM_REGISTRY_KEY",
                file=sys.stderr,
            )
            return 2
        _, note, (hid, *invites) = via_server(base, key, language)
        print(f"hearing {hid} scheduled on the server at {base}")
        return _print(note, invites, public)
    looked = ", ".join(candidates(server, public, port))
    _, note, (hid, *invites) = asyncio.run(via_database(settings, language))
    print(f"hearing {hid} written to the database ({settings.effective_database_url}):")
    print(f"no server answered at {looked}. Start the server (scripts/serve) to use it;")
    print(f"the links assume {settings.base_url}: pass --public-url if it is reached elsewhere.")
    return _print(note, invites, public)


def _print(note: str, invites: list[Invitation], public: str) -> int:
    print(note)
    for inv in invites:
        print(f"  {inv.role:<10} {rebase(inv.join_url, public)}  code {inv.code}  ({inv.name})")
    return 0

