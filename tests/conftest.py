"""Shared fixtures: a real Redis with a private key prefix, and the embedded gateway."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator

import httpx
import pytest
import redis.asyncio as aioredis

from gateway.app import create_app
from gateway.wiring import Runtime, build_runtime
from policies.auth.scopes import ALL_SCOPES
from tests.support.settings import gateway_settings

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


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
