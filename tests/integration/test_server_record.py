"""The sealed record inside a live hearing, end to end, against a real server.

Judge, clerk, plaintiff, defendant and witness join over real websockets; each "device"
makes its own P-256 key and signs exactly as WebCrypto does. The witness signs the oath
before being called in; the judge closes; judge, plaintiff and defendant sign the record,
the clerk refuses with a reason; the judge seals (PAdES B-T, dev keys, local TSA). Then
``courtroom verify`` (the CLI), ``pdftotext``, ``pdfsig`` and ``POST /api/v1/verify``
accept the file, forged signatures are refused and logged, and a transcript row changed
in the database afterwards is caught by ``verify-log`` and by the database comparison.

Transcript lines: live ASR is not wired into this test, so lines are appended the way
the server's ASR pipeline appends them (``transcript_line`` events, actor ``server``) by
stopping the server, appending to the same SQLite log with ``EventLog``, and starting it
again: the runtime rebuilds the hearing from the log.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from court_client import REPO, Client, Server, read_log, schedule, start_server, token_for
from cryptography.hazmat.primitives.asymmetric import ec
from insider import (
    FORGED_LINE,
    drop_line_and_rechain,
    parts_from_pdf,
    poke_padding,
    replace_line,
    reseal,
    rewrite_history,
    swap_keys_in_record_json,
)
from PIL import Image, ImageDraw

from courtroom.domain.codec import to_json
from courtroom.domain.events import RecordingFinished, TranscriptLineRecorded
from courtroom.domain.routing import MediaKind
from courtroom.record.keys import load_court_keys
from courtroom.record.signatures import export_jwk, signing_message, webcrypto_sign
from courtroom.record.verification.seal_time import parse_utc
from courtroom.server.openapi import OPENAPI
from courtroom.store.engine import open_engine
from courtroom.store.log import EventLog, NewEntry

CAST = {
    "审判长 张明": "judge",
    "书记员 李华": "clerk",
    "原告 王芳": "plaintiff",
    "被告 赵强": "defendant",
    "证人 陈静": "witness",
}
JUDGE, CLERK, PLAINTIFF, DEFENDANT, WITNESS = CAST
LINES = [
    (JUDGE, "审判长：现在开庭，核对当事人身份。"),
    (PLAINTIFF, "原告：请求判令被告归还借款本金十万元及利息。"),
    (DEFENDANT, "被告：借款属实，但已归还三万圆。"),  # the clerk corrects 圆 -> 元
    (WITNESS, "证人：我看见被告于二〇二五年三月转账给原告。"),
    (JUDGE, "审判长：现在闭庭。"),
]
CORRECTED = "被告：借款属实，但已归还三万元。"
REFUSAL = "笔录第三行记录不完整，拒绝签名"


def stroke(seed: int) -> bytes:
    img = Image.new("RGBA", (300, 90), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    points = [(10 + i * 14, 45 + ((i * (seed + 3)) % 30) - 15) for i in range(20)]
    draw.line(points, fill=(10, 10, 60, 255), width=3)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@dataclass
class Device:
    """A participant's phone: its websocket, REST token and WebCrypto-style key."""

    client: Client
    pid: str
    token: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def sign(self, purpose: str, digest: str) -> str:
        return webcrypto_sign(self.key, signing_message(purpose, digest))  # type: ignore[arg-type]


@dataclass
class Outcome:
    data_dir: Path
    server: Server
    hid: str
    pids: dict[str, str]
    record: dict[str, Any]
    seal: dict[str, Any]
    pdf: Path
    results: dict[str, dict[str, Any]]
    log: list[dict[str, Any]]
    verify: dict[str, Any]
    anchors: dict[str, Any] = field(default_factory=dict)


def http(server: Server, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def append_offline(data_dir: Path, hid: str, pids: dict[str, str]) -> None:
    """What the ASR pipeline and the recorder append, written while the server is down."""
    log = EventLog(open_engine(f"sqlite:///{data_dir / 'courtroom.db'}"))
    now = datetime.now(UTC)
    events: list[Any] = []
    for i, (who, text) in enumerate(LINES):
        t0 = 2.0 + i * 6.5
        events.append(
            TranscriptLineRecorded(f"l{i + 1:04d}", pids[who], text, t0, t0 + 5.25, (), "test-asr")
        )
    rec_dir = data_dir / "recordings" / hid
    rec_dir.mkdir(parents=True)
    for who in (JUDGE, PLAINTIFF):
        data = hashlib.sha256(who.encode()).digest() * 1000
        name = f"{pids[who]}-audio.ogg"
        (rec_dir / name).write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        events.append(
            RecordingFinished(pids[who], MediaKind.AUDIO, name, sha, len(data), 0.0, 33.5)
        )
    head, _ = log.head(hid)
    log.append(hid, head, [NewEntry(e.TYPE, "server", now, to_json(e)) for e in events])


async def scenario(data_dir: Path) -> Outcome:
    server = start_server(data_dir)
    hid, inv = schedule(server, CAST)
    pids = {name: inv[name]["participant_id"] for name in CAST}
    judge = await Client.join(server, token_for(server, inv[JUDGE]))
    assert judge.welcome is not None and judge.welcome["type"] == "welcome", judge.welcome
    assert (await judge.command("open_hearing"))["ok"]
    reconnect = judge.welcome["token"]
    await judge.close()
    server.kill(signal.SIGTERM)

    append_offline(data_dir, hid, pids)

    server = start_server(data_dir)
    results: dict[str, dict[str, Any]] = {}
    devices: dict[str, Device] = {}
    for name in CAST:
        token = reconnect if name == JUDGE else token_for(server, inv[name])
        client = await Client.join(server, token)
        assert client.welcome is not None and client.welcome["type"] == "welcome", client.welcome
        devices[name] = Device(client, pids[name], client.welcome["token"])
    j, w = devices[JUDGE].client, devices[WITNESS]
    for name in (PLAINTIFF, DEFENDANT, WITNESS):
        assert (await j.command("admit", participant=pids[name]))["ok"]
    fix = await devices[CLERK].client.command("correct_line", line_id="l0003", text=CORRECTED)
    assert fix["ok"], fix
    for d in devices.values():
        r = await d.client.command(
            "register_signing_key", public_key=export_jwk(d.key.public_key())
        )
        assert r["ok"], r

    strokes: dict[str, str] = {}
    for n, (name, d) in enumerate(devices.items()):
        with http(server, d.token) as h:
            r = h.post(f"/api/v1/hearings/{hid}/strokes", content=stroke(n))
            assert r.status_code == 201, r.text
            strokes[name] = r.json()["stroke_sha256"]
    with http(server, devices[PLAINTIFF].token) as h:
        bad = h.post(f"/api/v1/hearings/{hid}/strokes", content=b"GIF89a not a png")
        results["stroke_not_png"] = {"status": bad.status_code, **bad.json()}
        early = h.get(f"/api/v1/hearings/{hid}/record")
        results["record_before_close"] = {"status": early.status_code, **early.json()}

    # Signing the record before the close is refused by the court.
    p = devices[PLAINTIFF]
    results["before_close"] = await p.client.command(
        "sign_document",
        purpose="record",
        signed_hash="0" * 64,
        signature=p.sign("record", "0" * 64),
        stroke_sha256=strokes[PLAINTIFF],
    )

    # The witness reviews and signs the oath in the waiting room, then is called in.
    with http(server, w.token) as h:
        r = h.get(f"/api/v1/hearings/{hid}/oath")
        assert r.status_code == 200, r.text
        oath = r.json()
    assert oath["message"] == f"courtroom:oath:{oath['oath_hash']}"
    results["oath_wrong_hash"] = await w.client.command(
        "sign_document",
        purpose="oath",
        signed_hash="f" * 64,
        signature=w.sign("oath", "f" * 64),
        stroke_sha256=strokes[WITNESS],
    )
    results["oath"] = await w.client.command(
        "sign_document",
        purpose="oath",
        signed_hash=oath["oath_hash"],
        signature=w.sign("oath", oath["oath_hash"]),
        stroke_sha256=strokes[WITNESS],
    )
    assert results["oath"]["ok"], results["oath"]
    assert (await j.command("call_in", participant=pids[WITNESS]))["ok"]
    assert (await j.command("close_hearing"))["ok"]

    records = {}
    for name in (JUDGE, PLAINTIFF, DEFENDANT):
        with http(server, devices[name].token) as h:
            r = h.get(f"/api/v1/hearings/{hid}/record")
            assert r.status_code == 200, r.text
            records[name] = r.json()
    record = records[JUDGE]
    digest = record["document_hash"]
    assert all(r["document_hash"] == digest for r in records.values())

    # Forgeries, each refused with its own reason and logged.
    d = devices[DEFENDANT]
    stale = "1" * 64
    results["wrong_hash"] = await p.client.command(
        "sign_document",
        purpose="record",
        signed_hash=stale,
        signature=p.sign("record", stale),
        stroke_sha256=strokes[PLAINTIFF],
    )
    intruder = ec.generate_private_key(ec.SECP256R1())
    results["unregistered_key"] = await d.client.command(
        "sign_document",
        purpose="record",
        signed_hash=digest,
        signature=webcrypto_sign(intruder, signing_message("record", digest)),
        stroke_sha256=strokes[DEFENDANT],
    )
    results["no_stroke"] = await d.client.command(
        "sign_document",
        purpose="record",
        signed_hash=digest,
        signature=d.sign("record", digest),
        stroke_sha256="a" * 64,
    )

    for name in (JUDGE, PLAINTIFF, DEFENDANT):
        dev = devices[name]
        r = await dev.client.command(
            "sign_document",
            purpose="record",
            signed_hash=digest,
            signature=dev.sign("record", digest),
            stroke_sha256=strokes[name],
        )
        assert r["ok"], (name, r)
    r = await devices[CLERK].client.command("refuse_to_sign", purpose="record", reason=REFUSAL)
    assert r["ok"], r
    anchors: dict[str, Any] = {}
    with http(server, devices[PLAINTIFF].token) as h:
        r = h.get(f"/api/v1/hearings/{hid}/receipt")  # the device keeps it
        assert r.status_code == 200, r.text
        anchors["receipt"] = r.json()
    with http(server, devices[CLERK].token) as h:
        r = h.get(f"/api/v1/hearings/{hid}/receipt")
        anchors["clerk_receipt"] = {"status": r.status_code, **r.json()}

    with http(server, devices[PLAINTIFF].token) as h:
        r = h.post(f"/api/v1/hearings/{hid}/seal")
        results["seal_by_party"] = {"status": r.status_code, **r.json()}
    with http(server, devices[JUDGE].token) as h:
        r = h.post(f"/api/v1/hearings/{hid}/seal")
        assert r.status_code == 201, r.text
        seal = r.json()
    with http(server, devices[PLAINTIFF].token) as h:
        r = h.get(f"/api/v1/hearings/{hid}/record.pdf")
        assert r.status_code == 200, r.text
        pdf = data_dir / "downloaded.pdf"
        pdf.write_bytes(r.content)
    r = httpx.post(
        f"{server.base}/api/v1/verify?hearing_id={hid}", content=pdf.read_bytes(), timeout=60
    )
    assert r.status_code == 200, r.text
    for name in ("tree-head", f"inclusion?hearing_id={hid}", "consistency?first=1&second=1"):
        t = httpx.get(f"{server.base}/api/v1/transparency/{name}", timeout=30)
        assert t.status_code == 200, t.text
        anchors[name.split("?")[0]] = t.json()
    for dev in devices.values():
        await dev.client.close()
    return Outcome(
        data_dir,
        server,
        hid,
        pids,
        record,
        seal,
        pdf,
        results,
        read_log(server, hid),
        r.json(),
        anchors,
    )


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    data_dir = tmp_path_factory.mktemp("court-record")
    outcome = asyncio.run(asyncio.wait_for(scenario(data_dir), 90))
    try:
        yield outcome
    finally:
        outcome.server.kill(signal.SIGTERM)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "courtroom.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def verify_cli(o: Outcome) -> subprocess.CompletedProcess[str]:
    return cli(
        "verify",
        str(o.pdf),
        "--recordings",
        str(o.data_dir / "recordings" / o.hid),
        "--trust-root",
        str(o.data_dir / "keys" / "root.cert.pem"),
    )


def test_record_is_frozen_at_close_from_the_log(sealed: Outcome) -> None:
    doc = sealed.record["document"]
    assert sealed.record["message"] == f"courtroom:record:{sealed.record['document_hash']}"
    close = [e for e in sealed.log if e["event"].get("phase") == "closed"][-1]
    assert doc["audit_head"] == {"seq": close["seq"], "hash": close["hash"]}
    assert [t["text"] for t in doc["transcript"]] == [
        t if i != 2 else CORRECTED for i, (_, t) in enumerate(LINES)
    ]
    fixed = doc["transcript"][2]
    assert fixed["corrected"] and fixed["original_text"] == LINES[2][1]
    assert doc["transcript"][0]["speaker_name"] == JUDGE
    assert {p["display_name"]: p["role"] for p in doc["participants"]} == CAST
    assert all(
        p["public_key"] and p["identity_check"] == "not_required" for p in doc["participants"]
    )
    assert len(doc["recordings"]) == 2 and len(doc["oaths"]) == 1
    assert doc["meta"]["closed_at"] and doc["meta"]["opened_at"] < doc["meta"]["closed_at"]
    assert LINES[0][1] in sealed.record["text"] and CORRECTED in sealed.record["text"]


def test_forged_and_early_signatures_are_refused_and_logged(sealed: Outcome) -> None:
    r = sealed.results
    assert (r["before_close"]["ok"], r["before_close"]["code"]) == (False, "wrong_phase")
    assert (r["oath_wrong_hash"]["ok"], r["oath_wrong_hash"]["code"]) == (False, "hash_mismatch")
    assert (r["wrong_hash"]["ok"], r["wrong_hash"]["code"]) == (False, "hash_mismatch")
    assert sealed.record["document_hash"] in r["wrong_hash"]["reason"]
    assert (r["unregistered_key"]["ok"], r["unregistered_key"]["code"]) == (False, "bad_signature")
    assert "registered signing key" in r["unregistered_key"]["reason"]
    assert (r["no_stroke"]["ok"], r["no_stroke"]["code"]) == (False, "stroke_missing")
    assert r["stroke_not_png"]["status"] == 400
    assert r["record_before_close"]["status"] == 409
    assert r["seal_by_party"]["status"] == 403
    logged = [
        (e["actor"], e["event"]["code"])
        for e in sealed.log
        if e["event"]["type"] == "command_rejected" and e["event"]["command"] == "sign_document"
    ]
    p, d, w = (sealed.pids[n] for n in (PLAINTIFF, DEFENDANT, WITNESS))
    assert logged == [
        (p, "wrong_phase"),
        (w, "hash_mismatch"),
        (p, "hash_mismatch"),
        (d, "bad_signature"),
        (d, "stroke_missing"),
    ]


def test_seal_names_signers_refusal_and_dev_keys(sealed: Outcome) -> None:
    s = sealed.seal
    got = {(x["participant_id"], x["purpose"]) for x in s["signatures"]}
    want = {(sealed.pids[n], "record") for n in (JUDGE, PLAINTIFF, DEFENDANT)}
    assert got == want | {(sealed.pids[WITNESS], "oath")}
    assert s["refusals"] == [
        {"participant_id": sealed.pids[CLERK], "purpose": "record", "reason": REFUSAL}
    ]
    assert s["development_keys"] is True and "DEVELOPMENT" in s["warning"]
    assert hashlib.sha256(sealed.pdf.read_bytes()).hexdigest() == s["sealed_sha256"]
    assert (
        sealed.data_dir / "records" / f"{sealed.hid}.pdf"
    ).read_bytes() == sealed.pdf.read_bytes()
    assert any("DEVELOPMENT" in line for line in sealed.server.output)
    at = next(i for i, e in enumerate(sealed.log) if e["event"]["type"] == "record_sealed")
    assert sealed.log[at]["event"]["document_hash"] == sealed.record["document_hash"]
    assert sealed.log[at]["event"]["sealed_sha256"] == s["sealed_sha256"]
    assert sealed.log[at + 1]["event"]["phase"] == "sealed"


def test_courtroom_verify_cli_accepts_and_lists_signers(sealed: Outcome) -> None:
    done = verify_cli(sealed)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in (JUDGE, PLAINTIFF, DEFENDANT):
        assert f"signature.{sealed.pids[name]}.record" in done.stdout
    assert f"signature.{sealed.pids[WITNESS]}.oath" in done.stdout
    assert "2 file(s) match their hashes" in done.stdout


def test_verify_endpoint_ok_with_database_and_transcript_checks(sealed: Outcome) -> None:
    v = sealed.verify
    assert v["ok"], v
    checks = {c["name"]: c for c in v["checks"]}
    assert checks["transcript.audit"]["status"] == "ok"  # rebuilt from transcript_line events
    assert checks["recordings"]["status"] == "ok"
    assert checks["database.chain"]["status"] == "ok"
    assert checks["database.sealed_log"]["status"] == "ok"
    assert len(v["signers"]) == 4


def test_pdftotext_has_the_chinese_lines(sealed: Outcome) -> None:
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(sealed.pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    flat = "".join(text.split())
    for _, line in LINES[:2] + LINES[3:]:
        assert line in flat, line
    assert CORRECTED in flat and REFUSAL in flat


def test_pdfsig_accepts_with_the_dev_root_trusted(sealed: Outcome, tmp_path: Path) -> None:
    db = tmp_path / "nss"
    db.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    root = sealed.data_dir / "keys" / "root.cert.pem"
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{db}", "-n", "court", "-t", ",C,", "-i", str(root)],
        check=True,
    )
    out = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{db}", str(sealed.pdf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout
    assert "Signature is Valid." in out and "Certificate is Trusted." in out, out


def test_receipt_and_tree_head_are_checked_by_the_cli(sealed: Outcome, tmp_path: Path) -> None:
    a = sealed.anchors
    assert a["clerk_receipt"]["status"] == 404  # the clerk refused: nothing to acknowledge
    assert a["receipt"]["body"]["participant_id"] == sealed.pids[PLAINTIFF]
    assert a["receipt"]["body"]["signed_hash"] == sealed.record["document_hash"]
    assert a["inclusion"]["tree_head"] == a["tree-head"]
    assert a["inclusion"]["leaf"]["sealed_sha256"] == sealed.seal["sealed_sha256"]
    assert a["consistency"] == {"first": 1, "second": 1, "proof": []}
    for name in ("receipt", "tree-head", "inclusion", "consistency"):  # fit /openapi.json
        path = "/api/v1/" + ("hearings/{hearing_id}/" if name == "receipt" else "transparency/")
        content = OPENAPI["paths"][path + name]["get"]["responses"]["200"]["content"]
        schema = {**content["application/json"]["schema"], "components": OPENAPI["components"]}
        jsonschema_rs.validator_for(schema).validate(a[name])
    (tmp_path / "receipt.json").write_text(json.dumps(a["receipt"]))
    (tmp_path / "proof.json").write_text(json.dumps(a["inclusion"]))
    done = cli(
        "verify",
        str(sealed.pdf),
        "--trust-root",
        str(sealed.data_dir / "keys" / "root.cert.pem"),
        "--receipt",
        str(tmp_path / "receipt.json"),
        "--tree-head",
        str(tmp_path / "proof.json"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"[ OK ] receipt.{sealed.pids[PLAINTIFF]}.record" in done.stdout
    assert "[ OK ] transparency.inclusion: this file is leaf 0" in done.stdout
    assert "[ OK ] record.rebuilt" in done.stdout and "[ OK ] pages" in done.stdout


def _server_verify(sealed: Outcome, pdf: bytes) -> dict[str, str]:
    r = httpx.post(
        f"{sealed.server.base}/api/v1/verify?hearing_id={sealed.hid}", content=pdf, timeout=60
    )
    assert r.status_code == 200, r.text
    return {c["name"]: c["message"] for c in r.json()["checks"] if c["status"] == "failed"}


def _attacks(sealed: Outcome) -> dict[str, tuple[bytes, set[str]]]:
    """Each insider attack on the server's own file, with the checks that must fail."""
    keys = load_court_keys(sealed.data_dir / "keys")
    genuine = sealed.pdf.read_bytes()
    parts = parts_from_pdf(genuine)
    closed = parse_utc(parts.doc.meta.closed_at)
    d = next(
        s for s in parts.sigs if s.purpose == "record" and s.participant_id != sealed.pids[JUDGE]
    )
    log_changed = {"database.sealed_log", "database.chain"}
    return {
        "keys swapped": (
            reseal(swap_keys_in_record_json(parts), keys),
            {"record.rebuilt", "signatures.log", f"signature.{d.participant_id}.record"},
        ),
        "page differs": (
            reseal(replace(parts, pages_of=replace_line(parts.doc, 1, FORGED_LINE)), keys),
            {"pages"},
        ),
        "refusal dropped": (reseal(replace(parts, refusals=[]), keys), {"signatures.log"}),
        "signature dropped": (
            reseal(replace(parts, sigs=[s for s in parts.sigs if s != d]), keys),
            {"signatures.log"},
        ),
        "line removed, re-chained": (
            reseal(drop_line_and_rechain(parts, "l0002", keep_stale_events=False), keys),
            {"signatures.summary", *log_changed},
        ),
        "history rewritten": (reseal(rewrite_history(parts, "l0002"), keys), log_changed),
        "genTime a month early": (
            reseal(parts, keys, clock=lambda: closed - timedelta(days=31)),
            {"timestamp.time"},
        ),
        "padding byte": (poke_padding(genuine), {"pades.padding"}),
    }


def test_insider_attacks_are_caught_by_the_server_verify(sealed: Outcome) -> None:
    assert _server_verify(sealed, sealed.pdf.read_bytes()) == {}
    logged = sealed.seal["sealed_sha256"][:16]
    for attack, (pdf, expected) in _attacks(sealed).items():
        got = _server_verify(sealed, pdf)
        assert expected | {"database.sealed_file"} <= set(got), (attack, got)
        assert got["database.sealed_file"].startswith("the uploaded file's SHA-256 "), attack
        assert got["database.sealed_file"].endswith(
            f"is not the sealed_sha256 {logged}… logged when the hearing was sealed (seq "
            f"{_sealed_seq(sealed)}), nor is any earlier revision of it: this is not the file the court sealed"
        ), attack


def _sealed_seq(sealed: Outcome) -> int:
    return next(e["seq"] for e in sealed.log if e["event"]["type"] == "record_sealed")


def test_zz_transcript_row_changed_in_the_database(sealed: Outcome) -> None:
    """Runs last: an attacker drops the triggers and rewrites one transcript row."""
    line = next(e for e in sealed.log if e["event"]["type"] == "transcript_line")
    db = sqlite3.connect(sealed.data_dir / "courtroom.db", timeout=10)
    with db:
        db.execute("DROP TRIGGER IF EXISTS events_no_update")
        db.execute(
            "UPDATE events SET payload = replace(payload, '核对', '不核对') "
            "WHERE hearing_id = ? AND seq = ?",
            (sealed.hid, line["seq"]),
        )
    db.close()

    done = cli("verify-log", sealed.hid, "--data-dir", str(sealed.data_dir))
    assert done.returncode == 1 and f"BROKEN at seq {line['seq']}" in done.stdout, done.stdout

    assert verify_cli(sealed).returncode == 0  # the PDF carries its own copy of the log

    r = httpx.post(
        f"{sealed.server.base}/api/v1/verify?hearing_id={sealed.hid}",
        content=sealed.pdf.read_bytes(),
        timeout=60,
    )
    v = r.json()
    checks = {c["name"]: c for c in v["checks"]}
    assert not v["ok"]
    assert [c["name"] for c in v["checks"] if c["status"] == "failed"] == [
        "database.chain",
        "database.sealed_log",
    ]
    assert f"seq {line['seq']}" in checks["database.chain"]["message"]
    assert (
        f"seq {line['seq']} (transcript_line) differs between the database and the sealed "
        "record (payload)" in checks["database.sealed_log"]["message"]
    )
