"""Idempotency-Key records in the gateway's database (the policy's IdempotencyStore port).

A record survives a Redis flush and a gateway restart: a retry after either still
replays the first answer. ``begin`` is one upsert that takes the key when it is
free or lapsed, so on the common path (a new key) it is one round trip; only a
taken key costs a second statement to read what holds it. Lapsed rows are
overwritten when their key comes back and swept now and then.
"""

from __future__ import annotations

import random
from typing import Any

import msgspec
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.errors import StoreUnavailable
from gateway.stores.sql.engine import Database, Dialect, Prepared, insert, now_ms
from gateway.stores.sql.schema import idempotency_records
from policies.idempotency.store import (
    BEGUN,
    MISMATCH,
    BeginResult,
    IdempotencyStoreError,
    StoredResponse,
    in_flight,
)

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(StoredResponse)
# About one begin in this many also deletes lapsed rows (bounded, cheap by the index).
_SWEEP_ONE_IN = 500
_SWEEP_BATCH = 1000


def _begin_statement(dialect: Dialect) -> Any:
    """A new record, or one whose lease or retention lapsed taken over: the caller's
    owner token comes back when it got the key."""
    records = idempotency_records.c
    statement = insert(dialect, idempotency_records).values(
        record_id=bindparam("record_id"),
        fingerprint=bindparam("fingerprint"),
        owner=bindparam("owner"),
        expires_at=bindparam("expires_at"),
        response=None,
        created_at=bindparam("now"),
    )
    return statement.on_conflict_do_update(
        index_elements=["record_id"],
        set_={
            "fingerprint": statement.excluded.fingerprint,
            "owner": statement.excluded.owner,
            "expires_at": statement.excluded.expires_at,
            "response": None,
            "created_at": statement.excluded.created_at,
        },
        where=records.expires_at <= bindparam("now"),
    ).returning(records.owner)


_BEGIN = Prepared(_begin_statement)


class SqlIdempotencyStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def begin(
        self, key: str, fingerprint: str, owner: str, lease_seconds: float
    ) -> BeginResult:
        now = now_ms()
        records = idempotency_records.c
        try:
            async with self._db.reading() as connection:
                began = await _BEGIN.execute(
                    connection,
                    record_id=key,
                    fingerprint=fingerprint,
                    owner=owner,
                    expires_at=now + round(lease_seconds * 1000),
                    now=now,
                )
                if began.scalar_one_or_none() == owner:
                    if random.randrange(_SWEEP_ONE_IN) == 0:
                        await self._sweep(connection, now)
                    return BEGUN
                row = (
                    await connection.execute(
                        select(records.fingerprint, records.expires_at, records.response).where(
                            records.record_id == key
                        )
                    )
                ).one_or_none()
        except (StoreUnavailable, SQLAlchemyError) as exc:
            raise IdempotencyStoreError(f"idempotency store unavailable: {exc}") from exc
        if row is None:  # swept between the two statements: the key is free again
            return await self.begin(key, fingerprint, owner, lease_seconds)
        if row.fingerprint != fingerprint:
            return MISMATCH
        if row.response is None:
            # Capped: the holder may have claimed a moment after this call read the clock.
            return in_flight(min(lease_seconds, (row.expires_at - now) / 1000))
        try:
            return BeginResult("completed", _decoder.decode(row.response))
        except msgspec.DecodeError as exc:
            raise IdempotencyStoreError(f"unreadable idempotency record: {exc}") from exc

    async def _sweep(self, connection: AsyncConnection, now: int) -> None:
        lapsed = (
            select(idempotency_records.c.record_id)
            .where(idempotency_records.c.expires_at <= now)
            .limit(_SWEEP_BATCH)
            .scalar_subquery()
        )
        statement = delete(idempotency_records).where(
            idempotency_records.c.record_id.in_(lapsed),
            idempotency_records.c.expires_at <= now,
        )
        await connection.execute(statement)

    async def complete(
        self, key: str, owner: str, response: StoredResponse, retention_seconds: float
    ) -> bool:
        now = now_ms()
        records = idempotency_records.c
        statement = (
            update(idempotency_records)
            .where(
                records.record_id == key,
                records.owner == owner,
                records.response.is_(None),
                records.expires_at > now,
            )
            .values(
                response=_encoder.encode(response), expires_at=now + round(retention_seconds * 1000)
            )
        )
        try:
            async with self._db.reading() as connection:
                result = await connection.execute(statement)
        except (StoreUnavailable, SQLAlchemyError) as exc:
            raise IdempotencyStoreError(f"idempotency store unavailable: {exc}") from exc
        return bool(result.rowcount)

    async def release(self, key: str, owner: str) -> None:
        records = idempotency_records.c
        statement = delete(idempotency_records).where(
            records.record_id == key, records.owner == owner, records.response.is_(None)
        )
        try:
            async with self._db.reading() as connection:
                await connection.execute(statement)
        except (StoreUnavailable, SQLAlchemyError) as exc:
            raise IdempotencyStoreError(f"idempotency store unavailable: {exc}") from exc
