"""One person's cross-channel history, from any of their identifiers: what
`cx journey` prints and the worker's `/journey` answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.identity import Identity
from streams.clickhouse.client import Store
from streams.identity.rules import KINDS
from streams.ingest.pseudonym import Pseudonymizer
from streams.runtime.settings import Settings

_PLAIN = ("customer_id", "loyalty_id", "anonymous_id")


class BadIdentifier(ValueError):
    pass


def lookup_pseudonymizer(settings: Settings) -> Pseudonymizer | None:
    """What hashes an email or phone looked up as ingest did (None without
    `CX_PII_SECRET`: such lookups are refused)."""
    secret = settings.pii_secret.get_secret_value() if settings.pii_secret else ""
    return Pseudonymizer(secret.encode()) if secret else None


def parse_identifier(text: str, pseudonymizer: Pseudonymizer | None) -> str:
    """`kind:value` as stored. Accepts customer_id:, loyalty_id:,
    anonymous_id:, email: and phone: (normalised and hashed as on ingest),
    the stored email_hash:/phone_hash: forms, and a bare email or phone."""
    kind, sep, value = text.partition(":")
    if not sep or kind not in (*KINDS, "email", "phone"):
        kind, value = ("email", text) if "@" in text else ("phone", text)
        if kind == "phone" and not text.lstrip().startswith(("+", "00")):
            raise BadIdentifier(
                f"say which identifier {text!r} is: {', '.join(f'{k}:VALUE' for k in _PLAIN)}, "
                "email:ADDRESS or phone:NUMBER"
            )
    value = value.strip()
    if not value:
        raise BadIdentifier("the identifier is empty")
    if kind in ("email", "phone"):
        if pseudonymizer is None:
            raise BadIdentifier(f"set CX_PII_SECRET to look people up by {kind}")
        try:
            normalised = getattr(Identity.model_validate({kind: value}), kind)
        except ValidationError as exc:
            raise BadIdentifier(exc.errors()[0]["msg"]) from None
        return f"{kind}_hash:{pseudonymizer.hash(kind, normalised)}"
    return f"{kind}:{value}"


def person(store: Store, identifier: str, *, limit: int = 500) -> dict[str, Any]:
    """Blocking: the person `identifier` belongs to, with their identifiers,
    journeys and touchpoints (at most `limit`)."""
    found = store.query("person_key", identifier=identifier)
    key = str(found[0][0]) if found else identifier
    identifiers = sorted(
        {key, identifier, *(row[0] for row in store.query("person_identifiers", key=key))}
    )
    journeys = store.query_named("person_journeys", key=key)
    for journey in journeys:
        for name in ("support", "surveys", "pain_points"):
            journey[name] = orjson.loads(journey[name])
    touchpoints = store.query_named("person_touchpoints", identifiers=identifiers, limit=limit)
    return {
        "identifier": identifier,
        "customer_key": key,
        "identifiers": identifiers,
        "journeys": journeys,
        "touchpoints": touchpoints,
    }


def _at(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _minutes(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 60_000:.0f} min"


def _switches(n: int) -> str:
    return f"{n} channel switch" + ("" if n == 1 else "es")


def render_person(data: dict[str, Any]) -> str:
    """The person as text for a terminal."""
    lines = [
        f"person {data['customer_key']}",
        f"  identifiers: {', '.join(data['identifiers'])}",
    ]
    if not data["journeys"] and not data["touchpoints"]:
        lines.append("  nothing stored for this identifier")
        return "\n".join(lines)
    for n, j in enumerate(data["journeys"], 1):
        status = "ended" if j["ended"] else "ongoing"
        lines += [
            "",
            f"journey {n} ({j['journey_id']}, {status}): {_at(j['started_at_ms'])} .. "
            f"{_at(j['last_at_ms'])}, {j['touchpoints']} touchpoints",
            "  stages:   "
            + " > ".join(
                f"{stage} {_at(at)}"
                for stage, at in zip(j["stages"], j["stage_reached_at_ms"], strict=True)
            ),
            f"  channels: {' > '.join(j['channels'])} ({_switches(j['channel_switches'])})",
        ]
        if j["converted"]:
            revenue = ", ".join(
                f"{amount:.2f} {cur}" for cur, amount in sorted(j["revenue"].items())
            )
            lines.append(
                f"  purchases: {j['purchases']} ({revenue}), first on {j['purchase_channel']} "
                f"after {_minutes(j['time_to_purchase_ms'])}"
            )
        for c in j["support"]:
            lines.append(
                f"  support {c['contact_id']} on {c['channel']}: {c['state']}, first answer "
                f"{_minutes(c['first_answer_ms'])}, resolved {_minutes(c['resolution_ms'])}"
            )
        for s in j["surveys"]:
            rated = (
                f" rating {s['rated_event_type']} ({s['rated_stage']})"
                if s["rated_event_type"]
                else ""
            )
            lines.append(f"  survey {s['survey']} {s['score']}{rated}")
        sent = [k for k in ("thank_you", "reminder", "survey") if j[f"{k}_sent"]]
        if sent:
            answered = "answered" if j["follow_up_answered"] else "not answered"
            lines.append(f"  follow-up: {', '.join(sent)} sent, {answered}")
        for p in j["pain_points"]:
            lines.append(f"  pain: {p['kind']} at {_at(p['at_ms'])} ({p['detail']})")
    lines += ["", f"touchpoints ({len(data['touchpoints'])}):"]
    lines += [
        f"  {_at(t['occurred_at_ms'])}  {t['channel']:<5} {t['event_type']:<24} {t['stage'] or '-':<13} {t['store_id']}"
        for t in data["touchpoints"]
    ]
    return "\n".join(lines)
