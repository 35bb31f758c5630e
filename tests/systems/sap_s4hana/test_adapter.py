"""The SAP S/4HANA adapter against the S/4HANA sandbox, in-process over httpx.ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from domains.errors import DependencyRejected, DependencyUnavailable
from domains.order.ports import OrderSubmission, SubmissionLine
from domains.product.ports import ProductQuery
from sandboxes import demo_data
from sandboxes.sap_s4hana.app import SapSandbox, create_app
from systems.sap_s4hana.adapter import OrderChanges, SalesArea, SapAdapter
from systems.sap_s4hana.client import SapAuth, SapClient
from systems.sap_s4hana.errors import SYSTEM, translate
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig

BASE = "http://sap.sandbox"
AUTH = SapAuth(user="Q2C_GATEWAY", password="sandbox")
NORTHWIND = "1000100"


class Recorder:
    """An ASGI wrapper that records each request and can run a hook before one."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []
        self.before: Callable[[str, str], None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode()
            self.requests.append((scope["method"], f"{scope['path']}?{query}"))
            if self.before is not None:
                self.before(scope["method"], scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def sandbox() -> SapSandbox:
    return SapSandbox(page_size=2, clock=lambda: datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


@pytest.fixture
def recorder(sandbox: SapSandbox) -> Recorder:
    return Recorder(create_app(sandbox))


@pytest.fixture
async def adapter(recorder: Recorder) -> AsyncIterator[SapAdapter]:
    async with httpx.AsyncClient(mounts={BASE: httpx.ASGITransport(app=recorder)}) as http:
        upstream = Upstream(
            system=SYSTEM,
            transport=HttpxTransport(http),
            base_url=BASE,
            config=UpstreamConfig(backoff_seconds=0.01),
            translate=translate,
        )
        yield SapAdapter(SapClient(upstream, AUTH), SalesArea(), {}, OrderChanges())


def _submission(reference: str, account: str = NORTHWIND) -> OrderSubmission:
    return OrderSubmission(
        reference=reference,
        account=account,
        currency="EUR",
        lines=[
            SubmissionLine(line_number=10, sku="Q2C-1001", quantity="2"),
            SubmissionLine(line_number=20, sku="Q2C-2001", quantity="12"),
        ],
    )


# -- server-side paging ------------------------------------------------------------------
async def test_a_page_the_server_cuts_below_top_is_completed_through_next(
    adapter: SapAdapter, recorder: Recorder
) -> None:
    """The sandbox pages by 2 whatever $top says: 5 products take three round trips."""
    page = await adapter.list_products(ProductQuery(), offset=0, limit=5)
    assert [p.sku for p in page.items] == [p.material for p in demo_data.PRODUCTS[:5]]
    assert page.has_more is True
    queries = [path for method, path in recorder.requests if "A_Product?" in path]
    assert len(queries) == 3  # $top=6 asked for, pages of 2: 2 + 2 + 2
    assert "$skiptoken=2" in queries[1]
    assert "$skiptoken=4" in queries[2]
    rest = await adapter.list_products(ProductQuery(), offset=10, limit=5)
    assert [p.sku for p in rest.items] == [p.material for p in demo_data.PRODUCTS[10:15]]
    assert rest.has_more is (len(demo_data.PRODUCTS) > 15)


async def test_orders_of_an_account_are_complete_across_server_pages(
    adapter: SapAdapter,
) -> None:
    created = [await adapter.submit_order(_submission(f"ord_PAGE{n}")) for n in range(5)]
    page = await adapter.list_orders(NORTHWIND, offset=0, limit=4)
    assert [o.system_id for o in page.items] == [o.system_id for o in reversed(created)][:4]
    assert page.has_more is True


# -- credit status ----------------------------------------------------------------------
async def test_credit_status_reads_the_customers_order_blocks(
    adapter: SapAdapter, sandbox: SapSandbox
) -> None:
    blocked, code = demo_data.SAP_ORDER_BLOCKED_CUSTOMER
    status = await adapter.credit_status(blocked)
    assert status.blocked is True
    assert status.system == "sap_s4hana"
    assert f"order block {code}" in status.reason
    assert (await adapter.credit_status(NORTHWIND)).blocked is False
    # A block in the sales area the gateway books in counts; one elsewhere does not.
    sandbox.block_customer(NORTHWIND, "02", {
        "SalesOrganization": "1010", "DistributionChannel": "10", "Division": "00",
    })  # fmt: skip
    area = await adapter.credit_status(NORTHWIND)
    assert area.blocked is True
    assert "sales area 1010/10/00" in area.reason
    with pytest.raises(DependencyRejected) as unknown:
        await adapter.credit_status("4711")
    assert unknown.value.errors[0].code == "unknown_customer"


async def test_a_blocked_customers_order_is_refused_by_sap(adapter: SapAdapter) -> None:
    blocked, _ = demo_data.SAP_ORDER_BLOCKED_CUSTOMER
    with pytest.raises(DependencyRejected) as refused:
        await adapter.submit_order(_submission("ord_BLOCKED", account=blocked))
    assert refused.value.vendor_code == "ZQ2C_SD/013"


# -- hold --------------------------------------------------------------------------------
async def test_hold_sets_both_blocks_with_the_orders_etag_and_is_idempotent(
    adapter: SapAdapter, recorder: Recorder, sandbox: SapSandbox
) -> None:
    order = await adapter.submit_order(_submission("ord_HOLD"))
    assert order.status == "acknowledged"
    await adapter.hold_order(order.system_id, "payment failed")
    held = await adapter.get_order(order.system_id)
    assert held is not None
    assert held.status == "held"
    [row] = [o for o in sandbox.sales_orders() if o["SalesOrder"] == order.system_id]
    assert (row["DeliveryBlockReason"], row["HeaderBillingBlockReason"]) == ("01", "01")
    writes = len([r for r in recorder.requests if r[0] == "PATCH"])
    await adapter.hold_order(order.system_id, "payment failed")  # already held: no change
    assert len([r for r in recorder.requests if r[0] == "PATCH"]) == writes


async def test_hold_rereads_a_stale_order_once_and_keeps_anothers_block(
    adapter: SapAdapter, recorder: Recorder, sandbox: SapSandbox
) -> None:
    order = await adapter.submit_order(_submission("ord_RACE"))
    raced = False

    def someone_else_first(method: str, path: str) -> None:
        """Between the adapter's read and its PATCH, a user sets a delivery block."""
        nonlocal raced
        if method == "PATCH" and not raced:
            raced = True
            sandbox.update_sales_order(
                (order.system_id,), {"DeliveryBlockReason": "02"}, "CLERK", replace=False
            )

    recorder.before = someone_else_first
    await adapter.hold_order(order.system_id, "compensation")
    patches = [path for method, path in recorder.requests if method == "PATCH"]
    assert len(patches) == 2  # 412 on the first, success after reading again
    [row] = [o for o in sandbox.sales_orders() if o["SalesOrder"] == order.system_id]
    assert (row["DeliveryBlockReason"], row["HeaderBillingBlockReason"]) == ("02", "01")


async def test_hold_gives_up_after_a_second_stale_etag(
    adapter: SapAdapter, recorder: Recorder, sandbox: SapSandbox
) -> None:
    order = await adapter.submit_order(_submission("ord_BUSY"))

    def always_first(method: str, path: str) -> None:
        if method == "PATCH":
            sandbox.update_sales_order(
                (order.system_id,), {"PurchaseOrderByCustomer": "ord_BUSY"}, "CLERK",
                replace=False,
            )  # fmt: skip

    recorder.before = always_first
    with pytest.raises(DependencyUnavailable, match="kept changing"):
        await adapter.hold_order(order.system_id, "compensation")


# -- cancel ------------------------------------------------------------------------------
async def test_cancel_rejects_every_item_and_is_idempotent(
    adapter: SapAdapter, recorder: Recorder
) -> None:
    order = await adapter.submit_order(_submission("ord_CANCEL"))
    await adapter.cancel_order(order.system_id, "quote withdrawn")
    cancelled = await adapter.get_order(order.system_id)
    assert cancelled is not None
    assert cancelled.status == "cancelled"
    item_patches = [p for m, p in recorder.requests if m == "PATCH" and "A_SalesOrderItem(" in p]
    assert len(item_patches) == 2
    assert "SalesOrderItem='10'" in item_patches[0].replace("%27", "'")
    await adapter.cancel_order(order.system_id, "quote withdrawn")
    assert len([p for m, p in recorder.requests if m == "PATCH"]) == 2


async def test_a_delivered_order_is_not_cancelled(adapter: SapAdapter, sandbox: SapSandbox) -> None:
    order = await adapter.submit_order(_submission("ord_SHIPPED"))
    sandbox.deliver(order.system_id, ["10"])
    with pytest.raises(DependencyRejected) as refused:
        await adapter.cancel_order(order.system_id, "too late")
    assert refused.value.errors[0].code == "already_delivered"
    unknown = adapter.cancel_order("9999999", "nothing")
    with pytest.raises(DependencyRejected):
        await unknown


# -- fulfilment --------------------------------------------------------------------------
async def test_get_order_reflects_delivery(adapter: SapAdapter, sandbox: SapSandbox) -> None:
    order = await adapter.submit_order(_submission("ord_FULFIL"))
    assert order.fulfillment_status == "unfulfilled"
    sandbox.deliver(order.system_id, ["10"])
    partly = await adapter.get_order(order.system_id)
    assert partly is not None
    assert (partly.status, partly.fulfillment_status) == ("in_progress", "fulfilled")
    sandbox.deliver(order.system_id)
    done = await adapter.get_order(order.system_id)
    assert done is not None
    assert done.status == "completed"
