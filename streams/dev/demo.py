"""`cx demo`: the whole pipeline on one machine, from nothing.

Uses the broker at CX_BROKER_URL if one answers there, else starts a local
one (tansu); runs a worker on an embedded ClickHouse, sends
seeded omnichannel traffic, waits until everything is stored, and prints a
summary read back from ClickHouse next to what the generator says it sent.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streams.clickhouse.client import Store
from streams.dev.broker import LocalBroker, local_settings
from streams.dev.child_worker import ChildWorker
from streams.dev.generator import TrafficSpec, generate_traffic
from streams.dev.produce import produce_records
from streams.reports.summary import example_person, render_summary
from streams.runtime.net import is_listening
from streams.runtime.settings import load_settings


def run_demo(people: int, seed: int, data_dir: Path) -> None:
    data_dir = data_dir.resolve()
    clickhouse_dir = data_dir / "clickhouse"
    shutil.rmtree(clickhouse_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    say = print

    with _broker(data_dir) as (broker_url, prefix, described):
        settings = local_settings(broker_url, data_dir, topic_prefix=prefix)
        say(f"broker:     {described}")
        say(f"clickhouse: embedded, {clickhouse_dir}")
        log_path = data_dir / "worker.log"
        log_path.unlink(missing_ok=True)
        worker = ChildWorker(settings, log_path)
        say(f"worker:     {worker.base_url}/stats, log {log_path}")
        try:
            worker.start()
            today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            # The week before today, as received by today: no event is from
            # the future (the contract refuses those).
            spec = TrafficSpec(
                people=people, seed=seed, start=today - timedelta(days=7), until=today
            )
            records = generate_traffic(spec)
            kinds = Counter(r.truth.kind for r in records)
            say(
                f"traffic:    {len(records):,} records from {people:,} people over 7 days "
                f"({kinds['valid']:,} valid, {kinds['invalid']:,} invalid, {kinds['duplicate']:,} duplicate deliveries)"
            )
            began = time.monotonic()
            asyncio.run(produce_records(settings, records))
            say(f"produced:   {len(records):,} records in {time.monotonic() - began:.1f}s")
            _show_progress(worker, kinds["valid"], kinds["invalid"])
            worker.wait_stored(kinds["valid"], kinds["invalid"], timeout=300)
            say(
                f"stored:     every touchpoint and dead letter, "
                f"{time.monotonic() - began:.1f}s after the first record was sent"
            )
            worker.wait_idle()  # journeys follow the touchpoints
            say("journeys:   up to date (every stage caught up and idle)")
        finally:
            code = worker.stop()
        say(f"worker stopped (exit code {code})\n")

    store = Store.of(settings)
    try:
        say(render_summary(store))
        example = example_person(store)
    finally:
        store.close()
    say(
        f"\nexpected from the generator: {kinds['valid']:,} touchpoints, {kinds['invalid']:,} dead letters;"
        f"\n{people:,} true people, seen as more where no event links their identifiers"
        "\n(a cookie that never logs in, a loyalty card never shown with a phone)"
    )
    say(
        "\nRead back from the demo's ClickHouse: scores by channel and store, the funnel"
        + (", one person's journey" if example else "")
        + ", the web UI"
        + f":\n  export CX_CLICKHOUSE_URL=chdb://{clickhouse_dir}\n  .venv/bin/cx metrics"
        + (f"\n  .venv/bin/cx journey {example}" if example else "")
        + "\n  .venv/bin/cx ui    # then open http://127.0.0.1:6067/"
    )


@contextmanager
def _broker(data_dir: Path) -> Iterator[tuple[str, str, str]]:
    """(broker URL, topic prefix, description). A broker that already answers
    at CX_BROKER_URL is used, with topics of this run's own, so the summary
    holds only this run; otherwise a tansu broker is started for the demo."""
    configured = load_settings()
    host, _, port = configured.bootstrap_servers.split(",")[0].rpartition(":")
    if is_listening(host, int(port)):
        prefix = f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}."
        yield (
            configured.broker_url,
            prefix,
            f"{configured.broker_url} (already running; this run's topics: {prefix}*)",
        )
        return
    with LocalBroker(log_path=data_dir / "tansu.log") as broker:
        yield broker.url, "cx.", f"tansu on {broker.url} (in memory, started for the demo)"


def _show_progress(worker: ChildWorker, valid: int, invalid: int) -> None:
    """A live progress line on a terminal, until everything is stored."""
    if not sys.stdout.isatty():
        return
    while True:
        stats = worker.stats()
        touchpoints, dead = worker.stored()
        print(
            f"\rprocessing: received {stats.get('ingest', {}).get('received', 0):,} | "
            f"touchpoints {touchpoints:,}/{valid:,} | dead letters {dead:,}/{invalid:,} | "
            f"duplicates dropped {stats.get('store', {}).get('duplicates', 0):,}",
            end="",
            flush=True,
        )
        if touchpoints >= valid and dead >= invalid:
            print()
            return
        time.sleep(0.5)
