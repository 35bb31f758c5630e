"""Quote-to-cash transactions, their timeline, the exception queue and SLAs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from contracts.v1.common import (
    CalendarDate,
    Cursor,
    CustomerId,
    ExternalReference,
    InvoiceId,
    LegalEntity,
    OrderId,
    PaymentId,
    QuoteId,
    SystemName,
    Timestamp,
    canonical_id,
)

TransactionId = Annotated[str, canonical_id("txn", "transaction")]
ExceptionId = Annotated[str, canonical_id("exc", "exception")]
TransactionState = Literal[
    "accepted",
    "running",
    "awaiting_fulfilment",
    "awaiting_payment",
    "exception",
    "dead_lettered",
    "needs_attention",
    "completed",
    "cancelled",
    "closed",
]
ErrorClass = Literal[
    "validation",
    "data_quality",
    "dependency_unavailable",
    "dependency_timeout",
    "credit_hold",
    "price_mismatch",
    "duplicate_suspected",
    "conflict",
]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
ShortId = Annotated[str, msgspec.Meta(max_length=64)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
PaymentTerms = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{1,31}$", max_length=32, examples=["NET30"])
]


class AcceptedTransaction(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: TransactionId
    quote_id: QuoteId
    state: TransactionState
    created: bool  # False: the quote's transaction existed already


class StepError(msgspec.Struct, frozen=True, kw_only=True, rename={"error_class": "class"}):
    error_class: ErrorClass
    code: Annotated[str, msgspec.Meta(max_length=64)]
    detail: Text
    system: Annotated[str, msgspec.Meta(max_length=32)] = ""


class StepRecords(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The records a step touched, by their ids in the step's system."""

    customer: ShortId | None = None
    order: ShortId | None = None
    invoice: ShortId | None = None
    tax_document: ShortId | None = None
    payment: ShortId | None = None
    quote: ShortId | None = None


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    step: Annotated[str, msgspec.Meta(max_length=24)]
    status: Literal["succeeded", "failed", "waiting", "skipped"]
    system: Annotated[str, msgspec.Meta(max_length=32)] = ""
    system_ids: StepRecords | None = None
    attempts: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    started_at: Timestamp
    ended_at: Timestamp
    detail: Text = ""
    error: StepError | None = None


class SlaStatus(msgspec.Struct, frozen=True, kw_only=True):
    stage: Literal["accepted_to_order", "order_to_invoice", "invoice_to_paid"]
    target_seconds: float
    elapsed_seconds: float | None
    status: Literal["not_started", "running", "met", "breached"]


class Transaction(msgspec.Struct, frozen=True, kw_only=True):
    id: TransactionId
    quote_id: QuoteId
    state: TransactionState
    stage: Annotated[str, msgspec.Meta(max_length=24)]
    owner_system: Annotated[
        str, msgspec.Meta(max_length=32, description="The system that owns the current state")
    ] = ""
    source: Literal["api", "crm_event"] = "api"
    customer_id: CustomerId | None = None
    legal_entity: LegalEntity | None = None
    order_id: OrderId | None = None
    invoice_id: InvoiceId | None = None
    payment_id: PaymentId | None = None
    trace_id: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    accepted_at: Timestamp
    ordered_at: Timestamp | None = None
    invoiced_at: Timestamp | None = None
    paid_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    updated_at: Timestamp
    manual_touches: Count = 0
    sla: Annotated[list[SlaStatus], msgspec.Meta(max_length=3)] = []
    sla_breached: bool = False
    external_references: Annotated[list[ExternalReference], msgspec.Meta(max_length=10)] = []
    timeline: Annotated[list[TimelineEntry], msgspec.Meta(max_length=1000)] = []


class TransactionPage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[Transaction], msgspec.Meta(max_length=200)]
    next_cursor: Cursor | None = None


class Finding(msgspec.Struct, frozen=True, kw_only=True, rename={"error_class": "class"}):
    check: Annotated[str, msgspec.Meta(max_length=32)]
    error_class: ErrorClass
    code: Annotated[str, msgspec.Meta(max_length=64)]
    message: Text
    field: Annotated[str, msgspec.Meta(max_length=100)] = ""


class Comment(msgspec.Struct, frozen=True, kw_only=True):
    author: Name
    text: Text
    at: Timestamp


class ActionEntry(msgspec.Struct, frozen=True, kw_only=True):
    action: Annotated[str, msgspec.Meta(max_length=16)]
    actor: Name
    at: Timestamp
    detail: Text = ""


class TransactionException(
    msgspec.Struct, frozen=True, kw_only=True, rename={"error_class": "class"}
):
    """A transaction stopped in front of its owning team, or a parked dead letter."""

    id: ExceptionId
    transaction_id: TransactionId
    kind: Literal["exception", "dead_letter"]
    step: Annotated[str, msgspec.Meta(max_length=24)]
    error_class: ErrorClass
    code: Annotated[str, msgspec.Meta(max_length=64)]
    detail: Text
    owner: Annotated[str, msgspec.Meta(max_length=64, description="The owning team")]
    state: Literal["open", "assigned", "resolved", "dismissed"]
    assignee: Name | None = None
    legal_entity: LegalEntity | None = None
    system: Annotated[str, msgspec.Meta(max_length=32)] = ""
    findings: Annotated[list[Finding], msgspec.Meta(max_length=100)] = []
    errors: Annotated[list[StepError], msgspec.Meta(max_length=100)] = []
    context: dict[str, Any] = {}
    compensation: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    actions_available: Annotated[
        list[Literal["assign", "comment", "retry", "resolve", "dismiss", "compensate"]],
        msgspec.Meta(max_length=6),
    ] = []
    comments: Annotated[list[Comment], msgspec.Meta(max_length=1000)] = []
    actions: Annotated[list[ActionEntry], msgspec.Meta(max_length=1000)] = []
    created_at: Timestamp
    updated_at: Timestamp


class ExceptionPage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[TransactionException], msgspec.Meta(max_length=200)]
    next_cursor: Cursor | None = None


class TransactionEdits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a retry may change about the stopped transaction."""

    accept_price_variance: bool = False  # pricing ops approved the quoted prices
    legal_entity: LegalEntity | None = None  # route to this entity's ERP
    payment_terms: PaymentTerms | None = None
    requested_delivery_date: CalendarDate | None = None


class AssignRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    assignee: Name


class CommentRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class RetryRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Re-run the step that stopped; ``edits`` change its input first."""

    edits: TransactionEdits | None = None
    note: Text = ""


class CloseRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    note: Text = ""


class StageFigures(msgspec.Struct, frozen=True, kw_only=True):
    stage: Literal["accepted_to_order", "order_to_invoice", "invoice_to_paid"]
    target_seconds: float
    completed: Count
    running: Count
    breached: Count
    p50_seconds: float | None
    p95_seconds: float | None


class SlaReport(msgspec.Struct, frozen=True, kw_only=True):
    since: Timestamp
    transactions: Count
    completed: Count
    open_exceptions: Count
    stages: Annotated[list[StageFigures], msgspec.Meta(max_length=3)]
    order_fallout_rate: float
    manual_touch_rate: float
    close_to_cash_p50_seconds: float | None
    close_to_cash_p95_seconds: float | None


class CrmQuoteAccepted(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The CRM's outbound message when a quote is accepted (signed, see X-Q2C-Signature)."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="The CRM's event id")]
    type: Literal["quote.accepted"]
    quote_system_id: Annotated[
        str, msgspec.Meta(pattern=r"^[A-Za-z0-9]{15,18}$", description="The CRM's quote id")
    ]
    occurred_at: Timestamp | None = None


class InboundAccepted(msgspec.Struct, frozen=True, kw_only=True):
    received: bool
    transaction_id: TransactionId | None = None


SystemRef = ExternalReference
__all__ = ["SystemName", "SystemRef"]
