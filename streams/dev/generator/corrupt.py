"""Invalid records, each with the reason the processor must give."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import orjson

from schemas import EVENT_TYPES, Channel, RejectReason

Event = dict[str, Any]


def _without(event: Event, name: str) -> Event:
    return {k: v for k, v in event.items() if k != name}


def _foreign_type(rng: random.Random, channel: Channel) -> str:
    others = sorted(
        set().union(*(t for c, t in EVENT_TYPES.items() if c is not channel)) - EVENT_TYPES[channel]
    )
    return rng.choice([*others, "page_veiw", "purchase_v2"])


def _score_out(rng: random.Random, event: Event) -> Event:
    survey = rng.choice(("nps", "csat", "ces"))
    score = {"nps": 11, "csat": 0, "ces": 8}[survey]
    return {
        **event,
        "event_type": "survey_response",
        "properties": {"survey": survey, "score": score},
    }


# (reason, how): each `how` returns the corrupted bytes of a valid event.
_CORRUPTIONS: list[tuple[RejectReason, Callable[[random.Random, Event, Channel], bytes]]] = [
    (RejectReason.INVALID_JSON, lambda r, e, c: orjson.dumps(e)[: r.randrange(1, 40)]),
    (RejectReason.NOT_AN_OBJECT, lambda r, e, c: orjson.dumps([e])),
    (
        RejectReason.UNKNOWN_EVENT_TYPE,
        lambda r, e, c: orjson.dumps({**e, "event_type": _foreign_type(r, c)}),
    ),
    (
        RejectReason.MISSING_FIELD,
        lambda r, e, c: orjson.dumps(
            _without(e, r.choice(("event_id", "occurred_at", "identity")))
        ),
    ),
    (
        RejectReason.INVALID_TIMESTAMP,
        lambda r, e, c: orjson.dumps(
            {
                **e,
                "occurred_at": r.choice(
                    (
                        "2026-11-23T09:41:07",
                        "2026-11-23T09:41Z",
                        "yesterday",
                        "2026-13-01T00:00:00Z",
                    )
                ),
            }
        ),
    ),
    (RejectReason.SCORE_OUT_OF_RANGE, lambda r, e, c: orjson.dumps(_score_out(r, e))),
    (
        RejectReason.MISSING_IDENTITY,
        lambda r, e, c: orjson.dumps({**e, "identity": r.choice(({}, {"customer_id": "  "}))}),
    ),
    (
        RejectReason.INVALID_IDENTIFIER,
        lambda r, e, c: orjson.dumps({**e, "identity": {"phone": "0912-CALL-ME"}}),
    ),
    (RejectReason.WRONG_TYPE, lambda r, e, c: orjson.dumps({**e, "event_id": r.randrange(10**6)})),
    (
        RejectReason.INVALID_ENCODING,
        lambda r, e, c: (
            orjson.dumps({**e, "event_id": e["event_id"] + "-caf\u00e9"}).decode().encode("latin-1")
        ),
    ),
]


def corrupt(rng: random.Random, event: Event, channel: Channel) -> tuple[bytes, RejectReason]:
    reason, how = rng.choice(_CORRUPTIONS)
    return how(rng, event, channel), reason
