"""RFC 9162 Merkle tree: every inclusion and consistency proof up to 33 leaves checks,
and a changed leaf, index, size or root does not."""

from __future__ import annotations

from courtroom.record.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(f"leaf {i}".encode()) for i in range(33)]


def test_root_of_three_is_the_rfc_shape() -> None:
    a, b, c = LEAVES[:3]
    assert root([a, b, c]) == node_hash(node_hash(a, b), c)
    assert leaf_hash(b"") != node_hash(b"", b"")  # domain separation 0x00 / 0x01


def test_every_inclusion_proof() -> None:
    for n in range(1, len(LEAVES) + 1):
        tree, top = LEAVES[:n], root(LEAVES[:n])
        for i in range(n):
            path = inclusion_proof(i, tree)
            assert verify_inclusion(tree[i], i, n, path, top)
            assert not verify_inclusion(leaf_hash(b"forged"), i, n, path, top)
            if n > 1:
                assert not verify_inclusion(tree[i], (i + 1) % n, n, path, top)


def test_every_consistency_proof() -> None:
    for n in range(1, len(LEAVES) + 1):
        for m in range(1, n + 1):
            proof = consistency_proof(m, LEAVES[:n])
            old, new = root(LEAVES[:m]), root(LEAVES[:n])
            assert verify_consistency(m, n, old, new, proof), (m, n)
            if m < n:
                assert not verify_consistency(m, n, root(LEAVES[1 : m + 1]), new, proof)


def test_a_rewritten_history_is_not_consistent() -> None:
    rewritten = [LEAVES[0], leaf_hash(b"rewritten"), *LEAVES[2:10]]
    proof = consistency_proof(4, rewritten)
    assert not verify_consistency(4, 10, root(LEAVES[:4]), root(rewritten), proof)
