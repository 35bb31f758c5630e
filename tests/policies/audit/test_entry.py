from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from contracts.v1.audit import AuditEntry
from policies.audit import MemoryAuditStore, make_entry, outcome_of, record
from policies.audit.store import AuditStoreError
from tests.policies.audit.support import BrokenStore


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "succeeded"),
        (204, "succeeded"),
        (400, "rejected"),
        (499, "rejected"),
        (500, "failed"),
        (504, "failed"),
    ],
)
def test_outcome_by_status_class(status: int, outcome: str) -> None:
    assert outcome_of(status) == outcome


def test_entries_always_fit_the_wire_schema() -> None:
    entry = make_entry(
        tenant="t" * 100,
        consumer="c" * 300,
        operation="o" * 200,
        status=201,
        route="/" * 600,
        resource_id="r" * 100,
        trace_id="f" * 100,
        idempotency_key="k" * 400,
        at=datetime(2026, 11, 27, 4, 13, 23, 120_000, tzinfo=UTC),
    )
    wire = msgspec.json.encode(entry)
    decoded = msgspec.json.decode(wire, type=AuditEntry)  # constraints checked here
    assert decoded.at == "2026-11-27T04:13:23.120Z"
    assert len(decoded.tenant) == 64


async def test_record_appends_for_non_http_writers() -> None:
    store = MemoryAuditStore()
    entry = make_entry(
        tenant="acme",
        consumer="worker",
        operation="replayDeadLetter",
        status=202,
        resource_id="evt-1",
    )
    entry_id = await record(store, entry)
    [stored], _ = await store.query("acme")
    assert stored.id == entry_id
    assert stored.operation == "replayDeadLetter"


async def test_record_never_raises_and_reports_the_error() -> None:
    errors: list[Exception] = []
    failure = AuditStoreError("down")
    entry = make_entry(tenant="acme", consumer="worker", operation="resolveException", status=200)
    assert await record(BrokenStore(failure), entry, on_error=errors.append) is None
    assert errors == [failure]
