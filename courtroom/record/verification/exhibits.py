"""``courtroom verify``: the exhibits the record lists, against the attached audit log and the
seal's manifest. (``record.rebuilt`` compares the whole document with the one rebuilt from
the log as well; this check names what is wrong about an exhibit when something is.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from courtroom.record.document import AuditEntry, RecordDocument
from courtroom.record.exhibits import manifest_listing
from courtroom.record.verification.report import VerificationReport


def check_exhibits(
    doc: RecordDocument,
    entries: Sequence[AuditEntry],
    manifest: Mapping[str, Any] | None,
    report: VerificationReport,
) -> None:
    logged = {
        str(e.payload.get("exhibit_id")): e.payload.get("sha256")
        for e in entries
        if e.type == "exhibit_submitted"
    }
    if not doc.exhibits and not logged:
        return
    wrong = [x.label for x in doc.exhibits if logged.get(x.exhibit_id) != x.sha256]
    missing = sorted(set(logged) - {x.exhibit_id for x in doc.exhibits})
    if wrong or missing:
        report.fail(
            "exhibits.log",
            f"exhibit hashes differ from the audit log: {', '.join(wrong) or '-'}; "
            f"in the log but not listed: {', '.join(str(m) for m in missing) or '-'}",
        )
    else:
        report.add(
            "exhibits.log",
            "ok",
            f"{len(doc.exhibits)} exhibits; each SHA-256 is the one logged at submission",
        )
    listed = manifest.get("exhibits") if manifest is not None else None
    if listed == manifest_listing(doc.exhibits):
        report.add("exhibits.manifest", "ok", "the manifest lists the same exhibits and hashes")
    else:
        report.fail("exhibits.manifest", "the manifest's exhibits differ from record.json's")
