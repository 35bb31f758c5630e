"""The Stripe API v1 sandbox, exercised in-process over httpx.ASGITransport."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandboxes import demo_data
from sandboxes.stripe.app import API_KEY, API_VERSION, StripeSandbox, create_app
from sandboxes.stripe.params import ParamError, format_amount, parse_form

AUTH = {"Authorization": f"Bearer {API_KEY}"}
ID_RE = {
    "customer": re.compile(r"^cus_[0-9A-Za-z]{14}$"),
    "invoice": re.compile(r"^in_[0-9A-Za-z]{14}$"),
    "invoiceitem": re.compile(r"^ii_[0-9A-Za-z]{14}$"),
    "payment_intent": re.compile(r"^pi_[0-9A-Za-z]{24}$"),
    "charge": re.compile(r"^ch_[0-9A-Za-z]{24}$"),
    "refund": re.compile(r"^re_[0-9A-Za-z]{24}$"),
    "payment_method": re.compile(r"^pm_[0-9A-Za-z]{24}$"),
}
US_ACCOUNTS = [a for a in demo_data.ACCOUNTS if a.country in ("US", "CA", "JP", "AU")]


@pytest.fixture
def sandbox() -> StripeSandbox:
    return StripeSandbox()


@pytest.fixture
async def client(sandbox: StripeSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://stripe.sandbox", headers=AUTH
    ) as http:
        yield http


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    result = await response if not isinstance(response, httpx.Response) else response
    assert result.status_code == status, result.text
    body: dict[str, Any] = result.json()
    return body


async def error(response: Any, status: int) -> dict[str, Any]:
    result = await response if not isinstance(response, httpx.Response) else response
    assert result.status_code == status, result.text
    body = result.json()
    assert set(body) == {"error"}
    err: dict[str, Any] = body["error"]
    return err


def minor_units(decimal_price: str, currency: str) -> int:
    """A list price as Stripe's integer amount, computed independently of the sandbox."""
    places = 0 if currency.lower() in ("jpy", "krw") else 2
    return int(Decimal(decimal_price).scaleb(places))


async def new_customer(client: httpx.AsyncClient, **extra: str) -> str:
    body = await ok(client.post("/v1/customers", data={"name": "Test Co", **extra}))
    return str(body["id"])


async def draft_invoice(
    client: httpx.AsyncClient,
    customer: str,
    amounts: list[int],
    currency: str = "usd",
    **extra: str,
) -> dict[str, Any]:
    for amount in amounts:
        await ok(client.post("/v1/invoiceitems", data={
            "customer": customer, "currency": currency, "amount": str(amount)}))  # fmt: skip
    return await ok(client.post("/v1/invoices", data={
        "customer": customer, "currency": currency, "pending_invoice_items_behavior": "include",
        **extra}))  # fmt: skip


# ======================================================================= seed


def test_seed_has_the_acme_us_customers_and_no_invoices(sandbox: StripeSandbox) -> None:
    customers = sandbox.objects("customer")
    assert [c["name"] for c in customers] == [a.name for a in US_ACCOUNTS]
    assert len(customers) == 13
    for customer, account in zip(customers, US_ACCOUNTS, strict=True):
        assert ID_RE["customer"].match(customer["id"])
        assert customer["metadata"] == {"q2c_tax_id": account.tax_id}
        assert customer["address"]["country"] == account.country
        assert customer["livemode"] is False
        assert customer["invoice_settings"]["default_payment_method"].startswith("pm_")
    assert sandbox.objects("invoice") == []
    assert sandbox.objects("invoiceitem") == []
    assert [c["id"] for c in StripeSandbox().objects("customer")] == [c["id"] for c in customers]
    assert StripeSandbox(seed=False).objects("customer") == []
    with pytest.raises(KeyError):
        sandbox.objects("subscription")


# ================================================================== transport


async def test_bearer_and_basic_auth(client: httpx.AsyncClient) -> None:
    body = await ok(client.get("/v1/customers", params={"limit": 1}))
    assert body["object"] == "list"
    basic = base64.b64encode(f"{API_KEY}:".encode()).decode()
    response = await client.get("/v1/customers", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200
    assert response.headers["Stripe-Version"] == API_VERSION
    assert response.headers["Request-Id"].startswith("req_")
    assert response.headers["Content-Type"] == "application/json"


async def test_bad_or_missing_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/customers", headers={"Authorization": "Bearer sk_test_wrongwrongwrong1234"}
    )
    err = await error(response, 401)
    assert err == {
        "message": "Invalid API Key provided: sk_test_***************1234",
        "type": "invalid_request_error",
    }
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Stripe"'
    err = await error(client.get("/v1/customers", headers={"Authorization": ""}), 401)
    assert err["message"].startswith("You did not provide an API key.")


async def test_unknown_url_is_404(client: httpx.AsyncClient) -> None:
    err = await error(client.get("/v1/subscriptionz"), 404)
    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith("Unrecognized request URL (GET: /v1/subscriptionz).")
    err = await error(client.put("/v1/customers"), 404)
    assert "(PUT: /v1/customers)" in err["message"]


async def test_json_bodies_are_refused(client: httpx.AsyncClient) -> None:
    err = await error(client.post("/v1/customers", json={"name": "x"}), 400)
    assert "unsupported Content-Type application/json" in err["message"]


async def test_lifespan_messages_are_answered() -> None:
    app = create_app(StripeSandbox(seed=False))
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert app.sandbox.objects("customer") == []


# ============================================================= form decoding


def test_parse_form_builds_nested_hashes_and_arrays() -> None:
    parsed = parse_form(
        "metadata[order_id]=ord_1&metadata[q]=a%20b&lines[0][amount]=100&lines[1][amount]=200"
        "&lines[0][description]=x&expand[]=lines&expand[]=customer&address[line1]=&name=N"
    )
    assert parsed == {
        "metadata": {"order_id": "ord_1", "q": "a b"},
        "lines": {"0": {"amount": "100", "description": "x"}, "1": {"amount": "200"}},
        "expand": ["lines", "customer"],
        "address": {"line1": ""},
        "name": "N",
    }
    assert parse_form("items[][price]=a&items[][price]=b&items[][q]=1") == {
        "items": [{"price": "a"}, {"price": "b", "q": "1"}]
    }
    with pytest.raises(ParamError) as conflict:
        parse_form("metadata=x&metadata[a]=b")
    assert conflict.value.message == "Invalid hash"


async def test_nested_metadata_and_address_round_trip(client: httpx.AsyncClient) -> None:
    body = await ok(client.post("/v1/customers", content=(
        "name=Nested%20GmbH&metadata[order_id]=ord_1&metadata[source]=q2c"
        "&address[line1]=Speicherstadt%2012&address[country]=DE&preferred_locales[0]=de"
    ), headers={"Content-Type": "application/x-www-form-urlencoded"}))  # fmt: skip
    assert body["metadata"] == {"order_id": "ord_1", "source": "q2c"}
    assert body["address"] == {"city": None, "country": "DE", "line1": "Speicherstadt 12",
                               "line2": None, "postal_code": None, "state": None}  # fmt: skip
    assert body["preferred_locales"] == ["de"]
    # metadata[key]= removes a key; metadata= clears all
    updated = await ok(
        client.post(
            f"/v1/customers/{body['id']}", data={"metadata[source]": "", "metadata[new]": "1"}
        )
    )
    assert updated["metadata"] == {"order_id": "ord_1", "new": "1"}
    cleared = await ok(client.post(f"/v1/customers/{body['id']}", data={"metadata": ""}))
    assert cleared["metadata"] == {}


async def test_expand_in_both_array_spellings(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    item = await ok(
        client.post(
            "/v1/invoiceitems",
            data={"customer": customer, "currency": "usd", "amount": "500", "expand[]": "customer"},
        )
    )
    assert item["customer"]["object"] == "customer"
    again = await ok(client.get(f"/v1/invoiceitems/{item['id']}",
                                params={"expand[0]": "customer"}))  # fmt: skip
    assert again["customer"]["id"] == customer
    listed = await ok(client.get("/v1/invoiceitems", params={"expand[]": "data.customer"}))
    assert listed["data"][0]["customer"]["id"] == customer
    err = await error(client.get(f"/v1/invoiceitems/{item['id']}",
                                 params={"expand[]": "nope"}), 400)  # fmt: skip
    assert err["message"] == "This property cannot be expanded (nope)."
    assert err["param"] == "expand[0]"
    err = await error(client.get(f"/v1/invoiceitems/{item['id']}",
                                 params={"expand": "customer"}), 400)  # fmt: skip
    assert err["message"] == "Invalid array"


# ============================================================ parameter errors


async def test_parameter_error_envelopes(client: httpx.AsyncClient) -> None:
    err = await error(client.post("/v1/customers", data={"nickname": "x"}), 400)
    assert err == {
        "code": "parameter_unknown",
        "doc_url": "https://stripe.com/docs/error-codes/parameter-unknown",
        "message": "Received unknown parameter: nickname",
        "param": "nickname",
        "type": "invalid_request_error",
    }
    err = await error(client.post("/v1/customers", data={"address[planet]": "Mars"}), 400)
    assert (err["code"], err["param"]) == ("parameter_unknown", "address[planet]")
    err = await error(client.post("/v1/payment_intents", data={"currency": "usd"}), 400)
    assert err["code"] == "parameter_missing"
    assert err["message"] == "Missing required param: amount."
    assert err["param"] == "amount"
    err = await error(client.post("/v1/payment_intents",
                                  data={"amount": "ten", "currency": "usd"}), 400)  # fmt: skip
    assert err["code"] == "parameter_invalid_integer"
    assert err["message"] == "Invalid integer: ten"
    err = await error(client.post("/v1/invoices", data={"customer": ""}), 400)
    assert err["code"] == "parameter_invalid_empty"
    assert err["message"].startswith("You passed an empty string for 'customer'.")
    err = await error(client.get("/v1/invoices", params={"status": "late"}), 400)
    assert err["message"] == (
        "Invalid status: must be one of draft, open, void, paid, or uncollectible"
    )
    assert "code" not in err
    err = await error(client.post("/v1/payment_intents",
                                  data={"amount": "100", "currency": "xyz"}), 400)  # fmt: skip
    assert err["message"].startswith("Invalid currency: xyz.")
    err = await error(client.post("/v1/invoices", data={"auto_advance": "yes",
                                                        "customer": "cus_x"}), 400)  # fmt: skip
    assert err["message"] == "Invalid boolean: yes"


async def test_resource_missing_envelopes(client: httpx.AsyncClient) -> None:
    err = await error(client.get("/v1/customers/cus_doesnotexist"), 404)
    assert err == {
        "code": "resource_missing",
        "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
        "message": "No such customer: 'cus_doesnotexist'",
        "param": "id",
        "type": "invalid_request_error",
    }
    err = await error(client.get("/v1/invoices/in_missing"), 404)
    assert (err["message"], err["param"]) == ("No such invoice: 'in_missing'", "invoice")
    err = await error(client.post("/v1/invoices/in_missing/finalize"), 404)
    assert err["param"] == "id"
    err = await error(client.get("/v1/payment_methods/pm_missing"), 404)
    assert err["message"] == "No such PaymentMethod: 'pm_missing'"
    # a referenced object that does not exist is a 400 naming the parameter
    err = await error(client.post("/v1/invoices", data={"customer": "cus_nope"}), 400)
    assert (err["code"], err["param"]) == ("resource_missing", "customer")


# =================================================================== customers


async def test_customer_create_retrieve_update_delete(client: httpx.AsyncClient) -> None:
    created = await ok(client.post("/v1/customers", data={
        "name": "Zeta LLC", "email": "ap@zeta.example", "tax_exempt": "exempt",
        "metadata[q2c_tax_id]": "12-3456789"}))  # fmt: skip
    assert ID_RE["customer"].match(created["id"])
    assert created["object"] == "customer"
    assert created["livemode"] is False
    assert isinstance(created["created"], int)
    assert created["tax_exempt"] == "exempt"
    assert re.fullmatch(r"[A-Z0-9]{8}", created["invoice_prefix"])
    fetched = await ok(client.get(f"/v1/customers/{created['id']}"))
    assert fetched == created
    updated = await ok(client.post(f"/v1/customers/{created['id']}",
                                   data={"name": "Zeta Inc", "tax_exempt": ""}))  # fmt: skip
    assert (updated["name"], updated["tax_exempt"]) == ("Zeta Inc", "none")
    deleted = await ok(client.delete(f"/v1/customers/{created['id']}"))
    assert deleted == {"id": created["id"], "object": "customer", "deleted": True}
    stub = await ok(client.get(f"/v1/customers/{created['id']}"))
    assert stub["deleted"] is True


async def test_customer_list_email_filter_and_search(client: httpx.AsyncClient) -> None:
    first = await new_customer(client, email="dup@x.example")
    second = await new_customer(client, email="dup@x.example")
    await new_customer(client, email="Dup@x.example")
    body = await ok(client.get("/v1/customers", params={"email": "dup@x.example"}))
    assert [c["id"] for c in body["data"]] == [second, first]  # newest first, case-sensitive
    assert body["url"] == "/v1/customers"
    contoso = demo_data.ACCOUNTS[1]
    query = f"metadata['q2c_tax_id']:'{contoso.tax_id}'"
    found = await ok(client.get("/v1/customers/search", params={"query": query}))
    assert found["object"] == "search_result"
    assert [c["name"] for c in found["data"]] == [contoso.name]
    by_name = await ok(
        client.get(
            "/v1/customers/search", params={"query": "name~'Insurance' OR email:'dup@x.example'"}
        )
    )
    assert {c["name"] for c in by_name["data"]} == {"Humongous Insurance Co", "Test Co"}
    err = await error(client.get("/v1/customers/search", params={"query": "garbage"}), 400)
    assert err["param"] == "query"


# ====================================================== amounts and currencies


def test_format_amount_respects_minor_units() -> None:
    assert format_amount(1050, "usd") == "$10.50"
    assert format_amount(780000, "jpy") == "¥780,000"
    assert format_amount(48000, "eur") == "€480.00"
    assert format_amount(1230, "kwd") == "1.230 KWD"


@pytest.mark.parametrize("currency", ["EUR", "JPY"])
async def test_list_prices_become_minor_unit_amounts(
    client: httpx.AsyncClient, currency: str
) -> None:
    product = demo_data.PRODUCTS[0]
    expected_unit = minor_units(product.list_prices[currency], currency)
    customer = await new_customer(client)
    item = await ok(client.post("/v1/invoiceitems", data={
        "customer": customer, "currency": currency.lower(), "quantity": "3",
        "unit_amount_decimal": str(expected_unit), "description": product.name}))  # fmt: skip
    assert item["currency"] == currency.lower()
    assert item["amount"] == 3 * expected_unit
    assert item["pricing"]["unit_amount_decimal"] == str(expected_unit)
    assert item["quantity"] == 3
    invoice = await ok(client.post("/v1/invoices", data={
        "customer": customer, "currency": currency.lower(),
        "pending_invoice_items_behavior": "include"}))  # fmt: skip
    assert invoice["total"] == invoice["amount_due"] == 3 * expected_unit
    # 4800.00 EUR is 480000 cents; 780000 JPY has no minor unit
    assert invoice["total"] == {"EUR": 1_440_000, "JPY": 2_340_000}[currency]


async def test_fractional_unit_amounts_round_half_up(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    item = await ok(client.post("/v1/invoiceitems", data={
        "customer": customer, "currency": "eur", "unit_amount_decimal": "18990.5",
        "quantity": "3"}))  # fmt: skip
    assert item["amount"] == 56972  # 56971.5 rounds up
    err = await error(client.post("/v1/invoiceitems", data={
        "customer": customer, "currency": "eur", "amount": "1", "unit_amount_decimal": "1"}),
        400)  # fmt: skip
    assert err["code"] == "parameters_exclusive"
    assert err["message"] == (
        "You may only specify one of these parameters: amount, unit_amount_decimal."
    )


async def test_minimum_charge_amount_depends_on_currency(client: httpx.AsyncClient) -> None:
    err = await error(client.post("/v1/payment_intents",
                                  data={"amount": "49", "currency": "jpy"}), 400)  # fmt: skip
    assert err["code"] == "amount_too_small"
    assert err["message"] == "Amount must be at least ¥50 jpy"
    err = await error(client.post("/v1/payment_intents",
                                  data={"amount": "49", "currency": "eur"}), 400)  # fmt: skip
    assert err["message"] == "Amount must be at least €0.50 eur"
    body = await ok(client.post("/v1/payment_intents", data={"amount": "50", "currency": "jpy"}))
    assert (body["amount"], body["currency"]) == (50, "jpy")
    err = await error(client.post("/v1/payment_intents",
                                  data={"amount": "1005", "currency": "kwd"}), 400)  # fmt: skip
    assert err["code"] == "invalid_charge_amount"


# ================================================================ invoice items


async def test_invoice_items_pending_list_and_delete(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    item = await ok(client.post("/v1/invoiceitems", data={
        "customer": customer, "currency": "usd", "amount": "1000", "description": "Setup",
        "metadata[order_id]": "ord_7"}))  # fmt: skip
    assert ID_RE["invoiceitem"].match(item["id"])
    assert item["object"] == "invoiceitem"
    assert item["invoice"] is None
    assert item["metadata"] == {"order_id": "ord_7"}
    assert item["period"] == {"end": item["date"], "start": item["date"]}
    assert item["pricing"]["type"] == "price_details"
    pending = await ok(
        client.get("/v1/invoiceitems", params={"customer": customer, "pending": "true"})
    )
    assert [i["id"] for i in pending["data"]] == [item["id"]]
    recent = await ok(client.get("/v1/invoiceitems", params={"created[gte]": item["date"]}))
    assert [i["id"] for i in recent["data"]] == [item["id"]]
    deleted = await ok(client.delete(f"/v1/invoiceitems/{item['id']}"))
    assert deleted == {"id": item["id"], "object": "invoiceitem", "deleted": True}
    await error(client.get(f"/v1/invoiceitems/{item['id']}"), 404)
    err = await error(client.post("/v1/invoiceitems",
                                  data={"customer": customer, "amount": "5"}), 400)  # fmt: skip
    assert err["message"] == "Missing required param: currency."


# ==================================================================== invoices


async def test_invoice_draft_defaults(client: httpx.AsyncClient, sandbox: StripeSandbox) -> None:
    customer = await new_customer(client, email="ap@test.example")
    await ok(client.post("/v1/invoiceitems", data={
        "customer": customer, "currency": "usd", "amount": "1000"}))  # fmt: skip
    invoice = await ok(client.post("/v1/invoices", data={
        "customer": customer, "metadata[order_id]": "ord_1"}))  # fmt: skip
    assert ID_RE["invoice"].match(invoice["id"])
    assert invoice["object"] == "invoice"
    assert invoice["status"] == "draft"
    assert invoice["auto_advance"] is False
    assert invoice["collection_method"] == "charge_automatically"
    assert invoice["currency"] == "usd"
    assert invoice["number"] is None
    # pending items are excluded unless asked for
    assert invoice["lines"] == {
        "object": "list",
        "data": [],
        "has_more": False,
        "total_count": 0,
        "url": f"/v1/invoices/{invoice['id']}/lines",
    }
    assert (invoice["subtotal"], invoice["total"], invoice["amount_due"]) == (0, 0, 0)
    assert invoice["total_taxes"] == []
    assert invoice["customer_email"] == "ap@test.example"
    assert invoice["metadata"] == {"order_id": "ord_1"}
    # ``tax`` and ``paid`` were removed from the invoice in API version 2025-03-31.basil
    assert "tax" not in invoice
    assert "paid" not in invoice
    assert sandbox.objects("invoice")[0]["id"] == invoice["id"]


async def test_invoice_lifecycle_finalize_and_pay_out_of_band(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    invoice = await draft_invoice(client, customer, [1000, 2550])
    assert invoice["total"] == invoice["amount_due"] == invoice["amount_remaining"] == 3550
    lines = invoice["lines"]["data"]
    assert [line["amount"] for line in lines] == [2550, 1000]  # newest first
    assert lines[0]["object"] == "line_item"
    assert lines[0]["id"].startswith("il_")
    assert lines[0]["parent"]["type"] == "invoice_item_details"
    open_ = await ok(client.post(f"/v1/invoices/{invoice['id']}/finalize"))
    assert open_["status"] == "open"
    prefix = (await ok(client.get(f"/v1/customers/{customer}")))["invoice_prefix"]
    assert open_["number"] == f"{prefix}-0001"
    assert open_["status_transitions"]["finalized_at"] is not None
    assert open_["hosted_invoice_url"].startswith("https://invoice.stripe.com/")
    assert open_["attempted"] is False
    paid = await ok(client.post(f"/v1/invoices/{invoice['id']}/pay",
                                data={"paid_out_of_band": "true"}))  # fmt: skip
    assert paid["status"] == "paid"
    assert (paid["amount_paid"], paid["amount_remaining"]) == (3550, 0)
    assert paid["status_transitions"]["paid_at"] is not None
    second = await draft_invoice(client, customer, [700])
    second = await ok(client.post(f"/v1/invoices/{second['id']}/finalize"))
    assert second["number"] == f"{prefix}-0002"


async def test_invoice_state_errors(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    invoice = await draft_invoice(client, customer, [1000])
    invoice_id = invoice["id"]
    err = await error(client.post(f"/v1/invoices/{invoice_id}/void"), 400)
    assert err["message"] == "You can only pass in open invoices. This invoice isn't open."
    await ok(client.post(f"/v1/invoices/{invoice_id}/finalize"))
    err = await error(client.post(f"/v1/invoices/{invoice_id}/finalize"), 400)
    assert err["code"] == "invoice_not_editable"
    assert err["message"] == (
        "This invoice is already finalized, you can't re-finalize a non-draft invoice."
    )
    err = await error(client.post(f"/v1/invoices/{invoice_id}",
                                  data={"description": "late edit"}), 400)  # fmt: skip
    assert (err["message"], err["param"]) == (
        "Finalized invoices can't be updated in this way",
        "description",
    )
    tagged = await ok(client.post(f"/v1/invoices/{invoice_id}", data={"metadata[k]": "v"}))
    assert tagged["metadata"] == {"k": "v"}
    err = await error(
        client.post(
            "/v1/invoiceitems",
            data={"customer": customer, "currency": "usd", "amount": "5", "invoice": invoice_id},
        ),
        400,
    )
    assert err["code"] == "invoice_not_editable"
    err = await error(client.delete(f"/v1/invoices/{invoice_id}"), 400)
    assert err["message"] == "You can only delete draft invoices."
    line_item = invoice["lines"]["data"][0]["parent"]["invoice_item_details"]["invoice_item"]
    err = await error(client.delete(f"/v1/invoiceitems/{line_item}"), 400)
    assert err["code"] == "invoice_not_editable"
    await ok(client.post(f"/v1/invoices/{invoice_id}/pay", data={"paid_out_of_band": "true"}))
    err = await error(client.post(f"/v1/invoices/{invoice_id}/pay",
                                  data={"paid_out_of_band": "true"}), 400)  # fmt: skip
    assert err["message"] == "Invoice is already paid"
    err = await error(client.post(f"/v1/invoices/{invoice_id}/void"), 400)
    assert err["message"] == "Invoices with `paid` payments cannot be voided."
    err = await error(client.post(f"/v1/invoices/{invoice_id}/mark_uncollectible"), 400)
    assert "isn't open" in err["message"]


async def test_void_and_mark_uncollectible(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    first = await draft_invoice(client, customer, [1000])
    await ok(client.post(f"/v1/invoices/{first['id']}/finalize"))
    voided = await ok(client.post(f"/v1/invoices/{first['id']}/void"))
    assert voided["status"] == "void"
    assert voided["status_transitions"]["voided_at"] is not None
    err = await error(client.post(f"/v1/invoices/{first['id']}/pay",
                                  data={"paid_out_of_band": "true"}), 400)  # fmt: skip
    assert err["message"] == "Invoice is already void"
    second = await draft_invoice(client, customer, [2000])
    await ok(client.post(f"/v1/invoices/{second['id']}/finalize"))
    bad = await ok(client.post(f"/v1/invoices/{second['id']}/mark_uncollectible"))
    assert bad["status"] == "uncollectible"
    err = await error(client.post(f"/v1/invoices/{second['id']}/mark_uncollectible"), 400)
    assert err["message"] == "This invoice has already been marked uncollectible."
    recovered = await ok(client.post(f"/v1/invoices/{second['id']}/pay",
                                     data={"paid_out_of_band": "true"}))  # fmt: skip
    assert recovered["status"] == "paid"
    listed = await ok(client.get("/v1/invoices", params={"customer": customer}))
    assert [i["status"] for i in listed["data"]] == ["paid", "void"]
    only_void = await ok(client.get("/v1/invoices", params={"status": "void"}))
    assert [i["id"] for i in only_void["data"]] == [first["id"]]


async def test_zero_invoice_is_paid_on_finalize_and_draft_delete(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    empty = await ok(client.post("/v1/invoices", data={"customer": customer}))
    finalized = await ok(client.post(f"/v1/invoices/{empty['id']}/finalize"))
    assert (finalized["status"], finalized["attempted"]) == ("paid", True)
    draft = await draft_invoice(client, customer, [100])
    gone = await ok(client.delete(f"/v1/invoices/{draft['id']}"))
    assert gone == {"id": draft["id"], "object": "invoice", "deleted": True}
    await error(client.get(f"/v1/invoices/{draft['id']}"), 404)


async def test_send_invoice_due_dates(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    err = await error(client.post("/v1/invoices", data={
        "customer": customer, "collection_method": "send_invoice"}), 400)  # fmt: skip
    assert err["message"] == (
        "If invoice collection method is 'send_invoice', you must specify "
        "'due_date' or 'days_until_due'."
    )
    err = await error(client.post("/v1/invoices", data={
        "customer": customer, "days_until_due": "30"}), 400)  # fmt: skip
    assert err["message"].startswith("You can only specify 'due_date' or 'days_until_due'")
    invoice = await ok(
        client.post(
            "/v1/invoices",
            data={
                "customer": customer,
                "collection_method": "send_invoice",
                "days_until_due": "30",
            },
        )
    )
    assert invoice["due_date"] == invoice["created"] + 30 * 86400


async def test_pay_a_draft_with_the_default_card(client: httpx.AsyncClient) -> None:
    seeded = demo_data.ACCOUNTS[1]  # Contoso, seeded with a Visa as default payment method
    found = await ok(
        client.get(
            "/v1/customers/search", params={"query": f"metadata['q2c_tax_id']:'{seeded.tax_id}'"}
        )
    )
    customer = found["data"][0]["id"]
    invoice = await draft_invoice(client, customer, [5200_00])
    paid = await ok(client.post(f"/v1/invoices/{invoice['id']}/pay",
                                data={"expand[]": "payments"}))  # fmt: skip
    assert paid["status"] == "paid"
    assert paid["number"] is not None  # finalized on the way
    assert (paid["amount_paid"], paid["attempt_count"], paid["attempted"]) == (520000, 1, True)
    payment = paid["payments"]["data"][0]
    assert (payment["object"], payment["status"], payment["amount_paid"]) == (
        "invoice_payment",
        "paid",
        520000,
    )
    pi = await ok(client.get(f"/v1/payment_intents/{payment['payment']['payment_intent']}"))
    assert (pi["status"], pi["amount_received"], pi["customer"]) == ("succeeded", 520000, customer)


async def test_pay_without_payment_method_and_with_declined_card(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    invoice = await draft_invoice(client, customer, [1000])
    await ok(client.post(f"/v1/invoices/{invoice['id']}/finalize"))
    err = await error(client.post(f"/v1/invoices/{invoice['id']}/pay"), 400)
    assert err["message"].startswith(
        "This customer has no attached payment source or default payment method."
    )
    err = await error(
        client.post(
            f"/v1/invoices/{invoice['id']}/pay", data={"payment_method": "pm_card_chargeDeclined"}
        ),
        402,
    )
    assert (err["type"], err["code"], err["decline_code"]) == (
        "card_error",
        "card_declined",
        "generic_decline",
    )
    still_open = await ok(client.get(f"/v1/invoices/{invoice['id']}"))
    assert (still_open["status"], still_open["attempt_count"]) == ("open", 1)
    paid = await ok(client.post(f"/v1/invoices/{invoice['id']}/pay",
                                data={"payment_method": "pm_card_mastercard"}))  # fmt: skip
    assert (paid["status"], paid["attempt_count"], paid["amount_paid"]) == ("paid", 2, 1000)


async def test_invoice_lines_paging(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    invoice = await draft_invoice(client, customer, list(range(100, 1300, 100)))  # 12 items
    assert invoice["lines"]["has_more"] is True
    assert invoice["lines"]["total_count"] == 12
    assert len(invoice["lines"]["data"]) == 10
    first = await ok(client.get(f"/v1/invoices/{invoice['id']}/lines", params={"limit": 5}))
    assert [line["amount"] for line in first["data"]] == [1200, 1100, 1000, 900, 800]
    rest = await ok(
        client.get(
            f"/v1/invoices/{invoice['id']}/lines",
            params={"limit": 10, "starting_after": first["data"][-1]["id"]},
        )
    )
    assert [line["amount"] for line in rest["data"]] == [700, 600, 500, 400, 300, 200, 100]
    assert rest["has_more"] is False


# ===================================================================== paging


async def test_list_paging_forward_and_backward(client: httpx.AsyncClient) -> None:
    names: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor:
            params["starting_after"] = cursor
        page = await ok(client.get("/v1/customers", params=params))
        assert page["object"] == "list"
        assert page["url"] == "/v1/customers"
        names += [c["name"] for c in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert names == [a.name for a in reversed(US_ACCOUNTS)]  # newest first
    default = await ok(client.get("/v1/customers"))
    assert len(default["data"]) == 10
    assert default["has_more"] is True
    older = await ok(
        client.get("/v1/customers", params={"starting_after": default["data"][4]["id"]})
    )
    newer = await ok(client.get("/v1/customers", params={
        "ending_before": older["data"][0]["id"], "limit": 3}))  # fmt: skip
    assert [c["id"] for c in newer["data"]] == [c["id"] for c in default["data"][2:5]]
    assert newer["has_more"] is True


async def test_list_paging_errors(client: httpx.AsyncClient) -> None:
    err = await error(client.get("/v1/customers", params={"limit": 101}), 400)
    assert err["param"] == "limit"
    assert err["message"] == "This value must be less than or equal to 100."
    err = await error(client.get("/v1/customers", params={"limit": 0}), 400)
    assert err["param"] == "limit"
    err = await error(client.get("/v1/customers", params={"starting_after": "cus_gone"}), 400)
    assert (err["code"], err["param"]) == ("resource_missing", "starting_after")
    err = await error(client.get("/v1/customers", params={
        "starting_after": "cus_a", "ending_before": "cus_b"}), 400)  # fmt: skip
    assert err["code"] == "parameters_exclusive"


# ================================================================ idempotency


async def test_idempotent_replay_creates_nothing_new(
    client: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    data = {"name": "Once Only Ltd", "metadata[order_id]": "ord_42"}
    headers = {"Idempotency-Key": "create-once-only"}
    before = len(sandbox.objects("customer"))
    first = await client.post("/v1/customers", data=data, headers=headers)
    second = await client.post("/v1/customers", data=data, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Original-Request"] == first.headers["Request-Id"]
    assert second.headers["Idempotency-Key"] == "create-once-only"
    assert len(sandbox.objects("customer")) == before + 1
    posts = [e for e in sandbox.request_log if e == ("POST", "/v1/customers", "create-once-only")]
    assert len(posts) == 2  # both requests arrived; one object exists


async def test_idempotency_key_reused_with_other_parameters(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k-mismatch"}
    await ok(client.post("/v1/customers", data={"name": "A"}, headers=headers))
    err = await error(client.post("/v1/customers", data={"name": "B"}, headers=headers), 400)
    assert err["type"] == "idempotency_error"
    assert err["message"].startswith(
        "Keys for idempotent requests can only be used with the same parameters they were "
        "first used with."
    )
    err = await error(client.post("/v1/invoiceitems", data={"name": "A"}, headers=headers), 400)
    assert err["type"] == "idempotency_error"
    assert "same endpoint" in err["message"]
    err = await error(client.post("/v1/customers", data={"name": "A"},
                                  headers={"Idempotency-Key": "k" * 256}), 400)  # fmt: skip
    assert "at most 255 characters" in err["message"]


async def test_idempotency_stores_executed_results_not_validation_failures(
    client: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    headers = {"Idempotency-Key": "pi-validation"}
    await error(client.post("/v1/payment_intents", data={"currency": "usd"}, headers=headers), 400)
    created = await ok(client.post("/v1/payment_intents", data={
        "amount": "1000", "currency": "usd"}, headers=headers))  # fmt: skip
    assert created["status"] == "requires_payment_method"
    # a decline is an executed result: the retry replays it and charges nothing new
    decline = {"amount": "1000", "currency": "usd", "payment_method": "pm_card_chargeDeclined",
               "confirm": "true", "allowed_payment_method_types[]": "card"}  # fmt: skip
    first = await client.post("/v1/payment_intents", data=decline,
                              headers={"Idempotency-Key": "pi-decline"})  # fmt: skip
    charges = len(sandbox.objects("charge"))
    second = await client.post("/v1/payment_intents", data=decline,
                               headers={"Idempotency-Key": "pi-decline"})  # fmt: skip
    assert first.status_code == second.status_code == 402
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(sandbox.objects("charge")) == charges


async def test_idempotency_keys_expire_after_24_hours(
    client: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    start = sandbox.clock()
    headers = {"Idempotency-Key": "daily"}
    first = await ok(client.post("/v1/customers", data={"name": "Day"}, headers=headers))
    sandbox.clock = lambda: start + 23 * 3600
    again = await ok(client.post("/v1/customers", data={"name": "Day"}, headers=headers))
    assert again["id"] == first["id"]
    sandbox.clock = lambda: start + 24 * 3600 + 1
    later = await ok(client.post("/v1/customers", data={"name": "Day"}, headers=headers))
    assert later["id"] != first["id"]


# ============================================================ payment intents


async def test_payment_intent_statuses_and_confirm(client: httpx.AsyncClient) -> None:
    bare = await ok(client.post("/v1/payment_intents", data={
        "amount": "2000", "currency": "eur", "metadata[order_id]": "ord_9"}))  # fmt: skip
    assert ID_RE["payment_intent"].match(bare["id"])
    assert bare["status"] == "requires_payment_method"
    assert bare["automatic_payment_methods"] == {"allow_redirects": "always", "enabled": True}
    assert bare["client_secret"].startswith(f"{bare['id']}_secret_")
    assert bare["metadata"] == {"order_id": "ord_9"}
    err = await error(client.post(f"/v1/payment_intents/{bare['id']}/confirm",
                                  data={"payment_method": "pm_card_visa"}), 400)  # fmt: skip
    assert "you must provide a `return_url`" in err["message"]
    ready = await ok(client.post("/v1/payment_intents", data={
        "amount": "2000", "currency": "eur", "payment_method": "pm_card_visa",
        "allowed_payment_method_types[]": "card"}))  # fmt: skip
    assert ready["status"] == "requires_confirmation"
    assert ready["automatic_payment_methods"] is None
    assert ID_RE["payment_method"].match(ready["payment_method"])  # cloned from the test token
    done = await ok(client.post(f"/v1/payment_intents/{ready['id']}/confirm",
                                data={"expand[]": "latest_charge"}))  # fmt: skip
    assert (done["status"], done["amount_received"]) == ("succeeded", 2000)
    charge = done["latest_charge"]
    assert ID_RE["charge"].match(charge["id"])
    assert (charge["status"], charge["paid"], charge["amount_refunded"]) == ("succeeded", True, 0)
    assert charge["payment_method_details"]["card"]["last4"] == "4242"
    err = await error(client.post(f"/v1/payment_intents/{ready['id']}/confirm"), 400)
    assert err["code"] == "payment_intent_unexpected_state"
    assert err["message"] == (
        "You cannot confirm this PaymentIntent because it has already "
        "succeeded after being previously confirmed."
    )
    err = await error(client.post(f"/v1/payment_intents/{ready['id']}/cancel"), 400)
    assert err["message"].startswith(
        "You cannot cancel this PaymentIntent because it has a status of succeeded."
    )
    canceled = await ok(client.post(f"/v1/payment_intents/{bare['id']}/cancel",
                                    data={"cancellation_reason": "abandoned"}))  # fmt: skip
    assert (canceled["status"], canceled["cancellation_reason"]) == ("canceled", "abandoned")


async def test_confirm_without_payment_method_creates_nothing(
    client: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    err = await error(client.post("/v1/payment_intents", data={
        "amount": "1000", "currency": "usd", "confirm": "true",
        "allowed_payment_method_types[]": "card"}), 400)  # fmt: skip
    assert err["code"] == "payment_intent_unexpected_state"
    assert err["message"].startswith(
        "You cannot confirm this PaymentIntent because it's missing a payment method."
    )
    assert sandbox.objects("payment_intent") == []


async def test_payment_intent_decline(client: httpx.AsyncClient) -> None:
    err = await error(client.post("/v1/payment_intents", data={
        "amount": "1500", "currency": "usd", "payment_method": "pm_card_chargeDeclined",
        "confirm": "true", "automatic_payment_methods[enabled]": "true",
        "automatic_payment_methods[allow_redirects]": "never"}), 402)  # fmt: skip
    assert err["type"] == "card_error"
    assert (err["code"], err["decline_code"]) == ("card_declined", "generic_decline")
    assert err["message"] == "Your card was declined."
    assert err["doc_url"] == "https://stripe.com/docs/error-codes/card-declined"
    assert ID_RE["charge"].match(err["charge"])
    intent = err["payment_intent"]
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["decline_code"] == "generic_decline"
    assert intent["latest_charge"] == err["charge"]
    charge = await ok(client.get(f"/v1/charges/{err['charge']}"))
    assert (charge["status"], charge["paid"], charge["failure_code"]) == (
        "failed",
        False,
        "card_declined",
    )
    insufficient = await error(client.post(f"/v1/payment_intents/{intent['id']}/confirm", data={
        "payment_method": "pm_card_chargeDeclinedInsufficientFunds"}), 402)  # fmt: skip
    assert insufficient["decline_code"] == "insufficient_funds"
    retried = await ok(client.post(f"/v1/payment_intents/{intent['id']}/confirm",
                                   data={"payment_method": "pm_card_visa"}))  # fmt: skip
    assert retried["status"] == "succeeded"
    charges = await ok(client.get("/v1/charges", params={"payment_intent": intent["id"]}))
    assert [c["status"] for c in charges["data"]] == ["succeeded", "failed", "failed"]


async def test_attached_payment_method_needs_its_customer(client: httpx.AsyncClient) -> None:
    customer = await new_customer(client)
    pm = await ok(client.post("/v1/payment_methods/pm_card_amex/attach",
                              data={"customer": customer}))  # fmt: skip
    assert (pm["customer"], pm["card"]["brand"]) == (customer, "amex")
    err = await error(client.post("/v1/payment_intents", data={
        "amount": "1000", "currency": "usd", "payment_method": pm["id"]}), 400)  # fmt: skip
    assert "Please include the Customer in the `customer` parameter" in err["message"]
    listed = await ok(client.get(f"/v1/customers/{customer}/payment_methods"))
    assert [p["id"] for p in listed["data"]] == [pm["id"]]
    paid = await ok(client.post("/v1/payment_intents", data={
        "amount": "1000", "currency": "usd", "payment_method": pm["id"], "customer": customer,
        "confirm": "true", "return_url": "https://q2c.example/return"}))  # fmt: skip
    assert paid["status"] == "succeeded"


# ==================================================================== refunds


async def succeeded_intent(
    client: httpx.AsyncClient, amount: int, currency: str = "usd"
) -> tuple[str, str]:
    body = await ok(client.post("/v1/payment_intents", data={
        "amount": str(amount), "currency": currency, "payment_method": "pm_card_visa",
        "confirm": "true", "allowed_payment_method_types[]": "card"}))  # fmt: skip
    assert body["status"] == "succeeded"
    return str(body["latest_charge"]), str(body["id"])


async def test_full_refund(client: httpx.AsyncClient) -> None:
    charge_id, pi_id = await succeeded_intent(client, 3000)
    refund = await ok(client.post("/v1/refunds", data={
        "payment_intent": pi_id, "reason": "requested_by_customer"}))  # fmt: skip
    assert ID_RE["refund"].match(refund["id"])
    assert (refund["object"], refund["amount"], refund["status"]) == ("refund", 3000, "succeeded")
    assert (refund["charge"], refund["payment_intent"]) == (charge_id, pi_id)
    charge = await ok(client.get(f"/v1/charges/{charge_id}"))
    assert (charge["amount_refunded"], charge["refunded"]) == (3000, True)
    err = await error(client.post("/v1/refunds", data={"charge": charge_id}), 400)
    assert err["code"] == "charge_already_refunded"
    assert err["message"] == f"Charge {charge_id} has already been refunded."


async def test_partial_refunds(client: httpx.AsyncClient) -> None:
    charge_id, pi_id = await succeeded_intent(client, 50_000, "jpy")
    first = await ok(client.post("/v1/refunds", data={"payment_intent": pi_id, "amount": "20000"}))
    assert (first["amount"], first["currency"]) == (20000, "jpy")
    charge = await ok(client.get(f"/v1/charges/{charge_id}"))
    assert (charge["amount_refunded"], charge["refunded"]) == (20000, False)
    err = await error(client.post("/v1/refunds", data={
        "payment_intent": pi_id, "amount": "40000"}), 400)  # fmt: skip
    assert err == {
        "message": "Refund amount (¥40,000) is greater than unrefunded amount on charge (¥30,000)",
        "param": "amount",
        "type": "invalid_request_error",
    }
    rest = await ok(client.post("/v1/refunds", data={"payment_intent": pi_id}))
    assert rest["amount"] == 30000
    charge = await ok(client.get(f"/v1/charges/{charge_id}", params={"expand[]": "refunds"}))
    assert (charge["amount_refunded"], charge["refunded"]) == (50000, True)
    assert [r["amount"] for r in charge["refunds"]["data"]] == [30000, 20000]
    listed = await ok(client.get("/v1/refunds", params={"payment_intent": pi_id}))
    assert [r["id"] for r in listed["data"]] == [rest["id"], first["id"]]
    intents = await ok(client.get("/v1/payment_intents", params={"limit": 1}))
    assert [p["id"] for p in intents["data"]] == [pi_id]
    assert intents["has_more"] is False


async def test_refund_needs_a_successful_payment(client: httpx.AsyncClient) -> None:
    err = await error(client.post("/v1/refunds", data={"amount": "100"}), 400)
    assert err["message"] == (
        "One of the following params should be provided for this request: payment_intent or charge."
    )
    pending = await ok(
        client.post("/v1/payment_intents", data={"amount": "900", "currency": "usd"})
    )
    err = await error(client.post("/v1/refunds", data={"payment_intent": pending["id"]}), 400)
    assert "does not have a successful charge to refund" in err["message"]


# ===================================================================== faults


async def test_fail_next_answers_api_errors_then_recovers(
    client: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    sandbox.faults.fail_next = 2
    headers = {"Idempotency-Key": "fault-key"}
    for _ in range(2):
        err = await error(client.post("/v1/customers", data={"name": "F"}, headers=headers), 500)
        assert err["type"] == "api_error"
    created = await ok(client.post("/v1/customers", data={"name": "F"}, headers=headers))
    # the faulted attempts never ran, so the key was free for the third one
    replay = await client.post("/v1/customers", data={"name": "F"}, headers=headers)
    assert replay.json()["id"] == created["id"]
    assert [c["name"] for c in sandbox.objects("customer")].count("F") == 1
    sandbox.faults.fail_next, sandbox.faults.fail_status = 1, 503
    response = await client.get("/v1/customers")
    assert response.status_code == 503
    assert response.headers["Stripe-Should-Retry"] == "true"
    assert (await client.get("/v1/customers")).status_code == 200


# ============================================== API version 2026-09-30.endive

REMOVED_TYPES = {
    "code": "payment_method_types_no_longer_supported",
    "doc_url": "https://stripe.com/docs/error-codes/payment-method-types-no-longer-supported",
    "message": "The `payment_method_types` parameter is no longer supported on PaymentIntents "
    "as of API version 2026-09-30.endive. Use `allowed_payment_method_types`, "
    "`excluded_payment_method_types` or dynamic payment methods instead.",
    "param": "payment_method_types",
    "type": "invalid_request_error",
}


@pytest.mark.parametrize("version", [None, "2026-09-30.endive", API_VERSION])
async def test_payment_method_types_is_refused_on_create_update_and_confirm(
    client: httpx.AsyncClient, sandbox: StripeSandbox, version: str | None
) -> None:
    headers = {"Stripe-Version": version} if version else {}
    removed = {"payment_method_types[0]": "card"}
    err = await error(client.post("/v1/payment_intents", headers=headers, data={
        "amount": "1000", "currency": "usd", **removed}), 400)  # fmt: skip
    assert err == REMOVED_TYPES
    assert sandbox.objects("payment_intent") == []
    intent = await ok(client.post("/v1/payment_intents", data={
        "amount": "1000", "currency": "usd", "allowed_payment_method_types[0]": "card"}))
    for path in (f"/v1/payment_intents/{intent['id']}",
                 f"/v1/payment_intents/{intent['id']}/confirm"):  # fmt: skip
        assert await error(client.post(path, headers=headers, data=removed), 400) == REMOVED_TYPES


async def test_requests_pinned_before_endive_still_send_payment_method_types(
    client: httpx.AsyncClient,
) -> None:
    intent = await ok(client.post("/v1/payment_intents", headers={
        "Stripe-Version": "2026-08-26.dahlia"}, data={
        "amount": "1000", "currency": "usd", "payment_method_types[0]": "card",
        "payment_method": "pm_card_visa", "confirm": "true"}))  # fmt: skip
    assert intent["status"] == "succeeded"
    assert intent["payment_method_types"] == ["card"]
    assert intent["allowed_payment_method_types"] is None


async def test_allowed_payment_method_types_confirm_cards_without_return_url(
    client: httpx.AsyncClient,
) -> None:
    intent = await ok(client.post("/v1/payment_intents", data={
        "amount": "1000", "currency": "usd", "allowed_payment_method_types[0]": "card",
        "payment_method": "pm_card_visa", "confirm": "true"}))  # fmt: skip
    assert intent["status"] == "succeeded"
    assert intent["allowed_payment_method_types"] == ["card"]
    assert intent["excluded_payment_method_types"] is None
    assert intent["payment_method_types"] == ["card"]
    assert intent["automatic_payment_methods"] is None
    err = await error(client.post("/v1/payment_intents", data={
        "amount": "1000", "currency": "usd", "allowed_payment_method_types[0]": "sepa_debit"}),
        400)  # fmt: skip
    assert err["param"] == "allowed_payment_method_types[0]"
    err = await error(client.post("/v1/payment_intents", data={
        "amount": "1000", "currency": "usd", "excluded_payment_method_types[0]": "card"}), 400)
    assert err["param"] == "excluded_payment_method_types"
    dynamic = await ok(client.post("/v1/payment_intents", data={
        "amount": "1000", "currency": "usd", "excluded_payment_method_types[0]": "klarna"}))
    assert dynamic["excluded_payment_method_types"] == ["klarna"]
    assert dynamic["automatic_payment_methods"] == {"allow_redirects": "always", "enabled": True}


async def test_every_endpoint_refuses_a_parameter_the_version_does_not_know(
    client: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    endpoints = sandbox.endpoints()
    assert len(endpoints) >= 40
    for method, pattern in endpoints:
        path = pattern.replace("*", "unknown_id")
        sent = {"q2c_not_a_param": "1"}
        if method == "POST":
            response = await client.post(path, data=sent)
        else:
            response = await client.request(method, path, params=sent)
        assert response.status_code == 400, f"{method} {pattern}: {response.text}"
        assert response.json()["error"] == {
            "code": "parameter_unknown",
            "doc_url": "https://stripe.com/docs/error-codes/parameter-unknown",
            "message": "Received unknown parameter: q2c_not_a_param",
            "param": "q2c_not_a_param",
            "type": "invalid_request_error",
        }, f"{method} {pattern}"
