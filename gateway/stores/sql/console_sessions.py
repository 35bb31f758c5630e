"""Operations console sessions in the gateway's database: the console's
ConsoleSessionStore port.

Every gateway process sees every session, so a sign-out in one is a sign-out in all.
Records of sessions past their absolute timeout are swept when new ones are made.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import delete, select, update

from gateway.console.sessions import SessionRecord
from gateway.stores.sql.engine import Database, insert
from gateway.stores.sql.schema import console_sessions

_rows = console_sessions.c
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(SessionRecord)
_KEEP_SECONDS = 86_400  # ended sessions stay a day, for whoever looks into one


class SqlConsoleSessions:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, session_hash: str, record: SessionRecord) -> None:
        statement = insert(self._db, console_sessions).values(
            session_hash=session_hash,
            tenant=record.user.tenant,
            subject=record.user.subject,
            record=_encoder.encode(record).decode(),
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            expires_at=record.expires_at,
            revoked_at=None,
        )
        sweep = delete(console_sessions).where(
            _rows.expires_at < record.created_at - _KEEP_SECONDS
        )
        async with self._db.writing() as connection:
            await connection.execute(sweep)
            await connection.execute(statement)

    async def get(self, session_hash: str) -> SessionRecord | None:
        query = select(_rows.record, _rows.last_seen_at, _rows.revoked_at).where(
            _rows.session_hash == session_hash
        )
        async with self._db.reading() as connection:
            row = (await connection.execute(query)).one_or_none()
        if row is None:
            return None
        record = _decoder.decode(row.record)
        # The columns are what touch and revoke change; the JSON is as created.
        return msgspec.structs.replace(record, last_seen_at=row.last_seen_at,
                                       revoked_at=row.revoked_at)

    async def touch(self, session_hash: str, now: float) -> None:
        statement = (
            update(console_sessions)
            .where(_rows.session_hash == session_hash, _rows.revoked_at.is_(None),
                   _rows.last_seen_at < now)
            .values(last_seen_at=now)
        )
        async with self._db.reading() as connection:
            await connection.execute(statement)

    async def revoke(self, session_hash: str, now: float) -> bool:
        statement = (
            update(console_sessions)
            .where(_rows.session_hash == session_hash, _rows.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        async with self._db.reading() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)
