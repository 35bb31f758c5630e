"""The NetSuite adapter's credit status, hold and cancel, and what a submitted order keeps,
against the NetSuite sandbox (machine-to-machine tokens, strict property names)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from domains.errors import DependencyRejected
from domains.order.ports import OrderSubmission, SubmissionLine
from sandboxes import demo_data
from sandboxes.netsuite.app import NetSuiteSandbox, create_app
from sandboxes.netsuite.oauth import DEMO_CERTIFICATE_ID, DEMO_CLIENT_ID, DEMO_PRIVATE_KEY
from systems.netsuite.adapter import NetSuiteAdapter
from systems.netsuite.auth import ClientCredentials, MachineTokens
from systems.netsuite.client import NetSuiteClient
from systems.netsuite.errors import SYSTEM, translate
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig

BASE = "http://netsuite.sandbox"
FABRIKAM = "1001"
HOLD_FIELD = "custbody_q2c_hold_reason"


@pytest.fixture
def sandbox() -> NetSuiteSandbox:
    return NetSuiteSandbox(access_token=None)


@pytest.fixture
async def adapter(sandbox: NetSuiteSandbox) -> AsyncIterator[NetSuiteAdapter]:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(mounts={BASE: transport}) as http:
        upstream = Upstream(
            system=SYSTEM,
            transport=HttpxTransport(http),
            base_url=BASE,
            config=UpstreamConfig(backoff_seconds=0.01),
            translate=translate,
        )
        tokens = MachineTokens(
            upstream,
            ClientCredentials(
                client_id=DEMO_CLIENT_ID,
                certificate_id=DEMO_CERTIFICATE_ID,
                private_key=DEMO_PRIVATE_KEY,
            ),
        )
        yield NetSuiteAdapter(
            NetSuiteClient(upstream, tokens),
            subsidiaries={"ACME-UK": "2"},
            default_subsidiary="2",
            line_number_field="custcol_q2c_line",
            hold_field=HOLD_FIELD,
        )


def submission(reference: str, account: str = FABRIKAM, **extra: Any) -> OrderSubmission:
    return OrderSubmission(
        reference=reference,
        account=account,
        currency="GBP",
        legal_entity="ACME-UK",
        lines=[
            SubmissionLine(line_number=10, sku="Q2C-1001", quantity="2"),
            SubmissionLine(line_number=20, sku="Q2C-2001", quantity="12", unit_price="9.5"),
        ],
        **extra,
    )


def stored(sandbox: NetSuiteSandbox, order_id: str) -> dict[str, Any]:
    order = sandbox.record("salesOrder", order_id)
    assert order is not None
    return order


# -- what a submitted order keeps ---------------------------------------------------------------
async def test_the_requested_delivery_date_and_line_numbers_reach_netsuite_and_come_back(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    order = await adapter.submit_order(
        submission("ord_SHIPDATE", requested_delivery_date="2027-03-01")
    )
    assert stored(sandbox, order.system_id)["shipDate"] == "2027-03-01"
    assert order.requested_delivery_date == "2027-03-01"
    assert [line.line_number for line in order.lines] == [10, 20]


# -- credit status -------------------------------------------------------------------------------
async def test_credit_status_reads_the_credit_hold(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    held = next(
        c["id"]
        for c in sandbox.records("customer")
        if c["companyName"] == demo_data.NETSUITE_CREDIT_HOLD_ACCOUNT
    )
    status = await adapter.credit_status(held)
    assert (status.blocked, status.system) == (True, "netsuite")
    assert "credit hold" in status.reason
    assert (await adapter.credit_status(FABRIKAM)).blocked is False
    sandbox.credit_hold(FABRIKAM, "AUTO", balance="2500", credit_limit="2000")
    over = await adapter.credit_status(FABRIKAM)
    assert over.blocked is True
    assert "over its credit limit 2000" in over.reason
    sandbox.credit_hold(FABRIKAM, "OFF", balance="2500", credit_limit="2000")
    assert (await adapter.credit_status(FABRIKAM)).blocked is False  # OFF overrides
    for unknown in ("99999", "cus_x"):
        with pytest.raises(DependencyRejected):
            await adapter.credit_status(unknown)


# -- hold -----------------------------------------------------------------------------------------
async def test_hold_sends_an_approved_order_back_to_pending_approval_with_the_reason(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    order = await adapter.submit_order(submission("ord_HOLD"))
    await adapter._ns.update("salesOrder", order.system_id, {"orderStatus": {"id": "B"}})
    await adapter.hold_order(order.system_id, "payment failed")
    record = stored(sandbox, order.system_id)
    assert record["orderStatus"]["id"] == "A"
    assert record[HOLD_FIELD] == "payment failed"
    held = await adapter.get_order(order.system_id)
    assert held is not None
    assert held.status == "held"
    modified = record["lastModifiedDate"]
    await adapter.hold_order(order.system_id, "another reason")  # already held: no change
    assert stored(sandbox, order.system_id)[HOLD_FIELD] == "payment failed"
    assert stored(sandbox, order.system_id)["lastModifiedDate"] == modified


async def test_a_fulfilled_order_cannot_be_held_and_a_closed_one_needs_no_hold(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    order = await adapter.submit_order(submission("ord_SHIPPING"))
    await adapter._ns.update("salesOrder", order.system_id, {"orderStatus": {"id": "B"}})
    sandbox.deliver(order.system_id, [1])
    with pytest.raises(DependencyRejected) as refused:
        await adapter.hold_order(order.system_id, "too late")
    assert refused.value.errors[0].code == "already_fulfilled"
    fulfilled = await adapter.get_order(order.system_id)
    assert fulfilled is not None
    assert fulfilled.fulfillment_status == "partially_fulfilled"


# -- cancel ---------------------------------------------------------------------------------------
async def test_cancel_closes_every_line_and_is_idempotent(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    order = await adapter.submit_order(submission("ord_CANCEL"))
    await adapter.cancel_order(order.system_id, "quote withdrawn")
    record = stored(sandbox, order.system_id)
    assert record["orderStatus"]["id"] == "H"
    assert [line["isClosed"] for line in record["item"]["items"]] == [True, True]
    cancelled = await adapter.get_order(order.system_id)
    assert cancelled is not None
    assert cancelled.status == "cancelled"
    modified = record["lastModifiedDate"]
    await adapter.cancel_order(order.system_id, "again")
    assert stored(sandbox, order.system_id)["lastModifiedDate"] == modified
    await adapter.hold_order(order.system_id, "after cancel")  # nothing left to hold
    assert stored(sandbox, order.system_id)["orderStatus"]["id"] == "H"


async def test_an_order_with_fulfilled_lines_is_not_cancelled(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    order = await adapter.submit_order(submission("ord_HALFWAY"))
    await adapter._ns.update("salesOrder", order.system_id, {"orderStatus": {"id": "B"}})
    sandbox.deliver(order.system_id)
    with pytest.raises(DependencyRejected) as refused:
        await adapter.cancel_order(order.system_id, "too late")
    assert refused.value.errors[0].code == "already_fulfilled"
    done = await adapter.get_order(order.system_id)
    assert done is not None
    assert (done.status, done.fulfillment_status) == ("in_progress", "fulfilled")
    with pytest.raises(DependencyRejected):
        await adapter.cancel_order("424242", "unknown order")
