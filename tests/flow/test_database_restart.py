"""The flow's database (the gateway's records and DBOS's) restarted under running
transactions: nothing is lost, nothing is done twice."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from domains.quote_to_cash.records import Transaction
from gateway.flow.engine import migrate_system_database
from gateway.stores.sql import migrate
from tests.conftest import REDIS_URL
from tests.faults.servers import private_postgres
from tests.flow.conftest import running_gateway
from tests.flow.landscape import Landscape, create_quote, sap_orders, write_config

pytestmark = [pytest.mark.postgres]


async def test_transactions_in_flight_survive_a_database_restart(
    land: Landscape, tmp_path: Path, redis_prefix: str
) -> None:
    land.reset()
    # Durable, as in production: a crash loses no committed row (synchronous commit on).
    with private_postgres(durable=True) as postgres:
        url = postgres.create_database("q2c")
        migrate.upgrade(url)
        migrate_system_database(url)
        config = write_config(
            tmp_path / "gateway.toml", land, database_url=url,
            redis_prefix=redis_prefix, redis_url=REDIS_URL,
        )  # fmt: skip
        quotes = [create_quote(land) for _ in range(6)]
        async with running_gateway(config) as gw, asyncio.timeout(180):
            ids = [(await gw.accept(quote))["transaction_id"] for quote in quotes[:4]]
            postgres.stop("immediate")  # a crash: no checkpoint, connections cut
            await asyncio.sleep(1.5)
            down = await gw.client.get(f"/v1/transactions/{ids[0]}")
            assert down.status_code == 503, down.text
            postgres.start(durable=True)
            ids += [await _accept_when_back(gw, quote) for quote in quotes[4:]]
            done = [await gw.wait(txid, "awaiting_payment", timeout=90) for txid in ids]
    for transaction in done:
        assert len(sap_orders(land, transaction["order_id"])) == 1
        assert transaction["invoice_id"]
    land.reset()


async def _accept_when_back(gw: Any, quote: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        quote_id = await gw.quote_id(quote)
        response = await gw.client.post(
            f"/v1/quotes/{quote_id}/accept", headers={"Idempotency-Key": f'"{quote}"'}
        )
        if response.status_code == 202:
            transaction_id: str = response.json()["transaction_id"]
            return transaction_id
        assert response.status_code == 503, response.text
        assert time.monotonic() < deadline, response.text
        await asyncio.sleep(0.5)


async def test_a_transaction_recorded_without_its_start_is_restarted(
    land: Landscape, gateway_for: Any
) -> None:
    """The insert committed, the enqueue did not (a crash between the two, or a
    database that lost its last commits) and the client never asked again: a worker
    finds the transaction still `accepted` after the configured time and starts it."""
    quote = create_quote(land)
    async with gateway_for(flow="restart_accepted_after_seconds = 1") as gw:
        flow = gw.runtime.flow
        assert flow is not None
        quote_id = await gw.quote_id(quote)
        txid = flow.transactions.transaction_id("sandbox", quote_id)
        long_ago = "2026-01-01T00:00:00.000Z"
        recorded = await flow.store.create(
            Transaction(
                id=txid, tenant="sandbox", quote_id=quote_id, state="accepted",
                accepted_at=long_ago, updated_at=long_ago,
            )
        )  # fmt: skip
        assert recorded
        done = await gw.wait(txid, "awaiting_payment", timeout=60)
    assert len(sap_orders(land, done["order_id"])) == 1
    land.reset()


async def test_a_worker_stopping_while_its_database_is_gone_still_ends(
    land: Landscape, tmp_path: Path, redis_prefix: str
) -> None:
    """DBOS retries a lost connection forever, also in a call still running on its
    threads when the worker stops: the interpreter would wait for that thread at exit
    and the process never end. Stopping, the call gives up instead."""
    from dbos import DBOS

    with private_postgres(durable=True) as postgres:
        url = postgres.create_database("q2c")
        migrate.upgrade(url)
        migrate_system_database(url)
        config = write_config(
            tmp_path / "gateway.toml", land, database_url=url,
            redis_prefix=redis_prefix, redis_url=REDIS_URL,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        async with running_gateway(config):
            postgres.stop("immediate")
            stuck = loop.run_in_executor(None, lambda: DBOS.list_workflows(limit=1))
            await asyncio.sleep(1.5)  # retrying the lost connection by now
            assert not stuck.done()
        with pytest.raises(Exception, match=r"(?i)connect"):
            await asyncio.wait_for(stuck, timeout=30)
