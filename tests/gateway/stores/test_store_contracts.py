"""One contract suite per port (crosswalk, record owners), run on every backend.

Backends: the in-process dicts, the database on SQLite and on PostgreSQL, and the
read-through caches in front of the database, with and without Redis, since that is
what the gateway's services really talk to.
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from domains.crosswalk import CrosswalkConflict
from domains.tenancy import CrosswalkFactory, RecordOwners
from gateway.stores.cache import CachedCrosswalks, CachedRecordOwners, RedisCache
from gateway.stores.memory import MemoryCrosswalks, MemoryRecordOwners
from gateway.stores.sql.crosswalk import SqlCrosswalks, SqlRecordOwners
from gateway.stores.sql.engine import Database

BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    "sqlite+memory-cache",
    pytest.param("postgres+redis-cache", marks=[pytest.mark.postgres, pytest.mark.redis]),
]


def _database(request: pytest.FixtureRequest, name: str) -> Database:
    database: Database = request.getfixturevalue(f"{name.split('+')[0]}_database")
    return database


def _cache(request: pytest.FixtureRequest, name: str) -> RedisCache | None:
    if not name.endswith("redis-cache"):
        return None
    client: aioredis.Redis = request.getfixturevalue("redis_client")
    return RedisCache(client, request.getfixturevalue("redis_prefix"))


# Plain (sync) fixtures: the async database and Redis fixtures are only requested for
# the backends that need them, so the memory runs need no server.
@pytest.fixture(params=BACKENDS)
def crosswalks(request: pytest.FixtureRequest) -> CrosswalkFactory:
    name: str = request.param
    if name == "memory":
        return MemoryCrosswalks()
    durable = SqlCrosswalks(_database(request, name))
    if "+" not in name:
        return durable
    return CachedCrosswalks(durable, _cache(request, name))


@pytest.fixture(params=BACKENDS)
def owners(request: pytest.FixtureRequest) -> RecordOwners:
    name: str = request.param
    if name == "memory":
        return MemoryRecordOwners()
    durable = SqlRecordOwners(_database(request, name))
    if "+" not in name:
        return durable
    return CachedRecordOwners(durable, _cache(request, name))


async def test_ensure_mints_once_per_system_record(crosswalks: CrosswalkFactory) -> None:
    xw = crosswalks("t1")
    first = await xw.ensure("product", "sap", "Q2C-1001")
    assert first.startswith("prd_")
    assert await xw.ensure("product", "sap", "Q2C-1001") == first
    assert await xw.ensure("product", "sap", "Q2C-1002") != first
    assert await xw.system_ids(first) == {"sap": "Q2C-1001"}
    assert await xw.canonical_id("product", "sap", "Q2C-1001") == first


async def test_concurrent_ensure_agrees_on_one_id(crosswalks: CrosswalkFactory) -> None:
    xw = crosswalks("t1")
    ids = await asyncio.gather(*(xw.ensure("order", "sap", "5000001") for _ in range(20)))
    assert len(set(ids)) == 1


async def test_kinds_do_not_collide(crosswalks: CrosswalkFactory) -> None:
    xw = crosswalks("t1")
    customer = await xw.ensure("customer", "sap", "1000100")
    order = await xw.ensure("order", "sap", "1000100")
    assert customer != order


async def test_link_joins_systems_and_refuses_a_taken_id(crosswalks: CrosswalkFactory) -> None:
    xw = crosswalks("t1")
    customer = await xw.ensure("customer", "salesforce", "001A")
    await xw.link(customer, "sap", "1000100")
    await xw.link(customer, "sap", "1000100")  # idempotent
    assert await xw.system_ids(customer) == {"salesforce": "001A", "sap": "1000100"}
    other = await xw.ensure("customer", "salesforce", "001B")
    with pytest.raises(CrosswalkConflict) as info:
        await xw.link(other, "sap", "1000100")
    assert info.value.existing == customer


async def test_tenants_have_separate_namespaces(crosswalks: CrosswalkFactory) -> None:
    a = await crosswalks("acme").ensure("customer", "salesforce", "001A")
    b = await crosswalks("globex").ensure("customer", "salesforce", "001A")
    assert a != b
    assert await crosswalks("globex").system_ids(a) == {}


async def test_annotations(crosswalks: CrosswalkFactory) -> None:
    xw = crosswalks("t1")
    await xw.annotate("ord_01ARZ3NDEKTSV4RRFFQ69G5FAV", {"quote_id": "quo_1"})
    await xw.annotate("ord_01ARZ3NDEKTSV4RRFFQ69G5FAV", {"legal_entity": "ACME-US"})
    assert await xw.annotations("ord_01ARZ3NDEKTSV4RRFFQ69G5FAV") == {
        "quote_id": "quo_1",
        "legal_entity": "ACME-US",
    }
    assert await xw.annotations("ord_01ARZ3NDEKTSV4RRFFQ69G5FAW") == {}


async def test_identity_claims_are_all_or_nothing(crosswalks: CrosswalkFactory) -> None:
    xw = crosswalks("")
    assert await xw.claim_identity(["tax:DE1", "name:DE:a"], "cus_A") is None
    assert await xw.claim_identity(["name:DE:b", "tax:DE1"], "cus_B") == "cus_A"
    # The loser holds nothing afterwards.
    assert await xw.claim_identity(["name:DE:b"], "cus_C") is None
    await xw.release_identity(["tax:DE1", "name:DE:a"], "cus_B")  # not the holder: no-op
    assert await xw.claim_identity(["tax:DE1"], "cus_D") == "cus_A"
    await xw.release_identity(["tax:DE1", "name:DE:a"], "cus_A")
    assert await xw.claim_identity(["tax:DE1"], "cus_D") is None


async def test_owners_first_claim_wins(owners: RecordOwners) -> None:
    assert await owners.claim("customer", "salesforce", "001A", "acme") == "acme"
    assert await owners.claim("customer", "salesforce", "001A", "globex") == "acme"
    assert await owners.owners("customer", "salesforce", ["001A", "001B"]) == {"001A": "acme"}
    assert await owners.owners("order", "salesforce", ["001A"]) == {}
    assert await owners.owners("customer", "salesforce", []) == {}



async def test_link_with_facts_annotates_in_the_same_write(crosswalks: CrosswalkFactory) -> None:
    xw = crosswalks("t1")
    order = "ord_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    await xw.link(order, "sap", "5000001", {"quote_id": "quo_1", "legal_entity": "ACME-US"})
    assert await xw.system_ids(order) == {"sap": "5000001"}
    assert await xw.annotations(order) == {"quote_id": "quo_1", "legal_entity": "ACME-US"}
    other = "ord_01ARZ3NDEKTSV4RRFFQ69G5FAW"
    with pytest.raises(CrosswalkConflict):
        await xw.link(other, "sap", "5000001", {"quote_id": "quo_2"})
    assert await xw.annotations(other) == {}  # a refused link attaches nothing


async def test_a_canonical_id_keeps_its_first_system_id(crosswalks: CrosswalkFactory) -> None:
    xw = crosswalks("t1")
    customer = "cus_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    await xw.link(customer, "sap", "1000100")
    await xw.link(customer, "sap", "1000200")
    assert await xw.system_ids(customer) == {"sap": "1000100"}


async def test_concurrent_links_of_one_system_id_have_one_winner(
    crosswalks: CrosswalkFactory,
) -> None:
    xw = crosswalks("t1")
    ids = [f"ord_01ARZ3NDEKTSV4RRFFQ69G5F{n:02d}" for n in range(10)]

    async def link(canonical_id: str) -> str:
        try:
            await xw.link(canonical_id, "sap", "5000009")
        except CrosswalkConflict as conflict:
            return conflict.existing
        return canonical_id

    winners = await asyncio.gather(*(link(i) for i in ids))
    assert len(set(winners)) == 1
    assert await xw.canonical_id("order", "sap", "5000009") == winners[0]


async def test_concurrent_identity_claims_have_one_winner(crosswalks: CrosswalkFactory) -> None:
    xw = crosswalks("")
    keys = [["tax:DE9", "name:DE:x"], ["name:DE:x", "tax:DE9"]] * 5
    results = await asyncio.gather(
        *(xw.claim_identity(k, f"cus_{n}") for n, k in enumerate(keys))
    )
    assert results.count(None) == 1
    winner = f"cus_{results.index(None)}"
    assert {r for r in results if r is not None} == {winner}


async def test_concurrent_owner_claims_have_one_winner(owners: RecordOwners) -> None:
    tenants = [f"tenant-{n}" for n in range(10)]
    results = await asyncio.gather(*(owners.claim("order", "sap", "42", t) for t in tenants))
    assert len(set(results)) == 1
    assert await owners.owners("order", "sap", ["42"]) == {"42": results[0]}
