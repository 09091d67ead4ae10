#!/usr/bin/env python3
"""Fuzz a real courtroom server: the REST API from /openapi.json, and the websocket protocol.

    python scripts/fuzz.py --cases 10000          # nightly
    python scripts/fuzz.py --cases 300 --seed 1   # CI (tests/integration/test_fuzz.py)

Starts ``courtroom serve`` in a subprocess on 127.0.0.1 with a fresh data directory, schedules
a hearing (judge, clerk, plaintiff, witness connected over websockets; two more invited and
never connected, whose ids the fuzzer may name), then runs ``--cases`` cases:

* REST (``--rest-share``, default 30 %): schemathesis cases for every operation in
  /openapi.json, positive and negative, with a credential drawn from none / forged / registry
  key / inspector key / judge, clerk, witness or another hearing's judge token, and the real
  hearing id in the path half the time. A 5xx answer or a dropped connection is a failure.
* websocket: hypothesis-drawn frames sent on a participant's socket: every client message
  type with hostile values (lone surrogates, 2,000-deep nesting, huge and empty strings,
  wrong types, unknown fields), invalid shapes (not JSON, arrays, binary, bad UTF-8, unknown
  types), and replays (a second hello, a reused command id, a spent token on a new socket).
  After each frame a ping must be answered with its pong. A close other than a documented
  one after an ``error``/``refused`` message, or no pong within 3 s, is a silent close.

At the end the server is stopped, ``courtroom verify-log all`` must pass offline, and every
log seq the server acknowledged (results, events) must be in the stored log ("nothing logged
is lost"). The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fuzz_frames import HOSTILE_TEXT, frames  # scripts/fuzz_frames.py
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[1]
REGISTRY_KEY = "fuzz-registry-key-0123456789abcdef0123456789"
INSPECTOR_KEY = "fuzz-inspector-key-0123456789abcdef012345678"
ROLES = ("judge", "clerk", "plaintiff", "witness")
# Closes the protocol documents for a frame a client sends on an open connection.
DOCUMENTED_CLOSES = {1009, 4403, 4409}
PROBE_TIMEOUT_S = 3.0
MSG_INTERVAL_S = 1 / 30  # under the server's 40 messages/s per connection


# --- the server -------------------------------------------------------------------------------


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.output: list[str] = []
        self.base = ""
        self.proc: subprocess.Popen[str] | None = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "COURTROOM_DATA_DIR": str(self.data_dir),
            "COURTROOM_REGISTRY_KEY": REGISTRY_KEY,
            "COURTROOM_INSPECTOR_KEY": INSPECTOR_KEY,
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> None:
        cmd = [sys.executable, "-m", "courtroom.cli", "serve", "--host", "127.0.0.1",
               "--port", "0", "--ice-loopback-only"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)  # fmt: skip
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if m := re.search(r"running on (http://127\.0\.0\.1:\d+)", line):
                self.base = m.group(1)
                threading.Thread(
                    target=self.output.extend, args=(self.proc.stdout,), daemon=True
                ).start()
                return
        raise RuntimeError("server did not start:\n" + "".join(self.output[-40:]))

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/ws"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def tracebacks(self) -> list[str]:
        """The last line (the exception) of each traceback the server printed."""
        text = "".join(self.output)
        return [m.group(1) for m in re.finditer(r"Traceback[\s\S]*?\n(\S[^\n]*)", text)]

    def verify_offline(self) -> tuple[bool, str]:
        done = subprocess.run(
            [sys.executable, "-m", "courtroom.cli", "verify-log", "all"],
            cwd=REPO, env=self.env(), capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        return done.returncode == 0, done.stdout + done.stderr


# --- figures ----------------------------------------------------------------------------------


@dataclass
class Figures:
    cases: int = 0
    rest_cases: int = 0
    ws_cases: int = 0
    crashes: int = 0
    http_500s: int = 0
    silent_closes: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)
    acknowledged: set[int] = field(default_factory=set)

    def note(self, kind: str, example: str) -> None:
        found = self.examples.setdefault(kind, [])
        if len(found) < 5:
            found.append(example[:300])


# --- the hearing and its participants' sockets ------------------------------------------------


class Participant:
    def __init__(self, server: Server, role: str, token: str, figures: Figures) -> None:
        self.server, self.role, self.token, self.figures = server, role, token, figures
        self.ws: ClientConnection | None = None
        self.pid = ""
        self.probe = 0
        self.last_sent = 0.0
        self.dead = False
        self.recent: list[dict[str, Any]] = []  # what the server said during the current case
        self.connect()

    def connect(self) -> None:
        ws = connect(self.server.ws_url, open_timeout=10, max_size=2**22)
        ws.send(json.dumps({"v": 1, "type": "hello", "token": self.token}))
        for m in self.drain(ws, until=lambda m: m["type"] in ("welcome", "refused"), timeout=10):
            if m["type"] == "refused":
                self.dead = True
        self.ws = ws

    def drain(self, ws: ClientConnection, until: Any, timeout: float) -> list[dict[str, Any]]:
        """Messages up to and including the first ``until`` one (or the timeout)."""
        got: list[dict[str, Any]] = []
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                raw = ws.recv(timeout=max(0.0, end - time.monotonic()))
            except TimeoutError:
                break
            m = json.loads(raw)
            got.append(m)
            self.recent.append(m)
            self.observe(m)
            if until(m):
                break
        return got

    def observe(self, m: dict[str, Any]) -> None:
        if m.get("type") in ("welcome", "token"):
            self.token = m["token"]
            self.pid = m.get("participant_id", self.pid)
        elif m.get("type") == "result" and m.get("ok"):
            self.figures.acknowledged.update(m.get("seqs") or [])
        elif m.get("type") == "event":
            self.figures.acknowledged.add(int(m["seq"]))

    def pace(self) -> None:
        wait = self.last_sent + MSG_INTERVAL_S - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last_sent = time.monotonic()

    def send_case(self, frame: str | bytes, label: str) -> None:
        """Send one frame, then a probe ping; classify what happened."""
        assert self.ws is not None
        self.probe += 1
        probe_id = f"probe-{self.probe}"
        self.recent = []
        try:
            self.pace()
            self.ws.send(frame)
            self.pace()
            self.ws.send(json.dumps({"v": 1, "type": "ping", "id": probe_id}))
            self.drain(
                self.ws, lambda m: m.get("type") == "pong" and m.get("id") == probe_id,
                PROBE_TIMEOUT_S,
            )  # fmt: skip
            if any(m.get("type") == "pong" and m.get("id") == probe_id for m in self.recent):
                return
            self.figures.silent_closes += 1
            self.figures.note("unresponsive", f"{self.role}: {label}: {_show(frame)}")
            self.reconnect()
        except ConnectionClosed:
            self.closed(frame, label, self.recent)

    def closed(self, frame: str | bytes, label: str, messages: list[dict[str, Any]]) -> None:
        assert self.ws is not None
        code = self.ws.close_code
        told = any(m.get("type") in ("error", "refused") for m in messages)
        if code not in DOCUMENTED_CLOSES or not (told or code == 1009):
            self.figures.silent_closes += 1
            reason = self.ws.close_reason
            self.figures.note(
                "silent_close", f"{self.role} {code} {reason!r}: {label}: {_show(frame)}"
            )
        self.reconnect()

    def reconnect(self) -> None:
        with contextlib.suppress(Exception):
            assert self.ws is not None
            self.ws.close()
        try:
            self.connect()
        except (ConnectionClosed, InvalidStatus, OSError, TimeoutError) as exc:
            self.dead = True
            self.figures.note("reconnect_failed", f"{self.role}: {exc!r}")


def _show(frame: str | bytes) -> str:
    text = repr(frame)
    return text if len(text) < 200 else text[:120] + f"...({len(text)} chars)"


def set_up(server: Server) -> tuple[str, dict[str, str], dict[str, str], list[str]]:
    """A hearing; returns its id, tokens by role, participant ids, and a foreign judge token."""
    reg = {"Authorization": f"Bearer {REGISTRY_KEY}"}
    hearing = {"case_number": "(2026)京0105民初1号", "title": "fuzz", "court": "北京市朝阳区人民法院",
               "language": "zh", "scheduled_for": "2026-11-23T09:00:00+08:00"}  # fmt: skip
    with httpx.Client(base_url=server.base, headers=reg, timeout=10) as http:
        hids = []
        tokens: dict[str, str] = {}
        pids: dict[str, str] = {}
        for n in range(2):
            hid = (
                http.post("/api/v1/hearings", json=hearing).raise_for_status().json()["hearing_id"]
            )
            hids.append(hid)
            roles = (*ROLES, "observer", "witness") if n == 0 else ("judge",)
            for i, role in enumerate(roles):
                inv = http.post(f"/api/v1/hearings/{hid}/participants",
                                json={"role": role, "display_name": f"{role} {i}"}).raise_for_status().json()  # fmt: skip
                key = role if i < len(ROLES) else f"spare-{i}"
                key = key if n == 0 else "foreign-judge"
                pids[key] = inv["participant_id"]
                tokens[key] = httpx.post(f"{server.base}/api/v1/sessions", json={
                    "hearing_id": hid, "participant_id": inv["participant_id"], "code": inv["code"],
                }, timeout=10).raise_for_status().json()["token"]  # fmt: skip
    return hids[0], tokens, pids, hids


def replay_spent_token(server: Server, spent: str, figures: Figures) -> None:
    """A token that already opened a websocket must be refused with 4401 (documented)."""
    try:
        with connect(server.ws_url, open_timeout=10) as ws:
            ws.send(json.dumps({"v": 1, "type": "hello", "token": spent}))
            with contextlib.suppress(TimeoutError):
                while True:
                    ws.recv(timeout=PROBE_TIMEOUT_S)
    except ConnectionClosed as exc:
        if exc.rcvd is None or exc.rcvd.code != 4401:
            figures.silent_closes += 1
            figures.note("replay", f"spent token closed with {exc.rcvd}")
        return
    figures.silent_closes += 1
    figures.note("replay", "a spent token was not refused")


# --- REST -------------------------------------------------------------------------------------


def rest_cases(server: Server, n: int, seed_: int, hid: str, tokens: dict[str, str],
               pids: dict[str, str], figures: Figures) -> None:  # fmt: skip
    import schemathesis
    from schemathesis import GenerationMode

    for media in ("application/pdf", "image/png", "image/jpeg"):
        schemathesis.serializer.alias(media, "application/octet-stream")
    spec = httpx.get(server.base + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(spec)
    ops = [r.ok() for r in schema.get_all_operations()]
    creds = [None, "Bearer forged.token.value", f"Bearer {REGISTRY_KEY}", f"Bearer {INSPECTOR_KEY}",
             f"Bearer {tokens['judge']}", f"Bearer {tokens['clerk']}", f"Bearer {tokens['witness']}",
             f"Bearer {tokens['foreign-judge']}", "Basic Zm9vOmJhcg=="]  # fmt: skip
    strategies = [op.as_strategy(generation_mode=mode) for op in ops
                  for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]  # fmt: skip
    client = httpx.Client(base_url=server.base, timeout=30)

    @seed(seed_)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(strategies).flatmap(lambda s: s))
        params = dict(case.path_parameters or {})
        if "hearing_id" in params and data.draw(st.booleans()):
            params["hearing_id"] = hid
        if "participant_id" in params and data.draw(st.booleans()):
            params["participant_id"] = data.draw(st.sampled_from(sorted(pids.values())))
        case.path_parameters = params
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        cred = data.draw(st.sampled_from(creds))
        if cred is not None:
            headers["Authorization"] = cred
        figures.rest_cases += 1
        kwargs = case.as_transport_kwargs(base_url=server.base, headers=headers)
        kwargs.pop("base_url", None)
        url = kwargs.pop("url")
        method = kwargs.pop("method")
        allowed = {k: kwargs[k] for k in ("params", "json", "data", "content") if k in kwargs}
        # Hostile values schemathesis does not make: lone surrogates (as JSON escapes) and
        # other hostile text in a JSON body's string field or in a query parameter.
        body = allowed.get("json")
        if isinstance(body, dict) and body and data.draw(st.booleans()):
            body = {**body, data.draw(st.sampled_from(sorted(body))): data.draw(HOSTILE_TEXT)}
            allowed.pop("json")
            allowed["content"] = json.dumps(body, ensure_ascii=True).encode()
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        query = allowed.get("params")
        if isinstance(query, dict) and query and data.draw(st.booleans()):
            allowed["params"] = {
                **query,
                data.draw(st.sampled_from(sorted(query))): data.draw(
                    st.one_of(HOSTILE_TEXT, st.sampled_from(["abc", "-1", "1e99", "9" * 30]))
                ),
            }
        sent = {k: v for k, v in (kwargs.get("headers") or {}).items()
                if k.lower() != "authorization"}  # fmt: skip
        if cred is not None:
            sent["Authorization"] = cred
        allowed["headers"] = sent
        label = f"{method} {case.formatted_path}"
        try:
            r = client.request(method, url, **allowed)
        except (
            httpx.LocalProtocolError,
            httpx.UnsupportedProtocol,
            httpx.InvalidURL,
            UnicodeEncodeError,
        ):
            figures.rest_cases -= 1  # the client could not even send it: not a server case
            return
        except httpx.HTTPError as exc:
            if not server.alive():
                figures.crashes += 1
                figures.note("crash", f"{label}: {exc!r}")
                server.start()
            else:
                figures.http_500s += 1
                figures.note("http_dropped", f"{label}: {exc!r}")
            return
        documented = r.status_code == 503 and _is_error_body(r)  # "not configured here"
        if r.status_code >= 500 and not documented:
            figures.http_500s += 1
            figures.note("http_500", f"{label} {cred and cred[:14]} params={params} "
                                     f"query={case.query} body={str(case.body)[:80]!r} -> {r.status_code}")  # fmt: skip

    known_cases(client, hid, figures)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run()
    client.close()


def known_cases(client: httpx.Client, hid: str, figures: Figures) -> None:
    """The REST inputs issue #11 found, always sent first (lone surrogates as JSON escapes)."""
    reg = {"Authorization": f"Bearer {REGISTRY_KEY}", "Content-Type": "application/json"}
    hearing = {"case_number": "\ud800", "court": "c", "language": "zh",
               "scheduled_for": "2026-11-23T09:00:00+08:00"}  # fmt: skip
    cases = [
        ("POST", "/api/v1/hearings", json.dumps(hearing), None),
        ("POST", f"/api/v1/hearings/{hid}/participants",
         '{"role": "witness", "display_name": "\\ud800"}', None),
        ("GET", f"/api/v1/hearings/{hid}/log", None, {"after": "abc"}),
    ]  # fmt: skip
    for method, path, content, params in cases:
        figures.rest_cases += 1
        try:
            r = client.request(method, path, content=content, params=params, headers=reg)
        except httpx.HTTPError as exc:
            figures.http_500s += 1  # the server dropped the connection instead of answering
            figures.note("http_dropped", f"{method} {path} {content or params}: {exc!r}")
            continue
        if r.status_code >= 500:
            figures.http_500s += 1
            figures.note("http_500", f"{method} {path} {content or params} -> {r.status_code}")


def _is_error_body(r: httpx.Response) -> bool:
    try:
        body = r.json()
    except ValueError:
        return False
    return isinstance(body, dict) and {"error", "message"} <= set(body)


# --- the run ----------------------------------------------------------------------------------


def ws_cases(server: Server, n: int, seed_: int, tokens: dict[str, str], pids: dict[str, str],
             figures: Figures) -> None:  # fmt: skip
    spec = httpx.get(server.base + "/openapi.json", timeout=10).json()
    people = {role: Participant(server, role, tokens[role], figures) for role in ROLES}
    spare = [pids[k] for k in pids if k.startswith("spare-")]
    strategy = frames(spec, [*spare, "p-0000000000", "judge", ""])
    spent = [tokens[r] for r in ROLES]  # each opened a websocket already

    @seed(seed_)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.sampled_from(ROLES), strategy, st.integers(0, 49))
    def run(role: str, frame: tuple[str, str | bytes], replay: int) -> None:
        p = people[role]
        if p.dead:
            return
        figures.ws_cases += 1
        if replay == 0:
            replay_spent_token(server, random.Random(figures.ws_cases).choice(spent), figures)
            return
        label, raw = frame
        p.send_case(raw, label)
        if not server.alive():
            figures.crashes += 1
            figures.note("crash", f"{role}: {label}: {_show(raw)}")
            server.start()
            for q in people.values():
                q.reconnect()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run()
    for p in people.values():
        if p.ws is not None:
            with contextlib.suppress(Exception):
                p.drain(p.ws, lambda m: False, 0.5)
                p.ws.close()


def stored_entries(server: Server, hid: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.base}/api/v1/hearings/{hid}/log", timeout=60,
                  headers={"Authorization": f"Bearer {REGISTRY_KEY}"})  # fmt: skip
    r.raise_for_status()
    return list(r.json()["entries"])


def restart_additions(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> int:
    """Entries written after the snapshot, by the shutdown and the restart: only refusal
    summaries flushed at shutdown (windows still open) and start-up recovery's
    ``participant_disconnected`` (reason "server restart") may follow what was stored;
    anything else, or any change to what was stored, counts as -1."""
    if after[: len(before)] != before:
        if os.environ.get("FUZZ_DEBUG"):
            diff = [(a, b) for a, b in zip(before, after, strict=False) if a != b][:2]
            print("DEBUG prefix", len(before), len(after), diff, file=sys.stderr)
        return -1
    extra = after[len(before) :]
    ok = all(
        e["event"]["type"] in ("access_refused_summary", "command_rejected_summary")
        or (
            e["event"]["type"] == "participant_disconnected"
            and e["event"].get("reason") == "server restart"
        )
        for e in extra
    )
    if not ok and os.environ.get("FUZZ_DEBUG"):
        print("DEBUG extra", extra, file=sys.stderr)
    return len(extra) if ok else -1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rest-share", type=float, default=0.3)
    parser.add_argument("--data-dir", help="default: a fresh temporary directory")
    args = parser.parse_args()
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="courtroom-fuzz-"))
    server = Server(data_dir)
    figures = Figures()
    started = time.monotonic()
    server.start()
    try:
        hid, tokens, pids, _ = set_up(server)
        n_rest = int(args.cases * args.rest_share)
        rest_cases(server, n_rest, args.seed, hid, tokens, pids, figures)
        ws_cases(server, args.cases - figures.rest_cases, args.seed, tokens, pids, figures)
        time.sleep(1.0)  # disconnects being logged
        stored = stored_entries(server, hid) if server.alive() else []
    finally:
        server.stop()
    verified, report = server.verify_offline()
    tracebacks = server.tracebacks()
    # Restart on the same data: the log must still hold everything acknowledged.
    server.output.clear()
    server.start()
    try:
        after_restart = stored_entries(server, hid)
    finally:
        server.stop()
    lost = sorted(figures.acknowledged - {int(e["seq"]) for e in after_restart})
    figures.cases = figures.rest_cases + figures.ws_cases
    if not verified:
        figures.note("verify_log", report[-500:])
    out = {
        "cases": figures.cases,
        "rest_cases": figures.rest_cases,
        "ws_cases": figures.ws_cases,
        "crashes": figures.crashes,
        "http_500s": figures.http_500s,
        "silent_closes": figures.silent_closes,
        "server_tracebacks": len(tracebacks),
        "traceback_kinds": sorted({t[:120] for t in tracebacks}),
        "chain_verified": verified,
        "log_entries": len(after_restart),
        "log_entries_before_restart": len(stored),
        "restart_recovery_entries": restart_additions(stored, after_restart),
        "acknowledged_seqs": len(figures.acknowledged),
        "lost": len(lost),
        "seconds": round(time.monotonic() - started, 1),
        "examples": figures.examples,
    }
    print(json.dumps(out, ensure_ascii=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
