"""The JSON Schema documents of the wire contract, generated from the models.

`python -m schemas.jsonschema` rewrites the committed files in `schemas/json/`;
`python -m schemas.jsonschema --check` writes nothing and exits 1, naming each
file that differs from what the models generate now.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from schemas.base import CONTRACT_VERSION
from schemas.channels import Channel
from schemas.events import EVENT_ADAPTERS
from schemas.limits import MAX_VALUE_BYTES

JSON_DIR = Path(__file__).parent / "json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://cx-stream-processor/schemas/"

_WRITTEN_BY: dict[Channel, str] = {
    Channel.WEB: "the website (browser and server-side events)",
    Channel.APP: "the mobile app",
    Channel.STORE: "physical stores (point of sale, kiosks, staff devices)",
    Channel.SMS: "the SMS gateway (sends, deliveries, replies)",
}


def file_name(channel: Channel) -> str:
    return f"{channel.value}.v{CONTRACT_VERSION}.schema.json"


def document(channel: Channel) -> dict[str, Any]:
    """The JSON Schema of one message value on `channel`'s topic."""
    topic = f"cx.{channel.value}"
    return {
        "$schema": DIALECT,
        "$id": ID_BASE + file_name(channel),
        "title": f"{topic} event (contract v{CONTRACT_VERSION})",
        "description": (
            f"One message value on the {topic} topic (the cx. prefix is configurable), "
            f"written by {_WRITTEN_BY[channel]}: a JSON object, UTF-8, at most "
            f"{MAX_VALUE_BYTES:,} bytes (a bound JSON Schema cannot express)."
        ),
        **EVENT_ADAPTERS[channel].json_schema(mode="validation"),
    }


def documents() -> dict[str, str]:
    """File name -> file text, deterministic: sorted keys, indent 2, final newline."""
    return {
        file_name(channel): json.dumps(document(channel), indent=2, sort_keys=True) + "\n"
        for channel in Channel
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.jsonschema", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args(argv)
    stale = 0
    for name, text in documents().items():
        path = JSON_DIR / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        if args.check:
            stale += 1
            print(
                f"{path}: differs from the models; run python -m schemas.jsonschema",
                file=sys.stderr,
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {path}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
