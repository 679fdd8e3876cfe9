"""Right-sized copies of orjson's output, for bytes kept a long time.

orjson's result can own a buffer far larger than itself; bytes kept for long,
or many at once, go through `right_sized`. The measurements:
docs/performance.md, "Right-sized copies of orjson's output".
"""

from __future__ import annotations


def right_sized(data: bytes) -> bytes:
    """A copy of `data` that owns no more memory than its length needs."""
    return bytes(memoryview(data))
