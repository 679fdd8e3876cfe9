"""The line between records set aside and a bug: `FailureBudget` on both
sides of each of its limits, and ingest setting aside a record its code
fails on while the rest of the batch goes on."""

from __future__ import annotations

import pytest

from schemas import Channel, RejectReason
from streams.ingest import route as ingest
from streams.ingest.pseudonym import Pseudonymizer
from streams.runtime.failures import FailureBudget, TooManyFailures
from streams.runtime.topics import Topics
from tests.examples import record, valid_events

TOPICS = Topics("cx.")
FAILURE = ValueError("a bug")


def test_ten_failures_in_a_row_pass_the_eleventh_stops() -> None:
    budget = FailureBudget("store", max_consecutive=10)
    for n in range(10):
        budget.fail(f"record {n}", FAILURE)
    with pytest.raises(TooManyFailures, match="11 records in a row"):
        budget.fail("record 10", FAILURE)


def test_a_record_that_passes_ends_the_run() -> None:
    budget = FailureBudget("store", max_consecutive=10, share_after=10**9)
    for _ in range(5):
        for n in range(10):
            budget.fail(f"record {n}", FAILURE)
        budget.passed()
    assert (budget.failed, budget.consecutive) == (50, 0)


def test_more_than_the_share_stops_once_enough_records_were_handled() -> None:
    budget = FailureBudget("ingest", max_consecutive=10**9, max_share=0.01, share_after=1000)
    budget.fail("early", FAILURE)  # 1 in 1: above the share, but too few records to judge
    budget.passed(1989)
    for n in range(19):  # the last: 20 of 2,009, under 1 %
        budget.fail(f"record {n}", FAILURE)
    with pytest.raises(TooManyFailures, match="21 of 2010 records"):
        budget.fail("one more", FAILURE)  # 21 of 2,010: over


def test_count_walks_a_batch_in_order() -> None:
    budget = FailureBudget("ingest", max_consecutive=2)
    budget.count(10, [(3, "a", FAILURE), (4, "b", FAILURE), (7, "c", FAILURE)])
    assert (budget.handled, budget.failed, budget.consecutive) == (10, 3, 0)
    with pytest.raises(TooManyFailures):
        budget.count(3, [(0, "a", FAILURE), (1, "b", FAILURE), (2, "c", FAILURE)])


def test_ingest_sets_aside_a_record_its_code_fails_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug that fails one valid record (simulated in the pure step after
    validation): that record becomes a processing_failed dead letter with
    its original bytes, the others are touchpoints."""
    values = valid_events(Channel.WEB)
    records = [record(TOPICS.channel(Channel.WEB), v, offset=i) for i, v in enumerate(values)]
    doomed = records[2].value
    real = ingest.to_touchpoint

    def failing_on_one(*args, **kwargs):  # type: ignore[no-untyped-def]
        touchpoint = real(*args, **kwargs)
        if touchpoint.source_offset == 2:
            raise KeyError("a value the code did not expect")
        return touchpoint

    monkeypatch.setattr(ingest, "to_touchpoint", failing_on_one)
    result = ingest.ingest_batch(records, TOPICS.channels, 1_795_800_000_000, Pseudonymizer(b"k"))
    assert len(result.touchpoints) == len(values) - 1
    assert [at for at, _ in result.failed] == [2]
    (letter,) = result.dead_letters
    assert letter.rejection.reason is RejectReason.PROCESSING_FAILED
    assert (letter.value, letter.source_offset, letter.rejected_by) == (doomed, 2, "ingest")
    assert "KeyError" in letter.rejection.errors[0].message
    assert "did not expect" not in letter.rejection.errors[0].message  # no data from the error
