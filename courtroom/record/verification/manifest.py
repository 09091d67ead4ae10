"""The manifest: the rendered prefix and every attachment hash to what it lists."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from courtroom.record.seal import MANIFEST, MANIFEST_FORMAT
from courtroom.record.verification.report import VerificationReport


def digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}


def _read(raw: bytes) -> dict[str, Any]:
    manifest = json.loads(raw)
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError("unknown manifest format")
    int(manifest["rendered_pdf"]["length"])
    return manifest


def _check_attachments(
    manifest: Mapping[str, Any], files: Mapping[str, bytes], report: VerificationReport
) -> None:
    listed: dict[str, Any] = manifest.get("attachments", {})
    bad = [n for n, d in listed.items() if n not in files or digest(files[n]) != d]
    extra = sorted(set(files) - set(listed) - {MANIFEST})
    if bad:
        report.fail(
            "manifest.attachments",
            "attachment hash mismatch or missing: " + ", ".join(sorted(bad)),
        )
    elif extra:
        report.fail(
            "manifest.attachments", "attachments not listed in the manifest: " + ", ".join(extra)
        )
    else:
        report.add("manifest.attachments", "ok", f"{len(listed)} attachments match")


def check_manifest(
    pdf: bytes, files: Mapping[str, bytes], report: VerificationReport
) -> dict[str, Any] | None:
    raw = files.get(MANIFEST)
    if raw is None:
        report.fail("manifest", f"{MANIFEST} is not attached")
        return None
    try:
        manifest = _read(raw)
    except (ValueError, KeyError, TypeError) as exc:
        report.fail("manifest", f"{MANIFEST} unreadable: {exc}")
        return None
    rendered = manifest["rendered_pdf"]
    length = int(rendered["length"])
    if length <= len(pdf) and digest(pdf[:length]) == rendered:
        report.add("manifest.rendered_pdf", "ok", f"rendered PDF ({length} bytes) unchanged")
    else:
        report.fail(
            "manifest.rendered_pdf",
            "the rendered transcript PDF (first revision) does not match the manifest hash",
        )
    _check_attachments(manifest, files, report)
    return manifest
