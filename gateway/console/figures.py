"""The dashboards' figures, computed from the records the /v1/ops APIs read: the SLA
window of transactions (``gateway.flow.reports``), the store's exception activity and
the governance report of the live metrics. Nothing here is stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta

from domains.quote_to_cash.clock import parse
from domains.quote_to_cash.records import Transaction
from domains.quote_to_cash.sla import STAGES, SlaReport, StageName, StageStatus
from gateway.console.charts import nice_step
from policies.metrics.report import GovernanceReport

WINDOWS = (7, 30, 90)


def day_range(since: date, until: date) -> list[str]:
    days = []
    current = since
    while current <= until:
        days.append(current.isoformat())
        current += timedelta(days=1)
    return days


@dataclass(frozen=True, slots=True)
class DailySeries:
    days: list[str]
    accepted: list[int]
    fallout: list[float | None]  # share of the day's accepted transactions that fell out
    breaches: dict[StageName, list[int]]  # by the day each stage's target was passed


def daily(
    transactions: Sequence[Transaction],
    statuses: Sequence[Sequence[StageStatus]],
    days: list[str],
) -> DailySeries:
    """Per day of the window: acceptances, the share that fell out, and SLA breaches by
    the day each stage's target was passed (``statuses``: each transaction's stages)."""
    index = {day: i for i, day in enumerate(days)}
    accepted = [0] * len(days)
    fell = [0] * len(days)
    breaches: dict[StageName, list[int]] = {stage: [0] * len(days) for stage, _, _ in STAGES}
    starts = {stage: start for stage, start, _ in STAGES}
    for record, stages in zip(transactions, statuses, strict=True):
        position = index.get(record.accepted_at[:10])
        if position is not None:
            accepted[position] += 1
            fell[position] += record.order_fallout
        for status in stages:
            if status.status != "breached":
                continue
            started = getattr(record, starts[status.stage])
            passed = parse(started) + timedelta(seconds=status.target_seconds)
            where = index.get(passed.astimezone(UTC).date().isoformat())
            if where is not None:
                breaches[status.stage][where] += 1
    fallout = [round(f / a, 4) if a else None for f, a in zip(fell, accepted, strict=True)]
    return DailySeries(days, accepted, fallout, breaches)


def cycle_times(transactions: Sequence[Transaction]) -> list[float]:
    """Close-to-cash: accepted to paid, in seconds, of the paid transactions."""
    return [
        (parse(t.paid_at) - parse(t.accepted_at)).total_seconds()
        for t in transactions
        if t.paid_at
    ]


def histogram(values: Sequence[float], bins: int = 8) -> list[tuple[float, float, int]]:
    """(low, high, count) over equal, round-width bins from 0 (the last is open-ended
    only in the sense that it holds the maximum)."""
    if not values:
        return []
    width = nice_step(max(values), bins)
    count = max(1, int(max(values) // width) + 1)
    tally = Counter(min(int(v // width), count - 1) for v in values)
    return [(i * width, (i + 1) * width, tally.get(i, 0)) for i in range(count)]


@dataclass(frozen=True, slots=True)
class Dashboard:
    window_days: int
    since: str
    sla: SlaReport
    series: DailySeries
    cycle: list[float]
    activity: list[tuple[str, int, int]]  # (day, opened, closed), the user's teams
    governance: GovernanceReport | None  # None: metrics are switched off
    all_systems: bool  # the report covers every tenant's calls (an admin's view)
