"""The NetSuite adapter against the NetSuite sandbox, in-process over httpx.ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from domains.correlation import working_on
from domains.errors import DependencyRejected, DependencyUnavailable
from domains.order.ports import OrderSubmission, Party, SubmissionLine
from domains.paging import Page
from sandboxes.netsuite.app import ACCESS_TOKEN, NetSuiteSandbox, create_app
from systems.netsuite.adapter import NetSuiteAdapter
from systems.netsuite.client import NetSuiteAuth, NetSuiteClient
from systems.netsuite.errors import SYSTEM, translate
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig

BASE = "http://netsuite.sandbox"
UK = {"ACME-UK": "2", "ACME-US": "3"}
FABRIKAM = "1001"  # seeded UK customer "Fabrikam Logistics Ltd", VAT GB220430231
FOURTH_COFFEE = "1002"


class LoseResponses:
    """An ASGI wrapper that lets matching requests reach the sandbox but answers them 502,
    the way a proxy does when the connection drops after NetSuite committed the write."""

    def __init__(self, app: Any, method: str, path_part: str, times: int = 1) -> None:
        self.app, self.method, self.path_part, self.remaining = app, method, path_part, times

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        hit = (
            scope["type"] == "http"
            and scope["method"] == self.method
            and self.path_part in scope["path"]
            and self.remaining > 0
        )
        if not hit:
            await self.app(scope, receive, send)
            return
        self.remaining -= 1

        async def swallow(message: Any) -> None:
            del message

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 502, "headers": []})
        await send({"type": "http.response.body", "body": b"<html>502 Bad Gateway</html>"})


@pytest.fixture
def sandbox() -> NetSuiteSandbox:
    return NetSuiteSandbox()


@pytest.fixture
def requests() -> list[httpx.Request]:
    return []


@pytest.fixture
def lossy(sandbox: NetSuiteSandbox) -> LoseResponses:
    return LoseResponses(create_app(sandbox), "POST", "/record/v1/salesOrder", times=0)


@pytest.fixture
async def http(
    lossy: LoseResponses, requests: list[httpx.Request]
) -> AsyncIterator[httpx.AsyncClient]:
    async def record(request: httpx.Request) -> None:
        requests.append(request)

    async with httpx.AsyncClient(
        mounts={BASE: httpx.ASGITransport(app=lossy)}, event_hooks={"request": [record]}
    ) as client:
        yield client


def make_client(http: httpx.AsyncClient, token: str = ACCESS_TOKEN) -> NetSuiteClient:
    upstream = Upstream(
        system=SYSTEM,
        transport=HttpxTransport(http),
        base_url=BASE,
        config=UpstreamConfig(backoff_seconds=0.01),
        translate=translate,
    )
    return NetSuiteClient(upstream, NetSuiteAuth(access_token=token))


@pytest.fixture
def client(http: httpx.AsyncClient) -> NetSuiteClient:
    return make_client(http)


@pytest.fixture
def adapter(client: NetSuiteClient) -> NetSuiteAdapter:
    return NetSuiteAdapter(client, subsidiaries=UK, default_subsidiary="2")


def party(**overrides: Any) -> Party:
    values: dict[str, Any] = {
        "canonical_id": "cus_01JNEWUK",
        "name": "Northwind Traders Ltd",
        "country": "GB",
        "tax_id": "GB 555 666 777",
        "city": "Leeds",
        "street": "1 Park Row",
        "postal_code": "LS1 5AB",
        "currency": "GBP",
        "legal_entity": "ACME-UK",
    }
    values.update(overrides)
    return Party(**values)


def submission(account: str, reference: str = "ord_01JORDER1", **overrides: Any) -> OrderSubmission:
    values: dict[str, Any] = {
        "reference": reference,
        "account": account,
        "currency": "GBP",
        "legal_entity": "ACME-UK",
        "lines": [
            SubmissionLine(line_number=10, sku="Q2C-1001", quantity="2"),
            SubmissionLine(
                line_number=20,
                sku="Q2C-2001",
                quantity="12",
                description="Fleet monitoring, agreed price",
                unit_price="9.5",
            ),
        ],
    }
    values.update(overrides)
    return OrderSubmission(**values)


def orders_with_reference(sandbox: NetSuiteSandbox, reference: str) -> list[dict[str, Any]]:
    return [o for o in sandbox.records("salesOrder") if o.get("externalId") == reference]


# -- accounts ---------------------------------------------------------------------
async def test_create_account_writes_a_company_customer_under_its_external_id(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    assert await adapter.find_account(party()) is None
    account = await adapter.create_account(party())

    customer = sandbox.record("customer", account)
    assert customer is not None
    assert customer["externalId"] == "cus_01JNEWUK"
    assert customer["companyName"] == "Northwind Traders Ltd"
    assert customer["isPerson"] is False
    assert customer["subsidiary"]["id"] == "2"
    assert customer["currency"]["id"] == "1"  # GBP
    assert customer["vatRegNumber"] == "GB 555 666 777"
    [address] = customer["addressBook"]["items"]
    assert address["defaultBilling"] is True
    assert address["addressBookAddress"]["addr1"] == "1 Park Row"
    assert address["addressBookAddress"]["city"] == "Leeds"
    assert address["addressBookAddress"]["zip"] == "LS1 5AB"
    assert address["addressBookAddress"]["country"]["id"] == "GB"

    calls = sandbox.api_calls
    assert await adapter.find_account(party()) == account
    assert sandbox.api_calls == calls + 1  # one GET customer/eid:cus_01JNEWUK


async def test_a_repeated_create_account_returns_the_existing_customer(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    first = await adapter.create_account(party())
    second = await adapter.create_account(party())  # DUP_RCRD -> looked up by eid
    assert second == first
    owned = [c for c in sandbox.records("customer") if c.get("externalId") == "cus_01JNEWUK"]
    assert len(owned) == 1


async def test_find_account_by_tax_id_in_any_spelling(adapter: NetSuiteAdapter) -> None:
    for tax_id in ("GB220430231", "220430231", "GB 220 430 231"):
        found = await adapter.find_account(
            party(canonical_id="cus_fab", name="Fabrikam", tax_id=tax_id)
        )
        assert found == FABRIKAM, tax_id


async def test_find_account_by_tax_id_of_a_customer_we_created(
    adapter: NetSuiteAdapter, client: NetSuiteClient, sandbox: NetSuiteSandbox
) -> None:
    account = await adapter.create_account(party())
    # The external id is dropped in NetSuite (e.g. a manual merge): the VAT number remains.
    await client.update("customer", account, {"externalId": None})
    assert sandbox.record("customer", account) is not None
    assert await adapter.find_account(party(tax_id="555666777")) == account


async def test_find_account_scopes_tax_and_name_matches(
    adapter: NetSuiteAdapter, client: NetSuiteClient
) -> None:
    fabrikam = party(canonical_id="cus_fab", name="Fabrikam Logistics Ltd", tax_id="GB220430231")
    assert await adapter.find_account(fabrikam) == FABRIKAM
    # A customer of another subsidiary (ACME-US books in 3) cannot take this entity's orders.
    us = party(**{**_fields(fabrikam), "legal_entity": "ACME-US"})
    assert await adapter.find_account(us) is None
    # A customer that carries another canonical customer's external id is not ours,
    # neither by tax number nor by name.
    await client.update("customer", FABRIKAM, {"externalId": "cus_someone_else"})
    assert await adapter.find_account(fabrikam) is None


def _fields(value: Party) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__struct_fields__}


async def test_find_account_by_name_and_country(adapter: NetSuiteAdapter) -> None:
    by_name = party(canonical_id="cus_4c", name="Fourth Coffee Ltd", tax_id=None)
    assert await adapter.find_account(by_name) == FOURTH_COFFEE
    assert await adapter.find_account(party(**{**_fields(by_name), "country": "IE"})) is None


async def test_create_account_in_a_currency_netsuite_lacks_is_rejected(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    before = len(sandbox.records("customer"))
    with pytest.raises(DependencyRejected) as caught:
        await adapter.create_account(party(currency="CHF"))
    assert caught.value.system == "netsuite"
    assert caught.value.errors[0].field == "currency"
    assert len(sandbox.records("customer")) == before


# -- orders -------------------------------------------------------------------------
async def test_submit_order_books_a_uk_sales_order(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    account = await adapter.create_account(party())
    assert await adapter.find_order("ord_01JORDER1") is None

    record = await adapter.submit_order(submission(account))

    [order] = sandbox.records("salesOrder")
    assert order["id"] == record.system_id
    assert order["externalId"] == "ord_01JORDER1"
    assert order["entity"]["id"] == account
    assert order["subsidiary"]["id"] == "2"
    assert order["currency"]["id"] == "1"
    lines = order["item"]["items"]
    assert [line["item"]["refName"] for line in lines] == ["Q2C-1001", "Q2C-2001"]
    assert [Decimal(str(line["quantity"])) for line in lines] == [2, 12]
    # No agreed price: NetSuite prices from the item (GBP list 4150.00); agreed: 9.5 as is.
    assert [Decimal(str(line["rate"])) for line in lines] == [Decimal("4150"), Decimal("9.5")]
    assert [line["price"]["id"] for line in lines] == ["1", "-1"]
    assert lines[1]["description"] == "Fleet monitoring, agreed price"
    assert Decimal(str(order["subtotal"])) == Decimal("8414.00")

    assert record.reference == "ord_01JORDER1"
    assert record.account == account
    assert record.status == "acknowledged"  # orderStatus A, Pending Approval
    assert record.fulfillment_status == "unfulfilled"
    assert record.currency == "GBP"
    assert [(ln.line_number, ln.sku, ln.quantity, ln.net_amount) for ln in record.lines] == [
        (1, "Q2C-1001", "2", "8300.00"),
        (2, "Q2C-2001", "12", "114.00"),
    ]
    assert record.lines[0].description == "Edge Gateway Appliance G2"
    assert record.total_net == "8414.00"
    assert record.created_at is not None
    assert record.created_at.endswith("Z")
    assert await adapter.get_order(record.system_id) == record


async def test_an_order_for_a_transaction_names_it_in_the_memo(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    with working_on("txn_01JTESTTRANSACTION"):
        await adapter.submit_order(submission(FABRIKAM, reference="ord_01JINSIDE"))
    await adapter.submit_order(submission(FABRIKAM, reference="ord_01JOUTSIDE"))
    [inside] = orders_with_reference(sandbox, "ord_01JINSIDE")
    [outside] = orders_with_reference(sandbox, "ord_01JOUTSIDE")
    assert inside["memo"] == "Q2C transaction txn_01JTESTTRANSACTION"
    assert not outside.get("memo")


async def test_a_retried_submission_converges_on_one_order(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    first = await adapter.submit_order(submission(FABRIKAM))
    # The domain's retry: find_order by the canonical id before submitting again.
    assert await adapter.find_order("ord_01JORDER1") == first
    # A submit that skips the look-up (a race) is still one order: DUP_RCRD -> eid.
    again = await adapter.submit_order(submission(FABRIKAM))
    assert again == first
    assert len(orders_with_reference(sandbox, "ord_01JORDER1")) == 1
    assert len(sandbox.records("salesOrder")) == 1


async def test_a_lost_create_response_is_retried_into_the_same_order(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox, lossy: LoseResponses
) -> None:
    lossy.remaining = 1  # NetSuite commits the order, the caller sees 502
    record = await adapter.submit_order(submission(FABRIKAM))
    assert lossy.remaining == 0
    [order] = sandbox.records("salesOrder")
    assert record.system_id == order["id"]
    assert record.reference == "ord_01JORDER1"


async def test_unknown_and_inactive_skus_are_rejected_naming_their_lines(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox, requests: list[httpx.Request]
) -> None:
    lines = [
        SubmissionLine(line_number=10, sku="Q2C-1001", quantity="1"),
        SubmissionLine(line_number=20, sku="NOPE-42", quantity="1"),
        SubmissionLine(line_number=30, sku="Q2C-9001", quantity="1"),
    ]
    with pytest.raises(DependencyRejected) as caught:
        await adapter.submit_order(submission(FABRIKAM, lines=lines))
    error = caught.value
    assert error.system == "netsuite"
    assert "NOPE-42" in error.detail
    assert "Line 20" in error.detail
    assert [(i.field, i.code) for i in error.errors] == [
        ("lines[1].sku", "unknown_item"),
        ("lines[2].sku", "inactive_item"),
    ]
    assert sandbox.records("salesOrder") == []
    item_queries = [
        r for r in requests if r.url.path.endswith("/suiteql") and b"FROM item" in r.content
    ]
    assert len(item_queries) == 1  # every SKU in one SuiteQL query


async def test_netsuite_rejecting_the_order_is_a_dependency_rejection(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    # The customer's primary currency is GBP; NetSuite refuses a USD order for it.
    with pytest.raises(DependencyRejected) as caught:
        await adapter.submit_order(submission(FABRIKAM, currency="USD"))
    assert caught.value.vendor_code == "USER_ERROR"
    assert caught.value.errors[0].field == "currency"
    assert sandbox.records("salesOrder") == []


async def test_netsuite_5xx_is_dependency_unavailable(
    adapter: NetSuiteAdapter, sandbox: NetSuiteSandbox
) -> None:
    sandbox.faults.fail_next = 1  # one 503 is retried away
    assert await adapter.find_order("ord_missing") is None
    sandbox.faults.fail_next = 3  # the first try and both retries fail
    with pytest.raises(DependencyUnavailable) as caught:
        await adapter.find_order("ord_missing")
    assert caught.value.system == "netsuite"
    sandbox.faults.fail_next = 100
    with pytest.raises(DependencyUnavailable) as submitted:
        await adapter.submit_order(submission(FABRIKAM))
    assert submitted.value.system == "netsuite"
    sandbox.faults.fail_next = 0
    assert sandbox.records("salesOrder") == []


async def test_bad_credentials_are_dependency_unavailable(http: httpx.AsyncClient) -> None:
    adapter = NetSuiteAdapter(
        make_client(http, token="expired"), subsidiaries=UK, default_subsidiary="2"
    )
    with pytest.raises(DependencyUnavailable) as caught:
        await adapter.get_order("5001")
    assert "INVALID_LOGIN" in caught.value.detail


async def test_get_order_of_unknown_or_foreign_ids_is_none(adapter: NetSuiteAdapter) -> None:
    assert await adapter.get_order("999999") is None
    assert await adapter.get_order("0000A1") is None  # an SAP number, not a NetSuite id


async def test_list_orders_newest_first_by_account_with_paging(
    adapter: NetSuiteAdapter, requests: list[httpx.Request]
) -> None:
    mine = [
        (await adapter.submit_order(submission(FABRIKAM, reference=f"ord_{n}"))).system_id
        for n in range(3)
    ]
    other = await adapter.submit_order(submission(FOURTH_COFFEE, reference="ord_other"))
    newest_first = mine[::-1]

    first = await adapter.list_orders(FABRIKAM, 0, 2)
    assert [o.system_id for o in first.items] == newest_first[:2]
    assert first.has_more is True
    second = await adapter.list_orders(FABRIKAM, 2, 2)
    assert [o.system_id for o in second.items] == newest_first[2:]
    assert second.has_more is False
    shifted = await adapter.list_orders(FABRIKAM, 1, 2)  # an offset that is not k * limit
    assert [o.system_id for o in shifted.items] == newest_first[1:3]
    assert shifted.has_more is False
    assert all(o.account == FABRIKAM and len(o.lines) == 2 for o in first.items)

    everything = await adapter.list_orders(None, 0, 10)
    assert [o.system_id for o in everything.items] == [other.system_id, *newest_first]
    assert everything.has_more is False
    assert await adapter.list_orders("cus_not_an_id", 0, 10) == Page([], False)

    for request in requests:
        if request.url.path.endswith("/suiteql"):
            limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
            assert offset % limit == 0, request.url  # NetSuite's paging rule


async def test_currency_ids_come_from_config_or_netsuite(
    client: NetSuiteClient, requests: list[httpx.Request]
) -> None:
    configured = NetSuiteAdapter(
        client, subsidiaries=UK, default_subsidiary="2", currencies={"gbp": "1"}
    )
    await configured.submit_order(submission(FABRIKAM))
    assert not [r for r in requests if b"FROM currency" in r.content]
    looked_up = NetSuiteAdapter(client, subsidiaries=UK, default_subsidiary="2")
    assert (await looked_up.find_order("ord_01JORDER1")) is not None
    assert len([r for r in requests if b"FROM currency" in r.content]) == 1


def test_subsidiaries_must_be_internal_ids(client: NetSuiteClient) -> None:
    with pytest.raises(ValueError, match="internal ids"):
        NetSuiteAdapter(client, subsidiaries={"ACME-UK": "ACME UK Ltd"}, default_subsidiary="2")


# -- client -----------------------------------------------------------------------------
async def test_upsert_by_external_id_creates_then_updates_one_record(
    client: NetSuiteClient, sandbox: NetSuiteSandbox
) -> None:
    body = {"companyName": "Upserted Ltd", "subsidiary": {"id": "2"}}
    created = await client.upsert("customer", "cus_upsert", body)
    updated = await client.upsert("customer", "cus_upsert", {"companyName": "Upserted Limited"})
    assert created == updated
    record = sandbox.record("customer", created)
    assert record is not None
    assert record["companyName"] == "Upserted Limited"
    assert record["externalId"] == "cus_upsert"


async def test_suiteql_window_reads_aligned_pages(
    client: NetSuiteClient, requests: list[httpx.Request]
) -> None:
    query = "SELECT id FROM item ORDER BY id"  # 12 seeded items, ids 101..112
    rows, more = await client.suiteql_window(query, 5, 4)
    assert [row["id"] for row in rows] == ["106", "107", "108", "109"]
    assert more is True
    pages = [(r.url.params["limit"], r.url.params["offset"]) for r in requests]
    assert pages == [("4", "4"), ("4", "8")]
    rows, more = await client.suiteql_window(query, 10, 4)
    assert [row["id"] for row in rows] == ["111", "112"]
    assert more is False
    assert len(await client.suiteql_all(query)) == 12


async def test_record_reads_decode_numbers_without_floats(client: NetSuiteClient) -> None:
    item = await client.get("inventoryItem", "104")
    assert item is not None
    assert item["rate"] == Decimal("163.5")
    assert isinstance(item["rate"], Decimal)


async def test_a_failing_read_while_listing_is_dependency_unavailable(
    adapter: NetSuiteAdapter, lossy: LoseResponses
) -> None:
    for n in range(3):
        await adapter.submit_order(submission(FABRIKAM, reference=f"ord_{n}"))
    lossy.method, lossy.path_part, lossy.remaining = "GET", "/record/v1/salesOrder/", 100
    with pytest.raises(DependencyUnavailable) as caught:
        await adapter.list_orders(FABRIKAM, 0, 10)
    assert caught.value.system == "netsuite"


async def test_canonical_line_numbers_travel_in_a_custom_column(
    client: NetSuiteClient, requests: list[httpx.Request]
) -> None:
    adapter = NetSuiteAdapter(
        client, subsidiaries=UK, default_subsidiary="2", line_number_field="custcol_q2c_line"
    )
    await adapter.submit_order(submission(FABRIKAM))
    [create] = [r for r in requests if r.method == "POST" and r.url.path.endswith("/salesOrder")]
    sent = msgspec.json.decode(create.content)["item"]["items"]
    assert [line["custcol_q2c_line"] for line in sent] == [10, 20]
    with pytest.raises(ValueError, match="custcol"):
        NetSuiteAdapter(client, subsidiaries=UK, default_subsidiary="2", line_number_field="memo")
