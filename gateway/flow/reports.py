"""The SLA report of a tenant's transactions in a window, one way for every edge: the
/v1/ops/sla API and the operations console's dashboards read it here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domains.quote_to_cash.exceptions import filters
from domains.quote_to_cash.records import Transaction
from domains.quote_to_cash.sla import SlaReport, StageStatus, report, stage_statuses
from gateway.flow.runtime import Flow


@dataclass(frozen=True, slots=True)
class SlaWindow:
    since: str
    transactions: list[Transaction]  # accepted since ``since``, without timelines
    statuses: list[list[StageStatus]]  # each transaction's stages, same order
    figures: SlaReport


async def sla_window(flow: Flow, tenant: str, since: str, now: datetime) -> SlaWindow:
    records = await flow.store.all_for_sla(tenant, since)
    open_items = sum((await flow.exceptions.counts(tenant, filters(state="open"))).values())
    targets = flow.settings.policy.sla
    statuses = [stage_statuses(t, targets, now) for t in records]
    figures = report(records, targets, now, open_items, statuses)
    return SlaWindow(since, records, statuses, figures)
