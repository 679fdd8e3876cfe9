"""The test oracle: what the store must hold, computed from the generator's
truth with plain Python, independently of the processor's code."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

from streams.dev.generator import GeneratedRecord


def valid(records: Sequence[GeneratedRecord]) -> list[GeneratedRecord]:
    return [r for r in records if r.truth.kind == "valid"]


def invalid(records: Sequence[GeneratedRecord]) -> list[GeneratedRecord]:
    return [r for r in records if r.truth.kind == "invalid"]


def touchpoints_by_type(records: Sequence[GeneratedRecord]) -> Counter[tuple[str, str]]:
    return Counter((r.channel.value, r.truth.event_type) for r in valid(records))


def dead_letters_by_reason(records: Sequence[GeneratedRecord]) -> Counter[tuple[str, str]]:
    return Counter((r.channel.value, str(r.truth.reason)) for r in invalid(records))


def dead_letter_payloads(records: Sequence[GeneratedRecord]) -> Counter[str]:
    return Counter(hashlib.sha256(r.value).hexdigest() for r in invalid(records))
