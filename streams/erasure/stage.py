"""The erasures topic's consumer in a worker that stores: each request
carried out by the `Eraser`, in order, its offset committed once complete
(a request read again after a crash is carried out again, idempotently)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from streams.erasure.eraser import Eraser
from streams.erasure.request import BadRequest, decode_request, request_id_of
from streams.erasure.store import ErasureAudit, record_erasure
from streams.runtime.batch_consumer import Batch, StatelessHandler, Write

log = logging.getLogger(__name__)


class EraseStage(StatelessHandler):
    def __init__(self, eraser: Eraser) -> None:
        self.eraser = eraser
        self.counts: Counter[str] = Counter()
        """Requests by outcome: complete, refused, unreadable."""

    async def handle(self, batch: Batch) -> Write | None:
        records = [record for records in batch.values() for record in records]
        return self._erase_all(records) if records else None

    async def _erase_all(self, records: list[Any]) -> None:
        requests = []
        for record in records:
            try:
                requests.append(decode_request(record.value))
            except BadRequest as exc:
                await self._refuse(record, str(exc))
        for audit in await self.eraser.erase_all(requests) if requests else []:
            self.counts["complete" if audit.status == "complete" else "refused"] += 1

    async def _refuse(self, record: Any, reason: str) -> None:
        """One line (never the record: it may hold personal data), and the
        audit row when the record names a usable request id."""
        request_id = request_id_of(record.value)
        where = f"{record.topic}/{record.partition}/{record.offset}"
        log.warning("erasures: %s is not an erasure request: %s", where, reason)
        if request_id is None:
            self.counts["unreadable"] += 1
            return
        self.counts["refused"] += 1
        now = record.timestamp or 0
        await record_erasure(
            self.eraser.store,
            ErasureAudit(request_id, now, now, False, {}, "refused", reason),
        )

    def stats(self) -> dict[str, Any]:
        return dict(self.counts)
