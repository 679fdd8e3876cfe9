"""`Eraser`: one erasure request carried out, in an order that leaves
nothing behind.

1. The request is recorded (audit table: its id and times, never the
   identifier) and the person found as ClickHouse knows them (the
   identifier's key and every identifier linked to it).
2. An erasure record is appended to the identity log. Every worker's
   replica forgets the person when it applies it (and again on every
   replay), the journey stages drop them from memory, and, with
   suppression, ingest drops their later events from then on.
3. It waits for what was already on its way (`settle_s`: rows gathered for
   an insert, a journey flush), then deletes the person's rows from
   ClickHouse (`streams.erasure.store`), tombstones their journey state and
   closed journeys, and takes their events out of the deduplication memory.
4. The request is recorded complete, with the rows removed per table.

Every step is idempotent: a request read again after a crash is carried
out again, and one already complete is only reported.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from aiokafka import AIOKafkaProducer

from streams.clickhouse.client import OffLoopStore
from streams.erasure.request import ErasureRequest
from streams.erasure.store import (
    ErasedPerson,
    ErasureAudit,
    erase_rows,
    erasure_status,
    erasure_terms,
    record_erasure,
)
from streams.erasure.tombstones import changelog_tombstones, closure_tombstones
from streams.identity import log as identity_log
from streams.identity.log import Erasure
from streams.identity.replica import IdentityReplica
from streams.identity.rules import key_order
from streams.ingest.pseudonym import Pseudonymizer
from streams.reports.person import BadIdentifier, parse_identifier
from streams.runtime.kafka import append_all, is_transient_kafka_error, partition_count, produce_to
from streams.runtime.retry import with_backoff
from streams.runtime.settings import Settings
from streams.runtime.topics import Topics

log = logging.getLogger(__name__)


_UNREADABLE = (
    "the identifier is not TYPE:VALUE (customer_id, loyalty_id, anonymous_id, email, phone)"
)


_NAMES_PERSON = "the request id holds one of the person's identifiers: name the request otherwise"


def settle_seconds(settings: Settings) -> float:
    """How long rows already on their way for an erased person may take to
    land: two of the longest insert interval and a journey flush, and a
    second (rows folded at a flush wait for the journeys' insert)."""
    longest = max(settings.insert_interval_ms, settings.lookup_insert_interval_ms)
    return 2 * (longest + settings.journey_flush_ms) / 1000 + 1


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class _Started:
    request: ErasureRequest
    audit: ErasureAudit
    identifier: str
    """As stored."""
    members: set[str]
    """The person's identifiers found so far."""


@dataclass
class Eraser:
    store: OffLoopStore
    producer: AIOKafkaProducer
    topics: Topics
    pseudonymizer: Pseudonymizer | None
    suppress_by_default: bool
    settle_s: float
    """How long what was on its way may take to land (0 with no worker)."""
    replica: IdentityReplica | None = None
    """This worker's replica (None in `cx erase` without a worker)."""
    forget_events: Callable[[Iterable[str]], None] | None = None
    """The store stage's deduplication memory, when this worker stores."""

    async def erase(self, request: ErasureRequest) -> ErasureAudit:
        return (await self.erase_all([request]))[0]

    async def erase_all(self, requests: Sequence[ErasureRequest]) -> list[ErasureAudit]:
        """Carry the requests out together (one wait for what is on its
        way), or report the ones done before; an identifier that cannot be
        read is recorded refused, with the reason."""
        audits: dict[str, ErasureAudit] = {}
        started: list[_Started] = []
        for request in requests:
            audit = await self._start(request)
            if isinstance(audit, _Started):
                started.append(audit)
            else:
                audits[request.request_id] = audit
        if started:
            await asyncio.sleep(self.settle_s)
        for begun in started:
            audits[begun.request.request_id] = await self._finish(begun)
        return [audits[request.request_id] for request in requests]

    async def _start(self, request: ErasureRequest) -> ErasureAudit | _Started:
        """Steps 1 and 2 (the module doc), or the request's audit when it is
        done already or refused."""
        done = await erasure_status(self.store, request.request_id)
        if done is not None and done.status == "complete":
            return done
        asked_ms = request.requested_at_ms or _now_ms()
        suppress = self.suppress_by_default if request.suppress is None else request.suppress
        try:
            identifier = parse_identifier(request.identifier, self.pseudonymizer)
        except BadIdentifier as exc:
            # The reason, unless it quotes the identifier (the audit never does).
            reason = str(exc) if request.identifier.strip() not in str(exc) else _UNREADABLE
            refused = ErasureAudit(
                request.request_id, asked_ms, _now_ms(), suppress, {}, "refused", reason
            )
            await record_erasure(self.store, refused)
            return refused
        members = await self._linked(identifier)
        found = ErasedPerson(request.request_id, min(members, key=key_order), tuple(members))
        try:
            erasure_terms(found)
        except ValueError:  # the request id names the person: never recorded
            log.warning("erasures: a request id holds an identifier of its person: refused")
            return ErasureAudit(
                request.request_id, asked_ms, _now_ms(), suppress, {}, "refused", _NAMES_PERSON
            )
        running = ErasureAudit(request.request_id, asked_ms, None, suppress, {}, "running")
        await record_erasure(self.store, running)
        erasure = Erasure(request.request_id, identifier, asked_ms, suppress)
        offset = await with_backoff(
            lambda: append_all(
                self.producer,
                self.topics.identity,
                [identity_log.encode_erasure(erasure)],
                identity_log.ERASURE_HEADERS,
            ),
            is_transient=is_transient_kafka_error,
            what="kafka: append erasure",
        )
        if self.replica is not None:
            await self.replica.wait_applied(offset)
            erased = self.replica.erased.pop(request.request_id, None)
            if erased is not None:
                members.update(erased.members)
        return _Started(request, running, identifier, members)

    async def _finish(self, begun: _Started) -> ErasureAudit:
        """Steps 3 and 4."""
        members = begun.members | await self._linked(begun.identifier)  # linked meanwhile
        request_id = begun.request.request_id
        person = ErasedPerson(request_id, min(members, key=key_order), tuple(sorted(members)))
        keys = list(person.identifiers)
        versions = {k: int(v) for k, v in await self.store.query("erasure_versions", keys=keys)}
        events = [row[0] for row in await self.store.query("erasure_event_ids", keys=keys)]
        removed = await erase_rows(self.store, person)
        await self._tombstone(keys, versions)
        if self.forget_events is not None:
            self.forget_events(events)
        audit = replace(begun.audit, completed_at_ms=_now_ms(), removed=removed, status="complete")
        await record_erasure(self.store, audit)
        log.info(
            "erasure %s complete: %d identifiers, %d rows removed",
            request_id,
            len(members),
            sum(removed.values()),
        )
        return audit

    async def _linked(self, identifier: str) -> set[str]:
        """The identifier and every identifier ClickHouse links to its person."""
        rows = await self.store.query("person_key", identifier=identifier)
        key = str(rows[0][0]) if rows else identifier
        linked = await self.store.query("person_identifiers", key=key)
        return {identifier, key, *(str(row[0]) for row in linked)}

    async def _tombstone(self, keys: list[str], versions: dict[str, int]) -> None:
        producer, topics = self.producer, self.topics

        async def send() -> None:
            journeys = await partition_count(producer, topics.journeys)
            steps = await partition_count(producer, topics.journey_steps)
            await produce_to(producer, topics.journeys, changelog_tombstones(keys, journeys))
            await produce_to(producer, topics.closed_journeys, closure_tombstones(versions, steps))

        await with_backoff(
            send, is_transient=is_transient_kafka_error, what="kafka: tombstone journey state"
        )
