"""A webhook receiver on loopback: what an alerting tool would be, for the
benchmark and the tests. Records each JSON body with when it arrived, and
the path it was posted to; answers `status` (Slack 200, PagerDuty 202)."""

from __future__ import annotations

import http.server
import threading
import time
from types import TracebackType
from typing import Any

import orjson


class WebhookReceiver:
    def __init__(self, status: int = 204) -> None:
        self.received: list[tuple[float, Any]] = []
        """(time.monotonic() on arrival, body), in arrival order."""
        self.paths: list[str] = []
        """The path (and query) of each POST, in arrival order."""
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.paths.append(self.path)
                receiver.received.append((time.monotonic(), orjson.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        self.url = f"{self.base}/alerts"

    @property
    def bodies(self) -> list[Any]:
        return [body for _, body in self.received]

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
