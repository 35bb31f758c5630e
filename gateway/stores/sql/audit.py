"""The audit trail in the gateway's database (the audit policy's AuditStore port).

Each entry is one row; its id is ``<recorded_ms>-<row id>``, so ids sort by
recording time (then by insertion) and keep the ``<ms>-<seq>`` form every audit
backend uses for cursors and time bounds. Tenant, consumer and resource are
columns, so filters run in the database and a page is one indexed query.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, func, literal, select, tuple_
from sqlalchemy.exc import SQLAlchemyError

from contracts.v1.audit import AuditEntry
from domains.errors import StoreUnavailable
from gateway.stores.sql.engine import Database, now_ms
from gateway.stores.sql.schema import audit_entries
from policies.audit.store import AuditStoreError, Window, format_key

_BATCH = 500
_TRIM_EVERY = 1000  # at most this many appends between two trims (with a maximum set)
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AuditEntry)


class SqlAuditStore:
    def __init__(self, database: Database, *, max_entries: int | None = None) -> None:
        """``max_entries`` None keeps the whole trail; otherwise about that many."""
        self._db = database
        self._max_entries = max_entries
        self._trim_every = min(_TRIM_EVERY, max_entries or _TRIM_EVERY)
        self._appends = 0

    async def append(self, entry: AuditEntry) -> str:
        recorded = now_ms()
        payload = _encoder.encode(msgspec.structs.replace(entry, id="")).decode()
        statement = (
            audit_entries.insert()
            .values(
                recorded_ms=recorded,
                tenant=entry.tenant,
                consumer=entry.consumer,
                resource_id=entry.resource_id,
                entry=payload,
            )
            .returning(audit_entries.c.id)
        )
        try:
            async with self._db.reading() as connection:
                row_id = (await connection.execute(statement)).scalar_one()
                self._appends += 1
                if self._max_entries is not None and self._appends % self._trim_every == 0:
                    await connection.execute(
                        delete(audit_entries).where(
                            audit_entries.c.id
                            <= select(func.max(audit_entries.c.id)).scalar_subquery()
                            - self._max_entries
                        )
                    )
        except (StoreUnavailable, SQLAlchemyError) as exc:
            raise AuditStoreError(f"audit store unavailable: {exc}") from exc
        return format_key((recorded, int(row_id)))

    def _where(self, tenant: str | None, window: Window) -> list[Any]:
        key = tuple_(audit_entries.c.recorded_ms, audit_entries.c.id)
        where: list[Any] = []
        if tenant is not None:
            where.append(audit_entries.c.tenant == tenant)
        if window.lower is not None:
            where.append(key >= tuple_(*(literal(part) for part in window.lower)))
        if window.upper is not None:
            where.append(key < tuple_(*(literal(part) for part in window.upper)))
        return where

    async def _rows(self, query: Any) -> list[Any]:
        try:
            async with self._db.reading() as connection:
                return list((await connection.execute(query)).all())
        except (StoreUnavailable, SQLAlchemyError) as exc:
            raise AuditStoreError(f"audit store unavailable: {exc}") from exc

    async def query(
        self,
        tenant: str,
        *,
        consumer: str | None = None,
        resource_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[AuditEntry], str | None]:
        window = Window.of(since, until, cursor)
        if window.empty:
            return [], None
        where = self._where(tenant, window)
        if consumer is not None:
            where.append(audit_entries.c.consumer == consumer)
        if resource_id is not None:
            where.append(audit_entries.c.resource_id == resource_id)
        query = (
            select(audit_entries.c.recorded_ms, audit_entries.c.id, audit_entries.c.entry)
            .where(*where)
            .order_by(audit_entries.c.recorded_ms.desc(), audit_entries.c.id.desc())
            .limit(limit + 1)
        )
        rows = await self._rows(query)
        found = [_entry(row) for row in rows[:limit]]
        return found, (found[-1].id if len(rows) > limit and found else None)

    async def export(
        self,
        tenant: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AsyncIterator[AuditEntry]:
        window = Window.of(since, until)
        if window.empty:
            return
        lower = window.lower
        while True:
            query = (
                select(audit_entries.c.recorded_ms, audit_entries.c.id, audit_entries.c.entry)
                .where(*self._where(tenant, Window(lower, window.upper)))
                .order_by(audit_entries.c.recorded_ms, audit_entries.c.id)
                .limit(_BATCH)
            )
            rows = await self._rows(query)
            for row in rows:
                yield _entry(row)
            if len(rows) < _BATCH:
                return
            last = rows[-1]
            lower = (int(last.recorded_ms), int(last.id) + 1)


def _entry(row: Any) -> AuditEntry:
    entry = _decoder.decode(row.entry)
    return msgspec.structs.replace(entry, id=format_key((int(row.recorded_ms), int(row.id))))
