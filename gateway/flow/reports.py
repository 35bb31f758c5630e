"""The SLA report of a tenant's transactions in a window, one way for every edge: the
/v1/ops/sla API and the operations console's dashboards read it here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domains.quote_to_cash.exceptions import filters
from domains.quote_to_cash.records import Transaction
from domains.quote_to_cash.sla import SlaReport, report
from gateway.flow.runtime import Flow


@dataclass(frozen=True, slots=True)
class SlaWindow:
    since: str
    transactions: list[Transaction]  # accepted since ``since``, without timelines
    figures: SlaReport


async def sla_window(flow: Flow, tenant: str, since: str, now: datetime) -> SlaWindow:
    records = await flow.store.all_for_sla(tenant, since)
    open_items = sum((await flow.exceptions.counts(tenant, filters(state="open"))).values())
    return SlaWindow(since, records, report(records, flow.settings.policy.sla, now, open_items))
