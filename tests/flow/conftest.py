"""Quote-to-cash tests: sandboxes as processes behind fault proxies, a PostgreSQL
database per test, Redis under a private prefix, and the gateway with its worker
in the test's event loop (or as real processes where a test kills one)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from gateway.app import create_app
from gateway.flow.engine import migrate_system_database
from gateway.settings import load_settings
from gateway.stores.sql import migrate
from gateway.wiring import Runtime, build_runtime
from tests.conftest import REDIS_URL, bearer
from tests.flow.landscape import Landscape, environment, landscape, write_config
from tests.support.databases import POSTGRES_URL, scratch_database, url_of

pytestmark = [pytest.mark.postgres]


@pytest.fixture(scope="session")
def land() -> Iterator[Landscape]:
    with environment(), landscape() as running:
        yield running


@pytest.fixture(scope="session")
def flow_template() -> Iterator[str]:
    """A database at the current schema, the gateway's and DBOS's (``q2c db upgrade``),
    that each test's database is copied from: a copy takes a fraction of migrating."""
    with scratch_database("q2c_flow_template") as url:
        migrate.upgrade(url)
        migrate_system_database(url)
        yield url


@pytest.fixture
def flow_db(flow_template: str) -> Iterator[str]:
    template = flow_template.rsplit("/", 1)[1]
    name = f"q2c_flow_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    try:
        yield url_of(name)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def make_config(
    tmp_path: Path, land: Landscape, flow_db: str, redis_prefix: str
) -> Iterator[Callable[..., Path]]:
    land.reset()

    def make(policy: str = "", flow: str = "", name: str = "gateway.toml") -> Path:
        return write_config(
            tmp_path / name,
            land,
            database_url=flow_db,
            redis_prefix=redis_prefix,
            redis_url=REDIS_URL,
            policy=policy,
            flow=flow,
        )

    yield make
    land.reset()


class Gateway:
    def __init__(self, runtime: Runtime, client: httpx.AsyncClient) -> None:
        self.runtime = runtime
        self.client = client

    async def accept(self, quote_system_id: str, key: str | None = None) -> dict[str, Any]:
        quote_id = await self.quote_id(quote_system_id)
        response = await self.client.post(
            f"/v1/quotes/{quote_id}/accept",
            headers={"Idempotency-Key": f'"{key or quote_system_id}"'},
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        assert response.headers["location"] == f"/v1/transactions/{body['transaction_id']}"
        return body

    async def quote_id(self, quote_system_id: str) -> str:
        return await self.runtime.crosswalks("sandbox").ensure(
            "quote", "salesforce", quote_system_id
        )

    async def transaction(self, transaction_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/transactions/{transaction_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait(
        self, transaction_id: str, *states: str, timeout: float = 30.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = await self.transaction(transaction_id)
            if body["state"] in states:
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"{transaction_id} never reached {states}: {body}")

    async def exceptions(self, **params: str) -> list[dict[str, Any]]:
        response = await self.client.get("/v1/ops/exceptions", params=params)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


@asynccontextmanager
async def running_gateway(config: Path, *, run_workflows: bool = True) -> AsyncIterator[Gateway]:
    runtime = build_runtime(load_settings(config), role="test", run_workflows=run_workflows)
    await runtime.start()
    try:
        app = create_app(runtime.settings, runtime)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://gateway.test",
            headers=bearer(runtime, client_id="flow-tests"),
        ) as client:
            yield Gateway(runtime, client)
    finally:
        await runtime.close()


@pytest.fixture
def gateway_for(make_config: Callable[..., Path]) -> Callable[..., Any]:
    def start(policy: str = "", flow: str = "", run_workflows: bool = True) -> Any:
        return running_gateway(make_config(policy, flow), run_workflows=run_workflows)

    return start


Eventually = Callable[[], Awaitable[bool]]
