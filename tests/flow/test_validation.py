"""Validation stops a quote in front of the team that owns the problem, before any
ERP write, and reports every finding at once; an operator's retry may carry edits,
which are checked against the contract before anything reaches the transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from domains.ids import derived_id
from tests.flow.landscape import SAP_ORDERS, Landscape, create_quote, sap_orders, soql

pytestmark = [pytest.mark.postgres]


async def test_price_mismatch_goes_to_pricing_ops_and_no_erp_order(
    land: Landscape, gateway_for: Any
) -> None:
    quote = create_quote(land, price_factor="0.80")  # 20 % under the standard price book
    async with gateway_for() as gw:
        txid = (await gw.accept(quote))["transaction_id"]
        stopped = await gw.wait(txid, "exception")
        assert stopped["order_id"] is None
        [item] = await gw.exceptions(**{"class": "price_mismatch"})
        assert item["transaction_id"] == txid
        assert item["owner"] == "pricing-ops"
        assert item["state"] == "open"
        codes = {f["code"] for f in item["findings"]}
        assert {"LINE_PRICE_MISMATCH", "TOTAL_PRICE_MISMATCH"} <= codes
        assert len([f for f in item["findings"] if f["code"] == "LINE_PRICE_MISMATCH"]) == 2
        # The quote's total travels with the exception (the console filters on it).
        assert gw.runtime.flow is not None
        stored = await gw.runtime.flow.exceptions.get("sandbox", item["id"])
        quoted = soql(land, f"SELECT GrandTotal FROM Quote WHERE Id = '{quote}'")[0]  # noqa: S608
        assert (Decimal(stored.amount or "0"), stored.currency) == (
            Decimal(str(quoted["GrandTotal"])),
            "EUR",
        )
        assert await gw.exceptions(owner="credit-control") == []
    assert sap_orders(land, derived_id("order", "sandbox", txid)) == []
    assert land.proxies["sap_s4hana"].calls("POST", "A_SalesOrder") == []


async def test_credit_hold_goes_to_credit_control_and_no_erp_order(
    land: Landscape, gateway_for: Any
) -> None:
    quote = create_quote(land, account="Litware Software GmbH")  # blocked in SAP (demo data)
    async with gateway_for() as gw:
        txid = (await gw.accept(quote))["transaction_id"]
        await gw.wait(txid, "exception")
        [item] = await gw.exceptions(owner="credit-control")
        assert item["class"] == "credit_hold"
        assert item["transaction_id"] == txid
        assert [f["check"] for f in item["findings"]] == ["credit"]
        assert item["legal_entity"] is None  # stopped before routing was settled
    assert land.proxies["sap_s4hana"].calls("POST", SAP_ORDERS.rsplit("/", 1)[-1]) == []


async def test_retry_with_edits_is_validated_against_the_contract(
    land: Landscape, gateway_for: Any
) -> None:
    quote = create_quote(land, price_factor="1.10")
    async with gateway_for() as gw:
        txid = (await gw.accept(quote))["transaction_id"]
        await gw.wait(txid, "exception")
        [item] = await gw.exceptions(**{"class": "price_mismatch"})
        retry = f"/v1/ops/exceptions/{item['id']}/retry"

        unknown = await gw.client.post(retry, json={"edits": {"discount": "50"}})
        assert unknown.status_code in (400, 422)
        assert unknown.headers["content-type"].startswith("application/problem+json")
        malformed = await gw.client.post(retry, json={"edits": {"payment_terms": "net 30"}})
        assert malformed.status_code in (400, 422)
        unagreed = await gw.client.post(retry, json={"edits": {"payment_terms": "NET999"}})
        assert unagreed.status_code == 422
        assert unagreed.json()["errors"][0]["field"] == "edits.payment_terms"
        assert (await gw.transaction(txid))["state"] == "exception"  # nothing was sent

        approved = await gw.client.post(
            retry,
            json={
                "edits": {"accept_price_variance": True, "payment_terms": "NET45"},
                "note": "approved by pricing",
            },
        )
        assert approved.status_code == 202, approved.text
        assert approved.json()["state"] == "resolved"
        done = await gw.wait(txid, "awaiting_payment")
        assert done["order_id"]
        assert done["manual_touches"] == 1
        validate = [e for e in done["timeline"] if e["step"] == "validate"]
        assert [e["status"] for e in validate] == ["failed", "succeeded"]
        assert "NET45" in validate[-1]["detail"]
        item = (await gw.client.get(f"/v1/ops/exceptions/{item['id']}")).json()
        assert [a["action"] for a in item["actions"]] == ["retry"]
        assert item["actions"][0]["actor"] == "flow-tests"
        again = await gw.client.post(retry, json={})
        assert again.status_code == 409
    assert len(sap_orders(land, done["order_id"])) == 1
