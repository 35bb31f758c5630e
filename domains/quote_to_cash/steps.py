"""The business steps of one quote-to-cash transaction, each a call into the
domain services that already own the rule (orders, invoices, quotes, customers).

A step either returns its result or raises; the engine binding decides about
retries (``taxonomy``) and checkpoints each result, so a step here never keeps
state between calls and every write is keyed by a canonical id derived from the
transaction id: running a step twice finds what the first run created.
"""

from __future__ import annotations

import msgspec

from contracts.v1.orders import OrderCreate
from domains.errors import Conflict
from domains.ids import derived_id
from domains.invoice.service import InvoiceService
from domains.order.service import OrderService
from domains.quote.service import QuoteService
from domains.quote_to_cash.config import CompensationAction
from domains.quote_to_cash.ports import QuoteProgressSink
from domains.quote_to_cash.taxonomy import StepFailed, first_class
from domains.quote_to_cash.validation import Edits, QuoteValidator, Validated


class OrderRef(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    system: str
    system_id: str
    status: str
    fulfillment_status: str = "unfulfilled"


class InvoiceRef(msgspec.Struct, frozen=True, kw_only=True):
    invoice_id: str
    system: str
    system_id: str
    number: str | None
    total: str
    currency: str
    due_date: str | None = None
    tax_system: str | None = None
    tax_document: str | None = None


class QuoteToCash:
    """What each step of the transaction does, in business terms."""

    def __init__(
        self,
        *,
        validator: QuoteValidator,
        quotes: QuoteService,
        orders: OrderService,
        invoices: InvoiceService,
        crm: QuoteProgressSink,
    ) -> None:
        self._validator = validator
        self._quotes = quotes
        self._orders = orders
        self._invoices = invoices
        self._crm = crm

    def quote_system(self) -> str:
        return self._quotes.source().system

    async def validate(self, tenant: str, quote_id: str, edits: Edits) -> Validated:
        """All checks at once; a StepFailed carrying every finding when any fails."""
        source = self._quotes.source()
        quote = await self._quotes.record(tenant, quote_id, source)
        result = await self._validator.validate(tenant, quote_id, source.system, quote, edits)
        if result.validated is not None:
            return result.validated
        findings = result.findings
        error_class = first_class([f.error_class for f in findings])  # type: ignore[misc]
        raise StepFailed(
            error_class,
            next(f.code for f in findings if f.error_class == error_class),
            "; ".join(f.message for f in findings),
            source.system,
            tuple(msgspec.structs.asdict(f) for f in findings),
            facts={"amount": quote.total, "currency": quote.currency},
        )

    async def erp_customer(self, tenant: str, validated: Validated) -> tuple[str, str]:
        """(ERP system, its customer number): reused when the buyer is known there."""
        erp, account = await self._orders.erp_account(
            tenant, validated.customer_id, validated.currency, validated.legal_entity
        )
        return erp.system, account

    def order_id(self, tenant: str, transaction_id: str) -> str:
        # Fixed by the transaction: the ERP finds the first order on any re-run.
        return derived_id("order", tenant, transaction_id)

    async def submit_order(
        self, tenant: str, transaction_id: str, validated: Validated
    ) -> OrderRef:
        order = await self._orders.create(
            tenant,
            OrderCreate(
                customer_id=validated.customer_id,
                quote_id=validated.quote_id,
                legal_entity=validated.legal_entity,
                requested_delivery_date=validated.requested_delivery_date,
            ),
            self.order_id(tenant, transaction_id),
        )
        reference = order.external_references[0]
        return OrderRef(
            order_id=order.id,
            system=reference.system,
            system_id=reference.id,
            status=order.status,
            fulfillment_status=order.fulfillment_status,
        )

    async def fulfilment(self, tenant: str, order_id: str) -> str:
        """The ERP's delivery status of the order."""
        return (await self._orders.get(tenant, order_id)).fulfillment_status

    async def invoice(self, tenant: str, order_id: str, days_until_due: int) -> InvoiceRef:
        try:
            invoice = await self._invoices.create(tenant, order_id, days_until_due)
        except Conflict as exc:
            # An earlier run invoiced the order and crashed before its checkpoint.
            if exc.code != "ORDER_ALREADY_INVOICED" or not exc.existing_id:
                raise
            invoice = await self._invoices.get(tenant, exc.existing_id)
        billing = invoice.external_references[0]
        tax = invoice.external_references[1] if len(invoice.external_references) > 1 else None
        return InvoiceRef(
            invoice_id=invoice.id,
            system=billing.system,
            system_id=billing.id,
            number=invoice.number,
            total=invoice.total.amount,
            currency=invoice.total.currency,
            due_date=invoice.due_date,
            tax_system=tax.system if tax else None,
            tax_document=tax.id if tax else None,
        )

    def invoice_id(self, tenant: str, order_id: str) -> str:
        return derived_id("invoice", tenant, order_id)

    async def write_back(
        self,
        quote_system_id: str,
        transaction_id: str,
        *,
        order_number: str = "",
        invoice_number: str = "",
        payment_status: str = "",
        stage: str = "",
    ) -> bool:
        """Tell the CRM where the deal stands; False when the CRM cannot take it."""
        return await self._crm.write_back(
            quote_system_id,
            transaction_id=transaction_id,
            order_number=order_number,
            invoice_number=invoice_number,
            payment_status=payment_status,
            stage=stage,
        )

    async def compensate(
        self, order: OrderRef, action: CompensationAction, reason: str
    ) -> list[str]:
        """Undo what must not stand alone: hold or cancel the ERP order (idempotent in
        the ERP). A tax document committed for an invoice that billing then refused is
        voided by the invoice step itself (InvoiceService), so none is left here."""
        erp = self._orders.erp_for_system(order.system)
        if action == "cancel_order":
            await erp.cancel_order(order.system_id, reason)
        elif action == "hold_order":
            await erp.hold_order(order.system_id, reason)
        else:
            return []
        return [f"{action}:{order.system}:{order.system_id}"]
