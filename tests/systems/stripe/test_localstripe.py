"""The Stripe adapter against localstripe, an independent Stripe look-alike (PyPI
``localstripe``), run as a real server process on a free port.

What runs here: customers (create, and find through the list: localstripe has no search
API, so the adapter's list fallback is what is exercised), standalone payments with
PaymentIntents (no invoice to settle: ``invoice_system_id=""``), declines, refunds and
reads. What cannot run here, and why, is in the skipped tests at the end.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from domains.errors import DependencyError, DependencyRejected
from domains.invoice.ports import BillingParty, InvoiceDraft, InvoiceLineDraft, PaymentRequest
from systems.stripe.adapter import StripeAdapter
from systems.stripe.client import StripeAuth, StripeClient
from systems.stripe.errors import SYSTEM, translate
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig
from tests.support.processes import ServerProcess
from tests.support.servers import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        importlib.util.find_spec("localstripe") is None,
        reason="localstripe is not installed (pip install localstripe==1.15.10)",
    ),
]

API_KEY = "sk_test_localstripe_q2c"  # localstripe takes any sk_ key


@pytest.fixture(scope="module")
def localstripe_url() -> Iterator[str]:
    port = free_port()
    # --from-scratch: ignore the state an earlier run pickled to /tmp/localstripe.pickle.
    server = ServerProcess(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"], port
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()  # always terminated, also when a test failed


@pytest.fixture
async def seen(localstripe_url: str) -> AsyncIterator[tuple[StripeAdapter, list[str]]]:
    """The adapter over real HTTP, and the ``METHOD /path`` of every request it sent."""
    paths: list[str] = []

    async def record(request: httpx.Request) -> None:
        paths.append(f"{request.method} {request.url.path}")

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        upstream = Upstream(
            system=SYSTEM,
            transport=HttpxTransport(http),
            base_url=localstripe_url,
            config=UpstreamConfig(backoff_seconds=0.01),
            translate=translate,
        )
        # localstripe (an older API) refuses ``description`` and
        # ``allowed_payment_method_types`` on PaymentIntents ("Unexpected ...").
        client = StripeClient(upstream, StripeAuth(API_KEY))
        yield StripeAdapter(client, look_alike=True), paths


def _party() -> BillingParty:
    return BillingParty(
        canonical_id=f"cus_01JLS{uuid.uuid4().hex[:12].upper()}",
        name="Initech LLC",
        country="US",
        tax_id="US-12-3456789",
        email="ap@initech.example",
    )


def _standalone(
    account: str, payment_method: str, amount: str = "42.00", currency: str = "USD"
) -> PaymentRequest:
    return PaymentRequest(
        payment_id=f"pay_01JLS{uuid.uuid4().hex[:12].upper()}",
        invoice_system_id="",  # no Stripe invoice to settle
        account=account,
        amount=amount,
        currency=currency,
        payment_method=payment_method,
    )


async def test_customer_create_then_find_through_the_list(
    seen: tuple[StripeAdapter, list[str]],
) -> None:
    adapter, paths = seen
    party = _party()
    assert await adapter.find_account(party) is None
    account = await adapter.create_account(party)
    assert account.startswith("cus_")
    assert await adapter.find_account(party) == account
    assert await adapter.find_account(_party()) is None
    # No search API in localstripe (404), so the adapter listed the customers instead.
    assert "GET /v1/customers/search" in paths
    assert "GET /v1/customers" in paths


async def test_standalone_payment_then_partial_and_full_refund(
    seen: tuple[StripeAdapter, list[str]],
) -> None:
    adapter, paths = seen
    account = await adapter.create_account(_party())
    request = _standalone(account, "pm_card_visa")
    payment = await adapter.collect_payment(request)
    assert payment.system_id.startswith("pi_")
    assert (payment.status, payment.amount, payment.currency) == ("succeeded", "42.00", "USD")
    assert (payment.payment_id, payment.invoice_system_id) == (request.payment_id, None)
    assert not any("/v1/invoices" in p for p in paths)  # the settle step is skipped
    partial = await adapter.refund(payment.system_id, "10.00", "refund-1")
    assert (partial.status, partial.amount_refunded) == ("partially_refunded", "10.00")
    rest = await adapter.refund(payment.system_id, "32.00", "refund-2")
    assert (rest.status, rest.amount_refunded) == ("refunded", "42.00")
    assert await adapter.get_payment(payment.system_id) == rest


async def test_standalone_payment_then_full_refund(
    seen: tuple[StripeAdapter, list[str]],
) -> None:
    # A full refund sends no amount (Stripe refunds what remains). localstripe 1.15.10
    # refunds the whole charge again even after a partial refund, so the full refund is
    # tested on a payment of its own here; after partials it runs against the sandbox.
    adapter, _ = seen
    account = await adapter.create_account(_party())
    payment = await adapter.collect_payment(_standalone(account, "pm_card_visa", "19.99"))
    full = await adapter.refund(payment.system_id, None, "refund-all")
    assert (full.status, full.amount, full.amount_refunded) == ("refunded", "19.99", "19.99")


async def test_payment_in_yen(seen: tuple[StripeAdapter, list[str]]) -> None:
    adapter, _ = seen
    account = await adapter.create_account(_party())
    payment = await adapter.collect_payment(
        _standalone(account, "pm_card_visa", amount="5000", currency="JPY")
    )
    assert (payment.status, payment.amount, payment.currency) == ("succeeded", "5000", "JPY")


async def test_a_declined_card_is_a_failed_payment(
    seen: tuple[StripeAdapter, list[str]],
) -> None:
    adapter, paths = seen
    account = await adapter.create_account(_party())
    # localstripe declines this test card on charge (its pm_card_visa_chargeDeclined is
    # declined only when attached), and its 402 names only the charge, not the intent:
    # the adapter finds the intent through the charge.
    payment = await adapter.collect_payment(_standalone(account, "pm_card_chargeCustomerFail"))
    assert payment.status == "failed"
    assert payment.failure_message == "Your card was declined."
    assert any(p.startswith("GET /v1/charges/") for p in paths)
    assert await adapter.get_payment(payment.system_id) == payment


async def test_unknown_objects(seen: tuple[StripeAdapter, list[str]]) -> None:
    adapter, _ = seen
    assert await adapter.get_payment("pi_doesnotexist") is None
    with pytest.raises(DependencyRejected) as rejected:
        await adapter.collect_payment(_standalone("cus_doesnotexist", "pm_card_visa"))
    assert rejected.value.system == "stripe"
    assert rejected.value.vendor_code == "invalid_request_error"  # localstripe sends no code


async def test_localstripe_refuses_one_off_invoices(
    seen: tuple[StripeAdapter, list[str]],
) -> None:
    """The reason the invoice tests are skipped, kept honest: should a localstripe release
    accept these parameters, this fails and the skipped tests should be enabled."""
    adapter, _ = seen
    account = await adapter.create_account(_party())
    draft = InvoiceDraft(
        invoice_id=f"inv_01JLS{uuid.uuid4().hex[:12].upper()}",
        order_id="ord_01JLS",
        account=account,
        currency="USD",
        lines=[InvoiceLineDraft(description="Widget", sku="W", quantity="1", amount="10.00")],
        tax="0.80",
        tax_document="doc",
    )
    # localstripe answers 500 (a TypeError on the ``currency`` parameter).
    with pytest.raises(DependencyError) as failed:
        await adapter.create_invoice(draft)
    assert failed.value.system == "stripe"


@pytest.mark.skip(
    reason="localstripe 1.15.10 has no one-off invoices: POST /v1/invoices takes no currency, "
    "collection_method, days_until_due, pending_invoice_items_behavior or auto_advance (it "
    "answers 500), and there is no /v1/invoices/{id}/finalize; covered against the Stripe "
    "sandbox in test_adapter.py"
)
def test_create_invoice_and_settle_it() -> None:
    raise AssertionError("not runnable against localstripe")


@pytest.mark.skip(
    reason="localstripe 1.15.10 ignores Idempotency-Key (a repeated POST creates a second "
    "object), so retry convergence is covered against the Stripe sandbox in test_adapter.py"
)
def test_retries_converge_on_one_object() -> None:
    raise AssertionError("not runnable against localstripe")


@pytest.mark.skip(
    reason="localstripe 1.15.10 has no /v1/customers/search; find_account's search path is "
    "covered against the Stripe sandbox, its list fallback above"
)
def test_find_account_through_search() -> None:
    raise AssertionError("not runnable against localstripe")
