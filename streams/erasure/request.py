"""An erasure request, as `cx erase` and other systems send it on the
erasures topic (`erasure-request/1`): a versioned contract, strict, so a
request that cannot be honoured says why in one line."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streams.runtime.headers import format_headers

FORMAT = b"erasure-request/1"
HEADERS = format_headers(FORMAT)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class ErasureRequest(BaseModel):
    """Forget the person `identifier` belongs to, everywhere."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    schema_version: Literal["1"] = "1"
    request_id: Annotated[str, Field(pattern=REQUEST_ID.pattern)]
    """The requester's id for it (the audit table's key): 1-64 of A-Z a-z
    0-9 . _ : -"""
    identifier: Annotated[str, Field(min_length=3, max_length=512)]
    """`TYPE:VALUE` as `cx journey` takes it: customer_id:C1, loyalty_id:L1,
    anonymous_id:A1, email:ADDRESS, phone:NUMBER, or the stored hashes."""
    suppress: bool | None = None
    """Drop the person's later events (True) or take them as a new person
    (False); None: `CX_ERASURE_SUPPRESS` decides."""
    requested_at_ms: int | None = None
    """When it was asked (epoch ms); None: when the worker reads it."""


class BadRequest(ValueError):
    """A record of the erasures topic that is not an erasure request."""


def new_request(identifier: str, suppress: bool | None) -> ErasureRequest:
    return ErasureRequest(
        request_id=uuid.uuid4().hex,
        identifier=identifier,
        suppress=suppress,
        requested_at_ms=None,
    )


def encode_request(request: ErasureRequest) -> bytes:
    return orjson.dumps(request.model_dump(exclude_none=True))


def decode_request(raw: bytes | None) -> ErasureRequest:
    """The request, or BadRequest with one line saying what is wrong."""
    if not raw:
        raise BadRequest("empty record: an erasure request is a JSON object")
    try:
        return ErasureRequest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "request"
        raise BadRequest(f"{where}: {first['msg']}") from None


def request_id_of(raw: bytes | None) -> str | None:
    """The request id of a record that is not a valid request, when it has
    a usable one (to record the refusal under it)."""
    try:
        data = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None
    found = data.get("request_id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and REQUEST_ID.match(found) else None
