"""Stripe as the billing system: customers, one-off invoices, payments and refunds.

Every write carries an Idempotency-Key derived from the canonical id it serves, and
every multi-step write first looks for what an earlier attempt left behind (by the
canonical ids kept in Stripe metadata), so a retry after a failure at any step converges
on one customer, one invoice with each line once, and one charge.
"""

from __future__ import annotations

import hashlib
from contextlib import aclosing
from decimal import Decimal

import msgspec

from domains.correlation import current_transaction_id
from domains.errors import DependencyRejected, FieldIssue
from domains.invoice.ports import (
    BillingParty,
    InvoiceDraft,
    InvoiceRecord,
    PaymentRecord,
    PaymentRequest,
)
from domains.paging import Page
from systems.stripe.client import (
    MAX_IDEMPOTENCY_KEY,
    CardErrorEnvelope,
    Charge,
    Customer,
    Invoice,
    InvoiceLine,
    PaymentIntent,
    Refund,
    StripeClient,
    decode,
    path,
    search_literal,
)
from systems.stripe.errors import (
    PAYMENT_CLIENT_FIELDS,
    REFUND_CLIENT_FIELDS,
    SYSTEM,
    client_data_error,
    translate,
    vendor_error,
)
from systems.stripe.mapping import (
    CUSTOMER_KEY,
    INVOICE_KEY,
    LINE_KEY,
    PAYMENT_INVOICE_KEY,
    TAX_LINE,
    customer_params,
    from_minor,
    invoice_params,
    line_item_params,
    payment_intent_params,
    stripe_currency,
    tax_item_params,
    to_invoice_record,
    to_minor,
    to_payment_record,
)
from systems.transport import UpstreamResponse

_EXPAND_CHARGE = {"expand": ["latest_charge"]}
_SETTLEABLE = frozenset({"open", "uncollectible"})


class StripeAdapter:
    """The BillingSystem port over Stripe API v1, at the version the client pins.

    ``look_alike=True`` is for a Stripe look-alike on an API from before 2026-09-30.endive
    (localstripe): PaymentIntents then go without ``description`` (real Stripe shows it in
    the dashboard) and without ``allowed_payment_method_types``, which it refuses.
    """

    system = SYSTEM

    def __init__(self, client: StripeClient, *, look_alike: bool = False) -> None:
        self._stripe = client
        self._look_alike = look_alike

    # -- customers -------------------------------------------------------
    async def find_account(self, party: BillingParty) -> str | None:
        query = f"metadata['{CUSTOMER_KEY}']:{search_literal(party.canonical_id)}"
        hits = await self._stripe.search(
            path("customers", "search"), Customer, query, operation="customers.search"
        )
        if hits is None:
            # A Stripe look-alike without the search API: scan the customer list.
            hits = []
            async with aclosing(
                self._stripe.iterate(path("customers"), Customer, operation="customers.list")
            ) as customers:
                async for customer in customers:
                    if customer.metadata.get(CUSTOMER_KEY) == party.canonical_id:
                        hits.append(customer)
        matches = [c for c in hits if c.metadata.get(CUSTOMER_KEY) == party.canonical_id]
        if not matches:
            return None
        # Should there ever be two, always answer the first one created.
        return min(matches, key=lambda c: (c.created or 0, c.id)).id

    async def create_account(self, party: BillingParty) -> str:
        customer = await self._stripe.post(
            path("customers"),
            Customer,
            customer_params(party),
            idempotency_key=_key(f"q2c-cus-{party.canonical_id}"),
            operation="customers.create",
        )
        return customer.id

    # -- invoices --------------------------------------------------------
    async def find_invoice(self, invoice_id: str, account: str) -> InvoiceRecord | None:
        invoice = await self._find_invoice(invoice_id, account)
        if invoice is None:
            return None
        return _invoice_record(invoice, await self._lines(invoice))

    async def create_invoice(self, draft: InvoiceDraft) -> InvoiceRecord:
        """Draft and finalise in one go (callers that need no step in between)."""
        drafted = await self.create_draft_invoice(draft)
        return await self.finalize_invoice(draft, drafted.system_id)

    async def create_draft_invoice(self, draft: InvoiceDraft) -> InvoiceRecord:
        """The invoice with every line and the tax line, still a draft (nothing is owed
        yet). An earlier attempt's invoice is found by its metadata and completed."""
        currency = stripe_currency(draft.currency)
        amounts = [
            _minor(line.amount, currency, f"lines[{index}].amount")
            for index, line in enumerate(draft.lines)
        ]
        tax = _minor(draft.tax, currency, "tax")
        prefix = f"q2c-{draft.invoice_id}"
        invoice = await self._find_invoice(draft.invoice_id, draft.account)
        if invoice is None:
            invoice = await self._stripe.post(
                path("invoices"),
                Invoice,
                invoice_params(draft, current_transaction_id()),
                idempotency_key=_key(f"{prefix}-invoice"),
                operation="invoices.create",
            )
        if invoice.status in (None, "draft"):
            # An earlier attempt may have added some lines: add only the missing ones.
            present = {line.metadata.get(LINE_KEY) for line in await self._lines(invoice)}
            added = False
            for number, amount in enumerate(amounts, start=1):
                if str(number) not in present:
                    await self._stripe.post(
                        path("invoiceitems"),
                        InvoiceLine,
                        line_item_params(draft, invoice.id, number, amount),
                        idempotency_key=_key(f"{prefix}-line-{number}"),
                        operation="invoiceitems.create",
                    )
                    added = True
            if tax and TAX_LINE not in present:
                await self._stripe.post(
                    path("invoiceitems"),
                    InvoiceLine,
                    tax_item_params(draft, invoice.id, tax),
                    idempotency_key=_key(f"{prefix}-tax"),
                    operation="invoiceitems.create",
                )
                added = True
            if added:
                invoice = await self._invoice(invoice.id) or invoice
        return _invoice_record(invoice, await self._lines(invoice))

    async def finalize_invoice(self, draft: InvoiceDraft, system_id: str) -> InvoiceRecord:
        """Finalise the draft (status open) after setting its tax line to ``draft.tax``
        (the committed tax, which may differ from the estimate the draft was made with)."""
        currency = stripe_currency(draft.currency)
        amounts = [
            _minor(line.amount, currency, f"lines[{index}].amount")
            for index, line in enumerate(draft.lines)
        ]
        tax = _minor(draft.tax, currency, "tax")
        invoice = await self._invoice(system_id)
        if invoice is None:
            raise DependencyRejected(
                f"Stripe has no invoice {system_id} to finalise for {draft.invoice_id}.",
                system=SYSTEM,
                vendor_code="resource_missing",
            )
        if invoice.status in (None, "draft"):
            await self._set_tax_line(draft, invoice, tax)
            invoice = await self._stripe.post(
                path("invoices", invoice.id, "finalize"),
                Invoice,
                {"auto_advance": False},
                idempotency_key=_key(f"q2c-{draft.invoice_id}-finalize"),
                operation="invoices.finalize",
            )
        expected = sum(amounts) + tax
        if invoice.total != expected or invoice.currency != currency:
            raise DependencyRejected(
                f"Stripe invoice {invoice.id} totals {from_minor(invoice.total, invoice.currency)} "
                f"{invoice.currency.upper()}, but lines plus tax of {draft.invoice_id} come to "
                f"{from_minor(expected, currency)} {currency.upper()}.",
                system=SYSTEM,
                errors=(FieldIssue("total", "The invoice total differs.", "amount_mismatch"),),
            )
        return _invoice_record(invoice, await self._lines(invoice))

    async def _set_tax_line(self, draft: InvoiceDraft, invoice: Invoice, tax: int) -> None:
        lines = [
            line
            for line in await self._lines(invoice)
            if line.metadata.get(LINE_KEY) == TAX_LINE
        ]
        current = sum(line.amount for line in lines)
        if current == tax:
            return
        if not lines:
            await self._stripe.post(
                path("invoiceitems"),
                InvoiceLine,
                tax_item_params(draft, invoice.id, tax),
                idempotency_key=_key(f"q2c-{draft.invoice_id}-tax-{tax}"),
                operation="invoiceitems.create",
            )
            return
        async with aclosing(
            self._stripe.iterate(
                path("invoiceitems"),
                InvoiceLine,
                operation="invoiceitems.list",
                params={"invoice": invoice.id},
            )
        ) as items:
            async for item in items:
                if item.metadata.get(LINE_KEY) == TAX_LINE:
                    await self._stripe.post(
                        path("invoiceitems", item.id),
                        InvoiceLine,
                        {"amount": tax},
                        idempotency_key=_key(f"q2c-{draft.invoice_id}-tax-{tax}"),
                        operation="invoiceitems.update",
                    )
                    return

    async def _invoice(self, system_id: str) -> Invoice | None:
        return await self._stripe.retrieve(
            path("invoices", system_id), Invoice, operation="invoices.retrieve"
        )

    async def get_invoice(self, system_id: str) -> InvoiceRecord | None:
        invoice = await self._stripe.retrieve(
            path("invoices", system_id), Invoice, operation="invoices.retrieve"
        )
        if invoice is None:
            return None
        return _invoice_record(invoice, await self._lines(invoice))

    async def list_invoices(self, account: str, offset: int, limit: int) -> Page[InvoiceRecord]:
        wanted = offset + limit + 1  # one more than the page says whether more exist
        found: list[Invoice] = []
        async with aclosing(
            self._stripe.iterate(
                path("invoices"),
                Invoice,
                operation="invoices.list",
                params={"customer": account},
                page_size=min(wanted, 100),
            )
        ) as invoices:
            async for invoice in invoices:
                found.append(invoice)
                if len(found) >= wanted:
                    break
        window = found[offset : offset + limit]
        items = [_invoice_record(invoice, await self._lines(invoice)) for invoice in window]
        return Page(items, len(found) > offset + limit)

    async def _find_invoice(self, invoice_id: str, account: str) -> Invoice | None:
        async with aclosing(
            self._stripe.iterate(
                path("invoices"), Invoice, operation="invoices.list", params={"customer": account}
            )
        ) as invoices:
            async for invoice in invoices:  # newest first: an earlier attempt is recent
                if invoice.metadata.get(INVOICE_KEY) == invoice_id:
                    return invoice
        return None

    async def _lines(self, invoice: Invoice) -> list[InvoiceLine]:
        """Every line: the invoice embeds only the first page of them."""
        if not invoice.lines.has_more:
            return list(invoice.lines.data)
        lines: list[InvoiceLine] = []
        async with aclosing(
            self._stripe.iterate(
                path("invoices", invoice.id, "lines"), InvoiceLine, operation="invoices.lines"
            )
        ) as pages:
            async for line in pages:
                lines.append(line)
        return lines

    # -- payments --------------------------------------------------------
    async def collect_payment(self, request: PaymentRequest) -> PaymentRecord:
        """Charge, then settle the invoice when the charge succeeded.

        An empty ``invoice_system_id`` is a payment that settles no Stripe invoice (the
        invoice lives elsewhere): the charge is made and nothing else.
        """
        amount = _minor(request.amount, request.currency, "amount")
        try:
            response = await self._stripe.request(
                "POST",
                path("payment_intents"),
                operation="payment_intents.create",
                data=payment_intent_params(
                    request,
                    amount,
                    look_alike=self._look_alike,
                    transaction_id=current_transaction_id(),
                ),
                idempotency_key=_key(f"q2c-{request.payment_id}-intent"),
                accept=frozenset({402}),
            )
        except DependencyRejected as rejected:
            raise client_data_error(rejected, PAYMENT_CLIENT_FIELDS) from rejected
        if response.status_code == 402:  # declined: a failed payment, not an error
            return _payment_record(await self._declined_intent(response))
        intent = decode(response.content, PaymentIntent)
        if intent.status == "succeeded" and request.invoice_system_id:
            await self._settle(request, intent)
        if response.headers.get("Idempotent-Replayed") == "true":
            # A replay shows the intent as it was first created; refunds may have followed.
            intent = await self._intent(intent.id) or intent
        return _payment_record(intent)

    async def get_payment(self, system_id: str) -> PaymentRecord | None:
        intent = await self._intent(system_id)
        return _payment_record(intent) if intent is not None else None

    async def refund(
        self, payment_system_id: str, amount: str | None, idempotency_key: str
    ) -> PaymentRecord:
        intent = await self._intent(payment_system_id)
        if intent is None:
            raise DependencyRejected(
                f"Stripe has no PaymentIntent {payment_system_id} to refund.",
                system=SYSTEM,
                vendor_code="resource_missing",
            )
        value = _minor(amount, intent.currency, "amount") if amount is not None else None
        try:
            await self._stripe.post(
                path("refunds"),
                Refund,
                {"payment_intent": intent.id, "amount": value},
                # Scoped by the intent: the caller's key alone is not unique across payments.
                idempotency_key=_key(f"q2c-{intent.id}-refund-{idempotency_key}"),
                operation="refunds.create",
            )
        except DependencyRejected as rejected:
            raise client_data_error(rejected, REFUND_CLIENT_FIELDS) from rejected
        updated = await self._intent(intent.id)
        return _payment_record(updated or intent)

    async def _intent(self, system_id: str) -> PaymentIntent | None:
        return await self._stripe.retrieve(
            path("payment_intents", system_id),
            PaymentIntent,
            operation="payment_intents.retrieve",
            params=_EXPAND_CHARGE,
        )

    async def _declined_intent(self, response: UpstreamResponse) -> PaymentIntent:
        """The intent a 402 card error is about: named in the error by Stripe, or found
        through the failed charge (look-alikes that name only the charge)."""
        try:
            error = decode(response.content, CardErrorEnvelope).error
        except msgspec.DecodeError:
            raise translate(response) from None
        intent_id = error.payment_intent.id if error.payment_intent else None
        if intent_id is None and error.charge:
            charge = await self._stripe.retrieve(
                path("charges", error.charge), Charge, operation="charges.retrieve"
            )
            intent_id = charge.payment_intent if charge is not None else None
        intent = await self._intent(intent_id) if intent_id else None
        if intent is None:
            raise translate(response)
        return intent

    async def _settle(self, request: PaymentRequest, intent: PaymentIntent) -> None:
        """Mark the invoice paid (out of band: the money came through the intent) once
        the intents collected for it cover what remains; a partial payment leaves it open."""
        invoice = await self._stripe.retrieve(
            path("invoices", request.invoice_system_id), Invoice, operation="invoices.retrieve"
        )
        if invoice is None:
            raise DependencyRejected(
                f"Payment {intent.id} succeeded, but Stripe has no invoice "
                f"{request.invoice_system_id} to settle.",
                system=SYSTEM,
                vendor_code="resource_missing",
            )
        if invoice.status not in _SETTLEABLE:
            return  # paid already (a retry), or not payable: nothing to settle
        if (
            intent.amount < invoice.amount_remaining
            and await self._collected_for(invoice) < invoice.amount_remaining
        ):
            return  # a partial payment: the invoice stays open for the rest
        response = await self._stripe.request(
            "POST",
            path("invoices", invoice.id, "pay"),
            operation="invoices.pay",
            data={"paid_out_of_band": True},
            idempotency_key=_key(f"q2c-{request.payment_id}-settle"),
            accept=frozenset({400}),
        )
        if response.status_code == 400 and not _already_paid(response):
            raise translate(response)

    async def _collected_for(self, invoice: Invoice) -> int:
        """What succeeded intents tagged with this invoice collected in total."""
        total = 0
        async with aclosing(
            self._stripe.iterate(
                path("payment_intents"),
                PaymentIntent,
                operation="payment_intents.list",
                params={"customer": invoice.customer_id},
            )
        ) as intents:
            async for intent in intents:
                if (
                    intent.status == "succeeded"
                    and intent.metadata.get(PAYMENT_INVOICE_KEY) == invoice.id
                    and intent.currency == invoice.currency
                ):
                    total += intent.amount
        return total


# ---------------------------------------------------------------------- helpers


def _key(key: str) -> str:
    """An Idempotency-Key within Stripe's 255 characters (long ones keep a digest)."""
    if len(key) <= MAX_IDEMPOTENCY_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_IDEMPOTENCY_KEY - 65]}-{digest}"


def _minor(amount: str | Decimal, currency: str, field: str) -> int:
    try:
        return to_minor(amount, currency)
    except ValueError as exc:
        raise DependencyRejected(
            f"Stripe cannot take {field} exactly: {exc}",
            system=SYSTEM,
            errors=(FieldIssue(field, str(exc), "amount_not_representable"),),
        ) from exc


def _already_paid(response: UpstreamResponse) -> bool:
    error = vendor_error(response)
    return error.code == "invoice_already_paid" or "already paid" in error.message.lower()


def _invoice_record(invoice: Invoice, lines: list[InvoiceLine]) -> InvoiceRecord:
    try:
        return to_invoice_record(invoice, lines)
    except ValueError as exc:
        raise DependencyRejected(
            f"Stripe invoice {invoice.id} cannot be read: {exc}", system=SYSTEM
        ) from exc


def _payment_record(intent: PaymentIntent) -> PaymentRecord:
    try:
        return to_payment_record(intent)
    except ValueError as exc:
        raise DependencyRejected(
            f"Stripe PaymentIntent {intent.id} cannot be read: {exc}", system=SYSTEM
        ) from exc
