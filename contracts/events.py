"""Canonical events on the wire: CloudEvents 1.0, structured JSON mode.

Documented in openapi/asyncapi.json (AsyncAPI 3), generated from these Structs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

CLOUDEVENTS_MEDIA_TYPE = "application/cloudevents+json"


class CloudEvent(
    msgspec.Struct, frozen=True, kw_only=True, rename={"data_content_type": "datacontenttype"}
):
    """One business event of a quote-to-cash transaction (CloudEvents 1.0)."""

    specversion: Literal["1.0"] = "1.0"
    id: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=64,
            description="Unique per event; consumers de-duplicate by it",
        ),
    ]
    source: Annotated[
        str, msgspec.Meta(max_length=255, examples=["/q2c/tenants/acme/transactions"])
    ]
    type: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^com\.q2c\.[a-z_]+\.[a-z_]+$",
            max_length=100,
            examples=["com.q2c.order.accepted"],
        ),
    ]
    subject: Annotated[
        str, msgspec.Meta(max_length=64, description="The record the event is about")
    ] = ""
    time: Annotated[str, msgspec.Meta(max_length=40, description="RFC 3339")]
    data_content_type: Literal["application/json"] = "application/json"
    # Extension attributes (lower-case alphanumerics, as CloudEvents requires).
    transactionid: Annotated[
        str,
        msgspec.Meta(
            max_length=40, description="The quote-to-cash transaction (the trace's business key)"
        ),
    ]
    tenant: Annotated[str, msgspec.Meta(max_length=64)]
    traceparent: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=55, description="W3C Trace Context of the step that emitted it"
            ),
        ]
        | None
    ) = None
    data: dict[str, Any] = {}


class EventPage(msgspec.Struct, frozen=True, kw_only=True):
    """Events after a position, oldest first; ``next_after`` continues the feed."""

    data: Annotated[list[CloudEvent], msgspec.Meta(max_length=200)]
    # The position of the last event returned (``after`` itself when none were).
    next_after: Annotated[int, msgspec.Meta(ge=0, le=2**53)]
    next_cursor: Annotated[str, msgspec.Meta(max_length=512)] | None = None


# ---------------------------------------------------------------- data per type
Id = Annotated[str, msgspec.Meta(max_length=64)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Amount = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]+(\.[0-9]+)?$", max_length=24)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]


class QuoteAccepted(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: Id
    quote_id: Id
    source: Literal["api", "crm_event"]


class CustomerValidated(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: Id
    customer_id: Id
    legal_entity: Id
    payment_terms: Id
    quote_total: Amount
    currency: Currency


class OrderAccepted(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: Id
    order_id: Id
    quote_id: Id
    customer_id: Id
    system: Id
    system_id: Id


class FulfillmentCompleted(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: Id
    order_id: Id
    system: Id


class InvoiceGenerated(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: Id
    invoice_id: Id
    order_id: Id
    number: Id | None
    total: Amount
    currency: Currency
    due_date: Annotated[str, msgspec.Meta(max_length=10)] | None
    system: Id


class PaymentReceived(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: Id
    invoice_id: Id
    payment_id: Id | None
    amount: Amount
    currency: Currency
    source: Literal["api", "stripe_webhook"]


class TransactionCompleted(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: Id
    order_id: Id | None
    invoice_id: Id | None


class TransactionStopped(
    msgspec.Struct, frozen=True, kw_only=True, rename={"error_class": "class"}
):
    """An exception, a dead letter or a transaction that needs attention."""

    transaction_id: Id
    exception_id: Id
    step: Id
    error_class: Id
    code: Id
    owner: Id
    detail: Text


class TransactionCompensated(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: Id
    order_id: Id
    actions: list[Annotated[str, msgspec.Meta(max_length=200)]]


class TransactionCancelled(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: Id
    state: Literal["cancelled"]


EVENT_DATA: dict[str, tuple[type[msgspec.Struct], str]] = {
    "com.q2c.quote.accepted": (QuoteAccepted, "A quote was accepted; its transaction starts."),
    "com.q2c.customer.validated": (
        CustomerValidated,
        "Every check passed: customer master, credit, routing, terms, products, prices.",
    ),
    "com.q2c.order.accepted": (OrderAccepted, "The owning ERP accepted the sales order."),
    "com.q2c.fulfillment.completed": (
        FulfillmentCompleted,
        "The ERP delivered the order (legal entities that invoice on fulfilment).",
    ),
    "com.q2c.invoice.generated": (InvoiceGenerated, "The billing system issued the invoice."),
    "com.q2c.payment.received": (PaymentReceived, "The invoice was paid."),
    "com.q2c.transaction.completed": (TransactionCompleted, "Quote to cash is complete."),
    "com.q2c.transaction.exception_raised": (
        TransactionStopped,
        "The transaction stopped in front of its owning team (exception queue).",
    ),
    "com.q2c.transaction.dead_lettered": (
        TransactionStopped,
        "A system stayed down past the retry budget; the transaction is parked.",
    ),
    "com.q2c.transaction.needs_attention": (
        TransactionStopped,
        "A step failed for good after an earlier write (compensation ran or is offered).",
    ),
    "com.q2c.transaction.compensated": (
        TransactionCompensated,
        "The ERP order was cancelled or held so no partial stands alone.",
    ),
    "com.q2c.transaction.cancelled": (TransactionCancelled, "An operator cancelled it."),
}
