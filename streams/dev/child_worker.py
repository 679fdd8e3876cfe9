"""Run `cx worker` as a child process and watch it over HTTP (the demo, the
integration tests and the benchmark drive workers this way)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from streams.runtime.settings import Settings
from streams.runtime.web_token import bearer

T = TypeVar("T")


class ChildWorker:
    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    def start(self, healthy_within: float | None = 120) -> ChildWorker:
        """Launch; unless `healthy_within` is None, wait until /health is 200."""
        env = {**os.environ, **self.settings.to_env()}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=log, stderr=log
            )
        if healthy_within is not None:
            self.wait_healthy(healthy_within)
        return self

    def wait_healthy(self, timeout: float = 120) -> None:
        # Starting: nothing to measure yet, polls are cheap.
        self._poll(lambda: self.get("/health"), timeout, "healthy", every=0.1)

    def health(self) -> tuple[int, dict[str, Any]] | None:
        """(HTTP status, body) of /health, or None while nothing listens."""
        try:
            with urllib.request.urlopen(self.base_url + "/health", timeout=2) as response:
                return response.status, dict(json.load(response))
        except urllib.error.HTTPError as error:
            return error.code, dict(json.load(error))
        except OSError:
            return None

    def exit_code(self, within: float) -> int | None:
        """The exit code if the process ends within `within` seconds."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            return None

    def get(self, path: str) -> dict[str, Any] | None:
        """The JSON answer of `path` (with the bearer token, when the
        settings have one), or None when none came."""
        request = urllib.request.Request(
            self.base_url + path, headers=bearer(self.settings.web_token)
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return dict(json.load(response))
        except OSError:  # not listening yet, or 503 while starting
            return None

    def stats(self) -> dict[str, Any]:
        return self.get("/stats") or {}

    def metrics(self) -> str:
        """The text of /metrics (Prometheus' format)."""
        with urllib.request.urlopen(self.base_url + "/metrics", timeout=5) as response:
            return str(response.read().decode())

    def stored(self) -> tuple[int, int]:
        """(touchpoints, dead letters) in ClickHouse, as the worker reports."""
        counts = self.stats().get("clickhouse", {})
        return int(counts.get("touchpoints", 0)), int(counts.get("deadletters", 0))

    def wait_until(
        self, done: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            stats = self.stats()
            return stats if done(stats) else None

        return self._poll(finished, timeout, what)

    def _poll(
        self, probe: Callable[[], T | None], timeout: float, what: str, every: float = 0.25
    ) -> T:
        """`probe`'s first answer that is not None, asked every `every`
        seconds; an error as soon as the worker exits, or after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"worker exited with code {self.process.returncode} (log: {self.log_path})"
                )
            found = probe()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker not {what} within {timeout}s (log: {self.log_path})")
            time.sleep(every)

    def wait_stored(self, touchpoints: int, dead_letters: int, timeout: float = 180) -> None:
        def done(stats: dict[str, Any]) -> bool:
            counts = stats.get("clickhouse", {})
            return bool(
                counts.get("touchpoints", 0) >= touchpoints
                and counts.get("deadletters", 0) >= dead_letters
            )

        self.wait_until(done, timeout, f"done storing {touchpoints} + {dead_letters}")

    def wait_idle(self, timeout: float = 120) -> None:
        """Wait until every consumer of the worker has caught up (no lag on
        any partition) and handled no batch for a while: downstream stages
        (journeys, their rows) are done too: quiet on every look for half a
        second."""
        calm_since: float | None = None

        def calm() -> bool | None:
            nonlocal calm_since
            consumers = self.stats().get("consumers", {}).values()
            quiet = bool(consumers) and all(
                all(lag == 0 for lag in c["lag"].values())
                and (c["seconds_since_last_batch"] or 2.0) > 1.5
                for c in consumers
            )
            now = time.monotonic()
            if not quiet:
                calm_since = None
            elif calm_since is None:
                calm_since = now
            return True if calm_since is not None and now - calm_since >= 0.5 else None

        self._poll(calm, timeout, "idle")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM: finish the batch in flight, commit, exit."""
        self.terminate()
        return self.exited(timeout)

    def terminate(self) -> None:
        """SIGTERM, without waiting for the exit (`exited`)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def exited(self, timeout: float = 60) -> int:
        """The exit code once it exits; SIGKILL after `timeout` seconds."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()


def start_together(workers: list[ChildWorker]) -> list[ChildWorker]:
    """Launch every worker, then wait until each is healthy: they join their
    groups at once, rather than each join making the workers already running
    rebalance (seconds on the broker)."""
    for worker in workers:
        worker.start(healthy_within=None)
    for worker in workers:
        worker.wait_healthy()
    return workers


def stop_together(workers: list[ChildWorker], timeout: float = 60) -> list[int]:
    """SIGTERM to every worker at once, then their exit codes. One after the
    other, each stop makes the workers still running rebalance their groups
    (seconds on the broker) while they are about to stop too."""
    for worker in workers:
        worker.terminate()
    return [worker.exited(timeout) for worker in workers]
