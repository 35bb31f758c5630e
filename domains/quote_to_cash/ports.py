"""What the quote-to-cash transaction needs from storage, the engine and the CRM."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from domains.quote_to_cash.records import (
    ExceptionItem,
    StepEntry,
    Transaction,
    TransactionState,
)


class QuoteProgressSink(Protocol):
    async def write_back(
        self,
        quote_system_id: str,
        *,
        transaction_id: str,
        order_number: str,
        invoice_number: str,
        payment_status: str,
        stage: str,
    ) -> bool: ...


class CanonicalEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A business event of a transaction, before it is framed as a CloudEvent."""

    id: str  # evt_..., stable across re-runs of the step that emits it
    type: str  # com.q2c.order.accepted
    tenant: str
    transaction_id: str
    subject: str  # the record it is about (ord_..., inv_...)
    time: str
    data: dict[str, Any]
    traceparent: str | None = None


class TransactionChange(msgspec.Struct, frozen=True, kw_only=True):
    """One step's outcome, written atomically: timeline entry, transaction fields,
    events."""

    tenant: str
    transaction_id: str
    entry: StepEntry | None = None
    state: TransactionState | None = None
    fields: dict[str, Any] = {}
    events: list[CanonicalEvent] = []
    exception: ExceptionItem | None = None


class ExceptionFilter(msgspec.Struct, frozen=True, kw_only=True):
    kind: str | None = None
    error_class: str | None = None
    owner: str | None = None
    state: str | None = None
    legal_entity: str | None = None
    older_than_seconds: float | None = None
    transaction_id: str | None = None
    # Any of these teams / states (None: no restriction); an operator's queue is the
    # teams they belong to, "active" is open or assigned.
    owners: tuple[str, ...] | None = None
    states: tuple[str, ...] | None = None
    # The quote total the exception is about, inclusive bounds (decimal text); items
    # whose amount is not known never match a bound.
    min_amount: str | None = None
    max_amount: str | None = None


class TransactionStore(Protocol):
    async def create(self, transaction: Transaction) -> bool:
        """Record a new transaction; False when it exists already."""
        ...

    async def get(self, tenant: str, transaction_id: str) -> Transaction | None: ...

    async def find(
        self, tenant: str, *, quote_id: str | None, state: str | None, offset: int, limit: int
    ) -> list[Transaction]: ...

    async def find_by_invoice(self, tenant: str | None, invoice_id: str) -> Transaction | None: ...

    async def apply(self, change: TransactionChange) -> None: ...

    async def exceptions(
        self, tenant: str, where: ExceptionFilter, offset: int, limit: int
    ) -> list[ExceptionItem]: ...

    async def exception(self, tenant: str, exception_id: str) -> ExceptionItem | None: ...

    async def exception_counts(self, tenant: str, where: ExceptionFilter) -> dict[str, int]:
        """Matching items per owning team."""
        ...

    async def exception_activity(
        self, tenant: str, where: ExceptionFilter, since: str
    ) -> list[tuple[str, int, int]]:
        """(UTC day, opened, closed) per day since ``since``, oldest first."""
        ...

    async def save_exception(self, item: ExceptionItem, *, touch_transaction: bool) -> None:
        """Persist an operator's change (state, comment, action)."""
        ...

    async def events_after(
        self, tenant: str, after: int, limit: int
    ) -> list[tuple[int, CanonicalEvent]]: ...

    async def events_of(
        self, tenant: str, transaction_id: str, limit: int
    ) -> list[tuple[int, CanonicalEvent]]: ...

    async def all_for_sla(self, tenant: str, since: str) -> list[Transaction]: ...


class EventStream(Protocol):
    """The delivery channel of canonical events (a Redis Stream per tenant)."""

    async def publish(self, events: list[CanonicalEvent]) -> None: ...


class DecisionChannel(Protocol):
    """How an operator's decision or a payment reaches a waiting transaction."""

    async def decide(self, transaction_id: str, decision: Any) -> None: ...

    async def payment(self, transaction_id: str, notice: Any) -> None: ...
