"""The Stripe sandbox against Stripe's own published types for the pinned API version.

Every response of an operation in the extract (tests/fixtures/vendor/stripe) is checked
against the vendor's schema for it: the success objects with every member the version
declares always present, and the error envelopes. The parameters the sandbox accepts per
operation must be ones the version accepts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandboxes.stripe import objects as obj
from sandboxes.stripe.app import API_KEY, API_VERSION, StripeSandbox, create_app
from sandboxes.stripe.params import Field
from tests.sandboxes.stripe import conformance


class Recorder:
    """Calls the sandbox and keeps every (method, path, status, body) it answered."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.seen: list[tuple[str, str, int, Any]] = []

    async def call(
        self, method: str, path: str, *, status: int = 200, **kwargs: Any
    ) -> dict[str, Any]:
        response = await self.http.request(method, path, **kwargs)
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        self.seen.append((method, path, response.status_code, body))
        return body


@pytest.fixture
def sandbox() -> StripeSandbox:
    return StripeSandbox()


@pytest.fixture
async def api(sandbox: StripeSandbox) -> AsyncIterator[Recorder]:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    headers = {"Authorization": f"Bearer {API_KEY}", "Stripe-Version": API_VERSION}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://stripe.sandbox", headers=headers
    ) as http:
        yield Recorder(http)


def test_the_extract_is_for_the_version_the_sandbox_serves() -> None:
    assert conformance.document()["info"]["version"] == API_VERSION


async def _billing_flow(api: Recorder) -> None:
    """Every extracted operation, on success and on the errors the adapter meets."""
    customer = await api.call("POST", "/v1/customers", data={
        "name": "Conformance GmbH", "email": "ap@conformance.example",
        "address[country]": "DE", "metadata[q2c_customer_id]": "cus_01CONFORMANCE"})  # fmt: skip
    await api.call("GET", f"/v1/customers/{customer['id']}")
    await api.call("GET", "/v1/customers", params={"limit": "3"})
    await api.call(
        "GET",
        "/v1/customers/search",
        params={"query": "metadata['q2c_customer_id']:'cus_01CONFORMANCE'"},
    )
    await api.call("GET", "/v1/customers/cus_missing", status=404)
    await api.call("POST", "/v1/customers", data={"nickname": "x"}, status=400)

    invoice = await api.call("POST", "/v1/invoices", data={
        "customer": customer["id"], "currency": "eur", "collection_method": "send_invoice",
        "days_until_due": "30", "pending_invoice_items_behavior": "exclude",
        "auto_advance": "false", "metadata[q2c_invoice_id]": "inv_01CONF"})  # fmt: skip
    for amount in ("12000", "2280"):
        await api.call("POST", "/v1/invoiceitems", data={
            "customer": customer["id"], "invoice": invoice["id"], "currency": "eur",
            "amount": amount, "description": "Widget (qty 1)"})  # fmt: skip
    await api.call("POST", "/v1/invoiceitems", data={"customer": customer["id"],
                   "invoice": "in_missing", "amount": "1"}, status=400)  # fmt: skip
    await api.call("GET", f"/v1/invoices/{invoice['id']}")
    await api.call("GET", f"/v1/invoices/{invoice['id']}/lines", params={"limit": "1"})
    await api.call("GET", "/v1/invoices", params={"customer": customer["id"]})
    await api.call("POST", f"/v1/invoices/{invoice['id']}/finalize", data={"auto_advance": "false"})
    await api.call("POST", f"/v1/invoices/{invoice['id']}/finalize", status=400)

    intent = await api.call("POST", "/v1/payment_intents", data={
        "amount": "10000", "currency": "eur", "customer": customer["id"],
        "payment_method": "pm_card_visa", "allowed_payment_method_types[0]": "card",
        "confirm": "true", "metadata[q2c_invoice]": invoice["id"],
        "description": "Invoice payment", "expand[0]": "latest_charge"})  # fmt: skip
    await api.call(
        "GET", f"/v1/payment_intents/{intent['id']}", params={"expand[]": "latest_charge"}
    )
    await api.call("GET", "/v1/payment_intents", params={"customer": customer["id"]})
    await api.call("POST", "/v1/payment_intents", data={
        "amount": "10000", "currency": "eur", "customer": customer["id"],
        "payment_method": "pm_card_chargeDeclined", "allowed_payment_method_types[0]": "card",
        "confirm": "true"}, status=402)  # fmt: skip
    await api.call("POST", "/v1/payment_intents", data={
        "amount": "10000", "currency": "eur", "payment_method": "pm_bogus",
        "allowed_payment_method_types[0]": "card", "confirm": "true"}, status=400)  # fmt: skip
    draft = await api.call("POST", "/v1/payment_intents", data={
        "amount": "500", "currency": "eur", "allowed_payment_method_types[0]": "card"})  # fmt: skip
    await api.call(
        "POST",
        f"/v1/payment_intents/{draft['id']}",
        data={"description": "updated", "payment_method": "pm_card_mastercard"},
    )
    await api.call("POST", f"/v1/payment_intents/{draft['id']}/confirm")
    await api.call("GET", f"/v1/charges/{intent['latest_charge']['id']}")
    await api.call("GET", "/v1/charges/ch_missing", status=404)

    await api.call("POST", "/v1/refunds", data={"payment_intent": intent["id"], "amount": "1000"})
    await api.call("GET", "/v1/refunds", params={"payment_intent": intent["id"]})
    await api.call("POST", "/v1/refunds", data={"payment_intent": intent["id"],
                   "amount": "999999"}, status=400)  # fmt: skip

    await api.call("POST", f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"})
    await api.call(
        "POST", f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"}, status=400
    )
    other = await api.call(
        "POST",
        "/v1/invoices",
        data={
            "customer": customer["id"],
            "collection_method": "send_invoice",
            "days_until_due": "7",
        },
    )
    await api.call("POST", "/v1/invoiceitems", data={
        "customer": customer["id"], "invoice": other["id"], "amount": "700"})  # fmt: skip
    await api.call("POST", f"/v1/invoices/{other['id']}/finalize")
    await api.call("POST", f"/v1/invoices/{other['id']}/void")


async def test_every_response_matches_the_vendor_schema(api: Recorder) -> None:
    await _billing_flow(api)
    assert len(api.seen) > 30
    failures = {
        f"{method} {path} -> {status}": found
        for method, path, status, body in api.seen
        if (found := conformance.problems(method, path, status, body))
    }
    assert failures == {}


# ------------------------------------------------------------------ parameters

_SANDBOX_PARAMETERS: dict[tuple[str, str], dict[str, Field]] = {
    ("POST", "/v1/customers"): obj.CUSTOMER_WRITE,
    ("GET", "/v1/customers"): obj.CUSTOMER_LIST,
    ("GET", "/v1/customers/search"): obj.CUSTOMER_SEARCH,
    ("GET", "/v1/customers/{customer}"): obj.RETRIEVE,
    ("POST", "/v1/invoiceitems"): obj.INVOICEITEM_CREATE,
    ("POST", "/v1/invoices"): obj.INVOICE_CREATE,
    ("GET", "/v1/invoices"): obj.INVOICE_LIST,
    ("GET", "/v1/invoices/{invoice}"): obj.RETRIEVE,
    ("GET", "/v1/invoices/{invoice}/lines"): obj.INVOICE_LINES,
    ("POST", "/v1/invoices/{invoice}/finalize"): obj.INVOICE_FINALIZE,
    ("POST", "/v1/invoices/{invoice}/pay"): obj.INVOICE_PAY,
    ("POST", "/v1/invoices/{invoice}/void"): obj.RETRIEVE,
    ("POST", "/v1/payment_intents"): obj.PAYMENT_INTENT_CREATE,
    ("GET", "/v1/payment_intents"): obj.PAYMENT_INTENT_LIST,
    ("GET", "/v1/payment_intents/{intent}"): obj.RETRIEVE,
    ("POST", "/v1/payment_intents/{intent}"): obj.PAYMENT_INTENT_UPDATE,
    ("POST", "/v1/payment_intents/{intent}/confirm"): obj.PAYMENT_INTENT_CONFIRM,
    ("GET", "/v1/charges/{charge}"): obj.RETRIEVE,
    ("POST", "/v1/refunds"): obj.REFUND_CREATE,
    ("GET", "/v1/refunds"): obj.REFUND_LIST,
}


@pytest.mark.parametrize(("method", "template"), sorted(_SANDBOX_PARAMETERS))
def test_the_sandbox_accepts_only_parameters_the_version_knows(method: str, template: str) -> None:
    declared = set(_SANDBOX_PARAMETERS[(method, template)])
    unknown_to_stripe = declared - conformance.accepted_parameters(method, template)
    assert unknown_to_stripe == set()


def test_the_extractor_reads_presence_nullability_and_enums() -> None:
    """extract.py on a declaration shaped like stripe-node's (the full package is not
    needed in CI: the committed extract is what the tests above use)."""
    from tests.fixtures.vendor.stripe import extract

    declarations = """
    export interface Thing {
        id: string;
        object: 'thing';
        amount: number;
        customer: string | Customer | null;
        note?: string;
        status: Thing.Status;
        deleted?: void;
        tags: Array<string>;
        inner: Thing.Inner | null;
    }
    export declare namespace Thing {
        type Status = 'open' | 'paid';
        interface Inner { code: string | null; }
    }
    export interface Customer { id: string; }
    """
    extractor = extract.Extractor({"cjs/resources/Things.d.ts": declarations})
    extractor.roots = {"Thing"}
    extractor.schema_for("Thing")
    thing = extractor.schemas["Thing"]
    assert thing["required"] == ["id", "object", "amount", "customer", "status", "tags", "inner"]
    assert thing["properties"]["object"] == {"type": "string", "enum": ["thing"]}
    assert thing["properties"]["customer"] == {
        "anyOf": [{"type": "string"}, {"type": "object"}], "nullable": True}  # fmt: skip
    assert thing["properties"]["status"] == {"type": "string", "enum": ["open", "paid"]}
    assert "deleted" not in thing["properties"]
    assert thing["properties"]["inner"] == {
        "allOf": [{"$ref": "#/components/schemas/Thing.Inner"}], "nullable": True}  # fmt: skip
    assert extractor.schemas["Thing.Inner"]["properties"]["code"] == {
        "type": "string", "nullable": True}  # fmt: skip
