"""Domain records of the quote-to-cash transaction -> the v1 contract."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from contracts.v1 import transactions as v1
from contracts.v1.common import ExternalReference
from domains.quote_to_cash.config import SlaTargets
from domains.quote_to_cash.records import ACTIVE_EXCEPTION_STATES, ExceptionItem, Transaction
from domains.quote_to_cash.sla import stage_statuses


def transaction(
    record: Transaction, targets: SlaTargets, *, timeline: bool = True
) -> v1.Transaction:
    statuses = stage_statuses(record, targets, datetime.now(UTC))
    references = []
    if record.order_system and record.order_system_id:
        references.append(ExternalReference(system=record.order_system, id=record.order_system_id))
    invoice_system = next(
        (e.system for e in record.timeline if e.step == "invoice" and e.status == "succeeded"), None
    )
    if invoice_system and record.invoice_system_id:
        references.append(ExternalReference(system=invoice_system, id=record.invoice_system_id))
    return v1.Transaction(
        id=record.id,
        quote_id=record.quote_id,
        state=record.state,
        stage=record.stage,
        owner_system=record.owner_system,
        source=record.source,  # type: ignore[arg-type]
        customer_id=record.customer_id,
        legal_entity=record.legal_entity,
        order_id=record.order_id,
        invoice_id=record.invoice_id,
        payment_id=record.payment_id,
        trace_id=record.trace_id,
        accepted_at=record.accepted_at,
        ordered_at=record.ordered_at,
        invoiced_at=record.invoiced_at,
        paid_at=record.paid_at,
        ended_at=record.ended_at,
        updated_at=record.updated_at,
        manual_touches=record.manual_touches,
        sla=[msgspec.convert(msgspec.structs.asdict(s), v1.SlaStatus) for s in statuses],
        sla_breached=any(s.status == "breached" for s in statuses),
        external_references=references,
        timeline=[
            v1.TimelineEntry(
                step=e.step,
                status=e.status,
                system=e.system,
                system_ids=msgspec.convert(e.system_ids, v1.StepRecords),
                attempts=e.attempts,
                started_at=e.started_at,
                ended_at=e.ended_at,
                detail=e.detail,
                error=_error(e.error) if e.error else None,
            )
            for e in (record.timeline if timeline else [])
        ],
    )


def _error(error: dict[str, object]) -> v1.StepError:
    return v1.StepError(
        error_class=error.get("class", "data_quality"),  # type: ignore[arg-type]
        code=str(error.get("code", "")),
        detail=str(error.get("detail", ""))[:2000],
        system=str(error.get("system", "")),
    )


def exception(item: ExceptionItem) -> v1.TransactionException:
    available: list[str] = ["comment"]
    if item.state in ACTIVE_EXCEPTION_STATES:
        available = ["assign", "comment", "retry", "resolve", "dismiss"]
        if item.compensation and item.compensation.startswith("offered"):
            available.append("compensate")
    return v1.TransactionException(
        id=item.id,
        transaction_id=item.transaction_id,
        kind=item.kind,
        step=item.step,
        error_class=item.error_class,  # type: ignore[arg-type]
        code=item.code,
        detail=item.detail[:2000],
        owner=item.owner,
        state=item.state,
        assignee=item.assignee,
        legal_entity=item.legal_entity,
        system=item.system,
        findings=[
            v1.Finding(
                check=f.check,
                error_class=f.error_class,  # type: ignore[arg-type]
                code=f.code,
                message=f.message[:2000],
                field=f.field,
            )
            for f in item.findings
        ],
        errors=[_error(e) for e in item.errors],
        context=item.context,
        compensation=item.compensation,
        actions_available=available,  # type: ignore[arg-type]
        comments=[v1.Comment(author=c.author, text=c.text, at=c.at) for c in item.comments],
        actions=[
            v1.ActionEntry(action=a.action, actor=a.actor, at=a.at, detail=a.detail[:2000])
            for a in item.actions
        ],
        created_at=item.created_at,
        updated_at=item.updated_at,
    )
