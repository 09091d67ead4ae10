"""A transparency log of sealed records: an append-only RFC 9162 Merkle tree.

Each sealed record adds one leaf: the hearing, its document hash, the sealed file's
SHA-256 and the sealed audit head (the chain head the record carries). After each leaf
the court signs a tree head (size, root) with its seal key, and has it timestamped by the
configured TSA (the local TSA only in development, labelled so). Anyone may fetch tree
heads, inclusion proofs and consistency proofs (``/api/v1/transparency/*``). An auditor
or a second court that keeps copies of tree heads detects a rewrite: the rewritten
record is not included under the old head, or the new tree is not consistent with it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from asn1crypto import cms, x509
from pyhanko.sign.timestamps.api import TimeStamper

from courtroom.record import merkle
from courtroom.record.court_sign import sign_statement, statement_problem
from courtroom.record.document import AuditEntry, RecordDocument, canonical_json, document_hash
from courtroom.record.keys import CourtKeys
from courtroom.record.verification.pdf_checks import token_timestamp
from courtroom.record.verification.report import VerificationReport
from courtroom.record.verification.seal_time import describe_tsa

LEAF_FORMAT = "courtroom-tlog-leaf/1"
HEAD_FORMAT = "courtroom-tree-head/1"


def record_leaf(
    hearing_id: str, doc_hash: str, sealed_sha256: str, head: AuditEntry
) -> dict[str, Any]:
    return {
        "format": LEAF_FORMAT,
        "hearing_id": hearing_id,
        "document_hash": doc_hash,
        "sealed_sha256": sealed_sha256,
        "sealed_head": {"seq": head.seq, "hash": head.hash},
    }


def leaf_hash(leaf: Mapping[str, Any]) -> bytes:
    return merkle.leaf_hash(canonical_json(dict(leaf)))


def _head_digest(body: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(canonical_json(dict(body))).digest()


class TransparencyLog:
    """Leaves and signed tree heads in two append-only JSON-lines files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    @property
    def _leaves_path(self) -> Path:
        return self.directory / "leaves.jsonl"

    @property
    def _heads_path(self) -> Path:
        return self.directory / "tree-heads.jsonl"

    def leaves(self) -> list[dict[str, Any]]:
        if not self._leaves_path.exists():
            return []
        lines = self._leaves_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(x) for x in lines if x.strip()]

    def heads(self) -> list[dict[str, Any]]:
        if not self._heads_path.exists():
            return []
        lines = self._heads_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(x) for x in lines if x.strip()]

    def _append(self, path: Path, obj: Mapping[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as f:
            f.write(canonical_json(dict(obj)) + b"\n")

    async def add(
        self, leaf: Mapping[str, Any], keys: CourtKeys, timestamper: TimeStamper, tsa: str
    ) -> dict[str, Any]:
        """Append ``leaf`` and a new signed, timestamped tree head; returns the head."""
        with self._lock:
            self._append(self._leaves_path, leaf)
            hashes = [leaf_hash(x) for x in self.leaves()]
        body = {
            "format": HEAD_FORMAT,
            "tree_size": len(hashes),
            "root_hash": merkle.root(hashes).hex(),
            "issued_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timestamp_authority": tsa,
        }
        token = await timestamper.async_timestamp(_head_digest(body), "sha256")
        head = {**sign_statement(keys, body), "timestamp": base64.b64encode(token.dump()).decode()}
        with self._lock:
            self._append(self._heads_path, head)
        return head

    def head(self, size: int | None = None) -> dict[str, Any] | None:
        heads = self.heads()
        if size is None:
            return heads[-1] if heads else None
        return next((h for h in heads if h["body"]["tree_size"] == size), None)

    def proof(self, hearing_id: str, size: int | None = None) -> dict[str, Any] | None:
        """The latest leaf of ``hearing_id``, with its inclusion proof under a tree head."""
        head = self.head(size)
        if head is None:
            return None
        n = int(head["body"]["tree_size"])
        leaves = self.leaves()[:n]
        index = max(
            (i for i, x in enumerate(leaves) if x["hearing_id"] == hearing_id), default=None
        )
        if index is None:
            return None
        path = merkle.inclusion_proof(index, [leaf_hash(x) for x in leaves])
        return {
            "tree_head": head,
            "leaf": leaves[index],
            "leaf_index": index,
            "inclusion_path": [p.hex() for p in path],
        }

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        hashes = [leaf_hash(x) for x in self.leaves()[:second]]
        if second > len(hashes):
            raise ValueError(f"the log has {len(hashes)} leaves, not {second}")
        proof = merkle.consistency_proof(first, hashes)
        return {"first": first, "second": second, "proof": [p.hex() for p in proof]}


def head_problem(head: Mapping[str, Any], trust_root: x509.Certificate) -> str | None:
    """Why a tree head is not the court's, timestamped over exactly its body, or None."""
    problem = statement_problem(head, trust_root)
    if problem is not None:
        return f"the tree head is not the court's: {problem}"
    try:
        token = cms.ContentInfo.load(base64.b64decode(head["timestamp"]))
        tst = token["content"]["encap_content_info"]["content"].parsed
        imprint = tst["message_imprint"]["hashed_message"].native
    except (KeyError, ValueError, TypeError) as exc:
        return f"the tree head's timestamp is unreadable ({exc})"
    if imprint != _head_digest(head["body"]):
        return "the tree head's timestamp is over other bytes"
    return None


def head_time(head: Mapping[str, Any], trust_root: x509.Certificate) -> str:
    """``genTime by TSA``, after checking the token's signature chains to the root."""
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    token = cms.ContentInfo.load(base64.b64decode(head["timestamp"]))
    vc = ValidationContext(trust_roots=[trust_root], allow_fetching=False)
    digest = _head_digest(head["body"])
    status = asyncio.run(validate_tst_signed_data(token["content"], vc, lambda _alg: digest))
    trusted = status.get("trust_problem_indic") is None and status.get("validation_path")
    if not (status.get("intact") and status.get("valid") and trusted):
        raise ValueError("the tree head's timestamp does not validate under the trust root")
    stamp = token_timestamp("tree-head", token)
    return f"{stamp.gen_time.isoformat()} by {describe_tsa(stamp)}"


def _inclusion_problem(
    bundle: Mapping[str, Any], pdf: bytes, doc: RecordDocument, entries: Sequence[AuditEntry]
) -> str | None:
    leaf = record_leaf(
        doc.meta.hearing_id, document_hash(doc), hashlib.sha256(pdf).hexdigest(), entries[-1]
    )
    body = bundle["tree_head"]["body"]
    if dict(bundle["leaf"]) != leaf:
        diff = [k for k in leaf if bundle["leaf"].get(k) != leaf[k]]
        return f"the logged leaf for this hearing differs from this file ({', '.join(diff)})"
    path = [bytes.fromhex(p) for p in bundle["inclusion_path"]]
    ok = merkle.verify_inclusion(
        leaf_hash(leaf),
        int(bundle["leaf_index"]),
        int(body["tree_size"]),
        path,
        bytes.fromhex(body["root_hash"]),
    )
    return None if ok else "the inclusion proof does not lead to the tree head's root"


def check_inclusion(
    bundle: Mapping[str, Any],
    pdf: bytes,
    doc: RecordDocument,
    entries: Sequence[AuditEntry],
    trust_root: x509.Certificate,
    report: VerificationReport,
) -> None:
    try:
        problem = head_problem(bundle["tree_head"], trust_root) or _inclusion_problem(
            bundle, pdf, doc, entries
        )
        when = head_time(bundle["tree_head"], trust_root) if problem is None else ""
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        problem = f"the proof bundle is unusable ({exc})"
    if problem is not None:
        report.fail("transparency.inclusion", problem)
        return
    size = bundle["tree_head"]["body"]["tree_size"]
    report.add(
        "transparency.inclusion",
        "ok",
        f"this file is leaf {bundle['leaf_index']} of the court's transparency log under "
        f"the tree head of size {size}, timestamped {when}",
    )
