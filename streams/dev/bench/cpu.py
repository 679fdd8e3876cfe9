"""Where the CPU goes during a benchmark run, as Linux counts it
(/proc/PID/task/TID/stat): per process, and in a worker per kind of thread.

A worker's threads are of three kinds: the interpreter's main thread (the
event loop and every stage's Python work), the other Python threads (one per
ClickHouse connection: the embedded engine runs much of an insert or query
on the calling thread, with the interpreter lock released) and the engine's
own threads (chdb's pools: parsing, materialized views, merges), which carry
names of their own. Only the main thread needs the interpreter lock for
nearly all it does: it is the one that bounds a worker's rate.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

_TICKS = os.sysconf("SC_CLK_TCK")

Kinds = dict[str, float]
"""CPU seconds by kind of thread."""


class ThreadCpu(NamedTuple):
    name: str
    """The thread's name (`comm`)."""
    seconds: float
    """User and system CPU time so far."""


def _stat_seconds(stat: str) -> tuple[str, float]:
    """(name, user + system seconds) of a /proc .../stat line."""
    head, _, tail = stat.rpartition(")")
    fields = tail.split()  # fields[0] is the state, field 3 of the line
    return head.partition("(")[2], (int(fields[11]) + int(fields[12])) / _TICKS


class Reading(NamedTuple):
    """One look at a process's CPU time."""

    total: float
    """User and system seconds of the whole process, ended threads included."""
    threads: dict[int, ThreadCpu]
    """Each live thread, by thread id."""


def read_cpu(pid: int) -> Reading:
    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name, seconds = _stat_seconds((task / "stat").read_text())
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
        threads[int(task.name)] = ThreadCpu(name, seconds)
    _, total = _stat_seconds(Path(f"/proc/{pid}/stat").read_text())
    return Reading(total, threads)


def spent(pid: int, before: Reading, after: Reading) -> Kinds:
    """CPU seconds of a Python process between two readings, by kind of
    thread: `main` (the interpreter's main thread), `python` (its other
    threads, which carry the process's name), `engine` (threads that named
    themselves, such as chdb's) and `ended` (threads gone by `after`), which
    add up to the process's `total`."""
    process_name = after.threads[pid].name if pid in after.threads else ""
    kinds: Kinds = dict.fromkeys(("main", "python", "engine"), 0.0)
    for tid, thread in after.threads.items():
        # A thread may rename itself (chdb's do, per job): it is the same
        # thread unless its time went down (a new thread took the id).
        earlier = before.threads.get(tid)
        since = earlier.seconds if earlier and earlier.seconds <= thread.seconds else 0.0
        used = thread.seconds - since
        kind = "main" if tid == pid else "python" if thread.name == process_name else "engine"
        kinds[kind] += used
    total = after.total - before.total
    kinds["ended"] = max(0.0, total - sum(kinds.values()))
    kinds["total"] = total
    return {kind: round(seconds, 3) for kind, seconds in kinds.items()}
