"""The hearing domain: pure, synchronous, free of I/O. See docs/design.md."""

# Capabilities that add event types register them on import; importing the package does it,
# so every reader of a log (runtime, record, verify) knows them.
from . import review as _review  # noqa: F401
