"""The `cx` command as producer teams use it."""

from __future__ import annotations

import re
import sys
from importlib import resources
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from schemas import Channel
from streams.cli import main
from tests.examples import invalid_cases


def example_file(kind: str, channel: Channel) -> str:
    return str(resources.files("schemas").joinpath("examples", kind, f"{channel.value}.jsonl"))


@pytest.mark.parametrize("channel", list(Channel), ids=lambda c: c.value)
def test_validate_accepts_the_valid_examples(channel: Channel) -> None:
    result = CliRunner().invoke(
        main, ["validate", "--channel", channel.value, example_file("valid", channel)]
    )
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert lines and all(line["status"] == "accepted" for line in lines)


@pytest.mark.parametrize("channel", list(Channel), ids=lambda c: c.value)
def test_validate_says_why_each_invalid_example_is_rejected(channel: Channel) -> None:
    # The invalid examples are the records as sent, one per line; the reason
    # and field each one is rejected for are on the same line of the sidecar.
    cases = invalid_cases(channel)
    result = CliRunner().invoke(
        main, ["validate", "--channel", channel.value, example_file("invalid", channel)]
    )
    assert result.exit_code == 1
    verdicts = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [v["line"] for v in verdicts] == [c["line"] for c in cases]
    reported = []
    for verdict in verdicts:
        first = next(e for e in verdict.get("errors", []) if e["reason"] == verdict.get("reason"))
        reported.append((verdict["status"], verdict["reason"], first["field"]))
    assert reported == [("rejected", c["expect"], c["field"]) for c in cases]
    assert f"0 accepted, {len(cases)} rejected" in result.stderr


def test_validate_takes_the_channel_from_the_file_name(tmp_path: Path) -> None:
    events = tmp_path / "app-export.jsonl"
    events.write_bytes(
        b'{"event_id":"x","event_type":"page_view","occurred_at":"2026-11-23T09:41:07Z","identity":{"anonymous_id":"a"}}\n'
    )
    result = CliRunner().invoke(main, ["validate", str(events)])
    verdict = orjson.loads(result.stdout)
    assert verdict["reason"] == "unknown_event_type" and "web" in verdict["errors"][0]["message"]


def test_generate_writes_reproducible_channel_files(tmp_path: Path) -> None:
    for out in ("a", "b"):
        result = CliRunner().invoke(
            main, ["generate", "--people", "40", "--out", str(tmp_path / out)]
        )
        assert result.exit_code == 0, result.output
    for name in ("web.jsonl", "app.jsonl", "store.jsonl", "sms.jsonl", "truth.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    truth = [
        orjson.loads(line) for line in (tmp_path / "a" / "truth.jsonl").read_bytes().splitlines()
    ]
    lines = sum(
        len((tmp_path / "a" / f"{c.value}.jsonl").read_bytes().splitlines()) for c in Channel
    )
    assert len(truth) == lines
    # What the generator says about each record is what `cx validate` says.
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "a" / "store.jsonl")])
    verdicts = [orjson.loads(line) for line in result.stdout.splitlines()]
    expected = [t for t in truth if t["channel"] == "store"]
    assert [v.get("reason") for v in verdicts] == [t["reason"] for t in expected]


def test_the_producer_guide_lists_every_rejection_reason() -> None:
    from schemas.rejections import REASON_DESCRIPTIONS, RejectReason

    guide = (Path(__file__).parents[2] / "docs" / "producers.md").read_text()
    section = guide.split("## Rejection reasons\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", section, flags=re.M))
    assert set(REASON_DESCRIPTIONS) == set(RejectReason)
    assert rows == {reason.value: text for reason, text in REASON_DESCRIPTIONS.items()}


def test_the_producer_guide_lists_every_bound() -> None:
    from schemas.limits import BOUNDS
    from schemas.rejections import RejectReason

    guide = (Path(__file__).parents[2] / "docs" / "producers.md").read_text()
    section = guide.split("## Bounds\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (.+) \| (.+) \| `([a-z_]+)` \|$", section, flags=re.M)
    assert rows == [(b.what, b.bound, b.reason) for b in BOUNDS]
    assert {b.reason for b in BOUNDS} <= {reason.value for reason in RejectReason}


DEV_COMMANDS = [
    ["demo"],
    ["dev", "broker"],
    ["generate", "--out", "traffic"],
    ["produce"],
    ["bench", "alerts"],
    ["bench", "inserts"],
    ["bench", "erasure"],
    ["bench", "partitions"],
    ["bench", "throughput"],
    ["bench", "steady"],
    ["bench", "history"],
]


@pytest.mark.parametrize("args", DEV_COMMANDS, ids=" ".join)
def test_a_dev_command_without_the_dev_tooling_says_so_in_one_line(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker image has no streams/dev (.dockerignore): its commands say
    where to run them instead of failing with a traceback."""
    monkeypatch.setitem(sys.modules, "streams.dev", None)  # importing it fails
    result = CliRunner().invoke(main, args, prog_name="cx")
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: `cx {' '.join(args[:2] if args[0] in ('dev', 'bench') else args[:1])}` is "
        "development tooling, not in the worker image: run it from a source checkout "
        "(pip install -e '.[dev]')"
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["bench", "steady", "--rates", "500,fast"], "not a rate: 'fast'"),
        (["bench", "steady", "--rates", "0x"], "not a rate: '0x'"),
        (["bench", "history", "--short", "5", "--long", "4"], "at most --long"),
    ],
)
def test_a_bench_refuses_what_it_cannot_run_before_it_starts(args: list[str], says: str) -> None:
    result = CliRunner().invoke(main, args, prog_name="cx")
    assert result.exit_code == 2, result.output
    assert says in result.stderr


def test_every_dev_command_is_covered() -> None:
    """Each command whose code is in streams.dev is in DEV_COMMANDS."""
    import click

    def leaves(group: click.Group, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += leaves(command, (*path, name))
            elif getattr(command.callback, "__wrapped__", None) is not None:
                found.append((*path, name))
        return found

    assert sorted(leaves(main, ())) == sorted(
        tuple(a for a in args if not a.startswith("-") and a != "traffic") for args in DEV_COMMANDS
    )


@pytest.mark.parametrize(
    ("identifier", "says"),
    [
        ("12345", "say which identifier"),
        ("customer_id:", "the identifier is empty"),
        ("email:not-an-address", "email"),
    ],
)
def test_cx_erase_refuses_an_unreadable_identifier_in_one_line_before_sending(
    identifier: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CX_PII_SECRET", "a-secret")
    monkeypatch.setenv("CX_BROKER_URL", "kafka://127.0.0.1:1")  # never reached
    result = CliRunner().invoke(main, ["erase", identifier], prog_name="cx")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and says in errors[0], result.stderr
    assert "Traceback" not in result.output
