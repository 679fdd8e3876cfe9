"""Memory that kept values really hold, as tracemalloc counts it (orjson's
output owns its whole write buffer, about 4 KiB, which `len` does not show)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable


def held_by(make: Callable[[int], bytes], count: int) -> tuple[int, int]:
    """Bytes traced as still allocated after keeping `count` results of
    `make(0)`, `make(1)`, ..., and their total length."""
    tracemalloc.start()
    try:
        kept = [make(i) for i in range(count)]
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return held, sum(map(len, kept))
