"""The `cx` command."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

import click
import orjson

from schemas import Channel, Rejection, validate_event
from streams.deadletters.commands import deadletters
from streams.erasure.command import erase
from streams.runtime.settings import load_settings

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A wrong setting or a step not taken yet: one line, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


class _Group(click.Group):
    """Known operational errors become one readable line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from clickhouse_connect.driver.exceptions import DatabaseError
        from pydantic import ValidationError

        from streams.alerts.rules import RulesError
        from streams.clickhouse.client import EmbeddedStoreBusy
        from streams.deadletters.select import SelectionError
        from streams.runtime.settings import ConfigError, problems

        try:
            return super().invoke(ctx)
        except (EmbeddedStoreBusy, RulesError) as exc:
            raise click.ClickException(str(exc)) from exc
        except ValidationError as exc:
            raise UserError("\n".join(problems(exc))) from None
        except (ConfigError, SelectionError) as exc:
            raise UserError(str(exc)) from None
        except DatabaseError as exc:
            missing = _no_schema(exc)
            if missing is None:
                raise
            raise UserError(missing) from None


def _no_schema(exc: Exception) -> str | None:
    """The line for a ClickHouse without this project's schema, or None."""
    code = getattr(exc, "code", None)
    if code not in (60, 81) and "UNKNOWN_DATABASE" not in str(exc):
        return None  # 81 UNKNOWN_DATABASE, 60 UNKNOWN_TABLE
    from streams.runtime.settings import load_settings, redacted_url

    settings = load_settings()
    return (
        f"ClickHouse at {redacted_url(settings.clickhouse_url)} has no schema yet (database "
        f"{settings.database}): run a worker (it migrates at start) or `cx db migrate`"
    )


DEV_PACKAGE = "streams.dev"
"""Development tooling (the local broker, the generator, the demo, the
benchmarks): in a source checkout, not in the worker image."""


def _dev_tooling(f: F) -> F:
    """A command (or helper) that imports `DEV_PACKAGE`, which only a source
    checkout has: without it, one line that says so instead of a traceback.
    Nothing else in this module imports it (tests/unit/test_boundaries.py)."""

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        if find_spec(DEV_PACKAGE) is None:
            command = click.get_current_context().command_path
            raise click.ClickException(
                f"`{command}` is development tooling, not in the worker image: "
                "run it from a source checkout (pip install -e '.[dev]')"
            )
        return f(*args, **kwargs)

    return cast(F, run)


@click.group(cls=_Group)
def main() -> None:
    """Omnichannel CX stream processor."""


@main.command()
@click.argument("file", type=click.File("rb"))
@click.option(
    "--channel",
    type=click.Choice([c.value for c in Channel]),
    help="Channel topic the events are for (default: from the file name).",
)
def validate(file: BinaryIO, channel: str | None) -> None:
    """Check channel events (JSON lines) against the contract.

    Prints one JSON line per event: accepted, or the exact reason it would be
    rejected. Exits 1 when any event is rejected."""
    name = Path(getattr(file, "name", "")).name
    chosen = channel or next((c.value for c in Channel if name.startswith(c.value)), None)
    if chosen is None:
        raise click.UsageError("say which channel the events are for: --channel web|app|store|sms")
    accepted = rejected = 0
    for number, line in enumerate(file, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        verdict = validate_event(raw, Channel(chosen))
        if isinstance(verdict, Rejection):
            rejected += 1
            out = {"line": number, "status": "rejected", **verdict.model_dump(mode="json")}
        else:
            accepted += 1
            out = {
                "line": number,
                "status": "accepted",
                "event_id": verdict.event_id,
                "event_type": verdict.event_type,
            }
        click.echo(orjson.dumps(out).decode())
    click.echo(f"{accepted} accepted, {rejected} rejected ({chosen} channel)", err=True)
    sys.exit(1 if rejected else 0)


@main.command()
def worker() -> None:
    """Run the processor (settings from CX_* environment variables)."""
    from streams.runtime.worker import run_worker

    run_worker(load_settings())


@main.group()
def db() -> None:
    """The ClickHouse schema."""


@db.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations (idempotent)."""
    from streams.clickhouse.client import OffLoopStore, Store
    from streams.clickhouse.migrate import migrate

    settings = load_settings()

    async def run() -> list[str]:
        store = OffLoopStore(Store.of(settings))
        try:  # retried while the server is not reachable yet
            return await store.run("migrate", migrate)
        finally:
            await store.close()

    applied = asyncio.run(run())
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")


@main.group()
def dev() -> None:
    """Local development helpers."""


@dev.command("broker")
@click.option("--port", default=9092, show_default=True)
@_dev_tooling
def dev_broker(port: int) -> None:
    """Run a local Kafka-protocol broker (tansu, in memory) in the foreground."""
    from streams.dev.broker import broker_command

    command = broker_command(port)
    click.echo(f"tansu on kafka://127.0.0.1:{port} (Ctrl-C stops it)", err=True)
    os.execv(command[0], command)


def _traffic_options(f: F) -> F:
    f = click.option("--people", default=1000, show_default=True, help="Size of the population.")(f)
    f = click.option("--seed", default=7, show_default=True)(f)
    f = click.option(
        "--start",
        default=None,
        help="Event time the traffic starts at (RFC 3339; default: a Monday nine weeks ago).",
    )(f)
    f = click.option("--invalid-share", default=0.03, show_default=True)(f)
    f = click.option("--duplicate-share", default=0.02, show_default=True)(f)
    return f


@_dev_tooling
def _spec(people: int, seed: int, start: str | None, invalid_share: float, duplicate_share: float):  # type: ignore[no-untyped-def]
    from streams.dev.generator import TrafficSpec
    from streams.dev.generator.traffic import DEFAULT_START

    return TrafficSpec(
        people=people,
        seed=seed,
        start=datetime.fromisoformat(start).astimezone(UTC) if start else DEFAULT_START,
        invalid_share=invalid_share,
        duplicate_share=duplicate_share,
    )


@main.command()
@_traffic_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for web.jsonl, app.jsonl, store.jsonl, sms.jsonl and truth.jsonl.",
)
@_dev_tooling
def generate(out: Path, **options: object) -> None:
    """Write seeded synthetic omnichannel traffic as JSON lines per channel."""
    from streams.dev.generator import generate_traffic

    records = generate_traffic(_spec(**options))  # type: ignore[arg-type]
    out.mkdir(parents=True, exist_ok=True)
    for channel in Channel:
        with open(out / f"{channel.value}.jsonl", "wb") as f:
            f.writelines(r.value + b"\n" for r in records if r.channel is channel)
    with open(out / "truth.jsonl", "wb") as f:
        for r in records:
            f.write(orjson.dumps({"channel": r.channel.value, **r.truth._asdict()}) + b"\n")
    click.echo(f"wrote {len(records):,} records to {out}")


@main.command()
@_traffic_options
@click.option(
    "--rate", type=float, default=None, help="Records per second (default: as fast as possible)."
)
@_dev_tooling
def produce(rate: float | None, **options: object) -> None:
    """Send seeded synthetic traffic to the channel topics of CX_BROKER_URL."""
    from streams.dev.generator import generate_traffic
    from streams.dev.produce import produce_records
    from streams.runtime.security import is_transient, probe_broker

    settings = load_settings()
    try:
        asyncio.run(probe_broker(settings))  # a wrong setting: ConfigError, exit 2
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise click.ClickException(f"no Kafka broker answers at {settings.broker_url}") from exc
    records = generate_traffic(_spec(**options))  # type: ignore[arg-type]
    sent = asyncio.run(
        produce_records(
            settings,
            records,
            rate=rate,
            on_progress=lambda n: click.echo(f"\rsent {n:,}/{len(records):,}", nl=False, err=True),
        )
    )
    click.echo(f"\nsent {sent:,} records to {settings.broker_url}", err=True)


@main.command()
def summary() -> None:
    """Print what the store holds (reads CX_CLICKHOUSE_URL)."""
    from streams.clickhouse.client import Store
    from streams.reports.summary import render_summary

    settings = load_settings()
    store = Store.of(settings)
    try:
        click.echo(render_summary(store))
    finally:
        store.close()


@main.command()
@click.option(
    "--window",
    type=click.Choice(["15m", "1h", "24h", "7d"]),
    default="7d",
    show_default=True,
    help="rolling window of the scores, ending at the latest data",
)
@click.option("--days", default=7, show_default=True, help="days of data in the funnel")
def metrics(window: str, days: int) -> None:
    """Print the current NPS, CSAT and CES by channel and store, with sample
    sizes, and the funnel (reads CX_CLICKHOUSE_URL)."""
    from streams.clickhouse.client import Store
    from streams.reports.metrics import render_metrics

    settings = load_settings()
    store = Store.of(settings)
    try:
        click.echo(render_metrics(store, window, days))
    finally:
        store.close()


@main.command("accounts")
@click.option(
    "--top",
    default=20,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="how many accounts, those with the most people first",
)
@click.option("--account", default="", help="one account (its context.b2b_account_id)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
def accounts_command(top: int, account: str, as_json: bool) -> None:
    """Print B2B accounts: people, purchases and revenue, NPS, CSAT and CES
    with sample sizes and 95% intervals, support contacts, churn risk. Asks
    the worker at CX_WEB_HOST:CX_WEB_PORT when one runs, else reads
    CX_CLICKHOUSE_URL."""
    from streams.clickhouse.client import Store
    from streams.reports.accounts import accounts, render_accounts
    from streams.reports.ask_worker import ask_worker
    from streams.runtime.web_token import bearer

    settings = load_settings()
    data = ask_worker(
        settings.web_host,
        settings.web_port,
        "/accounts",
        {"top": str(top), "account": account},
        bearer(settings.web_token),
    )
    if data is None:
        store = Store.of(settings)
        try:
            data = accounts(store, top, account)
        finally:
            store.close()
    click.echo(
        orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
        if as_json
        else render_accounts(data)
    )


@main.group()
def bench() -> None:
    """Benchmarks: print figures and write JSON."""


_JSON = click.option(
    "--json", "json_path", type=click.Path(path_type=Path), help="also write the figures here"
)


def _report(figures: dict[str, Any], json_path: Path | None) -> None:
    """A benchmark's figures, a line each, and as JSON to `json_path`."""
    width = max(map(len, figures), default=0) + 2
    for name, value in figures.items():
        click.echo(f"{name:{width}} {value}")
    if json_path is not None:
        json_path.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


@bench.command("alerts")
@click.option("--crossings", default=20, show_default=True, help="alerts to time")
@click.option("--interval", default=2.0, show_default=True, help="CX_ALERT_INTERVAL_SECONDS")
@_JSON
@_dev_tooling
def bench_alerts(crossings: int, interval: float, json_path: Path | None) -> None:
    """Delay from the events that cross an alert condition to the alert at a
    webhook (local broker, embedded ClickHouse, one worker)."""
    from streams.dev.bench.alert_delay import measure

    figures = measure(crossings, interval)
    _report(figures, json_path)


@bench.command("partitions")
@click.option("--rows", default=10_000, show_default=True, help="touchpoints per insert")
@click.option("--rounds", default=3, show_default=True, help="runs of each arm; the best counts")
@_JSON
@_dev_tooling
def bench_partitions(rows: int, rounds: int, json_path: Path | None) -> None:
    """A backfill's insert spanning 1, 12 and 120 months: one block against
    one insert per month (embedded ClickHouse)."""
    from streams.dev.bench.partitions import measure

    figures = measure(rows, rounds=rounds)
    _report(figures, json_path)


@bench.command("erasure")
@click.option("--touchpoints", default=1_000_000, show_default=True, help="in the store")
@_JSON
@_dev_tooling
def bench_erasure(touchpoints: int, json_path: Path | None) -> None:
    """What erasing one person costs in ClickHouse on a store of N
    touchpoints (embedded): the deletes, then forcing them off disk."""
    import tempfile

    from streams.dev.bench.erasure import measure

    with tempfile.TemporaryDirectory(prefix="cx-bench-erasure-") as folder:
        figures = measure(touchpoints, Path(folder))
    _report_nested(figures, json_path)


@bench.command("inserts")
@click.option("--rate", default=400.0, show_default=True, help="records/s of the steady runs")
@click.option("--seconds", default=30.0, show_default=True, help="of each run; 0: engine only")
@click.option(
    "--intervals",
    default="0,1000",
    show_default=True,
    help="CX_INSERT_INTERVAL_MS of each arm (0: an insert per batch)",
)
@click.option("--engine/--no-engine", default=True, show_default=True, help="chdb alone too")
@click.option("--backlog/--no-backlog", default=True, show_default=True, help="all at once too")
@_JSON
@_dev_tooling
def bench_inserts(
    rate: float,
    seconds: float,
    intervals: str,
    engine: bool,
    backlog: bool,
    json_path: Path | None,
) -> None:
    """What the ClickHouse inserts cost: a worker at a steady rate and in a
    backlog, per insert interval, and an insert into the embedded engine by
    size and insert settings."""
    from streams.dev.inserts import measure

    arms = [int(ms) for ms in intervals.split(",")]
    figures = measure(rate, seconds, arms, engine_alone=engine, backlog=backlog)
    _report(figures, json_path)


@bench.command("throughput")
@click.option("--events", default=1_000_000, show_default=True, help="generated records (about)")
@click.option("--seed", default=1, show_default=True)
@click.option("--faust-peer/--no-faust-peer", default=True, show_default=True)
@click.option("--two-workers/--no-two-workers", default=True, show_default=True)
@click.option(
    "--ingest-alone/--no-ingest-alone",
    default=True,
    show_default=True,
    help="also time the ingest stage alone (the bound on the processor's rate)",
)
@click.option(
    "--latency-seconds",
    default=30.0,
    show_default=True,
    help="how long to feed the latency run at half the measured rate (0: skip)",
)
@_JSON
@_dev_tooling
def bench_throughput(
    events: int,
    seed: int,
    faust_peer: bool,
    two_workers: bool,
    ingest_alone: bool,
    latency_seconds: float,
    json_path: Path | None,
) -> None:
    """Records per second through one worker (every stage), against the
    ceiling (getmany + the same validation) and a one-event-at-a-time faust
    peer on the same events; the ingest stage alone; two workers' scale-up;
    latency at half the rate; memory and GC pauses (local brokers, embedded
    ClickHouse)."""
    import tempfile

    from streams.dev.bench.throughput import Plan, measure

    folder = Path(tempfile.mkdtemp(prefix="cx-bench-"))
    click.echo(f"working in {folder} (broker and worker logs)")
    figures = measure(
        Plan(events, seed, faust_peer, two_workers, ingest_alone, latency_seconds), folder
    )
    for name, value in figures.items():
        if name != "runs":
            click.echo(f"{name:32} {value}")
    if json_path is not None:
        json_path.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


def _flat(figures: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested figures as `a.b.c` names, the raw ones (`runs`) left out."""
    flat: dict[str, Any] = {}
    for name, value in figures.items():
        if name == "runs":
            continue
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _report_nested(figures: dict[str, Any], json_path: Path | None) -> None:
    """A benchmark's headline figures a line each, all of them as JSON."""
    _report(_flat(figures), None)
    if json_path is not None:
        json_path.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


def _bench_folder() -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="cx-bench-"))
    click.echo(f"working in {folder} (broker and worker logs)", err=True)
    return folder


@bench.command("steady")
@click.option(
    "--backlog-events", default=50_000, show_default=True, help="records drained first (about)"
)
@click.option(
    "--rates",
    default="500,0.5x",
    show_default=True,
    help="steady rates offered in turn: records a second, or a share of the backlog's rate (0.5x)",
)
@click.option("--seconds", default=30.0, show_default=True, help="how long each rate is offered")
@click.option(
    "--idle-seconds", default=10.0, show_default=True, help="how long the idle CPU is measured"
)
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--floor/--no-floor",
    default=True,
    show_default=True,
    help="also measure the Kafka client's floor: a bare two-hop relay on the same traffic",
)
@_JSON
@_dev_tooling
def bench_steady(
    backlog_events: int,
    rates: str,
    seconds: float,
    idle_seconds: float,
    seed: int,
    floor: bool,
    json_path: Path | None,
) -> None:
    """CPU a record at steady rates against a backlog drained by the same
    worker in the same run (idle CPU taken out), send-to-queryable delay,
    and ClickHouse's inserts, parts and rows per insert by table; then the
    same for a bare two-hop relay on the same Kafka client (the floor)."""
    from streams.dev.bench.steady import SteadyPlan, measure, parse_rates

    try:
        offered = parse_rates(rates)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--rates") from exc
    plan = SteadyPlan(backlog_events, offered, seconds, idle_seconds, seed, floor)
    _report_nested(measure(plan, _bench_folder()), json_path)


@bench.command("history")
@click.option("--people", default=200, show_default=True)
@click.option("--short", default=4, show_default=True, help="history events per person, short")
@click.option("--long", default=400, show_default=True, help="history events per person, long")
@click.option("--live", default=20, show_default=True, help="live events per person after it")
@click.option("--rate", default=400.0, show_default=True, help="live events a second")
@click.option(
    "--idle-seconds", default=10.0, show_default=True, help="how long the idle CPU is measured"
)
@click.option("--seed", default=1, show_default=True)
@_JSON
@_dev_tooling
def bench_history(
    people: int,
    short: int,
    long: int,
    live: int,
    rate: float,
    idle_seconds: float,
    seed: int,
    json_path: Path | None,
) -> None:
    """The same live events after a short and a long history per person,
    each in a fresh worker: CPU a live event, bytes written a live event to
    each of the worker's topics, memory per person, long over short."""
    from streams.dev.bench.history import HistoryPlan, measure

    if not 0 < short <= long:
        raise click.BadParameter("must be at least 1 and at most --long", param_hint="--short")
    plan = HistoryPlan(people, short, long, live, rate, idle_seconds, seed)
    _report_nested(measure(plan, _bench_folder()), json_path)


@main.command()
@click.argument("identifier")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
def journey(identifier: str, as_json: bool) -> None:
    """Print one person's journeys and touchpoints, from any identifier:
    customer_id:C1, loyalty_id:L1, anonymous_id:ck-1, email:ADDRESS,
    phone:NUMBER (a bare email or phone works too). Asks the worker at
    CX_WEB_HOST:CX_WEB_PORT when one runs, else reads CX_CLICKHOUSE_URL."""
    from streams.clickhouse.client import Store
    from streams.reports.ask_worker import ask_worker
    from streams.reports.person import (
        BadIdentifier,
        lookup_pseudonymizer,
        parse_identifier,
        person,
        render_person,
    )
    from streams.runtime.web_token import bearer

    settings = load_settings()
    try:
        stored = parse_identifier(identifier, lookup_pseudonymizer(settings))
    except BadIdentifier as exc:
        raise click.UsageError(str(exc)) from exc
    data = ask_worker(
        settings.web_host,
        settings.web_port,
        "/journey",
        {"identifier": stored},
        bearer(settings.web_token),
    )
    if data is None:
        store = Store.of(settings)
        try:
            data = person(store, stored)
        finally:
            store.close()
    click.echo(
        orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() if as_json else render_person(data)
    )


@main.command()
@click.option("--people", default=3000, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--data-dir", default=".cx-data/demo", show_default=True, type=click.Path(path_type=Path)
)
@_dev_tooling
def demo(people: int, seed: int, data_dir: Path) -> None:
    """Run the whole pipeline locally on synthetic traffic and summarise it."""
    from streams.dev.demo import run_demo

    run_demo(people, seed, data_dir)


@main.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=6067, show_default=True, type=click.IntRange(1, 65535))
def ui_command(host: str, port: int) -> None:
    """Serve the web UI (overview, journey map, person, alerts) without a
    worker, reading CX_CLICKHOUSE_URL read-only: a server as the BI user
    cx_bi (CX_CLICKHOUSE_BI_PASSWORD), the embedded engine when no worker
    holds it (a worker serves the same UI at the root of its web port)."""
    from streams.web.standalone import serve

    serve(load_settings(), host, port)


@main.command("report")
@click.option(
    "--html",
    "html_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="the file to write: one self-contained page",
)
@click.option("--from", "since", default="", help="first day (ISO date; default: 7 days ago)")
@click.option("--to", "until", default="", help="last day (ISO date; default: today)")
@click.option(
    "--channel", default="", help="one channel (web, app, store, sms; journeys: begun there)"
)
@click.option(
    "--store", default="", help="one store (its answers and events; journeys: touched there)"
)
def report(html_path: Path, since: str, until: str, channel: str, store: str) -> None:
    """Write the overview and the journey map as one static HTML file (its
    scripts, styles and data inline; it fetches nothing) to mail or archive.
    Asks the worker at CX_WEB_HOST:CX_WEB_PORT when one runs, else reads
    CX_CLICKHOUSE_URL."""
    from streams.web.gather import gather
    from streams.web.report import render

    filters = {"from": since, "to": until, "channel": channel, "store": store.strip()}
    try:
        answers = gather(load_settings(), filters)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    html_path.write_text(render(answers, filters, datetime.now(UTC)), encoding="utf-8")
    overview = answers["overview"]
    click.echo(f"wrote {html_path} ({overview['from']} to {overview['to']})", err=True)


main.add_command(deadletters)
main.add_command(erase)

if __name__ == "__main__":
    main()
