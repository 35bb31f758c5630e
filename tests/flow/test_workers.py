"""Workers as real processes: one is killed (SIGKILL) in the middle of the ERP call and
never comes back; another finds it dead by its heartbeat, recovers its transaction and
finishes it, and no system holds anything twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gateway.flow import tables
from tests.flow.landscape import Landscape, create_quote, sap_orders, stripe_invoices
from tests.support.processes import Q2C

pytestmark = [pytest.mark.postgres, pytest.mark.faults]

READY = re.compile(r"q2c worker (\S+) running")


class Worker:
    def __init__(self, config: Path) -> None:
        self.log = Path(tempfile.mkstemp(prefix="q2c-worker-", suffix=".log")[1])
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [Q2C, "worker", "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.executor_id = self._ready()

    def _ready(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = READY.search(self.log.read_text(errors="replace"))
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"worker did not start: {self.log.read_text(errors='replace')}")

    def kill(self) -> None:
        """Die as a crashed host would: no shutdown, no heartbeat ever again."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


async def test_killed_worker_is_finished_by_another_without_duplicates(
    land: Landscape, make_config: Any
) -> None:
    from tests.flow.conftest import running_gateway

    config = make_config()
    quote = create_quote(land)
    sap = land.proxies["sap_s4hana"]
    # Hold the ERP's order call open: the worker is inside the step when it dies, and
    # the ERP still receives (and books) the order it sent.
    sap.delay("POST", r"/A_SalesOrder$", 1.5, times=1)
    with workers() as running:
        running.append(await asyncio.to_thread(Worker, config))
        first = running[0]
        # This gateway only enqueues (DBOSClient), like q2c serve with a database.
        async with running_gateway(config, run_workflows=False) as gw:
            txid = (await gw.accept(quote))["transaction_id"]
            deadline = time.monotonic() + 30
            while (
                "POST",
                "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder",
            ) not in sap.arrived:
                assert time.monotonic() < deadline, "the order call never reached the ERP"
                await asyncio.sleep(0.02)
            first.kill()
            assert (await gw.transaction(txid))["state"] == "running"

            running.append(await asyncio.to_thread(Worker, config))
            second = running[1]
            done = await gw.wait(txid, "awaiting_payment", timeout=60)

            async with gw.runtime.database.reading() as conn:
                row = (
                    await conn.execute(
                        sa.select(tables.executors.c.recovered_by).where(
                            tables.executors.c.executor_id == first.executor_id
                        )
                    )
                ).one()
            assert row.recovered_by == second.executor_id

    steps = [e["step"] for e in done["timeline"]]
    assert steps.count("submit_order") == 1
    assert steps.count("invoice") == 1
    # Nothing twice in any system: one ERP order (the dead worker's call was booked and
    # found again by reference), one invoice, one ERP order call.
    assert len(sap_orders(land, done["order_id"])) == 1
    assert len(sap.calls("POST", r"/A_SalesOrder$")) == 1
    customer = done["timeline"][steps.index("invoice")]["system_ids"]
    invoices = [
        i
        for i in stripe_invoices(land, _stripe_customer(land, done["invoice_id"]))
        if i.get("metadata", {}).get("q2c_invoice_id") == done["invoice_id"]
    ]
    assert len(invoices) == 1
    assert invoices[0]["id"] == customer["invoice"]


def _stripe_customer(land: Landscape, invoice_id: str) -> str:
    import httpx

    from tests.flow.landscape import STRIPE_KEY

    with httpx.Client(base_url=land.direct["stripe"], auth=(STRIPE_KEY, ""), timeout=10) as c:
        found = c.get(
            "/v1/invoices/search", params={"query": f"metadata['q2c_invoice_id']:'{invoice_id}'"}
        )
        if found.status_code == 200 and found.json().get("data"):
            customer: str = found.json()["data"][0]["customer"]
            return customer
        listed = c.get("/v1/invoices", params={"limit": 100}).json()["data"]
        return next(
            i["customer"]
            for i in listed
            if i.get("metadata", {}).get("q2c_invoice_id") == invoice_id
        )
