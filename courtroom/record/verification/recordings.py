"""Recording files against the sizes and SHA-256 hashes the record lists."""

from __future__ import annotations

import hashlib
from pathlib import Path

from courtroom.record.document import RecordDocument, RecordingFile
from courtroom.record.verification.report import VerificationReport


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _problem(directory: Path, r: RecordingFile) -> str | None:
    if Path(r.name).name != r.name or r.name in ("", ".", ".."):
        return f"{r.name!r}: not a plain file name"
    path = directory / r.name
    if not path.is_file():
        return f"{r.name}: missing"
    size = path.stat().st_size
    if size != r.bytes:
        return f"{r.name}: size {size} != recorded {r.bytes} (file swapped or altered)"
    if _sha256_file(path) != r.sha256:
        return f"{r.name}: SHA-256 differs from the record (file swapped or altered)"
    return None


def check_recordings(
    doc: RecordDocument, directory: Path | None, report: VerificationReport
) -> None:
    if directory is None:
        report.add(
            "recordings",
            "skipped",
            f"no recordings directory given; {len(doc.recordings)} file hash(es) unchecked",
        )
        return
    problems = [p for r in doc.recordings if (p := _problem(directory, r)) is not None]
    if problems:
        report.fail("recordings", "; ".join(problems))
    else:
        report.add("recordings", "ok", f"{len(doc.recordings)} file(s) match their hashes")
