"""The TSA over HTTP: a real uvicorn server on loopback, pyHanko's HTTPTimeStamper as the
client, and the sealed result verified; plus the route's refusals."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import uvicorn
from asn1crypto import tsp
from pyhanko.sign.timestamps import HTTPTimeStamper
from starlette.applications import Starlette

from courtroom.record.keys import CourtKeys, init_keys, load_court_keys
from courtroom.record.pdf import render_pdf
from courtroom.record.sample import build_sample
from courtroom.record.seal import seal_record
from courtroom.record.tsa import TimeStampAuthority, TimeStampResponse, tsa_route
from courtroom.record.verify import verify_record
from tests.conftest import free_port


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> CourtKeys:
    d: Path = tmp_path_factory.mktemp("keys")
    init_keys(d)
    return load_court_keys(d)


@pytest.fixture(scope="module")
def tsa_url(keys: CourtKeys) -> Iterator[str]:
    assert keys.tsa_cert is not None and keys.tsa_key is not None
    app = Starlette(
        routes=[tsa_route(TimeStampAuthority(keys.tsa_cert, keys.tsa_key, chain=[keys.root]))]
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/tsa"
    server.should_exit = True
    thread.join(timeout=5)


def test_seal_with_http_timestamper(keys: CourtKeys, tsa_url: str) -> None:
    sample = build_sample(6, refusal=None)
    rendered = render_pdf(sample.doc, sample.signatures, (), sample.strokes)
    sealed = seal_record(
        rendered,
        sample.doc,
        sample.entries,
        sample.signatures,
        keys,
        HTTPTimeStamper(tsa_url),
        strokes=sample.strokes,
    )
    report = verify_record(sealed, trust_root=keys.root)
    assert report.ok, [c for c in report.failures]


async def _post(url: str, body: bytes, ctype: str) -> tuple[int, str, bytes]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(url, data=body, headers={"Content-Type": ctype}) as r,
    ):
        return r.status, r.headers.get("Content-Type", ""), await r.read()


def test_route_refusals(tsa_url: str) -> None:
    status, _, _ = asyncio.run(_post(tsa_url, b"x", "application/json"))
    assert status == 415
    status, ctype, body = asyncio.run(
        _post(tsa_url, b"\x30\x03junk", "application/timestamp-query")
    )
    assert (status, ctype) == (200, "application/timestamp-reply")
    resp = TimeStampResponse.load(body)
    assert resp["status"]["status"].native == "rejection"
    assert resp["status"]["fail_info"].native == {"bad_data_format"}
    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "md5"},
                "hashed_message": hashlib.md5(b"x").digest(),
            },
        }
    )
    _, _, body = asyncio.run(_post(tsa_url, req.dump(), "application/timestamp-query"))
    assert TimeStampResponse.load(body)["status"]["fail_info"].native == {"bad_alg"}
