"""The REST operations of the sealed record: review, oath, strokes, seal, the sealed PDF,
verification, a signer's receipt and the transparency log (``api_record.py``).

Receipts and tree heads are court-signed statements (``record/court_sign.py``): a ``body``
signed as canonical JSON (RFC 8785) by the seal key, with the seal certificate beside it.
Their formats are ``record/receipts.py`` and ``record/transparency.py``; docs/record.md §7
says how a device keeps a receipt and an auditor keeps tree heads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .rest_spec_base import ANYONE, PARTICIPANT, Error, H, Operation, Param

# --- answers: the record --------------------------------------------------------------------


@dataclass(frozen=True)
class AuditHead:
    seq: int = field(metadata={"doc": "the audit-log entry's sequence number"})
    hash: str = field(metadata={"doc": "that entry's hex SHA-256 (its `hash` in the log)"})


@dataclass(frozen=True)
class RecordOut:
    hearing_id: str
    phase: str
    document: dict[str, Any] = field(metadata={"doc": "the frozen record document"})
    document_hash: str
    message: str = field(
        metadata={"doc": "what the signer signs: `courtroom:record:<document_hash>`"}
    )
    text: str
    audit_head: AuditHead


@dataclass(frozen=True)
class OathStatement:
    participant_id: str
    text: str
    presented_at: str


@dataclass(frozen=True)
class OathOut:
    hearing_id: str
    participant_id: str
    statement: OathStatement
    text_zh: str
    text_en: str
    oath_hash: str
    message: str = field(metadata={"doc": "what the signer signs: `courtroom:oath:<oath_hash>`"})


@dataclass(frozen=True)
class StrokeOut:
    stroke_sha256: str
    bytes: int


@dataclass(frozen=True)
class SealOut:
    hearing_id: str
    document_hash: str
    sealed_sha256: str
    bytes: int
    download: str
    signatures: Any
    refusals: Any
    superseded: Any
    development_keys: bool
    timestamp_authority: Any
    warning: str | None = field(
        default=None, metadata={"doc": "set when development keys sealed it"}
    )


@dataclass(frozen=True)
class Check:
    name: str
    status: str = field(metadata={"doc": "`ok`, `failed`, ..."})
    message: str


@dataclass(frozen=True)
class Signer:
    participant_id: str
    purpose: str


@dataclass(frozen=True)
class VerifyOut:
    ok: bool
    checks: tuple[Check, ...]
    signers: tuple[Signer, ...]


# --- answers: court-signed statements (receipts, tree heads) --------------------------------

_SIGNATURE = (
    "base64 DER signature by the court's seal key (ECDSA P-256 or RSA PKCS#1 v1.5, SHA-256) "
    "over the body's canonical JSON (RFC 8785)"
)
_CERTIFICATE = "the seal certificate, base64 DER; it chains to the court's trust root"
_ISSUED_AT = "UTC, `YYYY-MM-DDTHH:MM:SSZ`"


@dataclass(frozen=True)
class ReceiptBody:
    format: Literal["courtroom-receipt/1"]
    hearing_id: str
    participant_id: str
    purpose: Literal["record", "oath"]
    signed_hash: str = field(
        metadata={"doc": "the hex hash the participant signed: `document_hash` or `oath_hash`"}
    )
    chain_head: AuditHead = field(
        metadata={
            "doc": "the participant's own `document_signed` event, which commits to every "
            "event before it"
        }
    )
    issued_at: str = field(metadata={"doc": _ISSUED_AT})


@dataclass(frozen=True)
class Receipt:
    """The court's acknowledgement of a signature; the signer's device keeps it and
    `courtroom verify --receipt` checks a later file against it."""

    body: ReceiptBody
    signature: str = field(metadata={"doc": _SIGNATURE})
    certificate: str = field(metadata={"doc": _CERTIFICATE})


@dataclass(frozen=True)
class TreeHeadBody:
    format: Literal["courtroom-tree-head/1"]
    tree_size: int = field(metadata={"doc": "leaves (sealed records) under this head"})
    root_hash: str = field(
        metadata={"doc": "hex RFC 9162 Merkle tree hash of the first `tree_size` leaves"}
    )
    issued_at: str = field(metadata={"doc": _ISSUED_AT})
    timestamp_authority: str = field(
        metadata={"doc": "the TSA's URL, or `local (this server's clock only)`"}
    )


@dataclass(frozen=True)
class TreeHead:
    """A signed, timestamped head of the transparency log; auditors keep copies."""

    body: TreeHeadBody
    signature: str = field(metadata={"doc": _SIGNATURE})
    certificate: str = field(metadata={"doc": _CERTIFICATE})
    timestamp: str = field(
        metadata={"doc": "base64 DER RFC 3161 token over SHA-256 of the body's canonical JSON"}
    )


@dataclass(frozen=True)
class LogLeaf:
    format: Literal["courtroom-tlog-leaf/1"]
    hearing_id: str
    document_hash: str = field(metadata={"doc": "the sealed record's document hash"})
    sealed_sha256: str = field(metadata={"doc": "hex SHA-256 of the sealed PDF"})
    sealed_head: AuditHead = field(metadata={"doc": "the last audit entry the record carries"})


@dataclass(frozen=True)
class InclusionProof:
    """Save it and pass it to `courtroom verify --tree-head`."""

    tree_head: TreeHead
    leaf: LogLeaf = field(metadata={"doc": "the hearing's latest leaf under that head"})
    leaf_index: int = field(metadata={"doc": "0-based"})
    inclusion_path: tuple[str, ...] = field(
        metadata={"doc": "hex node hashes, RFC 9162 inclusion proof from the leaf to the root"}
    )


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    proof: tuple[str, ...] = field(
        metadata={
            "doc": "hex node hashes, RFC 9162 proof that tree `first` is a prefix of tree `second`"
        }
    )


# --- operations -----------------------------------------------------------------------------

SIGNER = "a session token of this hearing's participant who signs (not the registry key)"
TREE_SIZE = Param("tree_size", "query", int, "a past head of this size (default: the latest)")

RECORD_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        H + "/record",
        "The frozen record to review and sign (after the close)",
        PARTICIPANT + " who signs (a witness only while in the hearing)",
        answers=((200, "Record", RecordOut),),
    ),
    Operation(
        "GET",
        H + "/oath",
        "The oath to sign",
        "a witness's or interpreter's session token",
        answers=((200, "Oath", OathOut),),
    ),
    Operation(
        "POST",
        H + "/strokes",
        "Upload a handwritten signature image (PNG, ≤ 256 KiB)",
        "a signer's session token",
        "image/png",
        ((201, "Stored", StrokeOut), (413, "Too large", Error)),
    ),
    Operation(
        "POST",
        H + "/seal",
        "Seal the closed hearing's record (PAdES B-T)",
        "the judge's session token",
        answers=(
            (201, "Sealed", SealOut),
            (503, "No keys or timestamp authority configured", Error),
        ),
    ),
    Operation(
        "GET",
        H + "/record.pdf",
        "The sealed PDF",
        PARTICIPANT,
        answers=((200, "The sealed PDF", "application/pdf"),),
    ),
    Operation(
        "POST",
        "/api/v1/verify",
        "Verify a sealed PDF",
        ANYONE,
        "application/pdf",
        (
            (200, "Report", VerifyOut),
            (413, "Too large", Error),
            (503, "This server has no trust root configured", Error),
        ),
        query=(Param("hearing_id", "query", str, "also compare with this server's log"),),
    ),
    Operation(
        "GET",
        H + "/receipt",
        "The court's receipt for the caller's latest signature; the device keeps it",
        SIGNER,
        answers=(
            (200, "Receipt", Receipt),
            (400, "`purpose` is neither `record` nor `oath`", Error),
            (404, "No such hearing, or the caller has not signed it", Error),
        ),
        query=(
            Param(
                "purpose",
                "query",
                Literal["record", "oath"],
                "which signature (default `record`)",
            ),
        ),
    ),
    Operation(
        "GET",
        "/api/v1/transparency/tree-head",
        "The transparency log's signed, timestamped tree head",
        ANYONE,
        answers=(
            (200, "Tree head", TreeHead),
            (400, "`tree_size` is not a number", Error),
            (404, "No tree head (of that size) yet", Error),
        ),
        query=(TREE_SIZE,),
    ),
    Operation(
        "GET",
        "/api/v1/transparency/inclusion",
        "A sealed record's leaf and its inclusion proof under a tree head",
        ANYONE,
        answers=(
            (200, "Leaf and proof", InclusionProof),
            (400, "`tree_size` is not a number", Error),
            (404, "The hearing is not in the log, or no such tree head", Error),
        ),
        query=(Param("hearing_id", "query", str, "required"), TREE_SIZE),
    ),
    Operation(
        "GET",
        "/api/v1/transparency/consistency",
        "Proof that an older tree is a prefix of a newer one",
        ANYONE,
        answers=(
            (200, "Proof", ConsistencyProof),
            (400, "Sizes missing, not numbers, or not 0 < first ≤ second ≤ the log", Error),
        ),
        query=(
            Param("first", "query", int, "required: the older tree size"),
            Param("second", "query", int, "required: the newer tree size"),
        ),
    ),
)
