"""Starting and reading transactions, and telling a waiting one that it was paid.

Shared by the API, the inbound event routes and (later) the operations console.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from domains.errors import NotFound
from domains.ids import derived_id
from domains.quote_to_cash.clock import Clock
from domains.quote_to_cash.ports import DecisionChannel, TransactionStore
from domains.quote_to_cash.records import PaymentNotice, Transaction


class StartSignal(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: str
    tenant: str
    quote_id: str
    source: str
    traceparent: str | None
    accepted_at: str


class TransactionStarter(Protocol):
    async def start(self, signal: StartSignal) -> None:
        """Hand the transaction to a worker; starting the same id twice is one run."""
        ...


class TransactionService:
    def __init__(
        self,
        *,
        store: TransactionStore,
        starter: TransactionStarter,
        channel: DecisionChannel,
        clock: Clock,
    ) -> None:
        self._store = store
        self._starter = starter
        self._channel = channel
        self._clock = clock

    @staticmethod
    def transaction_id(tenant: str, quote_id: str) -> str:
        """One transaction per accepted quote, whoever reports the acceptance."""
        return derived_id("transaction", tenant, quote_id)

    async def accept(
        self, tenant: str, quote_id: str, *, source: str, traceparent: str | None
    ) -> tuple[Transaction, bool]:
        """Record and start the quote's transaction; (transaction, created now)."""
        transaction_id = self.transaction_id(tenant, quote_id)
        now = self._clock.now()
        transaction = Transaction(
            id=transaction_id,
            tenant=tenant,
            quote_id=quote_id,
            state="accepted",
            source=source,
            trace_id=traceparent.split("-")[1] if traceparent else None,
            accepted_at=now,
            updated_at=now,
        )
        created = await self._store.create(transaction)
        if not created:
            existing = await self._store.get(tenant, transaction_id)
            if existing is not None:
                transaction = existing
        # Always (re)start: a crash between the insert and the enqueue must not
        # strand the transaction; the engine makes a second start a no-op.
        await self.restart(transaction, traceparent)
        return transaction, created

    async def restart(self, transaction: Transaction, traceparent: str | None = None) -> None:
        """Hand ``transaction`` to a worker (again): a no-op for one already started."""
        await self._starter.start(
            StartSignal(
                transaction_id=transaction.id,
                tenant=transaction.tenant,
                quote_id=transaction.quote_id,
                source=transaction.source,
                traceparent=traceparent,
                accepted_at=transaction.accepted_at,
            )
        )

    async def get(self, tenant: str, transaction_id: str) -> Transaction:
        transaction = await self._store.get(tenant, transaction_id)
        if transaction is None:
            raise NotFound(
                f"Transaction {transaction_id} does not exist.", code="TRANSACTION_NOT_FOUND"
            )
        return transaction

    async def find(
        self, tenant: str, *, quote_id: str | None, state: str | None, offset: int, limit: int
    ) -> list[Transaction]:
        return await self._store.find(
            tenant, quote_id=quote_id, state=state, offset=offset, limit=limit
        )

    async def paid(self, tenant: str | None, notice: PaymentNotice) -> str | None:
        """Tell the invoice's transaction it was paid; its id, or None when the invoice
        belongs to no transaction. ``tenant`` None: a webhook, found by the invoice's
        canonical id alone (derived per tenant, so it names one transaction)."""
        transaction = await self._store.find_by_invoice(tenant, notice.invoice_id)
        if transaction is None:
            return None
        if not notice.received_at:
            notice = msgspec.structs.replace(notice, received_at=self._clock.now())
        await self._channel.payment(transaction.id, notice)
        return transaction.id
