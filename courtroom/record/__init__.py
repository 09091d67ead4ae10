"""Sealed hearing record: canonical document, signatures, PDF, PAdES seal, verification.

See docs/record.md. Submodules are imported directly (pyHanko is slow to import).
"""
