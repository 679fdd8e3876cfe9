"""Hand-shaped traffic dated around now, for alerting: survey answers and
channel events between two instants. Each record is valid and carries its
own anonymous person."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas import Channel
from streams.dev.generator.traffic import GeneratedRecord, Truth

_ids = itertools.count()


def event(channel: Channel, event_type: str, at_ms: int, **fields: Any) -> GeneratedRecord:
    """One valid event at `at_ms`; `fields` adds properties, context."""
    n = next(_ids)
    event_id = f"live-{datetime.now(UTC):%Y%m%d%H%M%S}-{n}"
    body: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat(),
        "identity": {"anonymous_id": f"live-person-{event_id}"},
        **fields,
    }
    truth = Truth("valid", event_id, event_type, None, None, at_ms)
    return GeneratedRecord(channel, None, orjson.dumps(body), truth)


def answers(
    channel: Channel, survey: str, scores: list[int], since: int, until: int, **context: str
) -> list[GeneratedRecord]:
    """Survey answers with these scores, spread evenly over [since, until);
    app answers are tagged with the functional dimension."""
    step = (until - since) // len(scores)
    props = {"dimension": "functional"} if channel is Channel.APP else {}
    return [
        event(
            channel,
            "survey_response",
            since + i * step,
            properties={"survey": survey, "score": score, **props},
            context=context,
        )
        for i, score in enumerate(scores)
    ]
