"""One contract suite per port, run against the memory and the real Redis backends."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from domains.crosswalk import CrosswalkConflict
from domains.tenancy import CrosswalkFactory, RecordOwners
from gateway.stores.crosswalk import (
    MemoryCrosswalks,
    MemoryRecordOwners,
    RedisCrosswalks,
    RedisRecordOwners,
)

BACKENDS = ["memory", "redis"]


# Plain (sync) fixtures: the async Redis fixtures are only requested for the
# Redis backend, so the memory runs need no server.
@pytest.fixture(params=BACKENDS)
def crosswalks(request: pytest.FixtureRequest) -> CrosswalkFactory:
    if request.param == "memory":
        return MemoryCrosswalks()
    client: aioredis.Redis = request.getfixturevalue("redis_client")
    return RedisCrosswalks(client, request.getfixturevalue("redis_prefix"))


@pytest.fixture(params=BACKENDS)
def owners(request: pytest.FixtureRequest) -> RecordOwners:
    if request.param == "memory":
        return MemoryRecordOwners()
    client: aioredis.Redis = request.getfixturevalue("redis_client")
    return RedisRecordOwners(client, request.getfixturevalue("redis_prefix"))


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

