"""Exhibits through a real server (issue 15 item 1), as a client author would use them from
docs/protocol.md: a lawyer uploads over REST with its session token, the judge presents and
turns pages over the websocket, everyone in the hearing follows, the waiting witness learns
nothing, and hostile uploads are refused with clear errors and logged."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import exhibit_samples as samples
import httpx
from court_client import (
    Client,
    Server,
    join_invited,
    read_log,
    registry,
    running_server,
    schedule,
)
from cryptography.hazmat.primitives.asymmetric import ec

from courtroom.record.signatures import export_jwk, signing_message, webcrypto_sign

CAST = {
    "judge": "judge",
    "clerk": "clerk",
    "plaintiff": "plaintiff",
    "lawyer": "lawyer",
    "witness": "witness",
}


def rest(server: Server, client: Client) -> httpx.Client:
    """REST with the client's latest token (from welcome), as docs/protocol.md says."""
    token = client.welcome["token"] if client.welcome else ""
    return httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=60)


async def seated(server: Server) -> tuple[str, dict[str, Client], dict[str, str]]:
    """Judge, clerk, plaintiff and lawyer in an open hearing; the witness in the waiting room."""
    hid, inv = schedule(server, CAST)
    ids = {name: inv[name]["participant_id"] for name in CAST}
    c = {name: await join_invited(server, inv[name]) for name in CAST}
    assert (await c["judge"].command("open_hearing"))["ok"]
    for name in ("plaintiff", "lawyer", "witness"):
        assert (await c["judge"].command("admit", participant=ids[name]))["ok"]
    await c["witness"].wait_presence(ids["witness"], "waiting_room")
    await c["lawyer"].wait_presence(ids["lawyer"], "in_hearing")
    return hid, c, ids


def upload(http: httpx.Client, hid: str, data: bytes, name: str, **params: str) -> httpx.Response:
    return http.post(f"/api/v1/hearings/{hid}/exhibits", params={"name": name, **params}, content=data,
                     headers={"Content-Type": "application/pdf"})


def shown(client: Client) -> dict[str, Any] | None:
    showing: dict[str, Any] | None = client.last_state()["presenting"]["showing"]
    return showing


async def test_upload_present_turn_a_page_and_the_witness_sees_nothing(server: Server) -> None:
    hid, c, ids = await seated(server)
    judge, party, witness = c["judge"], c["plaintiff"], c["witness"]
    pdf = samples.loan_pdf(3)
    with rest(server, c["lawyer"]) as http:
        r = upload(http, hid, pdf, "转账记录（被告）.pdf", side="defendant")
    assert r.status_code == 201, r.text
    exhibit = r.json()
    assert exhibit["label"] == "被告证据1" and exhibit["pages"] == 3
    assert exhibit["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert exhibit["media_type"] == "application/pdf" and exhibit["filename"] == "转账记录（被告）.pdf"
    xid = exhibit["exhibit_id"]
    await judge.wait_for(lambda m: m["type"] == "event" and m["event"]["type"] == "exhibit_submitted")

    assert (await judge.command("present_exhibit", exhibit_id=xid, page=1))["ok"]
    await party.wait_for(lambda m: m["type"] == "state" and (shown(party) or {}).get("page") == 1)
    assert (await judge.command("present_exhibit", exhibit_id=xid, page=2))["ok"]
    for client in (judge, party, c["lawyer"]):
        await client.wait_for(lambda m: m["type"] == "event" and m["event"]["type"] == "exhibit_page_turned")
        await client.wait_for(lambda m, cl=client: m["type"] == "state" and (shown(cl) or {}).get("page") == 2)
    # The same pixels for everyone: the page is rendered once by the server.
    pages = []
    for who in ("judge", "plaintiff"):
        with rest(server, c[who]) as http:
            r = http.get(f"/api/v1/hearings/{hid}/exhibits/{xid}/pages/2")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
        pages.append(r.content)
    assert pages[0] == pages[1] and pages[0].startswith(b"\x89PNG")
    # Everyone asks for a page nobody has seen yet at once: one rendering, the same bytes.
    tokens = [c[w].welcome["token"] for w in ("judge", "plaintiff", "lawyer", "clerk") if c[w].welcome]
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as http_async:
        got = await asyncio.gather(*(http_async.get(f"/api/v1/hearings/{hid}/exhibits/{xid}/pages/3",
                                                    headers={"Authorization": f"Bearer {t}"}) for t in tokens))
    assert [r.status_code for r in got] == [200] * len(tokens) and len({r.content for r in got}) == 1
    with rest(server, party) as http:
        assert http.get(f"/api/v1/hearings/{hid}/exhibits/{xid}").content == pdf
        assert http.get(f"/api/v1/hearings/{hid}/exhibits/{xid}/pages/4").status_code == 404

    # The waiting witness: no message names the exhibit; REST refuses, and the refusal is logged.
    marker = "marker for the witness"
    assert (await c["clerk"].command("send_message", to=f"participant:{ids['witness']}", text=marker))["ok"]
    await witness.wait_for(lambda m: m["type"] == "event" and m["event"].get("text") == marker)
    seen = str(witness.received)
    for secret in (xid, "被告证据", "转账记录", exhibit["sha256"]):
        assert secret not in seen, secret
    with rest(server, witness) as http:
        for path in (f"{xid}", f"{xid}/pages/1"):
            r = http.get(f"/api/v1/hearings/{hid}/exhibits/{path}")
            assert r.status_code == 403 and "转账" not in r.text, r.text
        listed = http.get(f"/api/v1/hearings/{hid}/exhibits").json()
        assert listed["exhibits"] == [] and listed["showing"] is None
    log = read_log(server, hid)
    refused = [e for e in log if e["event"]["type"] == "access_refused" and e["event"].get("participant") == ids["witness"]]
    assert refused, [e["event"]["type"] for e in log]

    # Called in, the witness sees the exhibit on screen, at its page, and fetches that page.
    assert (await judge.command("call_in", participant=ids["witness"]))["ok"]
    await witness.wait_for(lambda m: m["type"] == "state" and (shown(witness) or {}).get("page") == 2)
    with rest(server, witness) as http:
        assert http.get(f"/api/v1/hearings/{hid}/exhibits/{xid}/pages/2").content == pages[0]
    assert (await judge.command("stop_presenting"))["ok"]
    await witness.wait_for(lambda m: m["type"] == "event" and m["event"]["type"] == "exhibit_presentation_ended")

    kinds = [e["event"]["type"] for e in read_log(server, hid)]
    assert kinds.count("exhibit_submitted") == 1 and kinds.count("exhibit_presented") == 1
    assert kinds.count("exhibit_page_turned") == 1 and kinds.count("exhibit_presentation_ended") == 1
    for client in c.values():
        await client.close()


async def test_the_judge_allows_a_lawyer_to_present(server: Server) -> None:
    hid, c, ids = await seated(server)
    with rest(server, c["plaintiff"]) as http:
        r = upload(http, hid, samples.png_photo(), "欠条照片.png")
    assert r.status_code == 201 and r.json()["label"] == "原告证据1", r.text
    xid = r.json()["exhibit_id"]
    out = await c["lawyer"].command("present_exhibit", exhibit_id=xid)
    assert not out["ok"] and out["code"] == "forbidden", out
    assert (await c["judge"].command("allow_presenting", participant=ids["lawyer"], what="exhibits", allowed=True))["ok"]
    assert (await c["lawyer"].command("present_exhibit", exhibit_id=xid))["ok"]
    out = await c["lawyer"].command("present_exhibit", exhibit_id=xid, page=2)
    assert not out["ok"] and out["code"] == "invalid", out  # an image has one page
    # Hostile commands: wrong types, huge numbers, a lone surrogate, an unknown field.
    for args in ({"exhibit_id": xid, "page": "1"}, {"exhibit_id": xid, "page": True}, {"exhibit_id": 7},
                 {"exhibit_id": xid, "page": 1, "extra": 1}):
        await c["lawyer"].send({"v": 1, "type": "command", "id": "bad", "name": "present_exhibit", "args": args})
        err = await c["lawyer"].wait_for(lambda m: m["type"] == "error" and m.get("id") == "bad")
        assert err["code"] == "malformed", err
        c["lawyer"].received.remove(err)
    for page in (0, -1, 10**15):
        out = await c["lawyer"].command("present_exhibit", exhibit_id=xid, page=page)
        assert not out["ok"] and out["code"] == "invalid", out
    await c["lawyer"].send('{"v": 1, "type": "command", "id": "sur", "name": "present_exhibit", "args": {"exhibit_id": "\\ud800"}}')
    err = await c["lawyer"].wait_for(lambda m: m["type"] == "error" and m.get("id") in ("sur", None))
    assert err["code"] == "malformed", err
    out = await c["witness"].command("allow_presenting", participant=ids["witness"], what="screen", allowed=True)
    assert not out["ok"] and out["code"] == "forbidden", out
    await c["plaintiff"].wait_for(lambda m: m["type"] == "state" and (shown(c["plaintiff"]) or {}).get("presenter") == ids["lawyer"])
    with rest(server, c["plaintiff"]) as http:
        r = http.get(f"/api/v1/hearings/{hid}/exhibits/{xid}/pages/1")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    for client in c.values():
        await client.close()


async def test_hostile_uploads_are_refused_clearly_and_logged(server: Server) -> None:
    hid, c, _ = await seated(server)
    huge = b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024)
    cases: list[tuple[bytes, dict[str, str], int, str]] = [
        (b"<html><script>alert(1)</script></html>", {"name": "evidence.pdf"}, 415, "unsupported_type"),
        (b"", {"name": "empty.pdf"}, 400, "malformed"),
        (huge, {"name": "huge.pdf"}, 413, "too_large"),
        (samples.javascript_pdf(), {"name": "script.pdf"}, 422, "unusable_exhibit"),
        (samples.hidden_javascript_pdf(), {"name": "hidden.pdf"}, 422, "unusable_exhibit"),
        (samples.bomb_pdf(), {"name": "bomb.pdf"}, 422, "unusable_exhibit"),
        (samples.encrypted_pdf(), {"name": "locked.pdf"}, 422, "unusable_exhibit"),
        (b"%PDF-1.7\nnot really a pdf", {"name": "fake.pdf"}, 422, "unusable_exhibit"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, {"name": "fake.png"}, 422, "unusable_exhibit"),
        (samples.plain_pdf(), {"name": "\u202egpj.exe"}, 400, "malformed"),  # a direction override
        (samples.plain_pdf(), {"name": "a" * 201}, 400, "malformed"),
        (samples.plain_pdf(), {"name": "   "}, 400, "malformed"),
        (samples.plain_pdf(), {"name": "x.pdf", "side": "defendant"}, 403, "forbidden"),  # not theirs
    ]
    with rest(server, c["plaintiff"]) as http:
        for data, params, status, code in cases:
            r = http.post(f"/api/v1/hearings/{hid}/exhibits", params=params, content=data)
            assert (r.status_code, r.json()["error"]) == (status, code), (params, r.text)
            assert r.json()["message"]
            why = {"script.pdf": "/JS", "hidden.pdf": "JavaScript", "bomb.pdf": "bomb", "locked.pdf": "encrypted"}
            assert why.get(params["name"], "") in r.json()["message"], r.text
        # A lone surrogate in the name (its UTF-8 bytes, percent-encoded) and bad bytes.
        for raw in ("%ED%A0%80.pdf", "%FF%FE.pdf"):
            r = http.post(f"/api/v1/hearings/{hid}/exhibits?name={raw}", content=samples.plain_pdf())
            assert r.status_code == 400 and r.json()["error"] == "malformed", r.text
        # A character the sealed record's font cannot draw would stop the seal: refused up front.
        r = http.post(f"/api/v1/hearings/{hid}/exhibits", params={"name": "借条 🧾.pdf"}, content=samples.plain_pdf())
        assert r.status_code == 400 and "U+1F9FE" in r.json()["message"], r.text
        ok = http.post(f"/api/v1/hearings/{hid}/exhibits", params={"name": "借条（原件）Ñandú №1.pdf"}, content=samples.plain_pdf())
        assert ok.status_code == 201 and ok.json()["filename"] == "借条（原件）Ñandú №1.pdf", ok.text
        again = http.post(f"/api/v1/hearings/{hid}/exhibits", params={"name": "again.pdf"}, content=samples.plain_pdf())
        assert again.status_code == 409 and "原告证据1" in again.json()["message"], again.text  # a replay
    with rest(server, c["lawyer"]) as http:  # a lawyer must say whose evidence it is
        r = http.post(f"/api/v1/hearings/{hid}/exhibits", params={"name": "x.pdf"}, content=samples.loan_pdf(1))
        assert r.status_code == 409 and r.json()["error"] == "invalid", r.text
    with rest(server, c["witness"]) as http:  # a witness brings no exhibits
        r = http.post(f"/api/v1/hearings/{hid}/exhibits", params={"name": "x.pdf"}, content=samples.loan_pdf(1))
        assert r.status_code == 403, r.text
    with registry(server) as http:
        r = http.get(f"/api/v1/hearings/{hid}/exhibits/ex-0000000000000000")
        assert r.status_code == 404
    await asyncio.sleep(0.2)
    log = read_log(server, hid)
    refused = [e["event"] for e in log if e["event"]["type"] == "command_rejected" and e["event"]["command"] == "submit_exhibit"]
    reasons = " | ".join(r["reason"] for r in refused)
    # The first refusals of a kind are logged one by one, the rest counted in a summary
    # (server/refusals.py), so a flood of bad uploads cannot grow the log without bound.
    for why in ("upload refused (415)", "upload refused (400)", "upload refused (413)", "already submitted"):
        assert why in reasons, (why, reasons)
    assert [e["event"]["label"] for e in log if e["event"]["type"] == "exhibit_submitted"] == ["原告证据1"]
    for client in c.values():
        await client.close()


async def test_the_sealed_record_lists_each_exhibit_and_verify_checks_it(tmp_path: Path) -> None:
    with running_server(tmp_path / "court") as server:
        await _seal_and_verify(server, tmp_path)


async def _seal_and_verify(server: Server, tmp_path: Path) -> None:
    hid, c, ids = await seated(server)
    pdf = samples.loan_pdf(2)
    with rest(server, c["lawyer"]) as http:
        r = upload(http, hid, pdf, "转账记录.pdf", side="plaintiff")
    assert r.status_code == 201, r.text
    x = r.json()
    # the clerk gives it the court's number (the lawyer may not); a bad number is refused
    bad = await c["clerk"].command("number_exhibit", exhibit_id=x["exhibit_id"], label="证据\u202e7")
    assert not bad["ok"] and bad["code"] == "invalid", bad
    mine = await c["lawyer"].command("number_exhibit", exhibit_id=x["exhibit_id"], label="原告证据9")
    assert not mine["ok"] and mine["code"] == "forbidden", mine
    assert (await c["clerk"].command("number_exhibit", exhibit_id=x["exhibit_id"], label="原告证据7"))["ok"]
    assert (await c["judge"].command("allow_presenting", participant=ids["lawyer"], what="exhibits", allowed=True))["ok"]
    assert (await c["lawyer"].command("present_exhibit", exhibit_id=x["exhibit_id"]))["ok"]
    assert (await c["lawyer"].command("present_exhibit", exhibit_id=x["exhibit_id"], page=2))["ok"]
    key = ec.generate_private_key(ec.SECP256R1())  # the judge's device key, before the close
    assert (await c["judge"].command("register_signing_key", public_key=export_jwk(key.public_key())))["ok"]
    assert (await c["judge"].command("close_hearing"))["ok"]
    for name in ("clerk", "plaintiff", "lawyer"):  # signing is test_server_record's subject
        r = await c[name].command("refuse_to_sign", purpose="record", reason="not signing in this test")
        assert r["ok"], r
    with rest(server, c["judge"]) as http:
        record = http.get(f"/api/v1/hearings/{hid}/record").json()
        digest = record["document_hash"]
        r = http.post(f"/api/v1/hearings/{hid}/strokes", content=samples.png_photo())
        assert r.status_code == 201, r.text
        signed = await c["judge"].command(
            "sign_document", purpose="record", signed_hash=digest, stroke_sha256=r.json()["stroke_sha256"],
            signature=webcrypto_sign(key, signing_message("record", digest)),  # type: ignore[arg-type]
        )
        assert signed["ok"], signed
        listed = record["document"]["exhibits"]
        assert [(e["label"], e["sha256"], e["submitted_by"]) for e in listed] == [("原告证据7", x["sha256"], ids["lawyer"])]
        assert [(s["presenter"], s["pages"]) for s in listed[0]["presentations"]] == [(ids["lawyer"], [1, 2])]
        assert "原告证据7" in record["text"] and x["sha256"] in record["text"]
        r = http.post(f"/api/v1/hearings/{hid}/seal")
        assert r.status_code == 201, r.text
        sealed = http.get(f"/api/v1/hearings/{hid}/record.pdf").content
    path = tmp_path / "record.pdf"
    path.write_bytes(sealed)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    assert "原告证据7" in flat and x["sha256"] in flat and "转账记录.pdf" in flat
    done = subprocess.run(
        [sys.executable, "-m", "courtroom.cli", "verify", str(path), "--trust-root", str(tmp_path / "court" / "keys" / "root.cert.pem")],
        capture_output=True, text=True, timeout=120, check=False, cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exhibits.log" in done.stdout and "exhibits.manifest" in done.stdout
    for client in c.values():
        await client.close()
