"""Fault tests: real processes killed, paused and restarted (issue 13's fault suite).

Each test prints one line of figures (requests, faults injected, duplicate effects in
the systems of record, 5xx) and asserts: no 500, exactly one effect per canonical id,
no canonical id changed, tenancy intact.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from gateway.stores.sql import migrate
from tests.conftest import REDIS_URL
from tests.support.databases import scratch_database
from tests.support.processes import ServerProcess, running, sandbox


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def salesforce() -> Iterator[ServerProcess]:
    server = sandbox("salesforce")
    with running(server):
        yield server


@pytest.fixture
def database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own on the shared server."""
    with scratch_database("q2c_faults") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
def shared_redis_prefix() -> Iterator[str]:
    """A key prefix on the shared Redis (rate limits, caches), deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"q2c-test:faults-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
