"""Payments against invoices, and refunds, through the billing system.

Every payment has a canonical id fixed before the billing system is called
(derived from the Idempotency-Key when there is one), and that id is what the
billing system's own idempotency key derives from: a retried call never charges
twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from contracts.v1.billing import PaymentCreate
from contracts.v1.common import ExternalReference, Money
from domains.crosswalk import Crosswalk
from domains.errors import FieldIssue, NotFound, ValidationFailed
from domains.ids import kind_of, new_id
from domains.invoice.ports import BillingSystem, PaymentRecord, PaymentRequest
from domains.invoice.service import InvoiceService
from domains.money import money, quantize
from domains.ownership import OwnershipMap
from domains.payment.records import Payment
from domains.submission import Submissions, SubmissionSteps
from domains.tenancy import CrosswalkFactory, RecordOwners, visible


class PaymentService:
    def __init__(
        self,
        *,
        crosswalks: CrosswalkFactory,
        owners: RecordOwners,
        ownership: OwnershipMap,
        billing: Mapping[str, BillingSystem],
        invoices: InvoiceService,
        submissions: Submissions,
    ) -> None:
        self._crosswalks = crosswalks
        self._owners = owners
        self._ownership = ownership
        self._billing = billing
        self._invoices = invoices
        self._submissions = submissions

    def _system(self) -> BillingSystem:
        return self._billing[self._ownership.owner("payments")]

    async def create(
        self, tenant: str, data: PaymentCreate, payment_id: str | None = None
    ) -> Payment:
        billing = self._system()
        try:
            invoice = await self._invoices.record(tenant, data.invoice_id)
        except NotFound:
            raise _invalid(
                "invoice_id", f"Invoice {data.invoice_id} does not exist.", "unknown_invoice"
            ) from None
        if invoice.status != "open":
            raise _invalid(
                "invoice_id",
                f"Invoice {data.invoice_id} is {invoice.status}; "
                "only an open invoice takes payments.",
                "invoice_not_open",
            )
        remaining = Decimal(invoice.amount_remaining)
        amount = remaining
        if data.amount is not None:
            if data.amount.currency != invoice.currency:
                raise _invalid(
                    "amount.currency", f"The invoice is in {invoice.currency}.", "currency_mismatch"
                )
            amount = Decimal(data.amount.amount)
            if quantize(amount, invoice.currency) != amount:
                raise _invalid(
                    "amount.amount",
                    f"{invoice.currency} has no such minor unit.",
                    "invalid_precision",
                )
            if not Decimal(0) < amount <= remaining:
                raise _invalid(
                    "amount.amount",
                    f"Pay more than zero and at most the remaining {remaining} {invoice.currency}.",
                    "out_of_range",
                )
        payment_id = payment_id or new_id("payment")
        xw = self._crosswalks(tenant)
        request = PaymentRequest(
            payment_id=payment_id,
            invoice_system_id=invoice.system_id,
            account=invoice.account,
            amount=format(amount, "f"),
            currency=invoice.currency,
            payment_method=data.payment_method,
        )

        async def collect() -> PaymentRecord:
            return await billing.collect_payment(request)

        async def register(record: PaymentRecord) -> None:
            await self._owners.claim("payment", billing.system, record.system_id, tenant)
            await xw.link(
                payment_id, billing.system, record.system_id, {"invoice_id": data.invoice_id}
            )

        record = await self._submissions.submit(
            tenant,
            payment_id,
            kind="payment",
            system=billing.system,
            steps=SubmissionSteps(
                # The billing system's idempotency key (derived from the payment id) is
                # the look-up: collecting again returns the first charge, never a second.
                find=_nothing,
                create=collect,
                fetch=billing.get_payment,
                register=register,
                system_id=lambda r: r.system_id,
            ),
        )
        return await self._represent(xw, billing.system, record, payment_id)

    async def get(self, tenant: str, payment_id: str) -> Payment:
        billing = self._system()
        xw = self._crosswalks(tenant)
        record = await self._record(tenant, payment_id, billing)
        return await self._represent(xw, billing.system, record, payment_id)

    async def refund(
        self, tenant: str, payment_id: str, amount: Money | None, idempotency_key: str
    ) -> Payment:
        billing = self._system()
        record = await self._record(tenant, payment_id, billing)
        if record.status not in ("succeeded", "partially_refunded"):
            raise _invalid(
                "payment_id",
                f"Payment {payment_id} is {record.status}; "
                "only a collected payment can be refunded.",
                "not_refundable",
            )
        refundable = Decimal(record.amount) - Decimal(record.amount_refunded)
        value = None
        if amount is not None:
            if amount.currency != record.currency:
                raise _invalid(
                    "amount.currency", f"The payment is in {record.currency}.", "currency_mismatch"
                )
            if not Decimal(0) < Decimal(amount.amount) <= refundable:
                raise _invalid(
                    "amount.amount",
                    f"Refund more than zero and at most {refundable} {record.currency}.",
                    "out_of_range",
                )
            value = amount.amount
        updated = await billing.refund(record.system_id, value, idempotency_key)
        return await self._represent(self._crosswalks(tenant), billing.system, updated, payment_id)

    async def _record(self, tenant: str, payment_id: str, billing: BillingSystem) -> PaymentRecord:
        system_id = (await self._crosswalks(tenant).system_ids(payment_id)).get(billing.system)
        record = await billing.get_payment(system_id) if system_id else None
        if record is None or not await visible(
            self._owners, tenant, "payment", billing.system, [record], lambda r: r.system_id
        ):
            raise NotFound(f"Payment {payment_id} does not exist.", code="PAYMENT_NOT_FOUND")
        return record

    async def _represent(
        self, xw: Crosswalk, system: str, record: PaymentRecord, payment_id: str
    ) -> Payment:
        facts = await xw.annotations(payment_id)
        invoice_id = facts.get("invoice_id")
        if invoice_id is None and record.invoice_system_id:
            invoice_id = await xw.canonical_id("invoice", system, record.invoice_system_id)
        refunded = Decimal(record.amount_refunded)
        return Payment(
            id=payment_id,
            invoice_id=invoice_id if invoice_id and kind_of(invoice_id) == "invoice" else None,
            status=record.status,
            amount=money(record.amount, record.currency),
            amount_refunded=money(refunded, record.currency) if refunded else None,
            failure_reason=record.failure_message,
            created_at=record.created_at,
            external_references=[ExternalReference(system=system, id=record.system_id)],
        )


async def _nothing() -> PaymentRecord | None:
    return None


def _invalid(field: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, errors=(FieldIssue(field, message, code),))
