"""`cx worker`: run the processor under faust's worker (signals, logging)."""

from __future__ import annotations

import faust

from streams.app import create_app
from streams.settings import Settings


def run_worker(settings: Settings) -> None:
    if settings.ingests:
        settings.require_pii_secret()
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()
