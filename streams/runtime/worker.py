"""`cx worker`: run the processor under faust's worker (signals, logging)."""

from __future__ import annotations

import asyncio
import logging

import faust

from streams.runtime.app import create_app
from streams.runtime.kafka_reads import WORKER_READ_BYTES, read_in_chunks_of
from streams.runtime.logs import use_format
from streams.runtime.preflight import preflight
from streams.runtime.settings import Settings


class QuickExitWorker(faust.Worker):
    """faust's worker, without mode's last second of sleep at exit."""

    async def _sentinel_task(self) -> None:
        # The last turns of the loop before it closes, once every service
        # has stopped and every task was gathered: callbacks still queued
        # (transports closing) run in a few turns. mode sleeps a whole second
        # here, which only delays the exit after every stop.
        await asyncio.sleep(0.05)


class _Worker(QuickExitWorker):
    """faust's worker, with `CX_LOG_FORMAT` applied once faust has set up
    logging (so its own lines come out in that format too)."""

    log_format = "text"

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        use_format(self.log_format, logger)


def run_worker(settings: Settings) -> None:
    if settings.ingests:
        settings.require_pii_secret()
    # Fetch responses of many megabytes arrive in a few loop turns, not in
    # dozens (streams/runtime/kafka_reads.py).
    read_in_chunks_of(WORKER_READ_BYTES)
    # A wrong setting: ConfigError, exit 2 (streams.cli); a broker that
    # answered here is not probed again by the gate.
    answered = preflight(settings)
    app, gate = create_app(settings, broker_answered=answered)
    worker = _Worker(app, loglevel=settings.log_level, quiet=True)
    worker.log_format = settings.log_format
    # faust's terminal spinner sets the root logger to DEBUG so that it spins
    # on every record: every library's debug call then builds a record (4 %
    # of the worker's time, measured), and its escape codes land in log files.
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    except SystemExit:
        if gate.failed is not None:  # the broker came up refusing these settings
            raise gate.failed from None
        raise
