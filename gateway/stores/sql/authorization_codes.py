"""The built-in OpenID provider's authorization codes in the gateway's database: the
auth policy's AuthorizationCodeStore port.

Every gateway process shares the database, so a code issued by one is redeemable at
any other, once: ``take`` is a single ``DELETE .. RETURNING``, which PostgreSQL and
SQLite both run atomically (of two concurrent deletes of one row, one returns it).
Expired codes are swept when new ones are written.
"""

from __future__ import annotations

from sqlalchemy import delete

from gateway.stores.sql.engine import Database, insert
from gateway.stores.sql.schema import authorization_codes
from policies.auth.codes import AuthorizationGrant, decoder, encoder

_rows = authorization_codes.c


class SqlAuthorizationCodes:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def put(self, code_hash: str, grant: AuthorizationGrant) -> None:
        statement = insert(self._db, authorization_codes).values(
            code_hash=code_hash, record=encoder.encode(grant).decode(),
            expires_at=grant.expires_at,
        )
        # Codes live a minute: whatever expired a minute before this one was issued goes.
        sweep = delete(authorization_codes).where(_rows.expires_at < grant.expires_at - 120)
        async with self._db.writing() as connection:
            await connection.execute(sweep)
            await connection.execute(statement)

    async def take(self, code_hash: str, now: float) -> AuthorizationGrant | None:
        statement = (
            delete(authorization_codes)
            .where(_rows.code_hash == code_hash)
            .returning(_rows.record, _rows.expires_at)
        )
        async with self._db.writing() as connection:
            row = (await connection.execute(statement)).one_or_none()
        if row is None or row.expires_at <= now:
            return None
        return decoder.decode(row.record)
