"""The quote-to-cash transaction as one DBOS workflow (workflow id = transaction id):
validate, ERP customer, order, [fulfilment], invoice, CRM write-back, payment, CRM
write-back. How each step runs, retries and parks is ``gateway.flow.runner``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import msgspec
from dbos import DBOS, SetWorkflowID

from domains.quote_to_cash import events as ev
from domains.quote_to_cash.clock import seconds_between
from domains.quote_to_cash.records import (
    PaymentNotice,
)
from domains.quote_to_cash.steps import InvoiceRef, OrderRef
from domains.quote_to_cash.taxonomy import StepFailed
from domains.quote_to_cash.validation import Validated
from gateway.flow.messages import DISPATCH_NAME, PAYMENT_TOPIC, WORKFLOW_NAME, StartRequest
from gateway.flow.runner import Compensate, StepRunner, Stopped

log = logging.getLogger("q2c.flow")
T = TypeVar("T")

FLOW = "quote_to_cash"
MAX_RETRY_AFTER_SECONDS = 60.0


@DBOS.workflow(name=DISPATCH_NAME)
async def dispatch(request: dict[str, Any]) -> str:
    """Dequeued by one worker: start the transaction there (id = transaction id; a
    second start attaches to the first) and free the queue's slot at once."""
    transaction_id = str(request["transaction_id"])
    with SetWorkflowID(transaction_id):
        await DBOS.start_workflow_async(quote_to_cash, request)
    return transaction_id


@DBOS.workflow(name=WORKFLOW_NAME)
async def quote_to_cash(request: dict[str, Any]) -> str:
    start = msgspec.convert(request, StartRequest)
    run = Run(start)
    try:
        return await run.execute()
    except Stopped as stop:
        return stop.state


class Run(StepRunner):
    """The business flow of one transaction, step by step."""

    async def execute(self) -> str:
        steps = self.flow.steps
        await self.record(
            "accepted",
            lambda: None,
            system=steps.quote_system(),
            state="running",
            events=lambda _: [
                self.event(
                    ev.QUOTE_ACCEPTED,
                    self.start.quote_id,
                    {"quote_id": self.start.quote_id, "source": self.start.source},
                )
            ],
        )
        self.validated = await self.record(
            "validate",
            lambda: steps.validate(self.tenant, self.start.quote_id, self.edits),
            system=steps.quote_system(),
            fields=lambda v: {
                "customer_id": v.customer_id,
                "legal_entity": v.legal_entity,
                "stage": "erp_customer",
            },
            events=lambda v: [
                self.event(
                    ev.CUSTOMER_VALIDATED,
                    v.customer_id,
                    {
                        "customer_id": v.customer_id,
                        "legal_entity": v.legal_entity,
                        "payment_terms": v.payment_terms,
                        "quote_total": v.total,
                        "currency": v.currency,
                    },
                )
            ],
            detail=lambda v: (
                f"all checks passed; terms {v.payment_terms}, invoice "
                f"{v.invoice_timing.replace('_', ' ')}"
            ),
        )
        validated = self.validated
        account = await self.record(
            "erp_customer",
            lambda: steps.erp_customer(self.tenant, validated),
            system=lambda r: r[0],
            system_ids=lambda r: {"customer": r[1]},
            fields=lambda r: {"stage": "submit_order", "owner_system": r[0]},
        )
        self.order = await self.record(
            "submit_order",
            lambda: steps.submit_order(self.tenant, self.txid, validated),
            system=lambda o: o.system,
            system_ids=lambda o: {"order": o.system_id, "customer": account[1]},
            fields=lambda o: {
                "order_id": o.order_id,
                "order_system": o.system,
                "order_system_id": o.system_id,
                "ordered_at": self.now(),
                "stage": "invoice",
                "owner_system": o.system,
            },
            events=lambda o: [
                self.event(
                    ev.ORDER_ACCEPTED,
                    o.order_id,
                    {
                        "order_id": o.order_id,
                        "system": o.system,
                        "system_id": o.system_id,
                        "quote_id": self.start.quote_id,
                        "customer_id": validated.customer_id,
                    },
                )
            ],
            sla_stage=("accepted_to_order", "accepted_at"),
        )
        if validated.invoice_timing == "on_fulfilment":
            await self.await_fulfilment(self.order)
        self.invoice = await self.invoice_order(self.order, validated)
        await self.write_back("invoiced", self.order, self.invoice, "")
        notice = await self.await_payment(self.invoice)
        await self.write_back("paid", self.order, self.invoice, "paid")
        await self.record(
            "completed",
            lambda: None,
            state="completed",
            fields=lambda _: {
                "ended_at": self.now(),
                "stage": "completed",
                "payment_id": notice.payment_id,
            },
            events=lambda _: [
                self.event(
                    ev.TRANSACTION_COMPLETED,
                    self.txid,
                    {
                        "order_id": self.order.order_id if self.order else None,
                        "invoice_id": self.invoice.invoice_id if self.invoice else None,
                    },
                )
            ],
        )
        return "completed"

    async def await_fulfilment(self, order: OrderRef) -> None:
        steps = self.flow.steps
        policy = self.flow.policy
        await self.set_state("awaiting_fulfilment", "fulfilment", order.system)
        waited_from = await DBOS.run_step_async({"name": "fulfilment.clock"}, self.flow.clock.now)
        deadline = policy.fulfilment_deadline_seconds
        while True:
            # The step reads the clock, so replays take the same branch.
            async def poll(since: str = waited_from) -> tuple[str, bool]:
                status = await steps.fulfilment(self.tenant, order.order_id)
                return status, seconds_between(since, self.flow.clock.now()) > deadline

            status, overdue = await DBOS.run_step_async(
                self.retry_options("fulfilment"), self.guarded(poll)
            )
            if status == "fulfilled":
                await self.record(
                    "fulfilment",
                    lambda: None,
                    system=order.system,
                    system_ids={"order": order.system_id},
                    state="running",
                    fields=lambda _: {"stage": "invoice"},
                    events=lambda _: [
                        self.event(
                            ev.FULFILLMENT_COMPLETED,
                            order.order_id,
                            {"order_id": order.order_id, "system": order.system},
                        )
                    ],
                )
                return
            if overdue:
                decision = await self.park(
                    "exception",
                    "fulfilment",
                    StepFailed(
                        "dependency_timeout",
                        "FULFILMENT_OVERDUE",
                        f"{order.system} has not delivered order {order.order_id} "
                        f"within {deadline:.0f} s.",
                        order.system,
                    ),
                    [],
                )
                await self.follow(decision)
                waited_from = await DBOS.run_step_async(
                    {"name": "fulfilment.clock"}, self.flow.clock.now
                )
                await self.set_state("awaiting_fulfilment", "fulfilment", order.system)
            await DBOS.sleep_async(policy.fulfilment_poll_seconds)

    async def invoice_order(self, order: OrderRef, validated: Validated) -> InvoiceRef:
        steps = self.flow.steps
        while True:
            try:
                return await self.record(
                    "invoice",
                    lambda: steps.invoice(self.tenant, order.order_id, validated.days_until_due),
                    system=lambda i: i.system,
                    system_ids=lambda i: {
                        "invoice": i.system_id,
                        **({"tax_document": i.tax_document} if i.tax_document else {}),
                    },
                    fields=lambda i: {
                        "invoice_id": i.invoice_id,
                        "invoice_system_id": i.system_id,
                        "invoiced_at": self.now(),
                        "stage": "payment",
                        "owner_system": i.system,
                    },
                    events=lambda i: [
                        self.event(
                            ev.INVOICE_GENERATED,
                            i.invoice_id,
                            {
                                "invoice_id": i.invoice_id,
                                "order_id": order.order_id,
                                "number": i.number,
                                "total": i.total,
                                "currency": i.currency,
                                "due_date": i.due_date,
                                "system": i.system,
                            },
                        )
                    ],
                    sla_stage=("order_to_invoice", "ordered_at"),
                    compensable=True,
                )
            except Compensate as need:
                await self.needs_attention(order, need.failure)

    async def needs_attention(self, order: OrderRef, failure: StepFailed) -> None:
        """A step failed for good after the ERP order exists: never a silent partial."""
        policy = self.flow.policy
        steps = self.flow.steps
        reason = f"Transaction {self.txid}: {failure.detail}"[:200]
        action_text = f"{policy.compensation} on {order.system} order {order.system_id}"

        def compensate() -> Awaitable[list[str]]:
            return steps.compensate(order, policy.compensation, reason)

        ran: list[str] = []
        if policy.compensation_mode == "run" and policy.compensation != "none":
            ran = await self.record(
                "compensate",
                compensate,
                system=order.system,
                system_ids={"order": order.system_id},
                detail=lambda done: "ran: " + ", ".join(done),
                events=lambda done: [
                    self.event(
                        ev.COMPENSATED,
                        order.order_id,
                        {"order_id": order.order_id, "actions": done},
                    )
                ],
            )
        decision = await self.park(
            "exception",
            "invoice",
            failure,
            [failure.as_dict()],
            state="needs_attention",
            owner_code="INVOICE_FAILED",
            compensation=("ran: " + ", ".join(ran)) if ran else f"offered: {action_text}",
        )
        if decision.action == "compensate" and not ran:
            await self.record(
                "compensate",
                compensate,
                system=order.system,
                system_ids={"order": order.system_id},
                detail=lambda done: "ran: " + ", ".join(done),
                events=lambda done: [
                    self.event(
                        ev.COMPENSATED,
                        order.order_id,
                        {"order_id": order.order_id, "actions": done},
                    )
                ],
            )
            await self.close("cancelled")
        await self.follow(decision)

    async def await_payment(self, invoice: InvoiceRef) -> PaymentNotice:
        await self.set_state("awaiting_payment", "payment", invoice.system)
        while True:
            due = invoice.due_date
            timeout = self.flow.policy.decision_timeout_seconds
            if due:
                timeout = max(1.0, seconds_between(self.now(), due + "T23:59:59Z"))
            message = await DBOS.recv_async(PAYMENT_TOPIC, timeout_seconds=timeout)
            if message is None:
                decision = await self.park(
                    "exception",
                    "payment",
                    StepFailed(
                        "dependency_timeout",
                        "PAYMENT_OVERDUE",
                        f"Invoice {invoice.number or invoice.invoice_id} is past due "
                        f"({due}) without a payment.",
                        invoice.system,
                    ),
                    [],
                )
                await self.follow(decision)
                await self.set_state("awaiting_payment", "payment", invoice.system)
                continue
            notice = msgspec.convert(message, PaymentNotice)
            await self._record_payment(invoice, notice)
            return notice

    async def _record_payment(self, invoice: InvoiceRef, notice: PaymentNotice) -> None:
        await self.record(
            "payment",
            lambda: None,
            system=invoice.system,
            system_ids={"payment": notice.system_id} if notice.system_id else {},
            state="running",
            fields=lambda _: {
                "paid_at": notice.received_at or self.now(),
                "payment_id": notice.payment_id,
                "stage": "write_back",
            },
            events=lambda _: [
                self.event(
                    ev.PAYMENT_RECEIVED,
                    notice.payment_id or invoice.invoice_id,
                    {
                        "invoice_id": invoice.invoice_id,
                        "payment_id": notice.payment_id,
                        "amount": notice.amount,
                        "currency": notice.currency,
                        "source": notice.source,
                    },
                )
            ],
            sla_stage=("invoice_to_paid", "invoiced_at"),
            detail=lambda _: f"{notice.amount} {notice.currency} via {notice.source}",
        )

    async def write_back(
        self, stage: str, order: OrderRef, invoice: InvoiceRef, payment_status: str
    ) -> None:
        steps = self.flow.steps
        validated = self.validated
        assert validated is not None
        await self.record(
            "write_back",
            lambda: steps.write_back(
                validated.quote_system_id,
                self.txid,
                order_number=order.system_id,
                invoice_number=invoice.number or "",
                payment_status=payment_status,
                stage=stage,
            ),
            system=validated.quote_system,
            system_ids={"quote": validated.quote_system_id},
            status=lambda written: "succeeded" if written else "skipped",
            detail=lambda written: (
                f"{stage}: order {order.system_id}, invoice {invoice.number}"
                if written
                else "the CRM adapter cannot take a write-back"
            ),
        )
