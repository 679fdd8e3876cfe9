"""Is anything listening at an address (the CLI asks before it talks to a
worker; development tooling waits for its local broker)."""

from __future__ import annotations

import socket


def is_listening(host: str, port: int) -> bool:
    """Whether a TCP connection to (host, port) opens within half a second."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
