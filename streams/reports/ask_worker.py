"""The CLI asks a running worker over its web port (`CX_WEB_HOST`,
`CX_WEB_PORT`): on the embedded ClickHouse the worker holds the store, and
no other process may open it meanwhile."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import click
import orjson

from streams.runtime.net import is_listening


def ask_worker(
    host: str, port: int, path: str, params: Mapping[str, str], headers: Mapping[str, str]
) -> Any | None:
    """The worker's JSON answer to GET `path`?`params`, or None when no
    worker listens there; `headers` carry the bearer token (`CX_WEB_TOKEN`).
    An answer other than 200 is one line (a ClickException)."""
    if not is_listening(host, port):
        return None
    query = urllib.parse.urlencode(params)
    try:
        asked = urllib.request.Request(f"http://{host}:{port}{path}?{query}", headers=dict(headers))
        with urllib.request.urlopen(asked, timeout=30) as answer:
            return orjson.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise click.ClickException(
            f"the worker answered {exc.code}: {exc.read().decode()}"
        ) from exc
