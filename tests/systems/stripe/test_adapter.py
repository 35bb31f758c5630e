"""The Stripe adapter against the Stripe sandbox, in-process over httpx.ASGITransport.

Faults are injected between the adapter and the sandbox by a transport that either has
the sandbox refuse the N-th request (its fault injection: a 500, nothing executed) or
lets the N-th request execute and then drops the answer (the crash that idempotency keys
exist for). Assertions read the sandbox's own snapshots (``objects``, ``request_log``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, Literal

import httpx
import pytest

from contracts.v1.common import Address
from domains.correlation import working_on
from domains.errors import DependencyRejected, DependencyUnavailable, ValidationFailed
from domains.invoice.ports import (
    BillingParty,
    BillingSystem,
    InvoiceDraft,
    InvoiceLineDraft,
    InvoiceRecord,
    PaymentRequest,
)
from sandboxes.stripe import app as stripe_sandbox
from sandboxes.stripe.app import API_KEY, StripeSandbox, create_app
from systems.stripe.adapter import StripeAdapter
from systems.stripe.client import API_VERSION, StripeAuth, StripeClient, form_encode
from systems.stripe.errors import SYSTEM, translate
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig

BASE = "http://stripe.sandbox"
FAST = UpstreamConfig(backoff_seconds=0.01)
NO_RETRY = UpstreamConfig(backoff_seconds=0.01, max_retries=0)

Mode = Literal["refuse", "lose"]
Hook = Callable[[httpx.Request], Awaitable[None]]


class FaultyTransport(httpx.AsyncBaseTransport):
    """Passes requests to the sandbox app; fails the ``fail_at``-th one on demand."""

    def __init__(self, sandbox: StripeSandbox) -> None:
        self.sandbox = sandbox
        self.inner = httpx.ASGITransport(app=create_app(sandbox))
        self.requests: list[httpx.Request] = []
        self.fail_at: int | None = None
        self.mode: Mode = "refuse"
        self.hook: Hook | None = None

    def fail(self, nth: int, mode: Mode) -> None:
        """Fail the ``nth`` request from now on (1-based)."""
        self.fail_at, self.mode = len(self.requests) + nth, mode

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.hook is not None:
            await self.hook(request)
        if len(self.requests) == self.fail_at:
            if self.mode == "refuse":
                self.sandbox.faults.fail_next = 1  # the sandbox answers 500, executes nothing
            else:
                response = await self.inner.handle_async_request(request)
                await response.aread()  # executed by Stripe ...
                raise httpx.ReadError("connection reset before the answer", request=request)
        return await self.inner.handle_async_request(request)


def make_adapter(
    transport: FaultyTransport, config: UpstreamConfig = FAST, api_key: str = API_KEY
) -> StripeAdapter:
    upstream = Upstream(
        system=SYSTEM,
        transport=HttpxTransport(httpx.AsyncClient(transport=transport)),
        base_url=BASE,
        config=config,
        translate=translate,
    )
    return StripeAdapter(StripeClient(upstream, StripeAuth(api_key)))


@pytest.fixture
def sandbox() -> StripeSandbox:
    return StripeSandbox()


@pytest.fixture
def transport(sandbox: StripeSandbox) -> FaultyTransport:
    return FaultyTransport(sandbox)


@pytest.fixture
def adapter(transport: FaultyTransport) -> StripeAdapter:
    return make_adapter(transport)


@pytest.fixture
async def direct(sandbox: StripeSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP to the sandbox, for acting on Stripe behind the adapter's back."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sandbox)),
        base_url=BASE,
        headers={"Authorization": f"Bearer {API_KEY}"},
    ) as client:
        yield client


def party(n: int = 1, country: str = "DE") -> BillingParty:
    return BillingParty(
        canonical_id=f"cus_01JTEST{n:04d}",
        name=f"Globex {n} GmbH",
        country=country,
        tax_id=f"DE{n:09d}",
        email=f"billing{n}@globex.example",
        address=Address(
            country=country, city="Berlin", street="Unter den Linden 1", postal_code="10117"
        ),
    )


LINES = {
    "EUR": (("299.97", "150.00"), "85.49"),
    "USD": (("1000.10", "0.90"), "82.50"),
    "JPY": (("12000", "3450"), "1545"),
}


def draft(account: str, currency: str = "EUR", n: int = 1, **overrides: Any) -> InvoiceDraft:
    (first, second), tax = LINES[currency]
    fields: dict[str, Any] = {
        "invoice_id": f"inv_01JTEST{n:04d}",
        "order_id": f"ord_01JTEST{n:04d}",
        "account": account,
        "currency": currency,
        "lines": [
            InvoiceLineDraft(description="Widget", sku="WID-1", quantity="3", amount=first),
            InvoiceLineDraft(description="Setup", sku=None, quantity="1.5", amount=second),
        ],
        "tax": tax,
        "tax_document": f"inv_01JTEST{n:04d}",
        "days_until_due": 14,
    }
    fields.update(overrides)
    return InvoiceDraft(**fields)


def expected_total(d: InvoiceDraft) -> Decimal:
    return sum((Decimal(line.amount) for line in d.lines), Decimal(d.tax))


def tagged(sandbox: StripeSandbox, kind: str, key: str, value: str) -> list[dict[str, Any]]:
    return [o for o in sandbox.objects(kind) if o["metadata"].get(key) == value]


def posts(sandbox: StripeSandbox, suffix: str = "") -> list[tuple[str, str, str | None]]:
    return [e for e in sandbox.request_log if e[0] == "POST" and e[1].endswith(suffix)]


async def account_for(adapter: StripeAdapter, n: int = 1) -> str:
    return await adapter.create_account(party(n))


def assert_one_complete_invoice(sandbox: StripeSandbox, d: InvoiceDraft) -> dict[str, Any]:
    invoices = tagged(sandbox, "invoice", "q2c_invoice_id", d.invoice_id)
    assert len(invoices) == 1, invoices
    items = tagged(sandbox, "invoiceitem", "q2c_invoice_id", d.invoice_id)
    assert sorted(i["metadata"]["q2c_line"] for i in items) == ["1", "2", "tax"]
    assert {i["invoice"] for i in items} == {invoices[0]["id"]}
    assert invoices[0]["status"] == "open"
    return invoices[0]


def test_the_adapter_implements_the_port(adapter: StripeAdapter) -> None:
    port: BillingSystem = adapter
    assert port.system == "stripe"


def test_api_version_is_the_sandbox_version() -> None:
    assert API_VERSION == stripe_sandbox.API_VERSION


# ------------------------------------------------------------------- the client


def test_form_encoding_uses_stripe_brackets() -> None:
    pairs = form_encode(
        {
            "amount": 1250,
            "confirm": True,
            "auto_advance": False,
            "skip": None,
            "metadata": {"k": "v", "gone": None, "empty": ""},
            "allowed_payment_method_types": ["card"],
            "lines": [{"amount": 1, "tags": ["a", "b"]}],
            "rate": Decimal("0.5"),
        }
    )
    assert pairs == [
        ("amount", "1250"),
        ("confirm", "true"),
        ("auto_advance", "false"),
        ("metadata[k]", "v"),
        ("metadata[empty]", ""),
        ("allowed_payment_method_types[0]", "card"),
        ("lines[0][amount]", "1"),
        ("lines[0][tags][0]", "a"),
        ("lines[0][tags][1]", "b"),
        ("rate", "0.5"),
    ]
    with pytest.raises(TypeError, match="floats"):
        form_encode({"amount": 12.5})


def test_auth_refuses_a_publishable_key_and_hides_the_key() -> None:
    with pytest.raises(ValueError, match="secret"):
        StripeAuth("pk_test_123456")
    assert "q2c_sandbox" not in repr(StripeAuth(API_KEY))


async def test_every_call_carries_auth_and_version_and_every_post_a_key(
    adapter: StripeAdapter, transport: FaultyTransport, sandbox: StripeSandbox
) -> None:
    account = await account_for(adapter)
    await adapter.create_invoice(draft(account))
    assert transport.requests
    for request in transport.requests:
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        assert request.headers["stripe-version"] == API_VERSION
        if request.method == "POST":
            assert request.headers["idempotency-key"].startswith("q2c-")
            assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert all(key for method, _, key in sandbox.request_log if method == "POST")


# -------------------------------------------------------------------- customers


async def test_create_account_once_then_find_it(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    assert await adapter.find_account(party(1)) is None
    account = await adapter.create_account(party(1))
    assert await adapter.find_account(party(1)) == account
    assert await adapter.find_account(party(2)) is None
    # A retried create (the first answer lost) is the same customer, not a second one.
    assert await adapter.create_account(party(1)) == account
    customers = tagged(sandbox, "customer", "q2c_customer_id", party(1).canonical_id)
    assert [c["id"] for c in customers] == [account]
    customer = customers[0]
    assert customer["name"] == "Globex 1 GmbH"
    assert customer["email"] == "billing1@globex.example"
    assert customer["address"]["line1"] == "Unter den Linden 1"
    assert customer["address"]["country"] == "DE"
    assert customer["metadata"]["q2c_tax_id"] == "DE000000001"
    assert posts(sandbox, "/v1/customers")[0][2] == f"q2c-cus-{party(1).canonical_id}"


async def test_find_account_escapes_the_search_value(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    odd = BillingParty(canonical_id="cus_it's", name="Quote Ltd", country="GB")
    account = await adapter.create_account(odd)
    assert await adapter.find_account(odd) == account


# --------------------------------------------------------------------- invoices


@pytest.mark.parametrize("currency", ["EUR", "USD", "JPY"])
async def test_create_invoice_two_lines_and_tax(
    adapter: StripeAdapter, sandbox: StripeSandbox, currency: str
) -> None:
    account = await account_for(adapter)
    d = draft(account, currency)
    record = await adapter.create_invoice(d)
    total = expected_total(d)
    assert Decimal(record.total) == total
    assert Decimal(record.subtotal) + Decimal(record.tax) == Decimal(record.total)
    assert record.tax == d.tax
    assert record.status == "open"
    assert record.number
    assert record.currency == currency
    assert record.account == account
    assert (record.invoice_id, record.order_id) == (d.invoice_id, d.order_id)
    assert record.amount_remaining == record.total == record.amount_due
    assert record.due_date is not None
    assert record.created_at is not None
    invoice = assert_one_complete_invoice(sandbox, d)
    if currency == "JPY":
        assert invoice["total"] == 16995  # whole yen on the wire ...
        assert record.total == "16995"  # ... and in the record
    else:
        assert invoice["total"] == int(total * 100)
        assert "." in record.total
        assert len(record.total.split(".")[1]) == 2
    assert invoice["collection_method"] == "send_invoice"
    assert invoice["auto_advance"] is False
    assert invoice["metadata"]["q2c_tax_document"] == d.tax_document
    keys = [key for _, _, key in posts(sandbox)][1:]  # after the customer
    assert keys == [
        f"q2c-{d.invoice_id}-invoice",
        f"q2c-{d.invoice_id}-line-1",
        f"q2c-{d.invoice_id}-line-2",
        f"q2c-{d.invoice_id}-tax",
        f"q2c-{d.invoice_id}-finalize",
    ]
    items = {i["metadata"]["q2c_line"]: i for i in sandbox.objects("invoiceitem")}
    assert items["1"]["description"] == "Widget (qty 3, SKU WID-1)"
    assert items["1"]["metadata"]["sku"] == "WID-1"
    assert items["1"]["metadata"]["quantity"] == "3"
    assert items["tax"]["description"] == "Tax"


async def test_create_invoice_without_tax_adds_no_tax_line(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    account = await account_for(adapter)
    d = draft(account, tax="0.00")
    record = await adapter.create_invoice(d)
    assert (record.tax, record.subtotal, record.total) == ("0.00", "449.97", "449.97")
    items = tagged(sandbox, "invoiceitem", "q2c_invoice_id", d.invoice_id)
    assert sorted(i["metadata"]["q2c_line"] for i in items) == ["1", "2"]


async def test_an_invoice_made_for_a_transaction_names_it_in_metadata(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    """Billing sees which quote-to-cash transaction an invoice belongs to; a plain API
    call outside any transaction adds no such key."""
    account = await account_for(adapter)
    inside, outside = draft(account, n=1), draft(account, n=2)
    with working_on("txn_01JTESTTRANSACTION"):
        await adapter.create_invoice(inside)
    await adapter.create_invoice(outside)
    invoices = {i["metadata"]["q2c_invoice_id"]: i for i in sandbox.objects("invoice")}
    assert invoices[inside.invoice_id]["metadata"]["q2c_transaction_id"] == "txn_01JTESTTRANSACTION"
    assert "q2c_transaction_id" not in invoices[outside.invoice_id]["metadata"]


async def test_create_invoice_is_idempotent_when_called_twice(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    account = await account_for(adapter)
    d = draft(account)
    first = await adapter.create_invoice(d)
    again = await adapter.create_invoice(d)
    assert again == first
    assert_one_complete_invoice(sandbox, d)
    assert len(posts(sandbox, "/finalize")) == 1  # the second call found it open


def _clean_run_length() -> int:
    # The draft: list invoices, create invoice, 2 lines, tax, read it back; then the
    # finalisation (a step of its own, after the tax is committed): read, finalize.
    return 8


async def test_clean_run_length_is_what_the_fault_tests_walk(
    adapter: StripeAdapter, transport: FaultyTransport
) -> None:
    account = await account_for(adapter)
    before = len(transport.requests)
    await adapter.create_invoice(draft(account))
    assert len(transport.requests) - before == _clean_run_length()


@pytest.mark.parametrize("mode", ["refuse", "lose"])
@pytest.mark.parametrize("step", range(1, _clean_run_length() + 1))
async def test_retry_after_a_failure_at_any_step_makes_one_invoice(
    sandbox: StripeSandbox, mode: Mode, step: int
) -> None:
    transport = FaultyTransport(sandbox)
    adapter = make_adapter(transport, NO_RETRY)
    account = await account_for(adapter)
    d = draft(account)
    transport.fail(step, mode)
    with pytest.raises(DependencyUnavailable) as failure:
        await adapter.create_invoice(d)
    assert failure.value.system == "stripe"
    record = await adapter.create_invoice(d)  # the caller's retry
    assert Decimal(record.total) == expected_total(d)
    assert record.status == "open"
    invoice = assert_one_complete_invoice(sandbox, d)
    assert record.system_id == invoice["id"]
    keys = {key for _, _, key in posts(sandbox)} - {f"q2c-cus-{party(1).canonical_id}"}
    assert keys <= {
        f"q2c-{d.invoice_id}-{s}" for s in ("invoice", "line-1", "line-2", "tax", "finalize")
    }


@pytest.mark.parametrize("step", range(2, _clean_run_length() + 1))
async def test_retry_after_the_keys_expired_still_makes_one_invoice(
    sandbox: StripeSandbox, step: int
) -> None:
    """Past Stripe's 24 h the keys no longer dedupe: the metadata on the draft's lines does."""
    transport = FaultyTransport(sandbox)
    adapter = make_adapter(transport, NO_RETRY)
    account = await account_for(adapter)
    d = draft(account)
    transport.fail(step, "lose")
    with pytest.raises(DependencyUnavailable):
        await adapter.create_invoice(d)
    sandbox.clock = lambda: time.time() + 25 * 3600
    record = await adapter.create_invoice(d)
    assert Decimal(record.total) == expected_total(d)
    assert_one_complete_invoice(sandbox, d)


async def test_lost_answers_are_retried_within_one_call(
    sandbox: StripeSandbox, transport: FaultyTransport
) -> None:
    adapter = make_adapter(transport)  # two retries: the key makes each POST safe to repeat
    account = await account_for(adapter)
    d = draft(account)
    transport.fail(3, "lose")  # the first line: executed, answer lost, sent again
    record = await adapter.create_invoice(d)
    assert record.status == "open"
    assert_one_complete_invoice(sandbox, d)
    replays = [k for _, _, k in posts(sandbox, "/v1/invoiceitems")]
    assert len(replays) == 4
    assert len(set(replays)) == 3


async def test_a_changed_draft_is_rejected_not_invoiced_twice(
    adapter: StripeAdapter, sandbox: StripeSandbox, direct: httpx.AsyncClient
) -> None:
    transport = FaultyTransport(sandbox)
    crashing = make_adapter(transport, NO_RETRY)
    account = await account_for(crashing)
    d = draft(account)
    transport.fail(6, "refuse")  # everything but the finalisation
    with pytest.raises(DependencyUnavailable):
        await crashing.create_invoice(d)
    (invoice,) = tagged(sandbox, "invoice", "q2c_invoice_id", d.invoice_id)
    stray = await direct.post(
        "/v1/invoiceitems",
        data={"customer": account, "invoice": invoice["id"], "amount": "100", "currency": "eur"},
    )
    assert stray.status_code == 200
    with pytest.raises(DependencyRejected) as rejected:
        await adapter.create_invoice(d)
    assert rejected.value.errors[0].code == "amount_mismatch"
    assert "536.46" in rejected.value.detail
    assert "535.46" in rejected.value.detail
    assert len(tagged(sandbox, "invoice", "q2c_invoice_id", d.invoice_id)) == 1


async def test_unrepresentable_amounts_are_refused_before_any_write(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    account = await account_for(adapter)
    before = len(posts(sandbox))
    bad = draft(
        account, lines=[InvoiceLineDraft(description="x", sku=None, quantity="1", amount="10.005")]
    )
    with pytest.raises(DependencyRejected) as rejected:
        await adapter.create_invoice(bad)
    assert rejected.value.errors[0].field == "lines[0].amount"
    assert rejected.value.errors[0].code == "amount_not_representable"
    with pytest.raises(DependencyRejected):
        await adapter.create_invoice(draft(account, "JPY", tax="0.5"))
    assert len(posts(sandbox)) == before


async def test_many_lines_are_read_past_the_embedded_page(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    account = await account_for(adapter)
    lines = [
        InvoiceLineDraft(description=f"Item {n}", sku=f"SKU-{n}", quantity="1", amount=f"{n}.00")
        for n in range(1, 13)
    ]
    d = draft(account, lines=lines, tax="15.60")
    record = await adapter.create_invoice(d)
    assert (record.subtotal, record.tax, record.total) == ("78.00", "15.60", "93.60")
    again = await adapter.get_invoice(record.system_id)
    assert again == record
    assert any(p.endswith("/lines") for _, p, _ in sandbox.request_log)


async def test_find_and_get_invoice(adapter: StripeAdapter) -> None:
    account = await account_for(adapter)
    d = draft(account)
    assert await adapter.find_invoice(d.invoice_id, account) is None
    record = await adapter.create_invoice(d)
    assert await adapter.find_invoice(d.invoice_id, account) == record
    assert await adapter.find_invoice("inv_other", account) is None
    assert await adapter.get_invoice(record.system_id) == record
    assert await adapter.get_invoice("in_doesnotexist") is None


async def test_list_invoices_pages_newest_first(adapter: StripeAdapter) -> None:
    account = await account_for(adapter)
    other = await account_for(adapter, 2)
    made = [await adapter.create_invoice(draft(account, n=n)) for n in range(1, 4)]
    await adapter.create_invoice(draft(other, n=9))
    newest_first = [r.system_id for r in reversed(made)]
    page = await adapter.list_invoices(account, 0, 2)
    assert [r.system_id for r in page.items] == newest_first[:2]
    assert page.has_more is True
    page = await adapter.list_invoices(account, 2, 2)
    assert [r.system_id for r in page.items] == newest_first[2:]
    assert page.has_more is False
    page = await adapter.list_invoices(account, 0, 3)
    assert len(page.items) == 3
    assert page.has_more is False
    assert (await adapter.list_invoices(account, 5, 2)).items == []


# --------------------------------------------------------------------- payments


async def invoiced(adapter: StripeAdapter, currency: str = "EUR", n: int = 1) -> InvoiceRecord:
    account = await account_for(adapter, n)
    return await adapter.create_invoice(draft(account, currency, n))


def pay(
    record: InvoiceRecord, payment_id: str = "pay_01JTEST0001", **overrides: Any
) -> PaymentRequest:
    fields: dict[str, Any] = {
        "payment_id": payment_id,
        "invoice_system_id": record.system_id,
        "account": record.account,
        "amount": record.amount_remaining,
        "currency": record.currency,
        "payment_method": "pm_card_visa",
    }
    fields.update(overrides)
    return PaymentRequest(**fields)


@pytest.mark.parametrize("currency", ["EUR", "JPY"])
async def test_payment_succeeds_and_the_invoice_becomes_paid(
    adapter: StripeAdapter, sandbox: StripeSandbox, currency: str
) -> None:
    invoice = await invoiced(adapter, currency)
    record = await adapter.collect_payment(pay(invoice))
    assert record.status == "succeeded"
    assert (record.amount, record.currency) == (invoice.total, currency)
    assert record.amount_refunded in ("0.00", "0")
    assert (record.payment_id, record.invoice_system_id) == ("pay_01JTEST0001", invoice.system_id)
    assert record.failure_message is None
    paid = await adapter.get_invoice(invoice.system_id)
    assert paid is not None
    assert paid.status == "paid"
    assert Decimal(paid.amount_remaining) == 0
    assert paid.amount_paid == invoice.total
    (intent,) = sandbox.objects("payment_intent")
    assert intent["metadata"] == {
        "q2c_payment_id": "pay_01JTEST0001",
        "q2c_invoice": invoice.system_id,
    }
    assert intent["allowed_payment_method_types"] == ["card"]
    assert intent["payment_method_types"] == ["card"]
    assert [k for _, _, k in posts(sandbox, "/pay")] == ["q2c-pay_01JTEST0001-settle"]
    assert await adapter.get_payment(record.system_id) == record


async def test_retried_collect_payment_charges_once(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    invoice = await invoiced(adapter)
    first = await adapter.collect_payment(pay(invoice))
    again = await adapter.collect_payment(pay(invoice))
    assert again == first
    assert len(tagged(sandbox, "payment_intent", "q2c_payment_id", "pay_01JTEST0001")) == 1
    assert len(sandbox.objects("charge")) == 1
    keys = [k for _, _, k in posts(sandbox, "/v1/payment_intents")]
    assert keys == ["q2c-pay_01JTEST0001-intent"] * 2


@pytest.mark.parametrize("step", [1, 2, 3])
async def test_collect_payment_after_a_lost_answer_at_any_step(
    sandbox: StripeSandbox, step: int
) -> None:
    transport = FaultyTransport(sandbox)
    adapter = make_adapter(transport, NO_RETRY)
    invoice = await invoiced(adapter)
    transport.fail(step, "lose")  # 1 intent, 2 read invoice, 3 settle
    with pytest.raises(DependencyUnavailable):
        await adapter.collect_payment(pay(invoice))
    record = await adapter.collect_payment(pay(invoice))
    assert record.status == "succeeded"
    assert len(sandbox.objects("payment_intent")) == 1
    assert len(sandbox.objects("charge")) == 1
    paid = await adapter.get_invoice(invoice.system_id)
    assert paid is not None
    assert paid.status == "paid"


async def test_an_invoice_paid_meanwhile_is_settled_already(
    adapter: StripeAdapter,
    transport: FaultyTransport,
    sandbox: StripeSandbox,
    direct: httpx.AsyncClient,
) -> None:
    invoice = await invoiced(adapter)

    async def pay_first(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/pay"):
            response = await direct.post(
                f"/v1/invoices/{invoice.system_id}/pay", data={"paid_out_of_band": "true"}
            )
            assert response.status_code == 200

    transport.hook = pay_first
    record = await adapter.collect_payment(pay(invoice))
    assert record.status == "succeeded"
    (_, _, key) = posts(sandbox, "/pay")[-1]
    assert key == "q2c-pay_01JTEST0001-settle"  # answered 400 "already paid": fine
    paid = await adapter.get_invoice(invoice.system_id)
    assert paid is not None
    assert paid.status == "paid"


async def test_a_declined_card_is_a_failed_payment(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    invoice = await invoiced(adapter)
    record = await adapter.collect_payment(
        pay(invoice, payment_method="pm_card_chargeDeclinedInsufficientFunds")
    )
    assert record.status == "failed"
    assert record.failure_message == "Your card has insufficient funds."
    assert record.payment_id == "pay_01JTEST0001"
    assert posts(sandbox, "/pay") == []
    still = await adapter.get_invoice(invoice.system_id)
    assert still is not None
    assert still.status == "open"
    assert await adapter.get_payment(record.system_id) == record
    # The same payment id replays the decline; a new attempt takes a new payment id.
    declined = pay(invoice, payment_method="pm_card_chargeDeclinedInsufficientFunds")
    assert await adapter.collect_payment(declined) == record
    assert len(sandbox.objects("charge")) == 1
    retried = await adapter.collect_payment(pay(invoice, "pay_01JTEST0002"))
    assert retried.status == "succeeded"


async def test_partial_payments_settle_the_invoice_when_they_cover_it(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    invoice = await invoiced(adapter)  # 535.46 EUR
    first = await adapter.collect_payment(pay(invoice, "pay_01JPART0001", amount="200.00"))
    assert first.status == "succeeded"
    still = await adapter.get_invoice(invoice.system_id)
    assert still is not None
    assert still.status == "open"
    assert posts(sandbox, "/pay") == []
    rest = await adapter.collect_payment(pay(invoice, "pay_01JPART0002", amount="335.46"))
    assert rest.status == "succeeded"
    paid = await adapter.get_invoice(invoice.system_id)
    assert paid is not None
    assert paid.status == "paid"


async def test_partial_then_full_refund(adapter: StripeAdapter, sandbox: StripeSandbox) -> None:
    invoice = await invoiced(adapter)
    payment = await adapter.collect_payment(pay(invoice))
    partial = await adapter.refund(payment.system_id, "100.00", "refund-key-1")
    assert (partial.status, partial.amount_refunded) == ("partially_refunded", "100.00")
    replay = await adapter.refund(payment.system_id, "100.00", "refund-key-1")
    assert replay == partial
    assert len(sandbox.objects("refund")) == 1
    full = await adapter.refund(payment.system_id, None, "refund-key-2")
    assert (full.status, full.amount_refunded) == ("refunded", payment.amount)
    assert [r["amount"] for r in sandbox.objects("refund")] == [10000, 43546]
    assert [k for _, _, k in posts(sandbox, "/v1/refunds")] == [
        f"q2c-{payment.system_id}-refund-refund-key-1",
        f"q2c-{payment.system_id}-refund-refund-key-1",
        f"q2c-{payment.system_id}-refund-refund-key-2",
    ]
    assert await adapter.get_payment(payment.system_id) == full
    # A later retried collect_payment shows the refunds, not the first answer's state.
    assert (await adapter.collect_payment(pay(invoice))).status == "refunded"


async def test_a_standalone_payment_settles_nothing(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    account = await account_for(adapter)
    record = await adapter.collect_payment(
        PaymentRequest(
            payment_id="pay_01JSOLO",
            invoice_system_id="",
            account=account,
            amount="25.00",
            currency="USD",
            payment_method="pm_card_visa",
        )
    )
    assert record.status == "succeeded"
    assert record.invoice_system_id is None
    assert posts(sandbox, "/pay") == []
    assert not any("/v1/invoices" in p for _, p, _ in sandbox.request_log)


async def test_get_payment_unknown_is_none(adapter: StripeAdapter) -> None:
    assert await adapter.get_payment("pi_doesnotexist") is None


async def test_refund_of_an_unknown_payment_is_rejected(adapter: StripeAdapter) -> None:
    with pytest.raises(DependencyRejected) as rejected:
        await adapter.refund("pi_doesnotexist", None, "k")
    assert rejected.value.vendor_code == "resource_missing"


# ----------------------------------------------------------------------- errors


async def test_stripe_5xx_is_dependency_unavailable(
    adapter: StripeAdapter, sandbox: StripeSandbox
) -> None:
    invoice = await invoiced(adapter)
    sandbox.faults.fail_next = 1  # a 500 is not retried
    with pytest.raises(DependencyUnavailable) as failure:
        await adapter.get_invoice(invoice.system_id)
    assert failure.value.system == "stripe"
    assert "api_error" in failure.value.detail
    assert await adapter.get_invoice(invoice.system_id) == invoice


async def test_stripe_503_is_retried(adapter: StripeAdapter, sandbox: StripeSandbox) -> None:
    invoice = await invoiced(adapter)
    sandbox.faults.fail_status, sandbox.faults.fail_next = 503, 2
    before = len(sandbox.request_log)
    assert await adapter.get_invoice(invoice.system_id) == invoice
    assert len(sandbox.request_log) - before == 3


async def test_invalid_request_is_dependency_rejected_with_the_vendor_code(
    adapter: StripeAdapter,
) -> None:
    invoice = await invoiced(adapter)
    with pytest.raises(DependencyRejected) as rejected:
        await adapter.collect_payment(pay(invoice, account="cus_doesnotexist"))
    assert rejected.value.system == "stripe"
    assert rejected.value.vendor_code == "resource_missing"
    assert "cus_doesnotexist" in rejected.value.vendor_message
    assert rejected.value.errors[0].field == "customer"


async def test_an_unknown_payment_method_is_the_clients_error_naming_it(
    adapter: StripeAdapter,
) -> None:
    invoice = await invoiced(adapter)
    with pytest.raises(ValidationFailed) as refused:
        await adapter.collect_payment(pay(invoice, "pay_01JBOGUS", payment_method="pm_bogus"))
    assert refused.value.system == "stripe"
    assert [(i.field, i.code) for i in refused.value.errors] == [
        ("payment_method", "resource_missing")
    ]
    assert "pm_bogus" in refused.value.errors[0].message
    with pytest.raises(ValidationFailed) as too_small:
        await adapter.collect_payment(pay(invoice, "pay_01JSMALL", amount="0.10"))
    # Named as the canonical body names it: amount is Money, its value amount.amount.
    assert [(i.field, i.code) for i in too_small.value.errors] == [
        ("amount.amount", "amount_too_small")
    ]


async def test_a_wrong_api_key_is_dependency_unavailable(transport: FaultyTransport) -> None:
    adapter = make_adapter(transport, api_key="sk_test_wrong_key_123")
    with pytest.raises(DependencyUnavailable) as failure:
        await adapter.find_account(party())
    assert "401" in failure.value.detail
