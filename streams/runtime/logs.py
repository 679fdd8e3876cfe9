"""The worker's log format: `CX_LOG_FORMAT=text` (faust's own) or `json`, one
JSON object per line (time, level, logger, stage when known, message, the
record's extra fields), for log shippers that index fields.

The JSON formatter is put on the root logger's handlers after faust has
configured logging, so faust's, aiokafka's and the processor's lines all
come out the same way. The stage is known inside a stage's batch consumer
(`STAGE`, a context variable its task and the writes it starts inherit).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

STAGE: ContextVar[str | None] = ContextVar("cx_stage", default=None)
"""The stage whose task logs (set by its batch consumer)."""

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "stage"}
"""A log record's own attributes: the others are the caller's `extra`."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
        }
        stage = getattr(record, "stage", None) or STAGE.get()
        if stage:
            line["stage"] = stage
        line["message"] = record.getMessage()
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


def use_format(log_format: str, logger: logging.Logger | None = None) -> None:
    """Put the format on every handler of `logger` (the root logger)."""
    if log_format != "json":
        return
    for handler in (logger or logging.getLogger()).handlers:
        handler.setFormatter(JsonFormatter())
