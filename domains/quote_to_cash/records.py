"""The transaction, its timeline and its exceptions, as the business sees them."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

TransactionState = Literal[
    "accepted",  # recorded, waiting for a worker
    "running",
    "awaiting_fulfilment",
    "awaiting_payment",
    "exception",  # stopped in front of an owning team
    "dead_lettered",  # a dependency stayed down past the retry budget
    "needs_attention",  # failed for good after an earlier write: compensation
    "completed",
    "cancelled",  # an operator dismissed it
    "closed",  # an operator resolved it outside the flow
]
OPEN_STATES: frozenset[str] = frozenset(
    {"accepted", "running", "awaiting_fulfilment", "awaiting_payment"}
)
StepName = Literal[
    "accepted",
    "validate",
    "erp_customer",
    "submit_order",
    "fulfilment",
    "invoice",
    "payment",
    "write_back",
    "compensate",
    "decision",
    "completed",
]
StepStatus = Literal["succeeded", "failed", "waiting", "skipped"]
ExceptionKind = Literal["exception", "dead_letter"]
ExceptionState = Literal["open", "assigned", "resolved", "dismissed"]
ACTIVE_EXCEPTION_STATES: frozenset[str] = frozenset({"open", "assigned"})
CLOSED_EXCEPTION_STATES: tuple[str, ...] = ("resolved", "dismissed")


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One failed validation check."""

    check: str  # customer_master, credit, routing, payment_terms, product_mapping, price
    error_class: str
    code: str
    message: str
    field: str = ""


class StepEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the timeline: what a step did, in which system, when."""

    step: StepName
    status: StepStatus
    system: str = ""
    system_ids: dict[str, str] = {}
    attempts: int = 1
    started_at: str
    ended_at: str
    detail: str = ""
    error: dict[str, Any] | None = None


class Transaction(msgspec.Struct, kw_only=True):
    id: str  # txn_..., the workflow id and the trace's business key
    tenant: str
    quote_id: str
    state: TransactionState
    source: str = "api"  # api | crm_event
    stage: str = "accepted"  # the step now running or waited on
    owner_system: str = ""  # the system that owns the current state
    customer_id: str | None = None
    legal_entity: str | None = None
    order_id: str | None = None
    order_system: str | None = None
    order_system_id: str | None = None
    invoice_id: str | None = None
    invoice_system_id: str | None = None
    payment_id: str | None = None
    trace_id: str | None = None
    accepted_at: str
    ordered_at: str | None = None
    invoiced_at: str | None = None
    paid_at: str | None = None
    ended_at: str | None = None
    updated_at: str
    had_exception: bool = False
    order_fallout: bool = False  # stopped in front of a person before the order existed
    manual_touches: int = 0
    timeline: list[StepEntry] = []


class Comment(msgspec.Struct, frozen=True, kw_only=True):
    author: str
    text: str
    at: str


class ActionEntry(msgspec.Struct, frozen=True, kw_only=True):
    action: str
    actor: str
    at: str
    detail: str = ""


class ExceptionItem(msgspec.Struct, kw_only=True):
    """A stopped transaction in front of its owning team (or a parked dead letter)."""

    id: str  # exc_...
    tenant: str
    transaction_id: str
    kind: ExceptionKind
    step: str
    error_class: str
    code: str
    detail: str
    owner: str
    state: ExceptionState = "open"
    assignee: str | None = None
    legal_entity: str | None = None
    system: str = ""
    findings: list[Finding] = []
    errors: list[dict[str, Any]] = []  # the error history (each attempt)
    context: dict[str, Any] = {}
    compensation: str | None = None  # offered or run: cancel_order, hold_order, void_tax
    comments: list[Comment] = []
    actions: list[ActionEntry] = []
    created_at: str
    updated_at: str
    # The quote's total, as decimal text, when it was known at the stop.
    amount: str | None = None
    currency: str | None = None


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator decided for a stopped transaction; sent to the workflow."""

    action: Literal["retry", "resolve", "dismiss", "compensate"]
    exception_id: str
    actor: str
    edits: dict[str, Any] = {}


class PaymentNotice(msgspec.Struct, frozen=True, kw_only=True):
    """A payment the billing system took for the transaction's invoice."""

    payment_id: str | None
    invoice_id: str
    amount: str
    currency: str
    source: str  # api | stripe_webhook
    system_id: str = ""
    received_at: str = ""
