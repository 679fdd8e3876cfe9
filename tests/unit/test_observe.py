"""Running it in production: the JSON log format, no webhook URL in a log
line, the liveness verdict (a held loop, a stalled stage) on an injected
clock, the bearer token of /journey, and the metrics one processor exposes."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from streams.alerts.stage import AlertSinks
from streams.alerts.targets import Destination
from streams.runtime.gc_watch import PAUSE_BUCKETS, GcWatch
from streams.runtime.liveness import TICK_S, Liveness, StageProgress
from streams.runtime.logs import STAGE, JsonFormatter
from streams.runtime.processor import Processor
from streams.runtime.retry import RETRIES, WAITING
from streams.runtime.settings import Settings, redacted_url
from streams.runtime.web_token import OFF, WRONG, bearer, refusal

SECRET_PATH = "/services/T000/B000/s3cr3t-hook-token"


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("streams.test", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_record_formats_as_one_json_object() -> None:
    line = JsonFormatter().format(_record("%d records from %s", 3, "web", partition=2))
    assert "\n" not in line
    out = orjson.loads(line)
    assert out["level"] == "WARNING" and out["logger"] == "streams.test"
    assert out["message"] == "3 records from web"
    assert out["partition"] == 2  # extra fields come along
    assert out["time"].endswith("+00:00") and "stage" not in out
    assert list(out)[:4] == ["time", "level", "logger", "message"]


def test_the_stage_and_the_exception_are_fields() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    token = STAGE.set("store")
    try:
        out = orjson.loads(JsonFormatter().format(record))
    finally:
        STAGE.reset(token)
    assert out["stage"] == "store"
    assert "ValueError: boom" in out["exception"]


async def _webhook(status: int) -> tuple[web.AppRunner, int]:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, text="no")

    app = web.Application()
    app.router.add_post(SECRET_PATH, answer)
    runner = web.AppRunner(app, access_log=None)  # the test server's own log is not ours
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, int(port)


async def _crash(exc: BaseException) -> None:
    raise AssertionError(f"crashed: {exc!r}")


@pytest.mark.parametrize("status", [403, 503, None])
async def test_webhook_urls_never_reach_a_log_line(
    status: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused (4xx), failing (5xx) and unreachable webhooks are logged and
    shown in /health by their host only: the path holds the secret."""
    runner, port = await _webhook(status or 200)
    if status is None:
        await runner.cleanup()  # nothing listens there any more
    url = f"http://hook-user:hook-password@127.0.0.1:{port}{SECRET_PATH}?key=s3cr3t-key"
    target = Destination("webhook", url)
    sinks = AlertSinks(cast(Any, None), cast(Any, None), "cx.alerts", [target], _crash)
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []

    async def watch() -> None:
        while True:
            shown.extend(str(w.as_dict()) for w in WAITING.longer_than(0))
            await asyncio.sleep(0.05)

    watching = asyncio.create_task(watch())
    try:
        await asyncio.wait_for(sinks._post_all(target, [{"rule": "nps"}]), 1.0)
    except TimeoutError:
        assert status != 403  # refused: not retried
    finally:
        watching.cancel()
        await sinks.stop()
        if status is not None:
            await runner.cleanup()
    lines = [JsonFormatter().format(r) for r in caplog.records] + [
        caplog.text,
        *shown,
    ]
    assert caplog.records, "the failure was logged"
    for line in lines:
        for secret in ("s3cr3t", "hook-password", "hook-user", "/services/"):
            assert secret not in line
    assert "127.0.0.1" in caplog.text
    assert sinks.counts["webhook_failed"] >= 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_stage_with_lag_and_no_commit_for_long_is_stalled() -> None:
    clock = Clock()
    live = Liveness(loop_stuck_s=10, stall_s=300, clock=clock)
    committed_at = clock.now
    clock.now += 299
    live.watch.last_tick = clock.now
    stages = [StageProgress("store", 5000, committed_at), StageProgress("ingest", 0, 0.0)]
    assert live.check(stages, waiting=False) == (200, {"status": "alive"})
    clock.now += 2
    live.watch.last_tick = clock.now
    status, body = live.check(stages, waiting=False)
    assert status == 503 and body["status"] == "stalled"
    assert body["stalled"] == [{"stage": "store", "lag": 5000, "since_commit_s": 301.0}]
    # Idle for long (nothing to read) is fine; so is waiting on ClickHouse.
    assert live.check([StageProgress("store", 0, committed_at)], waiting=False)[0] == 200
    assert live.check(stages, waiting=True)[0] == 200


def test_a_held_event_loop_fails_liveness() -> None:
    clock = Clock()
    live = Liveness(loop_stuck_s=10, stall_s=300, clock=clock)
    live.watch.last_tick = clock.now
    clock.now += TICK_S + 9
    assert live.check([], waiting=False)[0] == 200
    clock.now += 1.5
    status, body = live.check([], waiting=False)
    assert (status, body["status"]) == (503, "stuck")
    assert body["event_loop_held_s"] == pytest.approx(10.5)


async def test_the_loop_watch_ticks() -> None:
    live = Liveness(loop_stuck_s=10, stall_s=300)
    task = asyncio.create_task(live.watch.run())
    await asyncio.sleep(TICK_S * 2.5)
    task.cancel()
    assert live.watch.held_for() < TICK_S
    assert live.check([], waiting=False)[0] == 200


def test_the_person_lookup_needs_the_bearer_token() -> None:
    token = SecretStr("tok-123")
    assert refusal(None, None) == (403, OFF)
    assert refusal("Bearer tok-123", SecretStr("")) == (403, OFF)
    assert OFF == "person lookup is off: set CX_WEB_TOKEN and send it as a bearer token"
    for wrong in (None, "Bearer tok-12", "Bearer tok-1234", "Basic tok-123", "tok-123", "Bearer "):
        assert refusal(wrong, token) == (401, WRONG)
    assert refusal("Bearer tok-123", token) is None
    assert refusal("bearer tok-123", token) is None
    assert refusal(bearer(token)["Authorization"], token) is None
    assert bearer(None) == {}


def test_the_dead_letter_lookup_needs_the_same_token() -> None:
    token = SecretStr("tok-123")
    assert refusal(None, None, "dead-letter lookup") == (
        403,
        "dead-letter lookup is off: set CX_WEB_TOKEN and send it as a bearer token",
    )
    assert refusal("Bearer tok-12", token, "dead-letter lookup") == (401, WRONG)
    assert refusal("Bearer tok-123", token, "dead-letter lookup") is None


# Every name the Grafana dashboards may query, with its labels: one list,
# tests/worker_metrics.json (tests/unit/test_dashboards.py holds the panels to it).
EXPOSED: dict[str, tuple[str, ...]] = {
    name: tuple(spec["labels"])
    for name, spec in json.loads((Path(__file__).parents[1] / "worker_metrics.json").read_text())[
        "metrics"
    ].items()
}


def family_names(text: str) -> set[str]:
    """The exposed names, counters with their `_total`."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


async def test_each_processor_has_its_own_registry_with_every_metric(tmp_path: Any) -> None:
    settings = Settings(pii_secret="x", data_dir=tmp_path)
    first, second = Processor(settings), Processor(settings)  # no clash in one process
    first.metrics.batch_seconds.labels("store").observe(0.02)
    RETRIES["kafka"] += 0
    text = first.metrics.exposition().decode()
    assert set(EXPOSED) <= family_names(text)
    assert set(EXPOSED) <= family_names(second.metrics.exposition().decode())
    assert 'cx_batch_seconds_count{stage="store"} 1.0' in text
    assert 'cx_batch_seconds_count{stage="store"}' not in second.metrics.exposition().decode()
    assert "cx_up 0.0" in text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("cx_alert_notices_total", (("state", "firing"),))] == 0
    assert samples[("cx_retries_total", (("system", "clickhouse"),))] >= 0
    first.gc.uninstall()
    second.gc.uninstall()


def test_every_gc_pause_falls_into_a_bucket() -> None:
    watch = GcWatch().install()
    try:
        gc.collect()
        gc.collect(0)
    finally:
        watch.uninstall()
    assert sum(watch.pause_counts) == sum(watch.collections) >= 2
    assert len(watch.pause_counts) == len(PAUSE_BUCKETS) + 1


async def test_no_secret_in_stats_metrics_or_the_logged_url(tmp_path: Any) -> None:
    settings = Settings(
        pii_secret="pii-s3cr3t",
        web_token="web-s3cr3t",
        clickhouse_url="https://cx:ch-s3cr3t@clickhouse:8443/?password=q-s3cr3t",
        alert_webhooks=f"https://hooks.example.com{SECRET_PATH}",
        data_dir=tmp_path,
    )
    processor = Processor(settings)
    try:
        shown = orjson.dumps(await processor.stats()).decode()
        shown += processor.metrics.exposition().decode()
        shown += str(processor.health()) + str(processor.live())
        shown += redacted_url(settings.clickhouse_url)
    finally:
        processor.gc.uninstall()
    assert "s3cr3t" not in shown
