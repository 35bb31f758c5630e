"""The transactions, their timeline, exceptions and events in the gateway's database.

Each step's outcome is one database transaction (timeline entry, transaction
fields, exception, events), so what the API shows never has half a step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.quote_to_cash.clock import rfc3339
from domains.quote_to_cash.ports import (
    CanonicalEvent,
    ExceptionFilter,
    TransactionChange,
)
from domains.quote_to_cash.records import (
    CLOSED_EXCEPTION_STATES,
    ActionEntry,
    Comment,
    ExceptionItem,
    Finding,
    StepEntry,
    Transaction,
)
from gateway.flow import tables
from gateway.stores.sql.engine import Database, insert

_TX_FIELDS = [str(c.name) for c in tables.transactions.columns]


class SqlTransactionStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    def _insert(self, table: sa.Table) -> Any:
        return insert(self._db, table)

    async def create(self, transaction: Transaction) -> bool:
        values = {k: v for k, v in msgspec.structs.asdict(transaction).items() if k in _TX_FIELDS}
        statement = self._insert(tables.transactions).values(**values)
        statement = statement.on_conflict_do_nothing(index_elements=["id"]).returning(
            tables.transactions.c.id
        )
        async with self._db.writing() as conn:
            inserted = (await conn.execute(statement)).first()
        return inserted is not None

    async def get(self, tenant: str, transaction_id: str) -> Transaction | None:
        async with self._db.reading() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(tables.transactions).where(
                            tables.transactions.c.id == transaction_id,
                            tables.transactions.c.tenant == tenant,
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            timeline = (
                (
                    await conn.execute(
                        sa.select(tables.steps)
                        .where(tables.steps.c.transaction_id == transaction_id)
                        .order_by(tables.steps.c.position)
                    )
                )
                .mappings()
                .all()
            )
        transaction = _transaction(row)
        transaction.timeline = [_entry(r) for r in timeline]
        return transaction

    async def find(
        self, tenant: str, *, quote_id: str | None, state: str | None, offset: int, limit: int
    ) -> list[Transaction]:
        t = tables.transactions
        query = sa.select(t).where(t.c.tenant == tenant)
        if quote_id is not None:
            query = query.where(t.c.quote_id == quote_id)
        if state is not None:
            query = query.where(t.c.state == state)
        query = query.order_by(t.c.accepted_at.desc(), t.c.id).offset(offset).limit(limit)
        async with self._db.reading() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_transaction(r) for r in rows]

    async def stranded(self, before: str, limit: int) -> list[Transaction]:
        """Transactions of any tenant still `accepted` with no change since ``before``
        (RFC 3339, as the store writes it), oldest first."""
        t = tables.transactions
        query = (
            sa.select(t)
            .where(t.c.state == "accepted", t.c.updated_at < before)
            .order_by(t.c.updated_at, t.c.id)
            .limit(limit)
        )
        async with self._db.reading() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_transaction(r) for r in rows]

    async def find_by_invoice(self, tenant: str | None, invoice_id: str) -> Transaction | None:
        t = tables.transactions
        query = sa.select(t).where(t.c.invoice_id == invoice_id)
        if tenant is not None:
            query = query.where(t.c.tenant == tenant)
        async with self._db.reading() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _transaction(row) if row is not None else None

    async def apply(self, change: TransactionChange) -> None:
        async with self._db.writing() as conn:
            await self._apply(conn, change)

    async def load(
        self, transactions: Sequence[Transaction], changes: Sequence[TransactionChange]
    ) -> None:
        """Bulk load: record ``transactions`` and apply ``changes`` in one database
        transaction, as ``create`` and ``apply`` would one by one (a seeded store for
        benchmarks and demos)."""
        rows = [
            {k: v for k, v in msgspec.structs.asdict(t).items() if k in _TX_FIELDS}
            for t in transactions
        ]
        async with self._db.writing() as conn:
            if rows:
                await conn.execute(
                    self._insert(tables.transactions)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["id"])
                )
            for change in changes:
                await self._apply(conn, change)

    async def _apply(self, conn: AsyncConnection, change: TransactionChange) -> None:
        t = tables.transactions
        values: dict[str, Any] = dict(change.fields)
        now = rfc3339(datetime.now(UTC))
        if change.entry is not None:
            entry = change.entry
            key = values.pop("entry_key", None) or f"{entry.step}:{entry.started_at}"
            await conn.execute(
                self._insert(tables.steps)
                .values(
                    transaction_id=change.transaction_id,
                    entry_key=key,
                    step=entry.step,
                    status=entry.status,
                    system=entry.system,
                    system_ids=entry.system_ids,
                    attempts=entry.attempts,
                    started_at=entry.started_at,
                    ended_at=entry.ended_at,
                    detail=entry.detail,
                    error=entry.error,
                )
                .on_conflict_do_nothing(index_elements=["transaction_id", "entry_key"])
            )
        if change.state is not None:
            values["state"] = change.state
        if change.exception is not None:
            item = change.exception
            await conn.execute(
                self._insert(tables.exceptions)
                .values(**_exception_values(item))
                .on_conflict_do_nothing(index_elements=["id"])
            )
            values["had_exception"] = True
            values["order_fallout"] = sa.case(
                (t.c.ordered_at.is_(None), sa.true()), else_=t.c.order_fallout
            )
        values.setdefault("updated_at", now)
        await conn.execute(
            sa.update(t)
            .where(t.c.id == change.transaction_id, t.c.tenant == change.tenant)
            .values(**values)
        )
        if change.events:
            await conn.execute(
                self._insert(tables.events)
                .values([_event_values(e) for e in change.events])
                .on_conflict_do_nothing(index_elements=["id"])
            )

    async def exceptions(
        self, tenant: str, where: ExceptionFilter, offset: int, limit: int
    ) -> list[ExceptionItem]:
        e = tables.exceptions
        query = _where(sa.select(e), tenant, where)
        query = query.order_by(e.c.created_at, e.c.id).offset(offset).limit(limit)
        async with self._db.reading() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_exception(r) for r in rows]

    async def exception_counts(self, tenant: str, where: ExceptionFilter) -> dict[str, int]:
        """How many items match ``where``, per owning team."""
        e = tables.exceptions
        query = _where(sa.select(e.c.owner, sa.func.count()), tenant, where).group_by(e.c.owner)
        async with self._db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return {str(owner): int(count) for owner, count in rows}

    async def exception_activity(
        self, tenant: str, where: ExceptionFilter, since: str
    ) -> list[tuple[str, int, int]]:
        """Per UTC day since ``since``: (day, items opened, items closed), where an item
        is closed on the day of its last change once resolved or dismissed."""
        e = tables.exceptions
        opened_day = sa.func.substr(e.c.created_at, 1, 10)
        closed_day = sa.func.substr(e.c.updated_at, 1, 10)
        opened = _where(sa.select(opened_day, sa.func.count()), tenant, where).where(
            e.c.created_at >= since
        )
        closed = _where(sa.select(closed_day, sa.func.count()), tenant, where).where(
            e.c.updated_at >= since, e.c.state.in_(CLOSED_EXCEPTION_STATES)
        )
        async with self._db.reading() as conn:
            opened_rows = (await conn.execute(opened.group_by(opened_day))).all()
            closed_rows = (await conn.execute(closed.group_by(closed_day))).all()
        days: dict[str, list[int]] = {}
        for day, count in opened_rows:
            days.setdefault(str(day), [0, 0])[0] = int(count)
        for day, count in closed_rows:
            days.setdefault(str(day), [0, 0])[1] = int(count)
        return [(day, o, c) for day, (o, c) in sorted(days.items())]

    async def exception(self, tenant: str, exception_id: str) -> ExceptionItem | None:
        e = tables.exceptions
        async with self._db.reading() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(e).where(e.c.id == exception_id, e.c.tenant == tenant)
                    )
                )
                .mappings()
                .first()
            )
        return _exception(row) if row is not None else None

    async def save_exception(self, item: ExceptionItem, *, touch_transaction: bool) -> None:
        e = tables.exceptions
        t = tables.transactions
        values = _exception_values(item)
        async with self._db.writing() as conn:
            await conn.execute(
                sa.update(e)
                .where(e.c.id == item.id, e.c.tenant == item.tenant)
                .values(
                    state=values["state"],
                    assignee=values["assignee"],
                    comments=values["comments"],
                    actions=values["actions"],
                    updated_at=values["updated_at"],
                )
            )
            if touch_transaction:
                await conn.execute(
                    sa.update(t)
                    .where(t.c.id == item.transaction_id)
                    .values(manual_touches=t.c.manual_touches + 1, updated_at=item.updated_at)
                )

    async def events_after(
        self, tenant: str, after: int, limit: int
    ) -> list[tuple[int, CanonicalEvent]]:
        ev = tables.events
        query = (
            sa.select(ev)
            .where(ev.c.tenant == tenant, ev.c.position > after)
            .order_by(ev.c.position)
            .limit(limit)
        )
        async with self._db.reading() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [(int(r["position"]), _event(r)) for r in rows]

    async def events_of(
        self, tenant: str, transaction_id: str, limit: int
    ) -> list[tuple[int, CanonicalEvent]]:
        """A transaction's events in the order they were appended."""
        ev = tables.events
        query = (
            sa.select(ev)
            .where(ev.c.transaction_id == transaction_id, ev.c.tenant == tenant)
            .order_by(ev.c.position)
            .limit(limit)
        )
        async with self._db.reading() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [(int(r["position"]), _event(r)) for r in rows]

    async def all_for_sla(self, tenant: str, since: str) -> list[Transaction]:
        """The tenant's transactions accepted since ``since``, with the fields the SLA
        figures read (milestones, state, fallout, touches; no parties, no timeline):
        a dashboard's 30 days are thousands of rows, read in one indexed range."""
        t = tables.transactions
        columns = (
            t.c.id, t.c.quote_id, t.c.state, t.c.accepted_at, t.c.ordered_at,
            t.c.invoiced_at, t.c.paid_at, t.c.ended_at, t.c.updated_at, t.c.order_fallout,
            t.c.manual_touches,
        )  # fmt: skip
        query = sa.select(*columns).where(t.c.tenant == tenant, t.c.accepted_at >= since)
        async with self._db.reading() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Transaction(
                id=id_, tenant=tenant, quote_id=quote, state=state, accepted_at=accepted,
                ordered_at=ordered, invoiced_at=invoiced, paid_at=paid, ended_at=ended,
                updated_at=updated, order_fallout=bool(fallout), manual_touches=touches,
            )
            for (id_, quote, state, accepted, ordered, invoiced, paid, ended, updated, fallout,
                 touches) in rows
        ]  # fmt: skip

    async def count_exceptions(self, tenant: str | None, kind: str) -> int:
        e = tables.exceptions
        query = (
            sa.select(sa.func.count())
            .select_from(e)
            .where(e.c.kind == kind, e.c.state.in_(("open", "assigned")))
        )
        if tenant is not None:
            query = query.where(e.c.tenant == tenant)
        async with self._db.reading() as conn:
            return int((await conn.execute(query)).scalar_one())


def _where(query: Any, tenant: str, where: ExceptionFilter) -> Any:
    """``query`` over the exceptions table narrowed to ``tenant`` and ``where``."""
    e = tables.exceptions
    query = query.where(e.c.tenant == tenant)
    for column, value in (
        (e.c.kind, where.kind),
        (e.c.error_class, where.error_class),
        (e.c.owner, where.owner),
        (e.c.state, where.state),
        (e.c.legal_entity, where.legal_entity),
        (e.c.transaction_id, where.transaction_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.owners is not None:
        query = query.where(e.c.owner.in_(where.owners))
    if where.states is not None:
        query = query.where(e.c.state.in_(where.states))
    if where.min_amount is not None:
        query = query.where(e.c.amount >= Decimal(where.min_amount))
    if where.max_amount is not None:
        query = query.where(e.c.amount <= Decimal(where.max_amount))
    if where.older_than_seconds is not None:
        cutoff = datetime.now(UTC) - timedelta(seconds=where.older_than_seconds)
        query = query.where(e.c.created_at <= rfc3339(cutoff))
    return query


def _amount_text(value: Any) -> str | None:
    """The stored amount as decimal text: two places at least, no padding beyond."""
    if value is None:
        return None
    amount = Decimal(value)
    cents = amount.quantize(Decimal("0.01"))
    return format(cents if cents == amount else amount.normalize(), "f")


def _event(row: Any) -> CanonicalEvent:
    return CanonicalEvent(
        id=row["id"],
        type=row["type"],
        tenant=row["tenant"],
        transaction_id=row["transaction_id"],
        subject=row["subject"],
        time=row["time"],
        data=row["data"],
        traceparent=row["traceparent"],
    )


def _transaction(row: Any) -> Transaction:
    data = {k: row[k] for k in _TX_FIELDS}
    data["had_exception"] = bool(data["had_exception"])
    data["order_fallout"] = bool(data["order_fallout"])
    return msgspec.convert(data, Transaction)


def _entry(row: Any) -> StepEntry:
    return StepEntry(
        step=row["step"],
        status=row["status"],
        system=row["system"],
        system_ids=row["system_ids"] or {},
        attempts=row["attempts"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        detail=row["detail"],
        error=row["error"],
    )


def _exception_values(item: ExceptionItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "tenant": item.tenant,
        "transaction_id": item.transaction_id,
        "kind": item.kind,
        "step": item.step,
        "error_class": item.error_class,
        "code": item.code,
        "detail": item.detail,
        "owner": item.owner,
        "state": item.state,
        "assignee": item.assignee,
        "legal_entity": item.legal_entity,
        "system": item.system,
        "findings": [msgspec.structs.asdict(f) for f in item.findings],
        "errors": item.errors,
        "context": item.context,
        "compensation": item.compensation,
        "comments": [msgspec.structs.asdict(c) for c in item.comments],
        "actions": [msgspec.structs.asdict(a) for a in item.actions],
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "amount": Decimal(item.amount) if item.amount is not None else None,
        "currency": item.currency,
    }


def _exception(row: Any) -> ExceptionItem:
    return ExceptionItem(
        id=row["id"],
        tenant=row["tenant"],
        transaction_id=row["transaction_id"],
        kind=row["kind"],
        step=row["step"],
        error_class=row["error_class"],
        code=row["code"],
        detail=row["detail"],
        owner=row["owner"],
        state=row["state"],
        assignee=row["assignee"],
        legal_entity=row["legal_entity"],
        system=row["system"],
        findings=msgspec.convert(row["findings"], list[Finding]),
        errors=row["errors"],
        context=row["context"],
        compensation=row["compensation"],
        comments=msgspec.convert(row["comments"], list[Comment]),
        actions=msgspec.convert(row["actions"], list[ActionEntry]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        amount=_amount_text(row["amount"]),
        currency=row["currency"],
    )


def _event_values(event: CanonicalEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "tenant": event.tenant,
        "transaction_id": event.transaction_id,
        "type": event.type,
        "subject": event.subject,
        "time": event.time,
        "data": event.data,
        "traceparent": event.traceparent,
    }


def event_rows(events: Sequence[CanonicalEvent]) -> list[dict[str, Any]]:
    return [_event_values(e) for e in events]
