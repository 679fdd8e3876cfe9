"""The faust app factory: the one place where faust meets the processor.

faust runs the worker's lifecycle (signals, logging, start and stop order),
the web server (the web UI at `/`, liveness, readiness, metrics, stats,
person, account and dead-letter lookups) and the alert timer. Every
stream (the hot path and the dead-letter mirror) runs in `Processor`'s batch
consumers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

import faust
from aiohttp import web
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from faust.web import Request, Response, View

from streams.clickhouse.client import error_name
from streams.deadletters.lookup import answer
from streams.deadletters.select import Ask
from streams.erasure.store import erasure_status
from streams.reports.accounts import MAX_TOP, accounts
from streams.reports.person import lookup_pseudonymizer, parse_identifier, person
from streams.runtime.metrics import CONTENT_TYPE_LATEST
from streams.runtime.preflight import BrokerGate, install_gate
from streams.runtime.processor import Processor
from streams.runtime.security import faust_credentials
from streams.runtime.settings import Settings
from streams.runtime.web_token import refusal
from streams.web.api import endpoints
from streams.web.server import STATIC, UI, Endpoint, Refusal, token_refusal

T = TypeVar("T")


def create_app(
    settings: Settings, *, broker_answered: bool = False
) -> tuple[faust.App, BrokerGate]:
    """The app, and the gate its Kafka clients (faust's and the stages')
    wait behind until the broker answers."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=faust_credentials(settings),
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        datadir=str(settings.data_dir / "faust"),
        store="memory://",
        topic_partitions=settings.channel_partitions,
        topic_replication_factor=settings.replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.kafka_session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.kafka_heartbeat_interval_ms / 1000,
        broker_rebalance_timeout=settings.kafka_rebalance_timeout_ms / 1000,
    )
    processor = Processor(settings)
    app.add_dependency(processor)
    gate = install_gate(app, settings, answered=broker_answered)
    processor.broker_reached = gate.reached

    @app.page("/ready")
    class Ready(View):
        """Readiness: 200 once running and nothing waited for (`Processor.health`)."""

        async def get(self, request: Request) -> Response:
            status, body = processor.health()
            return self.json(body, status=status)

    @app.page("/health")
    class Health(Ready):
        """/ready under its old name, for existing probes."""

    @app.page("/live")
    class Live(View):
        """Liveness: 503 when the event loop was held or a stage stalled."""

        async def get(self, request: Request) -> Response:
            status, body = processor.live()
            return self.json(body, status=status)

    @app.page("/metrics")
    class Metrics(View):
        """Prometheus' text format, from this processor's registry."""

        async def get(self, request: Request) -> Response:
            # aiohttp refuses a content type with its charset: as a header.
            return self.bytes(
                processor.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
            )

    @app.page("/stats")
    class Stats(View):
        async def get(self, request: Request) -> Response:
            try:
                return self.json(await processor.stats())
            except (OperationalError, DatabaseError) as exc:  # reported, not retried here
                return self.json({"phase": processor.phase, "error": error_name(exc)}, status=503)

    @app.timer(settings.alert_interval_seconds)  # type: ignore[untyped-decorator]
    async def evaluate_alerts() -> None:
        # On an embedded ClickHouse only the store worker can read it; with a
        # server, the leader of the app's group evaluates, once.
        evaluator = processor.alerts
        if evaluator is None or not processor.ready.is_set():
            return
        if settings.embedded_clickhouse or app.is_leader():
            try:
                await evaluator.tick()
            except Exception as exc:  # a bug (infrastructure errors are retried inside)
                await processor.crash(exc)
                raise

    def unavailable() -> dict[str, str] | None:
        """Why stored data cannot be read here now (a 503), or None."""
        if not processor.ready.is_set():
            return {"phase": processor.phase}
        if settings.embedded_clickhouse and not settings.stores:
            return {
                "error": "this worker does not open the embedded ClickHouse; ask the store worker"
            }
        return None

    def not_now(view: View, request: Request, what: str) -> Response | None:
        """The answer to a lookup that cannot be made (no token, not ready,
        no store here), or None: the token guards every lookup of stored data."""
        refused = refusal(request.headers.get("Authorization"), settings.web_token, what)
        if refused is not None:
            status, reason = refused
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return view.json({"error": reason}, status=status, headers=headers)
        down = unavailable()
        return None if down is None else view.json(down, status=503)

    # The web UI (streams.web.server, as `cx ui` serves it): its pages need
    # no token (counts, not people); a personal endpoint does.
    def ui_gate(request: web.Request, endpoint: Endpoint) -> Refusal | None:
        if endpoint.personal:
            refused = token_refusal(request, settings.web_token, endpoint.what)
            if refused is not None:
                return refused
        down = unavailable()
        return None if down is None else (503, down, {})

    ui = UI(endpoints(settings), processor.reads, ui_gate)
    for path, handler in ui.routes():
        # Added before faust's own blueprints (applied when the server
        # starts), so this `/` is the one answered, not faust's index.
        app.page(path, name=f"ui{path}")(_page(handler))
    app.web.add_static("/static", STATIC)

    def lookup(
        path: str,
        what: str,
        parse: Callable[[Mapping[str, str]], T],
        read: Callable[[T], Awaitable[Any]],
    ) -> None:
        """GET `path`: `read`'s answer to the query `parse` makes of it,
        behind `not_now`; a query `parse` refuses (ValueError) is a 400 with
        its one line."""

        class Lookup(View):
            async def get(self, request: Request) -> Response:
                refused = not_now(self, request, what)
                if refused is not None:
                    return refused
                try:
                    asked = parse(request.query)
                except ValueError as exc:
                    return self.json({"error": str(exc)}, status=400)
                return self.json(await read(asked))

        app.page(path, name=path.strip("/"))(Lookup)

    # One person's journeys and touchpoints: ?identifier=customer_id:C1 (or
    # loyalty_id:, anonymous_id:, email:, phone:, or the hashed forms).
    lookup(
        "/journey",
        "person lookup",
        lambda q: parse_identifier(q.get("identifier", ""), lookup_pseudonymizer(settings)),
        lambda identifier: processor.reads.run("journey lookup", lambda s: person(s, identifier)),
    )

    # B2B accounts for `cx accounts`: ?top=N (1 to 10,000) and ?account=ID
    # (one account; empty: the top N).
    def top_and_account(query: Mapping[str, str]) -> tuple[int, str]:
        top = query.get("top", "20")
        if not top.isdigit() or not 1 <= int(top) <= MAX_TOP:
            raise ValueError(f"top must be 1 to {MAX_TOP:,}")
        return int(top), query.get("account", "")

    lookup(
        "/accounts",
        "account lookup",
        top_and_account,
        lambda asked: processor.reads.run("account lookup", lambda s: accounts(s, *asked)),
    )

    # Dead letters in ClickHouse, for `cx deadletters`: counts or a list,
    # ?view=count|list and the filters of `streams.deadletters.select.Ask`.
    lookup(
        "/deadletters",
        "dead-letter lookup",
        Ask.from_query,
        lambda ask: processor.reads.run("dead-letter lookup", lambda s: answer(s, ask)),
    )

    # How an erasure request went, for `cx erase`: ?request_id=ID, its audit
    # record (never the identifier); status "pending" until read.
    async def erasure(request_id: str) -> dict[str, Any]:
        audit = await erasure_status(processor.reads, request_id)
        return {"request_id": request_id, "status": "pending"} if audit is None else audit.as_dict()

    lookup("/erasures", "erasure status", lambda q: q.get("request_id", ""), erasure)

    return app, gate


def _page(handler: Callable[[web.Request], Awaitable[web.Response]]) -> type[View]:
    """A faust view that answers GET with an aiohttp handler (faust's web
    server is aiohttp: its requests and responses are aiohttp's)."""

    class Page(View):
        async def get(self, request: Request) -> Response:
            return cast(Response, await handler(cast(web.Request, request)))

    return Page
