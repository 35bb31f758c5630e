"""/v1/invoices, /v1/payments and /v1/pricing/calculate: billing and tax."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
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
from gateway.routes.common import (
    DEFAULT_PAGE,
    ETAG_HEADER,
    LOCATION_HEADER,
    READ,
    CursorParam,
    Limit,
    created,
    governed_route,
    id_parameter,
    idempotent_id,
    services,
    tagged,
    tenant_of,
)
from policies.idempotency.openapi import IDEMPOTENCY_KEY_HEADER

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
            headers=(ETAG_HEADER, LOCATION_HEADER),
        ),
    )
    async def create_invoice(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[InvoiceCreate],
        idempotency_key: Annotated[str, IDEMPOTENCY_KEY_HEADER],
    ) -> Response[Invoice]:
        invoice = await services(request).invoices.create(
            tenant_of(request), data.order_id, data.days_until_due
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
        self, request: Request[Any, Any, Any], invoice_id: InvoiceIdPath
    ) -> Response[Invoice]:
        invoice = await services(request).invoices.get(tenant_of(request), invoice_id)
        return tagged(invoice)

    @get(
        operation_id="listInvoices",
        summary="List a customer's invoices",
        description="Invoices of one customer, in cursor pages.",
        **governed_route("invoices:read", errors=(*READ, 404)),
    )
    async def list_invoices(
        self,
        request: Request[Any, Any, Any],
        customer_id: CustomerIdRequired,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> InvoicePage:
        return await services(request).invoices.list_page(
            tenant_of(request), customer_id=customer_id, cursor=cursor, limit=limit
        )


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
            headers=(ETAG_HEADER, LOCATION_HEADER),
        ),
    )
    async def create_payment(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PaymentCreate],
        idempotency_key: Annotated[str, IDEMPOTENCY_KEY_HEADER],
    ) -> Response[Payment]:
        payment = await services(request).payments.create(
            tenant_of(request), data, idempotent_id(request, "payment")
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
        self, request: Request[Any, Any, Any], payment_id: PaymentIdPath
    ) -> Response[Payment]:
        payment = await services(request).payments.get(tenant_of(request), payment_id)
        return tagged(payment)

    @post(
        "/{payment_id:str}/refunds",
        status_code=200,
        operation_id="refundPayment",
        summary="Refund a payment in full or in part",
        description="Without `amount`, refunds whatever is not yet refunded. The "
        "Idempotency-Key keys the refund in the billing system, so a retry never refunds "
        "twice.",
        **governed_route("payments:write", errors=(*READ, 404, 422), idempotency="required"),
    )
    async def refund_payment(
        self,
        request: Request[Any, Any, Any],
        payment_id: PaymentIdPath,
        data: JSONBody[RefundCreate],
        idempotency_key: Annotated[str, IDEMPOTENCY_KEY_HEADER],
    ) -> Payment:
        key = str(request.scope.get("state", {}).get("idempotency_key") or idempotency_key)
        return await services(request).payments.refund(
            tenant_of(request), payment_id, data.amount, f"{tenant_of(request)}:{key}"
        )


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
        self, request: Request[Any, Any, Any], data: JSONBody[PriceCalculationRequest]
    ) -> PriceCalculation:
        return await services(request).pricing.calculate(tenant_of(request), data)
