"""The signer's receipt (issue 12, item 3) in a real Chromium.

A party signs the record in the browser; the page fetches the court's receipt and keeps it
on the device (localStorage, read back here); the downloaded receipt is accepted by
``courtroom verify --receipt`` against the sealed record; the page's own check reports
the genuine record as the one signed, and a record an insider re-sealed with the court's
keys (one word of the document changed) as not.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from court_client import REPO, Server, schedule
from e2e_helpers import DESKTOP, PHONE, by_id, draw_signature, join, snap
from insider import parts_from_pdf, reseal
from playwright.sync_api import expect

from courtroom.record.keys import load_court_keys

pytestmark = pytest.mark.timeout(200)

JUDGE, PARTY = "王审判长", "张原告"


def click(page: Any, testid: str) -> None:
    expect(by_id(page, "conn-state")).to_have_attribute("data-state", "connected", timeout=30_000)
    by_id(page, testid).click(timeout=30_000)


def verify(pdf: Path, root: Path, receipt: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "-m", "courtroom.cli", "verify", str(pdf),
         "--trust-root", str(root), "--receipt", str(receipt), "--no-pages"],
        capture_output=True, text=True, timeout=90, cwd=REPO)  # fmt: skip


def check_file(page: Any, pdf: Path) -> Any:
    by_id(page, "sign-record-receipt-check-file").set_input_files(str(pdf))
    result = by_id(page, "sign-record-receipt-check-result")
    expect(result).to_be_visible(timeout=20_000)
    return result


def test_receipt_kept_downloaded_and_checked(pages: Any, server: Server, tmp_path: Path) -> None:
    hid, inv = schedule(server, {JUDGE: "judge", PARTY: "plaintiff"})
    pid = inv[PARTY]["participant_id"]
    judge, party = pages.open(DESKTOP), pages.open(PHONE)
    join(judge, inv[JUDGE])
    join(party, inv[PARTY])
    click(judge, "act-open_hearing")
    click(judge, f"act-admit-{pid}")
    expect(by_id(party, "screen-hearing")).to_be_visible()
    click(judge, "act-close_hearing")
    click(judge, "act-close_hearing-confirm")
    expect(by_id(judge, "phase")).to_have_attribute("data-phase", "closed")

    # Both sign; the party's page keeps the court's receipt on the device.
    for page in (judge, party):
        expect(by_id(page, "sign-record-text")).to_be_visible(timeout=10_000)
        draw_signature(page, "sign-record-pad")
        click(page, "sign-record-confirm")
        expect(by_id(page, "sign-record-status")).to_be_visible(timeout=15_000)
    expect(by_id(party, "sign-record-receipt")).to_have_attribute("data-state", "kept")
    expect(by_id(party, "sign-record-receipt-kept")).to_contain_text("回执已保存")
    stored = party.evaluate(
        "k => JSON.parse(localStorage.getItem(k))", f"courtroom.receipt/{hid}/{pid}/record"
    )
    body = stored["body"]
    assert body["format"] == "courtroom-receipt/1"
    assert (body["hearing_id"], body["participant_id"], body["purpose"]) == (hid, pid, "record")
    expect(by_id(party, "sign-record-receipt-hash")).to_have_text(body["signed_hash"])
    assert stored["signature"] and stored["certificate"]
    snap(party, "receipt-kept")

    with party.expect_download() as dl:
        by_id(party, "sign-record-receipt-download").click()
    receipt = tmp_path / "receipt.json"
    dl.value.save_as(receipt)
    assert json.loads(receipt.read_text()) == stored

    # Sealed and downloaded by the judge; verified offline with the party's receipt.
    click(judge, "act-seal")
    expect(by_id(judge, "sealed")).to_be_visible(timeout=30_000)
    click(judge, "record-pdf-fetch")
    with judge.expect_download() as dl:
        click(judge, "record-pdf")
    pdf = tmp_path / "record.pdf"
    dl.value.save_as(pdf)
    keys_dir = tmp_path / "data" / "keys"
    root = keys_dir / "root.cert.pem"
    ok = verify(pdf, root, receipt)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"this is the record {pid} signed" in ok.stdout, ok.stdout

    # The party's page, after the seal, still holds the receipt and checks files with it.
    expect(by_id(party, "sign-record-receipt")).to_have_attribute(
        "data-state", "kept", timeout=15_000
    )
    genuine = check_file(party, pdf)
    expect(genuine).to_have_attribute("data-result", "match")
    expect(genuine).to_contain_text("这正是您签署的笔录")
    snap(party, "receipt-check-genuine")

    # An insider's re-seal with the court's own keys: one word of the document changed.
    parts = parts_from_pdf(pdf.read_bytes())
    forged_doc = dataclasses.replace(
        parts.doc, meta=dataclasses.replace(parts.doc.meta, title="伪造")
    )
    forged = tmp_path / "forged.pdf"
    # In a thread: the seal runs its own event loop, and Playwright's is running here.
    with ThreadPoolExecutor(1) as pool:
        resealed = pool.submit(
            reseal, dataclasses.replace(parts, doc=forged_doc), load_court_keys(keys_dir)
        )
        forged.write_bytes(resealed.result(timeout=60))
    bad = verify(forged, root, receipt)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "the record was changed after they signed" in bad.stdout, bad.stdout
    result = check_file(party, forged)
    expect(result).to_have_attribute("data-result", "mismatch")
    expect(result).to_contain_text("这不是您签署的笔录")
    expect(result).to_contain_text("签名后笔录被改动过")
    snap(party, "receipt-check-forged")
    assert pages.console[party] == [] and pages.console[judge] == []
