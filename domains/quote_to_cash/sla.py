"""Service levels per stage (accepted -> order -> invoice -> paid) and the business
figures operations reports: order fallout, manual touches, close-to-cash time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

import msgspec

from domains.quote_to_cash.clock import parse
from domains.quote_to_cash.config import SlaTargets
from domains.quote_to_cash.records import Transaction

StageName = Literal["accepted_to_order", "order_to_invoice", "invoice_to_paid"]
STAGES: tuple[tuple[StageName, str, str], ...] = (
    ("accepted_to_order", "accepted_at", "ordered_at"),
    ("order_to_invoice", "ordered_at", "invoiced_at"),
    ("invoice_to_paid", "invoiced_at", "paid_at"),
)
RUNNING_STATES = frozenset({"accepted", "running", "awaiting_fulfilment", "awaiting_payment"})


class StageStatus(msgspec.Struct, frozen=True, kw_only=True):
    stage: StageName
    target_seconds: float
    elapsed_seconds: float | None  # None: not started
    status: Literal["not_started", "running", "met", "breached"]


class StageFigures(msgspec.Struct, frozen=True, kw_only=True):
    stage: StageName
    target_seconds: float
    completed: int
    running: int
    breached: int
    p50_seconds: float | None
    p95_seconds: float | None


class SlaReport(msgspec.Struct, frozen=True, kw_only=True):
    transactions: int
    stages: list[StageFigures]
    order_fallout_rate: float  # share that stopped in front of a person before the order
    manual_touch_rate: float  # share an operator had to act on
    close_to_cash_p50_seconds: float | None
    close_to_cash_p95_seconds: float | None
    completed: int
    open_exceptions: int


def stage_statuses(
    transaction: Transaction, targets: SlaTargets, now: datetime
) -> list[StageStatus]:
    result = []
    seen: dict[str, datetime] = {}

    def parsed(stamp: str) -> datetime:  # a milestone ends one stage and starts the next
        moment = seen.get(stamp)
        if moment is None:
            moment = seen[stamp] = parse(stamp)
        return moment

    for stage, start_field, end_field in STAGES:
        target = float(getattr(targets, stage))
        start = getattr(transaction, start_field)
        end = getattr(transaction, end_field)
        if start is None:
            result.append(
                StageStatus(
                    stage=stage, target_seconds=target, elapsed_seconds=None, status="not_started"
                )
            )
            continue
        finish = parsed(end) if end else now
        elapsed = (finish - parsed(start)).total_seconds()
        if end is not None:
            status: Literal["not_started", "running", "met", "breached"] = (
                "met" if elapsed <= target else "breached"
            )
        elif transaction.state in RUNNING_STATES or transaction.state in (
            "exception",
            "dead_lettered",
            "needs_attention",
        ):
            status = "breached" if elapsed > target else "running"
        else:
            status = "not_started"
            elapsed = None  # type: ignore[assignment]
        result.append(
            StageStatus(stage=stage, target_seconds=target, elapsed_seconds=elapsed, status=status)
        )
    return result


def breached(transaction: Transaction, targets: SlaTargets, now: datetime) -> list[StageName]:
    return [s.stage for s in stage_statuses(transaction, targets, now) if s.status == "breached"]


def report(
    transactions: Iterable[Transaction],
    targets: SlaTargets,
    now: datetime,
    open_exceptions: int,
    statuses: Sequence[list[StageStatus]] | None = None,
) -> SlaReport:
    """The figures of ``transactions``; ``statuses`` are their ``stage_statuses`` when
    the caller worked them out already (same order)."""
    listed = list(transactions)
    if statuses is None:
        statuses = [stage_statuses(t, targets, now) for t in listed]
    ends = {stage: end for stage, _, end in STAGES}
    durations: dict[StageName, list[float]] = {stage: [] for stage, _, _ in STAGES}
    running = dict.fromkeys(durations, 0)
    breaches = dict.fromkeys(durations, 0)
    for transaction, stages in zip(listed, statuses, strict=True):
        for status in stages:
            stage = status.stage
            if status.status == "breached":
                breaches[stage] += 1
            if status.status in ("met", "breached") and getattr(transaction, ends[stage]):
                assert status.elapsed_seconds is not None
                durations[stage].append(status.elapsed_seconds)
            elif status.status in ("running", "breached"):
                running[stage] += 1
    figures = [
        StageFigures(
            stage=stage,
            target_seconds=float(getattr(targets, stage)),
            completed=len(durations[stage]),
            running=running[stage],
            breached=breaches[stage],
            p50_seconds=percentile(durations[stage], 50),
            p95_seconds=percentile(durations[stage], 95),
        )
        for stage, _, _ in STAGES
    ]
    total = len(listed)
    fallout = sum(1 for t in listed if t.order_fallout)
    touched = sum(1 for t in listed if t.manual_touches > 0)
    cycle = [(parse(t.paid_at) - parse(t.accepted_at)).total_seconds() for t in listed if t.paid_at]
    return SlaReport(
        transactions=total,
        stages=figures,
        order_fallout_rate=round(fallout / total, 4) if total else 0.0,
        manual_touch_rate=round(touched / total, 4) if total else 0.0,
        close_to_cash_p50_seconds=percentile(cycle, 50),
        close_to_cash_p95_seconds=percentile(cycle, 95),
        completed=sum(1 for t in listed if t.state == "completed"),
        open_exceptions=open_exceptions,
    )


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return round(ordered[int(rank) - 1], 3)
