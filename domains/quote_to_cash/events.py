"""The canonical business events a transaction emits, by name."""

from __future__ import annotations

from typing import Any

import msgspec

from contracts.events import EVENT_DATA
from domains.ids import derived_id
from domains.quote_to_cash.ports import CanonicalEvent

PREFIX = "com.q2c."
QUOTE_ACCEPTED = PREFIX + "quote.accepted"
CUSTOMER_VALIDATED = PREFIX + "customer.validated"
ORDER_ACCEPTED = PREFIX + "order.accepted"
FULFILLMENT_COMPLETED = PREFIX + "fulfillment.completed"
INVOICE_GENERATED = PREFIX + "invoice.generated"
PAYMENT_RECEIVED = PREFIX + "payment.received"
TRANSACTION_COMPLETED = PREFIX + "transaction.completed"
# Failure events
EXCEPTION_RAISED = PREFIX + "transaction.exception_raised"
DEAD_LETTERED = PREFIX + "transaction.dead_lettered"
NEEDS_ATTENTION = PREFIX + "transaction.needs_attention"
COMPENSATED = PREFIX + "transaction.compensated"
TRANSACTION_CANCELLED = PREFIX + "transaction.cancelled"

TYPES: tuple[str, ...] = (
    QUOTE_ACCEPTED,
    CUSTOMER_VALIDATED,
    ORDER_ACCEPTED,
    FULFILLMENT_COMPLETED,
    INVOICE_GENERATED,
    PAYMENT_RECEIVED,
    TRANSACTION_COMPLETED,
    EXCEPTION_RAISED,
    DEAD_LETTERED,
    NEEDS_ATTENTION,
    COMPENSATED,
    TRANSACTION_CANCELLED,
)


def check(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as the documented contract of ``kind`` has it (fails on drift)."""
    struct, _ = EVENT_DATA[kind]
    checked: dict[str, Any] = msgspec.to_builtins(msgspec.convert(data, struct))
    return checked


def event(
    kind: str,
    *,
    tenant: str,
    transaction_id: str,
    subject: str,
    time: str,
    data: dict[str, Any],
    traceparent: str | None,
    occurrence: str = "",
) -> CanonicalEvent:
    """An event whose id is fixed by what it reports, so a re-run step emits the
    same id and consumers de-duplicate it."""
    return CanonicalEvent(
        id=derived_id("event", tenant, transaction_id, kind, subject, occurrence),
        type=kind,
        tenant=tenant,
        transaction_id=transaction_id,
        subject=subject,
        time=time,
        data=check(kind, data),
        traceparent=traceparent,
    )
