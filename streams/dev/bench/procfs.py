"""A process's memory as Linux reports it (/proc/PID/status)."""

from __future__ import annotations

from pathlib import Path


def status_kb(field: str, pid: int | str = "self") -> int:
    """A kB field of the process's status: VmRSS (resident now), VmHWM (peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")
