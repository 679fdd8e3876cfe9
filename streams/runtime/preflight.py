"""Checks before the worker starts, and the wait for the broker inside it.

A wrong setting (CA, client certificate, SASL password, ClickHouse CA or
password) stops the worker at once with one line naming it (exit 2). A broker
or ClickHouse that does not answer yet is waited out with backoff, shown in
/health: faust's own Kafka clients start after `BrokerGate`, which starts
after faust's web server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Iterable
from typing import Any

import faust
import mode
from faust.app.base import BootStrategy

from streams.clickhouse.client import Store
from streams.runtime.retry import with_backoff
from streams.runtime.security import is_transient, kafka_ssl_context, probe_broker
from streams.runtime.settings import ConfigError, Settings

log = logging.getLogger(__name__)


def preflight(settings: Settings) -> bool:
    """Raise ConfigError when a setting is wrong; whether the broker answered.
    A broker or ClickHouse out of reach passes: the worker waits for them, in
    its log and /health (logging is not set up yet here)."""
    kafka_ssl_context(settings)  # the files load
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(probe_broker(settings))
        answered = True
    except ConfigError:
        raise
    except Exception:  # out of reach: waited for in the worker, logged there
        answered = False
    finally:
        loop.close()
    if settings.stores and not settings.embedded_clickhouse:
        store = Store.of(settings)
        try:
            store.client  # noqa: B018  (connects)
        except ConfigError:
            raise
        except Exception:  # out of reach: the migration waits for it, logged there
            pass
        finally:
            store.close()
    return answered


class BrokerGate(mode.Service):
    """Starts once the broker answers (waited for with backoff, in /health).
    A wrong setting met meanwhile is logged in one line and kept in `failed`,
    and the worker stops as on SIGTERM (a crash would log a traceback);
    `run_worker` then exits with code 2."""

    def __init__(self, settings: Settings, *, answered: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.failed: ConfigError | None = None
        self.reached = asyncio.Event()
        """Set once the broker answered with these settings."""
        if answered:  # by `preflight`, just before the worker started
            self.reached.set()

    async def on_start(self) -> None:
        if self.reached.is_set():
            return
        try:
            await with_backoff(
                lambda: probe_broker(self.settings),
                is_transient=is_transient,
                what="kafka: reach the broker",
            )
            self.reached.set()
        except ConfigError as exc:
            self.failed = exc
            log.critical("%s", exc)
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.Event().wait()  # until the stop cancels the start


class _GatedBoot(BootStrategy):
    """faust's server boot order with the web server first, then the gate,
    then faust's Kafka clients."""

    gate: BrokerGate

    def server(self) -> Iterable[mode.ServiceT]:
        return self._chain(
            self.sensors(),
            self.web_server(),
            [self.gate],
            self.kafka_producer(),
            self.kafka_consumer(),
            self.agents(),
            self.kafka_conductor(),
            self.tables(),
        )


def install_gate(app: faust.App, settings: Settings, *, answered: bool = False) -> BrokerGate:
    """Make `app` wait for the broker before starting its Kafka clients
    (at once when it `answered` the preflight check)."""
    boot = _GatedBoot(app)
    boot.gate = BrokerGate(settings, answered=answered)
    app.boot_strategy = boot
    return boot.gate
