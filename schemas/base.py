"""Shared building blocks of the contract models: config and constrained types."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
)
from pydantic.json_schema import WithJsonSchema
from pydantic_core import PydanticCustomError

from schemas.limits import (
    INT64_MAX,
    INT64_MIN,
    MAX_AMOUNT,
    MAX_DEPTH,
    MAX_EVENT_ID_CHARS,
    MAX_EXTERNAL_ID_CHARS,
    MAX_TEXT_CHARS,
    NUMBER_OUT_OF_RANGE,
    TOO_DEEP,
    free_value_problem,
)

CONTRACT_VERSION = 1

# RFC 3339 section 5.6: full-date "T" full-time, seconds required, offset "Z" or
# +hh:mm. pydantic alone accepts more (no seconds, +hhmm, unix seconds), so the
# string is checked before it is parsed. The same pattern goes into the JSON
# Schema (ASCII digits: `\d` would differ between Python and ECMA regexes).
RFC3339_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_RFC3339 = re.compile(RFC3339_PATTERN)


def _require_rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise PydanticCustomError(
            "invalid_timestamp",
            "must be an RFC 3339 timestamp with seconds and an offset, "
            "e.g. 2026-11-23T09:41:07.250+03:30",
        )
    return value


# The check above admits only RFC 3339 strings, so the parse after it may run
# lax (strict mode refuses a str that a before-validator hands on).
Timestamp = Annotated[
    AwareDatetime,
    Strict(False),
    BeforeValidator(_require_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339_PATTERN}),
]
"""An RFC 3339 timestamp string with an explicit offset."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Exact milliseconds since the epoch of an aware datetime."""
    return (moment - _EPOCH) // _MS


_INT64 = f"within signed 64 bits ({INT64_MIN} to {INT64_MAX})"


def _int_id_as_str(value: Any) -> Any:
    # Point-of-sale systems often number their orders and staff: accept an
    # integer id and read it as its decimal string. Booleans are not ids.
    if isinstance(value, int) and not isinstance(value, bool):
        if not INT64_MIN <= value <= INT64_MAX:
            raise PydanticCustomError(NUMBER_OUT_OF_RANGE, "an integer id must be " + _INT64)
        return str(value)
    return value


ExternalId = Annotated[
    str,
    BeforeValidator(_int_id_as_str),
    Field(min_length=1, max_length=MAX_EXTERNAL_ID_CHARS),
    WithJsonSchema(
        {
            "type": ["string", "integer"],
            "minLength": 1,
            "maxLength": MAX_EXTERNAL_ID_CHARS,
            "minimum": INT64_MIN,
            "maximum": INT64_MAX,
        }
    ),
]
"""An id owned by a producer system (order, product, contact, staff): a
non-empty string; an integer is accepted and kept as its decimal string."""

# NaN and Infinity are not JSON (RFC 8259), though the parser reads them; the
# parser reads 1e400 as Infinity. The bound is what Decimal(18, 4) holds.
Amount = Annotated[float, Field(ge=0, lt=MAX_AMOUNT, allow_inf_nan=False)]
"""A money amount: 0 or more, below MAX_AMOUNT, finite."""
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
"""A typed free-text property (url, query, comment, ...)."""
EventIdRef = Annotated[str, Field(max_length=MAX_EVENT_ID_CHARS)]
"""A property that names another event by its `event_id` (`about_event_id`):
at most as long as an event id."""

_FREE_VALUE_MESSAGES = {
    NUMBER_OUT_OF_RANGE: "numbers must be finite, and integers " + _INT64,
    TOO_DEEP: f"arrays and objects may nest at most {MAX_DEPTH} levels",
}


def _within_limits(value: Any) -> Any:
    problem = free_value_problem(value)
    if problem is not None:
        raise PydanticCustomError(problem, _FREE_VALUE_MESSAGES[problem])
    return value


FreeValue = Annotated[
    Any,
    AfterValidator(_within_limits),
    WithJsonSchema(
        {
            "description": (
                f"any JSON value: arrays and objects nested at most {MAX_DEPTH} levels, "
                f"integers within signed 64 bits, numbers finite"
            )
        }
    ),
]
"""An unknown extra property: kept as sent, within the bounds every accepted
value keeps (schemas.limits)."""


class ContractModel(BaseModel):
    """Strict and frozen; envelope-level fields the contract does not name are
    ignored (forward compatible), never an error."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class OpenProperties(BaseModel):
    """Type-specific properties: known ones are typed, unknown extras are kept
    (as `FreeValue`s)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="allow")
    __pydantic_extra__: dict[str, FreeValue]
