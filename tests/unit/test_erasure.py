"""The pure parts of erasing a person: the terms the statements read, and
the statements themselves (each table's count and delete share a condition)."""

from __future__ import annotations

import re

import pytest

from streams.clickhouse import sql
from streams.erasure.store import ERASED_TABLES, ErasedPerson, erasure_terms


def test_the_terms_are_the_key_and_identifiers_once_each_by_kind_and_value() -> None:
    person = ErasedPerson(
        "req-7",
        "customer_id:C1",
        ("email_hash:ab12", "customer_id:C1", "anonymous_id:ck-9", "loyalty_id:L5"),
    )
    assert erasure_terms(person) == {
        "kind": ["anonymous_id", "customer_id", "email_hash", "loyalty_id"],
        "value": ["ck-9", "C1", "ab12", "L5"],
        "term": ["anonymous_id:ck-9", "customer_id:C1", "email_hash:ab12", "loyalty_id:L5"],
    }


@pytest.mark.parametrize("identifier", ["email:a@b.c", "customer_id:", "C1", ""])
def test_an_identifier_not_as_stored_is_refused(identifier: str) -> None:
    with pytest.raises(ValueError, match="not kind:value") as refused:
        erasure_terms(ErasedPerson("req-1", "customer_id:C1", (identifier,)))
    assert "a@b.c" not in str(refused.value)  # the error never repeats what it refused


def test_a_request_id_that_names_the_person_is_refused() -> None:
    with pytest.raises(ValueError, match="request id holds") as refused:
        erasure_terms(ErasedPerson("erase-C12345", "customer_id:C12345", ()))
    assert "C12345" in str(refused.value)  # the request id, as given
    assert "customer_id:C12345" not in str(refused.value)


@pytest.mark.parametrize("name", [f"erase_{t}" for t in ERASED_TABLES] + ["erase_dead_letters_at"])
def test_each_count_has_the_condition_of_its_delete(name: str) -> None:
    count, delete = sql.statements(sql.query(name))
    counted = re.fullmatch(
        r"SELECT (?:toYYYYMM\(occurred_at\) AS month, )?count\(\) FROM (\S+)\s+WHERE (.*?)"
        r"(?:\s+GROUP BY month)?",
        count,
        re.S,
    )
    deleted = re.fullmatch(
        r"DELETE FROM (\S+)\s+WHERE (.*)\s+SETTINGS lightweight_deletes_sync = 2", delete, re.S
    )
    assert counted and deleted
    assert counted.groups() == deleted.groups()


def test_the_statements_never_carry_identifiers_only_the_terms_table() -> None:
    for table in ERASED_TABLES:
        text = sql.query(f"erase_{table}")
        assert "{terms:Identifier}" in text
        assert "Array(String)" not in text  # values in the statement would stay in the mutation log
