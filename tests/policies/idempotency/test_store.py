"""One contract suite for the idempotency store port, run on every backend: memory, and
the gateway's database on SQLite and on PostgreSQL (where the records really live, so
a Redis flush or a restart loses none)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from gateway.stores.sql.engine import Database
from gateway.stores.sql.idempotency import SqlIdempotencyStore
from policies.idempotency.memory import MemoryIdempotencyStore
from policies.idempotency.store import IdempotencyStore, IdempotencyStoreError, StoredResponse
from tests.support.servers import free_port

RESPONSE = StoredResponse(
    201,
    [("content-type", "application/json"), ("location", "/v1/orders/ord_1")],
    b'{"id":"ord_1","note":"\xc3\xa9\x00binary-safe"}',
)
LEASE = 0.3
RETENTION = 0.3


@dataclass
class Backend:
    store: IdempotencyStore
    # Lets time pass: a fake clock for memory, real time for Redis TTLs.
    advance: Callable[[float], Awaitable[None]]


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        now = [1_000.0]

        async def tick(seconds: float) -> None:
            now[0] += seconds

        return Backend(MemoryIdempotencyStore(clock=lambda: now[0]), tick)
    database = request.getfixturevalue(f"{request.param}_database")
    return Backend(SqlIdempotencyStore(database), asyncio.sleep)


async def test_first_begin_is_new_and_a_concurrent_one_is_in_flight(backend: Backend) -> None:
    store = backend.store
    assert (await store.begin("k", "fp", "owner-a", LEASE)).outcome == "new"
    busy = await store.begin("k", "fp", "owner-b", LEASE)
    assert busy.outcome == "in_flight"
    # What a retry should wait: the rest of the running request's lease.
    assert busy.lease_remaining is not None
    assert 0 < busy.lease_remaining <= LEASE


async def test_concurrent_begins_have_one_winner(backend: Backend) -> None:
    results = await asyncio.gather(
        *(backend.store.begin("k", "fp", f"owner-{n}", 5) for n in range(12))
    )
    assert sorted(r.outcome for r in results) == ["in_flight"] * 11 + ["new"]


async def test_completed_record_is_replayed_byte_for_byte(backend: Backend) -> None:
    store = backend.store
    await store.begin("k", "fp", "owner-a", LEASE)
    assert await store.complete("k", "owner-a", RESPONSE, 60)
    result = await store.begin("k", "fp", "owner-b", LEASE)
    assert result.outcome == "completed"
    assert result.response == RESPONSE


async def test_other_fingerprint_is_a_mismatch_in_flight_and_completed(backend: Backend) -> None:
    store = backend.store
    await store.begin("k", "fp", "owner-a", LEASE)
    assert (await store.begin("k", "other", "owner-b", LEASE)).outcome == "mismatch"
    await store.complete("k", "owner-a", RESPONSE, 60)
    assert (await store.begin("k", "other", "owner-b", LEASE)).outcome == "mismatch"


async def test_keys_are_independent(backend: Backend) -> None:
    store = backend.store
    assert (await store.begin("k1", "fp", "owner-a", LEASE)).outcome == "new"
    assert (await store.begin("k2", "fp", "owner-b", LEASE)).outcome == "new"


async def test_expired_lease_lets_a_retry_take_over(backend: Backend) -> None:
    store = backend.store
    await store.begin("k", "fp", "owner-a", LEASE)
    await backend.advance(LEASE + 0.2)
    assert (await store.begin("k", "fp", "owner-b", LEASE)).outcome == "new"
    # The first owner finishing late must neither store its response nor free the key.
    assert not await store.complete("k", "owner-a", RESPONSE, 60)
    await store.release("k", "owner-a")
    assert (await store.begin("k", "fp", "owner-c", LEASE)).outcome == "in_flight"
    assert await store.complete("k", "owner-b", RESPONSE, 60)


async def test_release_frees_the_key_only_for_its_owner(backend: Backend) -> None:
    store = backend.store
    await store.begin("k", "fp", "owner-a", LEASE)
    await store.release("k", "intruder")
    assert (await store.begin("k", "fp", "owner-b", LEASE)).outcome == "in_flight"
    await store.release("k", "owner-a")
    assert (await store.begin("k", "fp", "owner-b", LEASE)).outcome == "new"


async def test_release_never_drops_a_completed_record(backend: Backend) -> None:
    store = backend.store
    await store.begin("k", "fp", "owner-a", LEASE)
    await store.complete("k", "owner-a", RESPONSE, 60)
    await store.release("k", "owner-a")
    assert (await store.begin("k", "fp", "owner-b", LEASE)).outcome == "completed"


async def test_complete_only_by_owner_and_only_once(backend: Backend) -> None:
    store = backend.store
    assert not await store.complete("missing", "owner-a", RESPONSE, 60)
    await store.begin("k", "fp", "owner-a", LEASE)
    assert not await store.complete("k", "intruder", RESPONSE, 60)
    assert (await store.begin("k", "fp", "owner-b", LEASE)).outcome == "in_flight"
    assert await store.complete("k", "owner-a", RESPONSE, 60)
    other = StoredResponse(500, [], b"")
    assert not await store.complete("k", "owner-a", other, 60)
    assert (await store.begin("k", "fp", "owner-b", LEASE)).response == RESPONSE


async def test_completed_record_outlives_the_lease_and_expires_after_retention(
    backend: Backend,
) -> None:
    store = backend.store
    await store.begin("k", "fp", "owner-a", 0.1)
    assert await store.complete("k", "owner-a", RESPONSE, RETENTION + 0.3)
    await backend.advance(0.3)
    assert (await store.begin("k", "fp", "owner-b", LEASE)).outcome == "completed"
    await backend.advance(RETENTION + 0.1)
    assert (await store.begin("k", "fp", "owner-b", LEASE)).outcome == "new"


async def test_an_unreachable_database_is_the_port_error(tmp_path: object) -> None:
    database = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    store = SqlIdempotencyStore(database)
    try:
        with pytest.raises(IdempotencyStoreError):
            await store.begin("k", "fp", "owner-a", LEASE)
    finally:
        await database.dispose()
