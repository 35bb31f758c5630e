"""One contract suite for the audit store port, run on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from contracts.v1.audit import AuditEntry
from contracts.v1.common import ExternalReference
from gateway.stores.sql.audit import SqlAuditStore
from gateway.stores.sql.engine import Database
from policies.audit.entry import make_entry
from policies.audit.memory import MemoryAuditStore
from policies.audit.store import AuditStore, AuditStoreError, InvalidCursor
from tests.support.servers import free_port

START = 1_767_139_200.0  # 2025-12-31T00:00:00Z


@dataclass
class Backend:
    name: str
    make: Callable[..., AuditStore]
    # Lets a few milliseconds pass: a fake clock for memory, real time for Redis ids.
    advance: Callable[[], Awaitable[None]]


def _memory() -> Backend:
    now = [START]

    async def tick() -> None:
        now[0] += 0.005

    def make_memory(max_entries: int = 1_000, max_scan: int = 5_000) -> AuditStore:
        return MemoryAuditStore(max_entries=max_entries, max_scan=max_scan, clock=lambda: now[0])

    return Backend("memory", make_memory, tick)


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return _memory()
    database = request.getfixturevalue(f"{request.param}_database")

    def make_sql(max_entries: int | None = None, max_scan: int = 5_000) -> AuditStore:
        del max_scan  # filters run in the database: every page is one indexed query
        return SqlAuditStore(database, max_entries=max_entries)

    async def pause() -> None:
        await asyncio.sleep(0.003)

    return Backend(request.param, make_sql, pause)


@pytest.fixture
def scanning_backend() -> Backend:
    """The backend that filters while scanning, under a cap (the in-process ring)."""
    return _memory()


def entry(
    tenant: str = "acme",
    consumer: str = "crm-app",
    resource_id: str | None = "ord_01JDQ2C0000000000000000000",
    status: int = 201,
) -> AuditEntry:
    return make_entry(
        tenant=tenant,
        consumer=consumer,
        operation="createOrder",
        status=status,
        method="POST",
        route="/v1/orders",
        resource_id=resource_id,
        system_refs=[ExternalReference(system="sap_s4hana", id="0000004711")],
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        idempotency_key="key-1",
    )


def moment(entry_id: str) -> datetime:
    return datetime.fromtimestamp(int(entry_id.split("-")[0]) / 1000, UTC)


async def collect(store: AuditStore, tenant: str, **filters: object) -> list[AuditEntry]:
    """Every page, following cursors."""
    result: list[AuditEntry] = []
    cursor: str | None = None
    for _ in range(1_000):
        page, cursor = await store.query(tenant, cursor=cursor, **filters)  # type: ignore[arg-type]
        result.extend(page)
        if cursor is None:
            return result
    raise AssertionError("cursor never ended")


async def test_append_returns_ids_and_query_is_newest_first(backend: Backend) -> None:
    store = backend.make()
    ids = []
    for status in (201, 200, 422):
        ids.append(await store.append(entry(status=status)))
    assert len(set(ids)) == 3
    page, cursor = await store.query("acme")
    assert cursor is None
    assert [e.id for e in page] == ids[::-1]
    assert [e.status for e in page] == [422, 200, 201]
    assert [e.outcome for e in page] == ["rejected", "succeeded", "succeeded"]
    newest = page[0]
    original = entry(status=422)
    assert newest.tenant == "acme"
    assert newest.consumer == "crm-app"
    assert newest.operation == "createOrder"
    assert newest.route == "/v1/orders"
    assert newest.system_refs == [ExternalReference(system="sap_s4hana", id="0000004711")]
    assert newest.trace_id == original.trace_id
    assert newest.idempotency_key == "key-1"
    assert newest.at.endswith("Z")


async def test_filters_by_consumer_and_resource(backend: Backend) -> None:
    store = backend.make()
    other = "ord_01JDQ2C0000000000000000001"
    await store.append(entry(consumer="crm-app"))
    await store.append(entry(consumer="partner"))
    await store.append(entry(consumer="partner", resource_id=other))
    await store.append(entry(consumer="crm-app", resource_id=None))
    by_partner, _ = await store.query("acme", consumer="partner")
    assert [e.resource_id for e in by_partner] == [other, "ord_01JDQ2C0000000000000000000"]
    by_resource, _ = await store.query("acme", resource_id=other)
    assert [(e.consumer, e.resource_id) for e in by_resource] == [("partner", other)]
    both, _ = await store.query("acme", consumer="crm-app", resource_id=other)
    assert both == []


async def test_time_range_since_inclusive_until_exclusive(backend: Backend) -> None:
    store = backend.make()
    ids = []
    for _ in range(4):
        ids.append(await store.append(entry()))
        await backend.advance()
    since, until = moment(ids[1]), moment(ids[3])
    page, cursor = await store.query("acme", since=since, until=until)
    assert [e.id for e in page] == [ids[2], ids[1]]
    assert cursor is None
    older, _ = await store.query("acme", until=since)
    assert [e.id for e in older] == [ids[0]]
    newer, _ = await store.query("acme", since=until)
    assert [e.id for e in newer] == [ids[3]]
    assert (await store.query("acme", since=until, until=since)) == ([], None)


async def test_cursor_pages_have_no_gaps_or_duplicates(backend: Backend) -> None:
    store = backend.make()
    ids = [await store.append(entry()) for _ in range(21)]
    pages = []
    cursor: str | None = None
    while True:
        page, cursor = await store.query("acme", cursor=cursor, limit=7)
        pages.append([e.id for e in page])
        if cursor is None:
            break
        assert cursor == page[-1].id
    # 21 entries in pages of 7: the third page is known to be the last.
    assert [len(p) for p in pages] == [7, 7, 7]
    assert [i for p in pages for i in p] == ids[::-1]


async def test_paging_combines_with_filters_and_appends_do_not_shift_pages(
    backend: Backend,
) -> None:
    store = backend.make()
    for n in range(12):
        await store.append(entry(consumer="partner" if n % 3 == 0 else "crm-app"))
    first, cursor = await store.query("acme", consumer="crm-app", limit=5)
    assert cursor is not None
    # New writes land above the cursor and never in a later page.
    await store.append(entry(consumer="crm-app"))
    rest, end = await store.query("acme", consumer="crm-app", cursor=cursor, limit=5)
    assert end is None
    assert len(first) == 5
    assert len(rest) == 3
    assert all(e.consumer == "crm-app" for e in first + rest)
    assert len({e.id for e in first + rest}) == 8


async def test_scan_cap_returns_a_cursor_that_resumes_without_gaps(
    scanning_backend: Backend,
) -> None:
    store = scanning_backend.make(max_scan=4)
    wanted = [await store.append(entry(tenant="small"))]
    for _ in range(9):
        await store.append(entry(tenant="big"))
    wanted.append(await store.append(entry(tenant="small")))
    for _ in range(5):
        await store.append(entry(tenant="big"))

    page, cursor = await store.query("small")
    assert page == []
    assert cursor is not None  # not the end: only 4 entries were examined
    found = await collect(store, "small", limit=10)
    assert [e.id for e in found] == wanted[::-1]


async def test_scan_cap_ending_exactly_at_the_last_entry_ends_the_list(
    scanning_backend: Backend,
) -> None:
    store = scanning_backend.make(max_scan=3)
    ids = [await store.append(entry()) for _ in range(3)]
    page, cursor = await store.query("acme", limit=10)
    assert [e.id for e in page] == ids[::-1]
    assert cursor is None


async def test_tenants_are_isolated(backend: Backend) -> None:
    store = backend.make()
    await store.append(entry(tenant="acme"))
    await store.append(entry(tenant="globex", consumer="crm-app"))
    acme = await collect(store, "acme")
    globex = await collect(store, "globex", consumer="crm-app")
    assert [e.tenant for e in acme] == ["acme"]
    assert [e.tenant for e in globex] == ["globex"]
    assert await collect(store, "initech") == []


async def test_retention_drops_the_oldest_entries(backend: Backend) -> None:
    store = backend.make(max_entries=10)
    ids = [await store.append(entry()) for _ in range(250)]
    kept = [e.id async for e in store.export(None)]
    assert kept == ids[len(ids) - len(kept) :]  # the newest, in order
    if backend.name == "memory":
        assert len(kept) == 10
    else:
        # The database is trimmed every so many appends: about, never fewer than, the cap.
        assert 10 <= len(kept) <= 20


async def test_export_is_oldest_first_per_tenant_or_all(backend: Backend) -> None:
    store = backend.make()
    ids = []
    for n in range(7):
        ids.append(await store.append(entry(tenant="acme" if n % 2 == 0 else "globex")))
        await backend.advance()
    every = [e async for e in store.export(None)]
    assert [e.id for e in every] == ids
    acme = [e.id async for e in store.export("acme")]
    assert acme == ids[0::2]
    window = [e.id async for e in store.export(None, moment(ids[2]), moment(ids[5]))]
    assert window == ids[2:5]


async def test_export_reads_past_one_batch(backend: Backend) -> None:
    store = backend.make(max_entries=2_000)
    ids = [await store.append(entry()) for _ in range(1_100)]
    assert [e.id async for e in store.export("acme")] == ids


@pytest.mark.parametrize("cursor", ["nope", "12-", "-1", "1" * 16 + "-0"])
async def test_a_foreign_cursor_is_invalid(backend: Backend, cursor: str) -> None:
    store = backend.make()
    with pytest.raises(InvalidCursor):
        await store.query("acme", cursor=cursor)


async def test_an_unreachable_database_is_the_port_error() -> None:
    database = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    store = SqlAuditStore(database)
    try:
        with pytest.raises(AuditStoreError):
            await store.append(entry())
        with pytest.raises(AuditStoreError):
            await store.query("acme")
        with pytest.raises(AuditStoreError):
            [e async for e in store.export(None)]
    finally:
        await database.dispose()


async def test_the_database_keeps_the_whole_trail_unless_a_maximum_is_set(
    sql_database: Database,
) -> None:
    store = SqlAuditStore(sql_database)
    ids = [await store.append(entry()) for _ in range(30)]
    assert [e.id async for e in store.export(None)] == ids
