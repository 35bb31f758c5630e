"""/v1/invoices, /v1/payments and /v1/pricing/calculate: billing and tax."""

from __future__ import annotations

import secrets
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import JSONBody

from contracts.v1.billing import (
    Invoice,
    InvoiceCreate,
    InvoicePage,
    Payment,
    PaymentCreate,
    RefundCreate,
)
from contracts.v1.pricing import PriceCalculation, PriceCalculationRequest
from domains.invoice.service import InvoiceService
from domains.payment.service import PaymentService
from domains.pricing.calculate import PriceCalculator
from domains.quote_to_cash.records import PaymentNotice
from gateway.flow.runtime import Flow
from gateway.routes.common import (
    DEFAULT_PAGE,
    ETAG_HEADER,
    INVOICE_CREATE,
    LOCATION_HEADER,
    PAYMENT_CREATE,
    PAYMENT_REFUND,
    READ,
    CursorParam,
    Limit,
    created,
    governed_route,
    id_parameter,
    tagged,
)
from gateway.routes.dependencies import Caller, Injected
from gateway.routes.v1 import representation as v1

InvoiceIdPath = Annotated[str, id_parameter("inv", "invoice", where_path=True)]
PaymentIdPath = Annotated[str, id_parameter("pay", "payment", where_path=True)]
CustomerIdRequired = Annotated[str, id_parameter("cus", "customer")]


class InvoiceController(Controller):
    path = "/invoices"
    tags = ["invoices"]

    @post(
        operation_id="createInvoice",
        summary="Invoice an order (lines plus tax), in the billing system that owns invoices",
        description="Tax is committed in the tax engine under the invoice id and every "
        "billing write is keyed by it, so a retry never invoices or posts tax twice. An "
        "order is invoiced once: a second invoice answers 409 with `existing_id`.",
        **governed_route(
            "invoices:write",
            errors=(*READ, 409, 422),
            idempotency="required",
            idempotency_scope=INVOICE_CREATE,
            headers=(ETAG_HEADER, LOCATION_HEADER),
        ),
    )
    async def create_invoice(
        self,
        data: JSONBody[InvoiceCreate],
        invoices: Injected[InvoiceService],
        caller: Injected[Caller],
    ) -> Response[Invoice]:
        invoice = v1.invoice(
            await invoices.create(caller.tenant, data.order_id, data.days_until_due)
        )
        return created(invoice, f"/v1/invoices/{invoice.id}")

    @get(
        "/{invoice_id:str}",
        operation_id="getInvoice",
        summary="Get an invoice",
        description="The invoice as the billing system holds it: amounts due and remaining, "
        "tax and status.",
        **governed_route("invoices:read", errors=(*READ, 404), headers=(ETAG_HEADER,)),
    )
    async def get_invoice(
        self,
        invoice_id: InvoiceIdPath,
        invoices: Injected[InvoiceService],
        caller: Injected[Caller],
    ) -> Response[Invoice]:
        return tagged(v1.invoice(await invoices.get(caller.tenant, invoice_id)))

    @get(
        operation_id="listInvoices",
        summary="List a customer's invoices",
        description="Invoices of one customer, in cursor pages.",
        **governed_route("invoices:read", errors=(*READ, 404)),
    )
    async def list_invoices(
        self,
        customer_id: CustomerIdRequired,
        invoices: Injected[InvoiceService],
        caller: Injected[Caller],
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> InvoicePage:
        page = await invoices.list_page(
            caller.tenant, customer_id=customer_id, cursor=cursor, limit=limit
        )
        return v1.invoice_page(page)


class PaymentController(Controller):
    path = "/payments"
    tags = ["payments"]

    @post(
        operation_id="createPayment",
        summary="Collect payment for an open invoice",
        description="Charges the payment method for the amount (default: the remaining "
        "balance) and settles the invoice. A declined card is a payment with status "
        "`failed` and a `failure_reason`.",
        **governed_route(
            "payments:write",
            errors=(*READ, 422),
            idempotency="required",
            idempotency_scope=PAYMENT_CREATE,
            headers=(ETAG_HEADER, LOCATION_HEADER),
        ),
    )
    async def create_payment(
        self,
        data: JSONBody[PaymentCreate],
        payments: Injected[PaymentService],
        caller: Injected[Caller],
        flow: Injected[Flow | None],
    ) -> Response[Payment]:
        payment = v1.payment(
            await payments.create(caller.tenant, data, caller.idempotent_id("payment"))
        )
        if flow is not None and payment.status == "succeeded":
            # The invoice's quote-to-cash transaction (if any) waits for this payment.
            await flow.transactions.paid(
                caller.tenant,
                PaymentNotice(
                    payment_id=payment.id,
                    invoice_id=data.invoice_id,
                    amount=payment.amount.amount,
                    currency=payment.amount.currency,
                    source="api",
                    system_id=payment.external_references[0].id
                    if payment.external_references
                    else "",
                ),
            )
        return created(payment, f"/v1/payments/{payment.id}")

    @get(
        "/{payment_id:str}",
        operation_id="getPayment",
        summary="Get a payment",
        description="The payment with its status, refunded amount and failure reason.",
        **governed_route("payments:read", errors=(*READ, 404), headers=(ETAG_HEADER,)),
    )
    async def get_payment(
        self,
        payment_id: PaymentIdPath,
        payments: Injected[PaymentService],
        caller: Injected[Caller],
    ) -> Response[Payment]:
        return tagged(v1.payment(await payments.get(caller.tenant, payment_id)))

    @post(
        "/{payment_id:str}/refunds",
        status_code=200,
        operation_id="refundPayment",
        summary="Refund a payment in full or in part",
        description="Without `amount`, refunds whatever is not yet refunded. The "
        "Idempotency-Key keys the refund in the billing system, so a retry never refunds "
        "twice.",
        **governed_route(
            "payments:write",
            errors=(*READ, 404, 422),
            idempotency="required",
            idempotency_scope=PAYMENT_REFUND,
        ),
    )
    async def refund_payment(
        self,
        payment_id: PaymentIdPath,
        data: JSONBody[RefundCreate],
        payments: Injected[PaymentService],
        caller: Injected[Caller],
    ) -> Payment:
        # The billing system's own idempotency key: the client's key within its
        # tenant, so its retry refunds once (a fresh one when the policy is off).
        key = caller.idempotency_key or secrets.token_hex(16)
        tenant = caller.tenant
        return v1.payment(await payments.refund(tenant, payment_id, data.amount, f"{tenant}:{key}"))


class PricingController(Controller):
    path = "/pricing"
    tags = ["prices"]

    @post(
        "/calculate",
        status_code=200,
        operation_id="calculatePrices",
        summary="Price lines for a customer: price book, discount and tax",
        description="Tax comes from the tax engine as an estimate (nothing is recorded). "
        "When the tax engine is down this answers 503 naming it; nothing is guessed.",
        **governed_route("prices:read", errors=(*READ, 422)),
    )
    async def calculate(
        self,
        data: JSONBody[PriceCalculationRequest],
        pricing: Injected[PriceCalculator],
        caller: Injected[Caller],
    ) -> PriceCalculation:
        return v1.price_calculation(await pricing.calculate(caller.tenant, data))
