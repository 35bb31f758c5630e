"""The authorization code and console session stores, one contract per port, on every
backend: memory (codes only), SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.console.auth import ConsoleUser
from gateway.console.sessions import SessionRecord
from gateway.stores.sql.authorization_codes import SqlAuthorizationCodes
from gateway.stores.sql.console_sessions import SqlConsoleSessions
from gateway.stores.sql.engine import Database
from policies.auth.codes import (
    AuthorizationCodeStore,
    AuthorizationGrant,
    MemoryAuthorizationCodes,
    code_hash,
)

NOW = time.time()


def _grant(expires_at: float = NOW + 60) -> AuthorizationGrant:
    return AuthorizationGrant(
        client_id="q2c-console", redirect_uri="http://127.0.0.1:8080/console/callback",
        code_challenge="c" * 43, nonce="n", scope="openid", username="priya",
        name="Priya Nair", tenant="sandbox", teams=("pricing-ops",), role="operator",
        auth_time=int(NOW), expires_at=expires_at,
    )


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def codes(request: pytest.FixtureRequest) -> AuthorizationCodeStore:
    if request.param == "memory":
        return MemoryAuthorizationCodes()
    database: Database = request.getfixturevalue(f"{request.param}_database")
    return SqlAuthorizationCodes(database)


async def test_a_code_is_taken_once(codes: AuthorizationCodeStore) -> None:
    await codes.put(code_hash("abc"), _grant())
    assert await codes.take(code_hash("abc"), NOW) == _grant()
    assert await codes.take(code_hash("abc"), NOW) is None
    assert await codes.take(code_hash("never-issued"), NOW) is None


async def test_of_concurrent_takes_exactly_one_wins(codes: AuthorizationCodeStore) -> None:
    await codes.put(code_hash("raced"), _grant())
    taken = await asyncio.gather(*(codes.take(code_hash("raced"), NOW) for _ in range(8)))
    assert sum(grant is not None for grant in taken) == 1


async def test_an_expired_code_is_not_handed_out(codes: AuthorizationCodeStore) -> None:
    await codes.put(code_hash("old"), _grant(expires_at=NOW + 60))
    assert await codes.take(code_hash("old"), NOW + 60) is None


def _session(created: float = NOW) -> SessionRecord:
    user = ConsoleUser(subject="vera", name="Vera Okafor", tenant="sandbox",
                       teams=("pricing-ops", "credit-control"), role="viewer")
    return SessionRecord(user=user, issuer="http://127.0.0.1:8080", created_at=created,
                         last_seen_at=created, expires_at=created + 43_200)


async def test_a_session_is_kept_touched_and_revoked(sql_database: Database) -> None:
    sessions = SqlConsoleSessions(sql_database)
    await sessions.create("h1", _session())
    assert await sessions.get("h1") == _session()
    assert await sessions.get("h2") is None

    await sessions.touch("h1", NOW + 100)
    touched = await sessions.get("h1")
    assert touched is not None
    assert touched.last_seen_at == NOW + 100
    await sessions.touch("h1", NOW + 50)  # a late, older touch does not go back
    assert (await sessions.get("h1")).last_seen_at == NOW + 100  # type: ignore[union-attr]

    assert await sessions.revoke("h1", NOW + 200) is True
    assert await sessions.revoke("h1", NOW + 300) is False
    revoked = await sessions.get("h1")
    assert revoked is not None
    assert revoked.revoked_at == NOW + 200
    await sessions.touch("h1", NOW + 400)  # activity does not revive it
    assert (await sessions.get("h1")).last_seen_at == NOW + 100  # type: ignore[union-attr]


async def test_long_ended_sessions_are_swept(sql_database: Database) -> None:
    sessions = SqlConsoleSessions(sql_database)
    await sessions.create("old", _session(created=NOW - 3 * 86_400))
    await sessions.create("new", _session())
    assert await sessions.get("old") is None
    assert await sessions.get("new") is not None
