"""The pure parts of erasing a person: the terms the statements read, and
the statements themselves (each table's count and delete share one condition)."""

from __future__ import annotations

import pytest

from streams.erasure.store import (
    ERASED_TABLES,
    ErasedPerson,
    condition,
    counting,
    deleting,
    erasure_terms,
)


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


@pytest.mark.parametrize("table", ERASED_TABLES)
def test_each_table_is_counted_and_deleted_with_one_condition(table: str) -> None:
    """One condition per table, in its file; the count and the delete are
    built around it (dead letters through the touchpoints' condition)."""
    where = condition(table)
    assert where and "--" not in where and ";\n" not in where
    assert f"WHERE {where}" in counting(table) and f"WHERE {where}" in deleting(table)
    assert f"FROM {{database:Identifier}}.{table} " in counting(table)
    assert deleting(table).startswith(f"DELETE FROM {{database:Identifier}}.{table} ")
    assert deleting(table).endswith("SETTINGS lightweight_deletes_sync = 2")
    if table == "deadletters":
        assert condition("touchpoints") in where


def test_the_statements_never_carry_identifiers_only_the_terms_table() -> None:
    for table in ERASED_TABLES:
        text = condition(table)
        assert "{terms:Identifier}" in text
        assert "Array(String)" not in text  # values in the statement would stay in the mutation log
