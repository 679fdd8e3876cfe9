"""Fixtures of the integration tests: a real tansu broker for the session and
an embedded ClickHouse per test. Every test here is marked `integration`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.clickhouse.client import Store
from streams.clickhouse.migrate import migrate
from streams.dev.broker import LocalBroker
from tests.integration.harness import DATABASE, migrated_copy


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    with LocalBroker(log_path=log) as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An embedded ClickHouse in this test's folder. chdb allows one data
    directory per process at a time, so every test closes its client."""
    opened = Store(f"chdb://{tmp_path / 'clickhouse'}", DATABASE)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with every migration applied, made once: migrating
    an empty directory takes about a second on chdb, copying this one a few
    milliseconds (chdb's links inside it are relative)."""
    folder = tmp_path_factory.mktemp("migrated") / "clickhouse"
    template = Store(f"chdb://{folder}", DATABASE)
    try:
        migrate(template)
    finally:
        template.close()
    return folder


@pytest.fixture
def migrated(tmp_path: Path, migrated_template: Path) -> Iterator[Store]:
    """`store`, with every migration applied (from the session's template)."""
    copy = migrated_copy(migrated_template, tmp_path / "clickhouse")
    try:
        yield copy
    finally:
        copy.close()
