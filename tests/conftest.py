"""Shared fixtures: a real Redis with a private key prefix, the gateway's home folder per
test (its SQLite file), and the embedded gateway."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from gateway.app import create_app
from gateway.stores.sql.engine import Database
from gateway.wiring import Runtime, build_runtime
from policies.auth.scopes import ALL_SCOPES
from tests.support.settings import gateway_settings

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the current schema, migrated once and copied for every test."""
    from gateway.stores.sql import migrate
    from gateway.stores.sql.config import EMBEDDED_FILE

    path = tmp_path_factory.mktemp("template") / EMBEDDED_FILE
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(autouse=True)
def gateway_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_template: Path
) -> Path:
    """Every test gets its own ``$Q2C_HOME``: the embedded default's database file starts
    empty (at the current schema) and nothing is written to the working directory."""
    from gateway.stores.sql.config import EMBEDDED_FILE, HOME_ENV

    home = tmp_path / "q2c-home"
    home.mkdir()
    shutil.copyfile(migrated_template, home / EMBEDDED_FILE)
    monkeypatch.setenv(HOME_ENV, str(home))
    return home


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test session's own, at the current schema; dropped
    when the session ends."""
    from gateway.stores.sql import migrate
    from tests.support.databases import scratch_database

    with scratch_database() as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
async def postgres_database(postgres_url: str) -> AsyncIterator[Database]:
    """The session's PostgreSQL database, emptied for this test."""
    from tests.support.databases import truncate_all

    truncate_all(postgres_url)
    database = Database(postgres_url)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_database(gateway_home: Path) -> AsyncIterator[Database]:
    """This test's own SQLite file (the embedded default's), at the current schema."""
    from gateway.stores.sql.config import EMBEDDED_FILE

    database = Database(f"sqlite:///{gateway_home / EMBEDDED_FILE}")
    yield database
    await database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_database(request: pytest.FixtureRequest) -> Database:
    """Each SQL backend in turn: SQLite, then PostgreSQL."""
    database: Database = request.getfixturevalue(f"{request.param}_database")
    return database


# Local state (generated keys) goes to a folder of this test run, never the checkout's
# .q2c/ or the user's $Q2C_HOME: set before any test module is imported (some build
# an app at import), and inherited by the servers the tests start.
_HOME = tempfile.mkdtemp(prefix="q2c-home-")
os.environ["Q2C_HOME"] = _HOME


@pytest.fixture(autouse=True, scope="session")
def q2c_home() -> Iterator[str]:
    yield _HOME
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await client.ping()
    except (aioredis.ConnectionError, OSError) as exc:
        await client.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI and did not answer at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    yield client
    await client.aclose()


@pytest.fixture
async def redis_prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"q2c-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    keys = [key async for key in redis_client.scan_iter(match=f"{prefix}*", count=500)]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    built = build_runtime(gateway_settings())
    await built.start()
    yield built
    await built.close()


def bearer(
    runtime: Runtime,
    *,
    tenant: str = "sandbox",
    scopes: Iterable[str] = ALL_SCOPES,
    client_id: str = "sandbox-client",
    plan: str = "gold",
) -> dict[str, str]:
    assert runtime.issuer is not None
    token = runtime.issuer.mint(client_id, sorted(scopes), tenant, 600, plan=plan)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The embedded-default gateway (in-process sandboxes, memory stores) over ASGI,
    authenticated as the sandbox client with every scope."""
    app = create_app(runtime.settings, runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://gateway.test", headers=bearer(runtime)
    ) as client:
        yield client
