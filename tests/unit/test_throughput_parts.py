"""The pieces the hot path's speed rests on: bundles on the internal topics
(real broker), their codecs, and the garbage-collection tuning and watch."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator

import pytest

from streams.dev.bench.cpu import Reading, ThreadCpu, read_cpu, spent
from streams.journeys.steps import (
    FORWARD_CHUNK,
    Step,
    decode_keyed_steps,
    encode_keyed_steps,
    join_keyed,
    keyed_chunks,
)
from streams.runtime import gc_watch


def test_keyed_steps_round_trip_exactly() -> None:
    one = Step("e1", 10, "web", "page_view", "awareness", session_id="s1")
    two = Step("e2", 20, "store", "pos_purchase", "purchase", revenue=12.5, currency="EUR")
    items = [("customer_id:C1", [one]), ("phone_hash:p", [one, two]), ("anonymous_id:a", [])]
    assert decode_keyed_steps(encode_keyed_steps(items)) == items
    assert isinstance(decode_keyed_steps(encode_keyed_steps(items))[1][1][1].revenue, float)


@pytest.fixture
def watched() -> Iterator[gc_watch.GcWatch]:
    before = gc.get_threshold()
    watch = gc_watch.GcWatch().install()
    try:
        yield watch
    finally:
        watch.uninstall()
        gc.set_threshold(*before)
        gc.unfreeze()


def test_gc_watch_times_collections_and_tune_sets_the_young_threshold(
    watched: gc_watch.GcWatch,
) -> None:
    kept = [[i] for i in range(200_000)]  # a full collection has these to walk
    gc.collect(0)
    gc.collect()
    assert watched.collections[0] >= 1 and watched.collections[2] >= 1
    timed = watched.as_dict()
    # The longest pause is the longest of any generation's, and walking
    # 200,000 objects takes well over the 0.1 ms it is rounded to.
    assert timed["longest_pause_ms"] == max(timed["longest_ms"]) >= timed["longest_ms"][2] > 0
    assert watched.total_s[2] > 0
    # The collector's CPU time is counted, and never more than the pause.
    assert 0 < timed["longest_pause_cpu_ms"] <= timed["longest_pause_ms"] + 1
    assert 0 < timed["cpu_total_ms"] <= sum(timed["total_ms"]) + 1
    del kept
    gc_watch.tune(watched, 123_456)
    assert gc.get_threshold()[0] == 123_456
    assert gc.get_freeze_count() > 0
    assert watched.collections == [0, 0, 0]  # start-up's full collection is not counted
    assert watched.as_dict()["cpu_total_ms"] == 0


def test_what_survives_a_young_collection_is_frozen_and_garbage_is_not(
    watched: gc_watch.GcWatch,
) -> None:
    watched.freeze_survivors = True
    gc.unfreeze()
    gc.collect()
    frozen_before = gc.get_freeze_count()
    kept = [[i] for i in range(1000)]
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle  # unreachable: the young collection frees it before freezing
    assert gc.collect(0) >= 1
    assert gc.get_freeze_count() >= frozen_before + len(kept)
    assert gc.get_count()[1] == 0  # nothing left for the older generations to walk


def test_cpu_time_is_split_by_kind_of_thread_and_adds_up_to_the_process() -> None:
    pid = 100
    before = Reading(
        10.0,
        {
            100: ThreadCpu("python", 6.0),
            101: ThreadCpu("python", 1.0),
            102: ThreadCpu("ThreadPool", 2.0),
            103: ThreadCpu("python", 1.0),
        },
    )
    after = Reading(
        19.0,
        {
            100: ThreadCpu("python", 10.0),
            101: ThreadCpu("python", 1.5),
            102: ThreadCpu("MergeMutate", 3.0),
            104: ThreadCpu("BgSchPool", 0.5),
        },
    )
    # 103 ended (what it spent after `before` is known only through the total);
    # 104 started after `before`: all its time is new; 102 renamed itself
    # (chdb's pool threads do, per job) and is the same thread.
    assert spent(pid, before, after) == {
        "main": 4.0, "python": 0.5, "engine": 1.5, "ended": 3.0, "total": 9.0
    }  # fmt: skip


def test_cpu_readings_of_a_live_process_count_its_main_thread_and_ended_threads() -> None:
    def burn(seconds: float) -> None:
        until = time.thread_time() + seconds
        while time.thread_time() < until:
            pass

    before = read_cpu(os.getpid())
    worker = threading.Thread(target=burn, args=(0.2,))
    worker.start()
    worker.join()
    burn(0.2)
    used = spent(os.getpid(), before, read_cpu(os.getpid()))
    assert used["main"] >= 0.15 and used["ended"] >= 0.15
    assert used["total"] == pytest.approx(sum(v for k, v in used.items() if k != "total"), abs=0.01)


def test_a_long_history_travels_in_pairs_of_bounded_size() -> None:
    """A person's whole history, sent on to their new key, is cut into pairs
    of at most FORWARD_CHUNK steps: no record too large for the broker, and
    the journey stage reads every step back under the key."""
    history = [Step(f"e{n}", 1_795_000_000_000 + n, "web", "page_view") for n in range(450)]
    pairs = keyed_chunks([("customer_id:C1", history), ("customer_id:C2", history[:3])])
    assert [key for key, _ in pairs] == ["customer_id:C1"] * 3 + ["customer_id:C2"]
    decoded = decode_keyed_steps(join_keyed([pair for _, pair in pairs]))
    assert [len(steps) for _, steps in decoded] == [FORWARD_CHUNK, FORWARD_CHUNK, 50, 3]
    assert [s for key, steps in decoded if key == "customer_id:C1" for s in steps] == history
