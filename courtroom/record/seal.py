"""The court seal: attach the record to the rendered PDF and sign it PAdES B-LTA.

One incremental update on the rendered bytes holds the attachments and the certification
signature, so the rendered PDF stays an exact prefix of the sealed file (the manifest
records its hash) and every attachment is inside the signed revision:

* ``record.json``     canonical document, its hash, participant signatures and refusals
* ``audit-log.jsonl`` the audit entries, one RFC 8785 line each, seq ascending
* ``stroke-<sha256[:16]>.png`` each handwritten stroke image shown on the PDF
* ``manifest.json``   sha256 + length of the rendered PDF and of every attachment above,
                      the document hash and the sealed audit head (last entry)

The seal certifies with DocMDP FILL_FORMS, so later approval signatures remain possible.
With ``lta`` (the default) pyHanko then appends, in further incremental updates, a
Document Security Store holding the certificates and the CA's CRL (PAdES B-LT,
``revocation.py``) and a document timestamp over everything (B-LTA), which
``archive.py``'s ``archive_renew`` extends before the certificates expire.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
from collections.abc import Mapping, Sequence
from typing import Any

from pyhanko.keys import load_private_key_from_pemder_data
from pyhanko.pdf_utils import embed
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from courtroom.record.document import (
    AuditEntry,
    RecordDocument,
    canonical_json,
    document_hash,
    to_json,
)
from courtroom.record.exhibits import manifest_listing
from courtroom.record.keys import CourtKeys
from courtroom.record.pdfa import hoisted_xmp_namespaces, make_pdfa3b
from courtroom.record.signatures import ParticipantSignature, SignatureRefusal

SEAL_FIELD = "CourtSeal"
RECORD_JSON = "record.json"
AUDIT_LOG = "audit-log.jsonl"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "courtroom-manifest/1"
# Room for the CMS blob (seal cert + root + TSA token with its cert, ~7 KB). Fixing it
# skips pyHanko's dry-run signature, which would ask the TSA a second time.
BYTES_RESERVED = 16384


def stroke_attachment_name(sha256_hex: str) -> str:
    return f"stroke-{sha256_hex[:16]}.png"


def record_json_bytes(
    doc: RecordDocument,
    signatures: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
) -> bytes:
    return canonical_json(
        {
            "document": to_json(doc),
            "document_hash": document_hash(doc),
            "signatures": [s.to_json() for s in signatures],
            "refusals": [r.to_json() for r in refusals],
        }
    )


def audit_log_bytes(entries: Sequence[AuditEntry]) -> bytes:
    return b"".join(canonical_json(e.to_json()) + b"\n" for e in entries)


def _closed_at(doc: RecordDocument) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(doc.meta.closed_at.replace("Z", "+00:00"))
    except ValueError:
        return None


def _digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}


def _embed(
    w: IncrementalPdfFileWriter,
    name: str,
    data: bytes,
    mime: str,
    desc: str,
    *,
    modified: dt.datetime | None = None,
) -> None:
    params = embed.EmbeddedFileParams(modification_date=modified)
    ef = embed.EmbeddedFileObject.from_file_data(w, data=data, mime_type=mime, params=params)
    # No af_relationship here: pyHanko would bump the file to PDF 2.0 (SIGNING-NOTES §4);
    # pdfa.associate_files sets /AFRelationship and /AF itself.
    embed.embed_file(
        w, embed.FileSpec(file_spec_string=name, file_name=name, embedded_data=ef, description=desc)
    )


def _lta_settings(keys: CourtKeys, timestamper: TimeStamper) -> dict[str, Any]:
    """B-LT (DSS with certificates and CRL) and B-LTA (a document timestamp)."""
    from courtroom.record.revocation import signing_validation_context

    tsa_cert = getattr(getattr(timestamper, "tsa", None), "cert", None)
    extra = (tsa_cert,) if tsa_cert is not None else ()
    # The document timestamp's own validation data goes in before it (no /VRI), so the
    # timestamp is the last revision and covers the entire file.
    ts_dss = signers.pdf_signer.TimestampDSSContentSettings(
        update_before_ts=True, include_vri=False
    )
    return {
        "embed_validation_info": True,
        "use_pades_lta": True,
        "dss_settings": signers.pdf_signer.DSSContentSettings(next_ts_settings=ts_dss),
        "validation_context": signing_validation_context(keys, extra_certs=tuple(extra)),
    }


def seal_signer(keys: CourtKeys) -> signers.SimpleSigner:
    return signers.SimpleSigner(
        signing_cert=keys.seal_cert,
        signing_key=load_private_key_from_pemder_data(keys.seal_key_pem, passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [keys.root, *keys.chain]
        ),
    )


Attachment = tuple[str, bytes, str, str]  # name, data, MIME type, description


def _attachments(
    doc: RecordDocument,
    entries: Sequence[AuditEntry],
    signatures: Sequence[ParticipantSignature],
    refusals: Sequence[SignatureRefusal],
    strokes: Mapping[str, bytes],
) -> list[Attachment]:
    """record.json, the audit log and each stroke image shown on the pages."""
    attachments: list[Attachment] = [
        (
            RECORD_JSON,
            record_json_bytes(doc, signatures, refusals),
            "application/json",
            "Canonical hearing record (RFC 8785) with participant signatures",
        ),
        (
            AUDIT_LOG,
            audit_log_bytes(entries),
            "application/jsonl",
            "Audit log, hash-chained, one canonical JSON entry per line",
        ),
    ]
    wanted = {s.stroke_png_sha256 for s in signatures if s.stroke_png_sha256}
    for sha in sorted(wanted):
        png = strokes.get(sha)
        if png is None or hashlib.sha256(png).hexdigest() != sha:
            raise ValueError("stroke image missing or not matching its sha256")
        attachments.append(
            (stroke_attachment_name(sha), png, "image/png", "Handwritten signature stroke")
        )
    return attachments


def _manifest(
    rendered_pdf: bytes,
    doc: RecordDocument,
    entries: Sequence[AuditEntry],
    attachments: Sequence[Attachment],
) -> bytes:
    head = entries[-1] if entries else None
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "rendered_pdf": _digest(rendered_pdf),
        "attachments": {name: _digest(data) for name, data, _, _ in attachments},
        "document_hash": document_hash(doc),
        "audit_head": None if head is None else {"seq": head.seq, "hash": head.hash},
    }
    if doc.exhibits:  # only when there are any: earlier manifests keep their bytes
        manifest["exhibits"] = manifest_listing(doc.exhibits)
    return canonical_json(manifest)


async def async_seal_record(
    rendered_pdf: bytes,
    doc: RecordDocument,
    audit_entries: Sequence[AuditEntry],
    signatures: Sequence[ParticipantSignature],
    keys: CourtKeys,
    timestamper: TimeStamper,
    *,
    refusals: Sequence[SignatureRefusal] = (),
    strokes: Mapping[str, bytes] | None = None,
    reason: str = "Sealed hearing record",
    location: str | None = None,
    lta: bool = True,
) -> bytes:
    """Attach record, audit log, strokes and manifest, then certify (PAdES B-LTA)."""
    entries = sorted(audit_entries, key=lambda e: e.seq)
    closed = _closed_at(doc)
    attachments = _attachments(doc, entries, signatures, refusals, strokes or {})
    attachments.append(
        (
            MANIFEST,
            _manifest(rendered_pdf, doc, entries, attachments),
            "application/json",
            "Hashes of the rendered PDF and of every attachment",
        )
    )

    w = IncrementalPdfFileWriter(io.BytesIO(rendered_pdf))
    for name, data, mime, desc in attachments:
        _embed(w, name, data, mime, desc, modified=closed)
    make_pdfa3b(w)
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        certify=True,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        reason=reason,
        location=location,
        **_lta_settings(keys, timestamper) if lta else {},
    )
    out = io.BytesIO()
    pdf_signer = signers.PdfSigner(meta, signer=seal_signer(keys), timestamper=timestamper)
    with hoisted_xmp_namespaces():
        await pdf_signer.async_sign_pdf(w, output=out, bytes_reserved=BYTES_RESERVED)
    return out.getvalue()


def seal_record(
    rendered_pdf: bytes,
    doc: RecordDocument,
    audit_entries: Sequence[AuditEntry],
    signatures: Sequence[ParticipantSignature],
    keys: CourtKeys,
    timestamper: TimeStamper,
    *,
    refusals: Sequence[SignatureRefusal] = (),
    strokes: Mapping[str, bytes] | None = None,
    reason: str = "Sealed hearing record",
    location: str | None = None,
    lta: bool = True,
) -> bytes:
    """Blocking form of ``async_seal_record`` (not for use inside a running event loop)."""
    return asyncio.run(
        async_seal_record(
            rendered_pdf,
            doc,
            audit_entries,
            signatures,
            keys,
            timestamper,
            refusals=refusals,
            strokes=strokes,
            reason=reason,
            location=location,
            lta=lta,
        )
    )
