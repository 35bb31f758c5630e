from __future__ import annotations

import io

import msgspec

from contracts.v1.audit import AuditEntry
from policies.audit import MemoryAuditStore, export_jsonl, make_entry


async def seeded() -> tuple[MemoryAuditStore, list[str]]:
    store = MemoryAuditStore()
    ids = []
    for n in range(5):
        tenant = "acme" if n % 2 == 0 else "globex"
        ids.append(
            await store.append(
                make_entry(tenant=tenant, consumer="crm-app", operation="createOrder", status=201)
            )
        )
    return store, ids


async def test_text_output_is_one_parseable_entry_per_line_oldest_first() -> None:
    store, ids = await seeded()
    out = io.StringIO()
    assert await export_jsonl(store, out) == 5
    lines = out.getvalue().splitlines()
    entries = [msgspec.json.decode(line, type=AuditEntry) for line in lines]
    assert [e.id for e in entries] == ids
    assert out.getvalue().endswith("\n")


async def test_binary_output_and_tenant_filter() -> None:
    store, ids = await seeded()
    out = io.BytesIO()
    assert await export_jsonl(store, out, tenant="acme") == 3
    entries = [
        msgspec.json.decode(line, type=AuditEntry) for line in out.getvalue().split(b"\n") if line
    ]
    assert [e.id for e in entries] == ids[0::2]
    assert {e.tenant for e in entries} == {"acme"}


async def test_an_empty_trail_writes_nothing() -> None:
    out = io.StringIO()
    assert await export_jsonl(MemoryAuditStore(), out, tenant="acme") == 0
    assert out.getvalue() == ""
