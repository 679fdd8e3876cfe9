"""The faust app factory: the one place where faust meets the processor.

faust runs the worker's lifecycle (signals, logging, start and stop order),
the web server (liveness, readiness, metrics, stats, person, account and
dead-letter lookups) and the alert timer. Every
stream (the hot path and the dead-letter mirror) runs in `Processor`'s batch
consumers.
"""

from __future__ import annotations

import faust
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from faust.web import Request, Response, View

from streams.clickhouse.client import error_name
from streams.deadletters.lookup import answer
from streams.deadletters.select import Ask, SelectionError
from streams.erasure.store import erasure_status
from streams.reports.accounts import MAX_TOP, accounts
from streams.reports.person import BadIdentifier, lookup_pseudonymizer, parse_identifier, person
from streams.runtime.metrics import CONTENT_TYPE_LATEST
from streams.runtime.preflight import BrokerGate, install_gate
from streams.runtime.processor import Processor
from streams.runtime.security import faust_credentials
from streams.runtime.settings import Settings
from streams.runtime.web_token import refusal


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

    def not_now(view: View, request: Request, what: str) -> Response | None:
        """The answer to a lookup that cannot be made (no token, not ready,
        no store here), or None: the token guards every lookup of stored data."""
        refused = refusal(request.headers.get("Authorization"), settings.web_token, what)
        if refused is not None:
            status, reason = refused
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return view.json({"error": reason}, status=status, headers=headers)
        if not processor.ready.is_set():
            return view.json({"phase": processor.phase}, status=503)
        if settings.embedded_clickhouse and not settings.stores:
            return view.json(
                {
                    "error": "this worker does not open the embedded ClickHouse; ask the store worker"
                },
                status=503,
            )
        return None

    @app.page("/journey")
    class Journey(View):
        """One person's journeys and touchpoints: ?identifier=customer_id:C1
        (or loyalty_id:, anonymous_id:, email:, phone:, or the hashed forms)."""

        async def get(self, request: Request) -> Response:
            refused = not_now(self, request, "person lookup")
            if refused is not None:
                return refused
            try:
                identifier = parse_identifier(
                    request.query.get("identifier", ""), lookup_pseudonymizer(settings)
                )
            except BadIdentifier as exc:
                return self.json({"error": str(exc)}, status=400)
            data = await processor.reads.run("journey lookup", lambda s: person(s, identifier))
            return self.json(data)

    @app.page("/accounts")
    class Accounts(View):
        """B2B accounts for `cx accounts`: ?top=N (1 to 10,000) and
        ?account=ID (one account; empty: the top N)."""

        async def get(self, request: Request) -> Response:
            refused = not_now(self, request, "account lookup")
            if refused is not None:
                return refused
            top = request.query.get("top", "20")
            if not top.isdigit() or not 1 <= int(top) <= MAX_TOP:
                return self.json({"error": f"top must be 1 to {MAX_TOP:,}"}, status=400)
            account = request.query.get("account", "")
            data = await processor.reads.run(
                "account lookup", lambda s: accounts(s, int(top), account)
            )
            return self.json(data)

    @app.page("/deadletters")
    class DeadLetters(View):
        """Dead letters in ClickHouse, for `cx deadletters`: counts or a list,
        ?view=count|list and the filters of `streams.deadletters.select.Ask`."""

        async def get(self, request: Request) -> Response:
            refused = not_now(self, request, "dead-letter lookup")
            if refused is not None:
                return refused
            try:
                ask = Ask.from_query(request.query)
            except SelectionError as exc:
                return self.json({"error": str(exc)}, status=400)
            data = await processor.reads.run("dead-letter lookup", lambda s: answer(s, ask))
            return self.json(data)

    @app.page("/erasures")
    class Erasures(View):
        """How an erasure request went, for `cx erase`: ?request_id=ID, its
        audit record (never the identifier); status "pending" until read."""

        async def get(self, request: Request) -> Response:
            refused = not_now(self, request, "erasure status")
            if refused is not None:
                return refused
            request_id = request.query.get("request_id", "")
            audit = await erasure_status(processor.reads, request_id)
            if audit is None:
                return self.json({"request_id": request_id, "status": "pending"})
            return self.json(audit.as_dict())

    return app, gate
