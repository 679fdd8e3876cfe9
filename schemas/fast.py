"""The common spelling of the contract, checked without Python callbacks.

The TypedDicts here accept the plainly spelled subset of the contract with
pydantic-core's native checks only; what they accept, the contract models
accept with the same values, and anything they refuse goes to the contract
models, which decide and explain. The cost of each path:
docs/performance.md, "Validation's fast path".
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, NotRequired, Union, get_args, get_origin

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import BaseModel, ConfigDict, Field, Strict, TypeAdapter, with_config
from pydantic.functional_validators import AfterValidator, BeforeValidator
from pydantic.json_schema import WithJsonSchema
from typing_extensions import TypedDict

from schemas.base import CONTRACT_VERSION
from schemas.channels import Channel
from schemas.events import CHANNEL_MODELS, Envelope, event_type_of
from schemas.identity import IDENTIFIER_FIELDS, Context, Identity
from schemas.limits import MAX_CONTEXT_CHARS, MAX_EVENT_ID_CHARS, MAX_IDENTIFIER_CHARS

PLAIN_TEXT = r"^[!-~](?:[ -~]*[!-~])?$"
"""Printable ASCII without surrounding blanks: `str.strip()` leaves such a
value as it is, and it is never blank, so the models' normalisation is the
identity on it."""
PLAIN_TIMESTAMP = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})$"
)
"""The RFC 3339 spelling nearly everyone writes (a subset of the contract's)."""

_STRICT = ConfigDict(strict=True, extra="ignore")
_PlainIdentifier = Annotated[str, Field(pattern=PLAIN_TEXT, max_length=MAX_IDENTIFIER_CHARS)]
_PlainContextText = Annotated[str, Field(pattern=PLAIN_TEXT, max_length=MAX_CONTEXT_CHARS)]

# Validators of the contract models that the fast path replaces, by model.
# Another validator added to a model must be handled here too: importing this
# module fails until it is (see `_check_validators`).
_REPLACED: dict[type[BaseModel], set[str]] = {
    Envelope: {"_known_version", "_in_time_range"},  # native ge/le below; accept_event
    Identity: {"_strip", "_email", "_phone", "_at_least_one"},  # PLAIN_TEXT, accept_event
    Context: {"_strip"},  # PLAIN_TEXT
}
SCORED_PROPERTIES = {"_score_in_range"}
"""The survey score range, checked by `accept_event` (it depends on the survey)."""


def _check_validators(model: type[BaseModel], replaced: set[str]) -> None:
    decorators = model.__pydantic_decorators__
    found = {
        *decorators.field_validators,
        *decorators.model_validators,
        *decorators.field_serializers,
        *decorators.model_serializers,
    }
    if found != replaced:
        raise TypeError(
            f"{model.__name__} validators {sorted(found)} differ from the fast path's "
            f"{sorted(replaced)}: update schemas/fast.py"
        )


for _model, _names in _REPLACED.items():
    _check_validators(_model, _names)

if set(Identity.model_fields) != set(IDENTIFIER_FIELDS):
    raise TypeError("Identity fields changed: update schemas/fast.py")


@with_config(_STRICT)
class PlainIdentity(TypedDict, total=False):
    customer_id: _PlainIdentifier
    anonymous_id: _PlainIdentifier
    email: _PlainIdentifier
    phone: _PlainIdentifier
    loyalty_id: _PlainIdentifier


def _typed_dict(
    name: str, fields: dict[str, Any], *, total: bool, extra: Literal["allow", "ignore"]
) -> Any:
    """A TypedDict made from fields computed at import, validated strictly."""
    made = TypedDict(name, fields, total=total)  # type: ignore[misc]
    return with_config(ConfigDict(strict=True, extra=extra))(made)


PlainContext = _typed_dict(
    "PlainContext",
    dict.fromkeys(Context.model_fields, _PlainContextText),
    total=False,
    extra="ignore",
)


def _fast_type(annotation: Any, metadata: list[Any]) -> Any:
    """A property's type without Python callbacks: the same constraints,
    never null (a null goes to the contract models, which drop it)."""
    if get_origin(annotation) in (Union, types.UnionType):
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(options) != 1:
            raise TypeError(f"unsupported property type {annotation!r}")
        annotation = options[0]
    kept = [m for m in metadata if not isinstance(m, BeforeValidator | WithJsonSchema)]
    if any(isinstance(m, AfterValidator) for m in kept):
        raise TypeError(f"a property validator the fast path does not know: {annotation!r}")
    return Annotated[annotation, *kept] if kept else annotation


def _plain_properties(model: type[BaseModel]) -> Any:
    """The TypedDict of a properties model: same fields and constraints,
    extras kept (their bounds are checked by `accept_event`)."""
    _check_validators(model, SCORED_PROPERTIES if "score" in model.model_fields else set())
    fields = {}
    for name, info in model.model_fields.items():
        kind = _fast_type(info.annotation, list(info.metadata))
        fields[name] = kind if info.is_required() else NotRequired[kind]
    return _typed_dict(model.__name__, fields, total=True, extra="allow")


def _plain_event(model: type[Envelope]) -> Any:
    tag = event_type_of(model)
    properties = model.model_fields["properties"]
    plain = _plain_properties(properties.annotation)  # type: ignore[arg-type]
    fields: dict[str, Any] = {
        "event_id": Annotated[str, MinLen(1), MaxLen(MAX_EVENT_ID_CHARS)],
        "event_type": Literal[tag],
        "occurred_at": Annotated[str, Field(pattern=PLAIN_TIMESTAMP)],
        "schema_version": NotRequired[Annotated[int, Strict(), Ge(1), Le(CONTRACT_VERSION)]],
        "identity": PlainIdentity,
        "context": NotRequired[PlainContext],
        "properties": plain if properties.is_required() else NotRequired[plain],
    }
    if set(fields) != set(model.model_fields):
        raise TypeError(f"{model.__name__} fields changed: update schemas/fast.py")
    return _typed_dict(f"Plain{model.__name__}", fields, total=True, extra="ignore")


def _channel_adapter(models: tuple[type[Envelope], ...]) -> TypeAdapter[dict[str, Any]]:
    events = tuple(_plain_event(model) for model in models)
    union = Annotated[Union[events], Field(discriminator="event_type")]  # type: ignore[valid-type]  # noqa: UP007
    return TypeAdapter(union)


PLAIN_ADAPTERS: dict[Channel, TypeAdapter[dict[str, Any]]] = {
    channel: _channel_adapter(models) for channel, models in CHANNEL_MODELS.items()
}
"""Per channel: the common spelling of its events, as plain dicts."""
