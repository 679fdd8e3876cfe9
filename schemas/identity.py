"""The `identity` and `context` objects of the envelope.

Identifiers are normalised here, once, so that every later stage (hashing,
stitching) sees one spelling of each: surrounding white space is removed and an
empty value counts as absent; e-mail addresses are lower-cased; phone numbers
lose spaces, dashes, dots and brackets, a leading 00 becomes +, and the result
must be E.164.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict
from pydantic.json_schema import WithJsonSchema
from pydantic_core import PydanticCustomError

from schemas.base import ContractModel
from schemas.limits import MAX_CONTEXT_CHARS, MAX_IDENTIFIER_CHARS

IDENTIFIER_FIELDS: tuple[str, ...] = (
    "customer_id",
    "anonymous_id",
    "email",
    "phone",
    "loyalty_id",
)

# E.164 digits are ASCII: `\d` would also admit other scripts' digits.
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_PUNCTUATION = " ().\u00a0-"  # "-" last: the JSON Schema uses it in a [...] class
_PHONE_PUNCTUATION = str.maketrans("", "", _PUNCTUATION)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

# The same checks as JSON Schema patterns on the raw value, before
# normalisation: blank (absent), or the identifier with surrounding white space.
_P = f"[{_PUNCTUATION}]*"
PHONE_PATTERN = rf"^\s*(?:{_P}(?:\+|0{_P}0){_P}[1-9](?:{_P}[0-9]){{1,14}}{_P})?\s*$"
EMAIL_PATTERN = r"^\s*(?:[^@\s]+@[^@\s]+)?\s*$"


def normalize_phone(raw: str) -> str:
    phone = raw.strip().translate(_PHONE_PUNCTUATION)
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    return phone


def normalize_email(raw: str) -> str:
    return raw.strip().lower()


def _blank_to_none(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def _pattern(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "string",
            "maxLength": MAX_IDENTIFIER_CHARS,
            "pattern": pattern,
            "description": description,
        }
    )


def _non_empty(name: str) -> JsonDict:
    return {"required": [name], "properties": {name: {"type": "string", "pattern": r"\S"}}}


_Identifier = Annotated[str, Field(max_length=MAX_IDENTIFIER_CHARS)]
"""An identifier as sent, before blanks are trimmed."""
_Email = Annotated[_Identifier, _pattern(EMAIL_PATTERN, "name@domain, read lower-cased")]
_Phone = Annotated[
    _Identifier,
    _pattern(
        PHONE_PATTERN,
        "E.164 once spaces, dashes, dots and brackets are removed and 00 is read as +",
    ),
]


class Identity(ContractModel):
    """Who the event is about. At least one identifier must be non-empty; two
    or more on one event link those identifiers to one person."""

    # JSON Schema for "at least one identifier is non-empty" (blank is absent).
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [_non_empty(name) for name in IDENTIFIER_FIELDS]}
    )

    customer_id: _Identifier | None = None
    anonymous_id: _Identifier | None = None
    email: _Email | None = None
    phone: _Phone | None = None
    loyalty_id: _Identifier | None = None

    @field_validator("customer_id", "anonymous_id", "loyalty_id", mode="after")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return _blank_to_none(value)

    @field_validator("email", mode="after")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        email = normalize_email(value)
        if not EMAIL.fullmatch(email):
            raise PydanticCustomError("invalid_identifier", "email must look like name@domain")
        return email

    @field_validator("phone", mode="after")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        phone = normalize_phone(value)
        if not E164.fullmatch(phone):
            raise PydanticCustomError(
                "invalid_identifier",
                "phone must be an E.164 number such as +989121234567",
            )
        return phone

    @model_validator(mode="after")
    def _at_least_one(self) -> Identity:
        if not any(getattr(self, name) for name in IDENTIFIER_FIELDS):
            raise PydanticCustomError(
                "missing_identity",
                "identity needs at least one non-empty identifier: " + ", ".join(IDENTIFIER_FIELDS),
            )
        return self

    def present(self) -> dict[str, str]:
        """The identifiers this event carries, by field name."""
        return {
            name: value for name in IDENTIFIER_FIELDS if (value := getattr(self, name)) is not None
        }


_ContextText = Annotated[str, Field(max_length=MAX_CONTEXT_CHARS)]


class Context(ContractModel):
    """Where the event happened; every field optional."""

    store_id: _ContextText | None = None
    campaign_id: _ContextText | None = None
    session_id: _ContextText | None = None
    locale: _ContextText | None = None
    user_agent: _ContextText | None = None
    b2b_account_id: _ContextText | None = None

    @field_validator("*", mode="after")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return _blank_to_none(value)
