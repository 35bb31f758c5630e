"""A store seeded with stopped transactions for the console's page tests (signing in is
tests/console/support.py's)."""

from __future__ import annotations

from typing import Any

from domains.quote_to_cash.clock import rfc3339
from domains.quote_to_cash.ports import CanonicalEvent, TransactionChange
from domains.quote_to_cash.records import ExceptionItem, Finding, StepEntry, Transaction
from gateway.flow.store import SqlTransactionStore


def exception_item(
    tenant: str,
    number: int,
    *,
    owner: str,
    error_class: str,
    code: str,
    at: str,
    state: str = "open",
    amount: str | None = "1200.00",
    kind: str = "exception",
) -> tuple[Transaction, list[TransactionChange]]:
    """A transaction that stopped at validation with one exception (and one event)."""
    txid = f"txn_{tenant[:2].upper()}{number:024d}"
    quote = f"quo_{tenant[:2].upper()}{number:024d}"
    record = Transaction(id=txid, tenant=tenant, quote_id=quote, state="running",
                         trace_id=f"{number:032x}", accepted_at=at, updated_at=at)
    item = ExceptionItem(
        id=f"exc_{tenant[:2].upper()}{number:024d}", tenant=tenant, transaction_id=txid,
        kind=kind, step="validate", error_class=error_class, code=code,  # type: ignore[arg-type]
        detail=f"{code} on quote {quote}", owner=owner, state=state,  # type: ignore[arg-type]
        findings=[Finding(check="price", error_class=error_class, code=code,
                          message="quoted 80.00, the price book gives 100.00",
                          field="lines[0].unit_price")],
        errors=[{"class": error_class, "code": code, "detail": "", "system": "salesforce"}],
        context={"quote_id": quote, "edits": {}}, created_at=at, updated_at=at,
        amount=amount, currency="EUR" if amount else None,
    )  # fmt: skip
    accepted = CanonicalEvent(
        id=f"evt_{tenant[:2].upper()}{number:024d}", type="com.q2c.quote.accepted",
        tenant=tenant, transaction_id=txid, subject=quote, time=at,
        data={"transaction_id": txid, "quote_id": quote, "source": "api"},
        traceparent=f"00-{number:032x}-{number:016x}-01",
    )  # fmt: skip
    changes = [
        TransactionChange(
            tenant=tenant, transaction_id=txid, state="exception",
            entry=StepEntry(step="validate", status="failed", system="salesforce",
                            system_ids={"quote": "0Q0000000000001AAA"}, started_at=at,
                            ended_at=at, detail=f"exception {item.id} -> {owner}",
                            error={"class": error_class, "code": code, "detail": "",
                                   "system": "salesforce"}),
            fields={"entry_key": "1:validate"}, events=[accepted], exception=item,
        )
    ]  # fmt: skip
    return record, changes


async def seed(store: SqlTransactionStore, *rows: tuple[Transaction, list[Any]]) -> None:
    await store.load([r for r, _ in rows], [c for _, cs in rows for c in cs])


def now() -> str:
    from datetime import UTC, datetime

    return rfc3339(datetime.now(UTC))
