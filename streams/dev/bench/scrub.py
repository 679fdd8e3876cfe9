"""Micro-benchmark of `to_touchpoint`, where personal data in free text is
scrubbed: this tree's against an earlier commit's, in one process, on the
same accepted events from the generator.

    python -m streams.dev.bench.scrub --before dc5fa07

Three sets: every generated event; only those whose identity has an e-mail
or phone (the only ones scrubbed); and those again with their own phone and
e-mail spelled into a comment (the rare case where a pattern runs).
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import timeit
import types
from collections.abc import Callable, Sequence
from typing import Any

from schemas import AcceptedEvent, Channel, accept_event
from schemas.limits import now_ms
from streams.dev.generator import TrafficSpec, generate_traffic
from streams.ingest import touchpoint
from streams.ingest.pseudonym import Pseudonymizer
from streams.ingest.scrub import national_parts

Convert = Callable[..., Any]


def _events(people: int) -> list[tuple[AcceptedEvent, Channel]]:
    received = now_ms()
    events = []
    for record in generate_traffic(TrafficSpec(people=people)):
        if record.truth.kind == "valid":
            event = accept_event(record.value, record.channel, received_at_ms=received)
            if isinstance(event, dict):
                events.append((event, record.channel))
    return events


def _with_text(events: Sequence[tuple[AcceptedEvent, Channel]]) -> list[tuple[Any, Channel]]:
    spelled = []
    for event, channel in events:
        event = copy.deepcopy(event)
        phone, email = event["identity"].get("phone"), event["identity"].get("email")
        text = "call me"
        if phone is not None:
            national = national_parts(phone)[1]
            text += f" on 0{national[:3]} {national[3:6]} {national[6:]}"
        if email is not None:
            text += f" or write to {email.title()}"
        event["properties"] = {**event["properties"], "comment": text}
        spelled.append((event, channel))
    return spelled


def _old(commit: str) -> Convert:
    source = subprocess.run(
        ["git", "show", f"{commit}:streams/ingest/touchpoint.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("touchpoint_before")
    sys.modules[module.__name__] = module
    exec(compile(source, f"{commit}:touchpoint.py", "exec"), module.__dict__)
    convert: Convert = module.to_touchpoint
    return convert


def _per_event_us(convert: Convert, events: Sequence[tuple[Any, Channel]]) -> float:
    pseudonyms = Pseudonymizer(b"bench")
    source = ("cx.bench", 0, 0)

    def run() -> None:
        for event, channel in events:
            convert(event, channel, source, 0, pseudonyms)

    best = min(timeit.repeat(run, number=1, repeat=7))
    return best / len(events) * 1e6


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD~1", help="the commit to compare with")
    parser.add_argument("--people", type=int, default=3000)
    args = parser.parse_args(argv)
    everything = _events(args.people)
    identified = [(e, c) for e, c in everything if {"email", "phone"} & e["identity"].keys()]
    sets = {
        "every event": everything,
        "email or phone in identity": identified,
        "... and spelled in a comment": _with_text(identified),
    }
    before = _old(args.before)
    print(f"to_touchpoint, µs per event (best of 7), {args.before} -> this tree")
    for name, events in sets.items():
        old = _per_event_us(before, events)
        new = _per_event_us(touchpoint.to_touchpoint, events)
        print(f"{name:32} {len(events):7,} events  {old:6.2f}  {new:6.2f}  ({new / old:.2f}x)")


if __name__ == "__main__":
    main()
