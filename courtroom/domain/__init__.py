"""The hearing domain: pure, synchronous, free of I/O. See docs/design.md."""
