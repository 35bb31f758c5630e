"""Registered clients (the developer portal's self-service apps) in the gateway's
database: the auth policy's ClientRegistry port.

A registered client is a credential: losing it locks its developer out, and it must
survive a Redis flush like every other record the gateway keeps. Revoked clients stay,
so the token endpoint keeps refusing them. A registration checks the owner's limit and
inserts in one transaction; on PostgreSQL that transaction first takes an advisory
lock on the owner, so two registrations of one owner cannot both slip under the limit.
"""

from __future__ import annotations

import time

import msgspec
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from domains.errors import StoreUnavailable
from gateway.stores.sql.engine import Database, insert
from gateway.stores.sql.schema import client_registrations
from policies.auth.registry import (
    ClientRegistryUnavailable,
    RegisteredClient,
    RegistrationRefused,
    decoder,
    encoder,
)

_LOCK_OWNER = text("SELECT pg_advisory_xact_lock(hashtextextended(:owner, 0))")


class _Refused(Exception):
    pass


class SqlClientRegistry:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def register(self, client: RegisteredClient, *, max_per_owner: int) -> None:
        rows = client_registrations.c
        active = select(func.count()).where(rows.owner == client.owner, rows.revoked_at.is_(None))
        statement = (
            insert(self._db, client_registrations)
            .values(
                client_id=client.client_id,
                owner=client.owner,
                record=encoder.encode(client).decode(),
                created_at=client.created_at,
                revoked_at=None,
            )
            .on_conflict_do_nothing()
            .returning(rows.client_id)
        )
        try:
            async with self._db.writing() as connection:
                if self._db.dialect == "postgresql":
                    await connection.execute(_LOCK_OWNER, {"owner": client.owner})
                if (await connection.execute(active)).scalar_one() >= max_per_owner:
                    raise _Refused(
                        f"at most {max_per_owner} active applications per developer; "
                        "revoke one first"
                    )
                if (await connection.execute(statement)).scalar_one_or_none() is None:
                    raise _Refused(f"client id {client.client_id} is taken")
        except _Refused as refused:
            raise RegistrationRefused(str(refused)) from None
        except (StoreUnavailable, SQLAlchemyError) as exc:
            raise ClientRegistryUnavailable(f"client registry: {exc}") from exc

    async def get(self, client_id: str) -> RegisteredClient | None:
        query = select(client_registrations.c.record).where(
            client_registrations.c.client_id == client_id
        )
        try:
            async with self._db.reading() as connection:
                raw = (await connection.execute(query)).scalar_one_or_none()
        except (StoreUnavailable, SQLAlchemyError) as exc:
            raise ClientRegistryUnavailable(f"client registry: {exc}") from exc
        return None if raw is None else decoder.decode(raw)

    async def revoke(self, client_id: str, owner: str) -> bool:
        current = await self.get(client_id)
        if current is None or current.owner != owner or not current.active:
            return False
        revoked = msgspec.structs.replace(current, revoked_at=time.time())
        rows = client_registrations.c
        statement = (
            update(client_registrations)
            .where(rows.client_id == client_id, rows.owner == owner, rows.revoked_at.is_(None))
            .values(record=encoder.encode(revoked).decode(), revoked_at=revoked.revoked_at)
        )
        try:
            async with self._db.reading() as connection:
                result = await connection.execute(statement)
        except (StoreUnavailable, SQLAlchemyError) as exc:
            raise ClientRegistryUnavailable(f"client registry: {exc}") from exc
        return bool(result.rowcount)

    async def list_by_owner(self, owner: str) -> list[RegisteredClient]:
        rows = client_registrations.c
        query = (
            select(rows.record)
            .where(rows.owner == owner, rows.revoked_at.is_(None))
            .order_by(rows.created_at, rows.client_id)
        )
        try:
            async with self._db.reading() as connection:
                records = (await connection.execute(query)).scalars().all()
        except (StoreUnavailable, SQLAlchemyError) as exc:
            raise ClientRegistryUnavailable(f"client registry: {exc}") from exc
        return [decoder.decode(raw) for raw in records]
