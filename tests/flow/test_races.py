"""The same business event arriving at two gateway instances at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.flow.landscape import Landscape, create_quote, sap_orders

pytestmark = [pytest.mark.postgres]


async def test_one_quote_accepted_at_once_on_two_gateways_is_one_transaction(
    land: Landscape, gateway_for: Any
) -> None:
    """A CRM that retries with a new key while the first call is still running, and a
    second integration accepting the same quote, over two instances on one database:
    one transaction, one ERP order."""
    quote = create_quote(land)
    async with gateway_for() as first, gateway_for(run_workflows=False) as second:
        quote_id = await first.quote_id(quote)

        async def accept(index: int) -> Any:
            gateway = first if index % 2 == 0 else second
            return await gateway.client.post(
                f"/v1/quotes/{quote_id}/accept",
                headers={"Idempotency-Key": f'"race-{index}"'},
            )

        responses = await asyncio.gather(*(accept(i) for i in range(12)))
        assert {r.status_code for r in responses} == {202}, [r.text for r in responses]
        ids = {r.json()["transaction_id"] for r in responses}
        assert len(ids) == 1
        assert sum(r.json()["created"] for r in responses) == 1
        [txid] = ids
        done = await first.wait(txid, "awaiting_payment")
        listed = await first.client.get("/v1/transactions", params={"quote_id": quote_id})
        assert [t["id"] for t in listed.json()["data"]] == [txid]
    assert len(sap_orders(land, done["order_id"])) == 1
    assert len(land.proxies["sap_s4hana"].calls("POST", "A_SalesOrder")) == 1
    land.reset()
