"""Why an event is rejected, in machine-readable form.

Every rejected event gets one primary `reason` (a stable code from
`RejectReason`) and the list of every problem found, each with the dotted path
of the field and a message. Messages never repeat the input value, so a
rejection can be stored and shown without leaking personal data.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationError
from pydantic_core import ErrorDetails, from_json

from schemas.base import ContractModel
from schemas.channels import Channel
from schemas.limits import (
    MAX_AMOUNT,
    MAX_DEPTH,
    MAX_FUTURE_MS,
    MAX_VALUE_BYTES,
    NUMBER_OUT_OF_RANGE,
    TOO_DEEP,
)


class RejectReason(StrEnum):
    """Stable reason codes, in the order that picks the primary reason."""

    INVALID_ENCODING = "invalid_encoding"
    INVALID_JSON = "invalid_json"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    MISSING_FIELD = "missing_field"
    INVALID_TIMESTAMP = "invalid_timestamp"
    TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    NUMBER_OUT_OF_RANGE = "number_out_of_range"
    MISSING_IDENTITY = "missing_identity"
    INVALID_IDENTIFIER = "invalid_identifier"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    # Set aside by a later stage, not by the contract (the dead letter says which stage).
    PROCESSING_FAILED = "processing_failed"
    STORE_REJECTED = "store_rejected"


REASON_DESCRIPTIONS: dict[RejectReason, str] = {
    RejectReason.INVALID_ENCODING: "the value is not UTF-8",
    RejectReason.INVALID_JSON: "the value is not valid JSON",
    RejectReason.TOO_LARGE: f"the value is larger than {MAX_VALUE_BYTES:,} bytes",
    RejectReason.TOO_DEEP: (
        f"a property nests arrays and objects more than {MAX_DEPTH} levels deep, "
        "or the value nests too deep to parse"
    ),
    RejectReason.NOT_AN_OBJECT: "the value is JSON but not an object",
    RejectReason.UNKNOWN_EVENT_TYPE: "event_type is not a type of this channel",
    RejectReason.MISSING_FIELD: "a required field or property is absent",
    RejectReason.INVALID_TIMESTAMP: "occurred_at is not RFC 3339 with an offset",
    RejectReason.TIMESTAMP_OUT_OF_RANGE: (
        f"occurred_at is before 1970 or more than {MAX_FUTURE_MS // 3_600_000} hours after "
        "the event was received"
    ),
    RejectReason.SCORE_OUT_OF_RANGE: "a survey score is outside its scale",
    RejectReason.NUMBER_OUT_OF_RANGE: (
        "a property's number is not finite, an integer beyond signed 64 bits, "
        f"or an amount of {MAX_AMOUNT:,} or more"
    ),
    RejectReason.MISSING_IDENTITY: "identity has no non-empty identifier",
    RejectReason.INVALID_IDENTIFIER: "email or phone is malformed (phone: E.164)",
    RejectReason.UNSUPPORTED_SCHEMA_VERSION: "schema_version is not one this processor reads",
    RejectReason.WRONG_TYPE: "a field has the wrong JSON type",
    RejectReason.INVALID_VALUE: "a field's value is not allowed (length, range, enum, pattern)",
    RejectReason.PROCESSING_FAILED: "valid, but a stage of the processor failed on it (a bug)",
    RejectReason.STORE_REJECTED: "valid, but ClickHouse refused to store it",
}

SET_ASIDE = frozenset({RejectReason.PROCESSING_FAILED, RejectReason.STORE_REJECTED})
"""Reasons of valid events that a later stage could not process: not the
contract's, no example of them can be written."""

_REASON_OF_ERROR_TYPE: dict[str, RejectReason] = {
    "json_invalid": RejectReason.INVALID_JSON,
    "json_type": RejectReason.INVALID_JSON,
    "union_tag_invalid": RejectReason.UNKNOWN_EVENT_TYPE,
    "union_tag_not_found": RejectReason.MISSING_FIELD,
    "missing": RejectReason.MISSING_FIELD,
    "invalid_timestamp": RejectReason.INVALID_TIMESTAMP,
    "datetime_parsing": RejectReason.INVALID_TIMESTAMP,
    "datetime_from_date_parsing": RejectReason.INVALID_TIMESTAMP,
    "datetime_object_invalid": RejectReason.INVALID_TIMESTAMP,
    "timezone_aware": RejectReason.INVALID_TIMESTAMP,
    "timestamp_out_of_range": RejectReason.TIMESTAMP_OUT_OF_RANGE,
    "score_out_of_range": RejectReason.SCORE_OUT_OF_RANGE,
    TOO_DEEP: RejectReason.TOO_DEEP,
    NUMBER_OUT_OF_RANGE: RejectReason.NUMBER_OUT_OF_RANGE,
    # Every upper bound on a number and every finiteness check in the models
    # is a representability bound (schemas.limits); lower bounds (revenue 0 or
    # more, quantity 1 or more) are rules of meaning: invalid_value.
    "finite_number": RejectReason.NUMBER_OUT_OF_RANGE,
    "less_than": RejectReason.NUMBER_OUT_OF_RANGE,
    "less_than_equal": RejectReason.NUMBER_OUT_OF_RANGE,
    "missing_identity": RejectReason.MISSING_IDENTITY,
    "invalid_identifier": RejectReason.INVALID_IDENTIFIER,
    "unsupported_schema_version": RejectReason.UNSUPPORTED_SCHEMA_VERSION,
}
_PRIORITY = {reason: rank for rank, reason in enumerate(RejectReason)}
MAX_ERRORS = 20


class RejectionError(ContractModel):
    reason: RejectReason
    field: str = Field(description="dotted path of the field; empty for the whole value")
    message: str


class Rejection(ContractModel):
    """The verdict on an event that is not accepted."""

    reason: RejectReason
    errors: tuple[RejectionError, ...]
    event_id: str | None = Field(default=None, description="when it could be read")
    event_type: str | None = Field(default=None, description="when it could be read")

    @classmethod
    def of(cls, reason: RejectReason, message: str, field: str = "") -> Rejection:
        return cls(
            reason=reason,
            errors=(RejectionError(reason=reason, field=field, message=message),),
        )


# jiter, the JSON parser of pydantic, stops at about 200 levels of nesting.
_PARSER_DEPTH = "recursion limit exceeded"


def _too_deep_to_parse(error: ErrorDetails) -> bool:
    return error["type"] == "json_invalid" and str(
        error.get("ctx", {}).get("error", "")
    ).startswith(_PARSER_DEPTH)


def _reason_of(error: ErrorDetails) -> RejectReason:
    kind = error["type"]
    if _too_deep_to_parse(error):
        return RejectReason.TOO_DEEP
    if kind in _REASON_OF_ERROR_TYPE:
        return _REASON_OF_ERROR_TYPE[kind]
    if kind in ("dict_type", "model_type", "model_attributes_type") and not error["loc"]:
        return RejectReason.NOT_AN_OBJECT
    if kind.endswith("_type"):
        return RejectReason.WRONG_TYPE
    return RejectReason.INVALID_VALUE


def _field_of(error: ErrorDetails) -> str:
    loc = error["loc"]
    # Inside a tagged union pydantic puts the tag first: drop it.
    if loc and error["type"] not in ("union_tag_invalid", "union_tag_not_found"):
        loc = loc[1:]
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return "event_type"
    return ".".join(str(part) for part in loc)


def _message_of(error: ErrorDetails, channel: Channel) -> str:
    kind = error["type"]
    if kind == "union_tag_invalid":
        from schemas.events import EVENT_TYPES  # the events module imports us

        tag = str(error.get("ctx", {}).get("tag", ""))
        owners = [c.value for c, types in EVENT_TYPES.items() if tag in types]
        where = f" (it is an event type of: {', '.join(owners)})" if owners else ""
        return (
            f"not an event type of the {channel.value} channel{where}; expected one of "
            + ", ".join(sorted(EVENT_TYPES[channel]))
        )
    if kind == "union_tag_not_found":
        return "event_type is required"
    if _too_deep_to_parse(error):
        return "nested too deep to parse: " + str(error.get("ctx", {}).get("error", ""))
    if kind == "json_invalid":
        return "not valid JSON: " + str(error.get("ctx", {}).get("error", ""))
    return error["msg"]


def _readable_ids(raw: bytes) -> tuple[str | None, str | None]:
    # The models' own parser: it reads what they read (NaN, big integers).
    try:
        value: Any = from_json(raw, cache_strings=False)
    except ValueError:
        return None, None
    if not isinstance(value, dict):
        return None, None
    event_id, event_type = value.get("event_id"), value.get("event_type")
    return (
        event_id[:128] if isinstance(event_id, str) and event_id else None,
        event_type[:64] if isinstance(event_type, str) and event_type else None,
    )


def too_large(raw: bytes) -> Rejection:
    """The rejection of a value beyond MAX_VALUE_BYTES, decided before parsing."""
    return Rejection.of(
        RejectReason.TOO_LARGE,
        f"the value is {len(raw):,} bytes; at most {MAX_VALUE_BYTES:,} are accepted",
    )


_UTF8_BOM = b"\xef\xbb\xbf"


def rejection_from_error(exc: ValidationError, raw: bytes, channel: Channel) -> Rejection:
    """Turn pydantic's errors for one raw event into a `Rejection`."""
    details = exc.errors(include_url=False, include_input=False)
    if details and details[0]["type"] == "json_invalid":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return Rejection.of(RejectReason.INVALID_ENCODING, f"not UTF-8 at byte {bad.start}")
        if raw.startswith(_UTF8_BOM):  # RFC 8259 8.1: senders must not add one
            return Rejection.of(
                RejectReason.INVALID_JSON,
                "not valid JSON: the value starts with a byte order mark (U+FEFF); "
                "send UTF-8 without one",
            )
    errors = tuple(
        RejectionError(
            reason=_reason_of(error),
            field=_field_of(error),
            message=_message_of(error, channel),
        )
        for error in details[:MAX_ERRORS]
    )
    event_id, event_type = _readable_ids(raw)
    return Rejection(
        reason=min((e.reason for e in errors), key=_PRIORITY.__getitem__),
        errors=errors,
        event_id=event_id,
        event_type=event_type,
    )
