"""The bearer token that guards `GET /journey` (a person's whole history)
and `GET /deadletters`: off unless `CX_WEB_TOKEN` is set, and then compared
in constant time."""

from __future__ import annotations

import hmac

from pydantic import SecretStr

OFF_FOR = "{what} is off: set CX_WEB_TOKEN and send it as a bearer token"
OFF = OFF_FOR.format(what="person lookup")
WRONG = "send CX_WEB_TOKEN as a bearer token: Authorization: Bearer <token>"


def refusal(
    authorization: str | None, token: SecretStr | None, what: str = "person lookup"
) -> tuple[int, str] | None:
    """None when `authorization` (the request's header) carries the token;
    else the HTTP status and a one-line reason: 403 when no token is set
    (`what` is off), 401 when it is missing or wrong."""
    expected = token.get_secret_value() if token is not None else ""
    if not expected:
        return 403, OFF_FOR.format(what=what)
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        return 401, WRONG
    return None


def bearer(token: SecretStr | None) -> dict[str, str]:
    """The header a client sends (none without a token)."""
    if token is None or not token.get_secret_value():
        return {}
    return {"Authorization": f"Bearer {token.get_secret_value()}"}
