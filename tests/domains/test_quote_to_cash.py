"""The transaction's rules without any system: taxonomy, tolerances, routing, SLAs."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from domains.errors import (
    Conflict,
    DependencyRejected,
    DependencyTimeout,
    DependencyUnavailable,
    FieldIssue,
    NotFound,
    ValidationFailed,
)
from domains.quote_to_cash.clock import rfc3339
from domains.quote_to_cash.config import FlowPolicy, SlaTargets
from domains.quote_to_cash.events import check
from domains.quote_to_cash.records import Transaction
from domains.quote_to_cash.sla import percentile, report, stage_statuses
from domains.quote_to_cash.taxonomy import StepFailed, classify, first_class, retryable
from domains.quote_to_cash.validation import _within
from domains.submission import SubmissionInProgress


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (DependencyUnavailable("down", system="sap"), "dependency_unavailable"),
        (DependencyTimeout("slow", system="sap"), "dependency_timeout"),
        (TimeoutError(), "dependency_timeout"),
        (ConnectionRefusedError(), "dependency_unavailable"),
        (SubmissionInProgress("held", system="sap", retry_after=3), "dependency_unavailable"),
        (DependencyRejected("no", system="stripe"), "data_quality"),
        (Conflict("dup", existing_id="cus_1"), "duplicate_suspected"),
        (Conflict("stale"), "conflict"),
        (ValidationFailed("bad"), "validation"),
        (NotFound("gone"), "validation"),
        (KeyError("bug"), "data_quality"),
    ],
)
def test_every_error_has_one_class(error: BaseException, expected: str) -> None:
    assert classify(error) == expected


def test_only_dependency_classes_retry() -> None:
    assert {
        c
        for c in (
            "validation",
            "data_quality",
            "dependency_unavailable",
            "dependency_timeout",
            "credit_hold",
            "price_mismatch",
            "duplicate_suspected",
            "conflict",
        )
        if retryable(c)
    } == {  # type: ignore[arg-type]
        "dependency_unavailable",
        "dependency_timeout",
    }
    assert first_class(["data_quality", "price_mismatch", "credit_hold"]) == "credit_hold"


def test_step_failure_survives_a_checkpoint() -> None:
    error = ValidationFailed("bad line", errors=(FieldIssue("lines[0]", "no", "unmapped"),))
    failure = StepFailed.from_error(error)
    copy = pickle.loads(pickle.dumps(failure))  # noqa: S301 - our own bytes
    assert (copy.error_class, copy.code, copy.findings) == (
        "validation",
        "VALIDATION_FAILED",
        failure.findings,
    )
    assert copy.findings[0]["error_class"] == "validation"
    held = StepFailed.from_error(SubmissionInProgress("held", system="sap", retry_after=4.0))
    assert held.retryable
    assert pickle.loads(pickle.dumps(held)).retry_after == 4.0  # noqa: S301


@pytest.mark.parametrize(
    ("difference", "base", "passes"),
    [
        ("0.01", "100", True),
        ("0.40", "100", True),
        ("0.60", "100", False),
        ("-0.60", "100", False),
        ("4.00", "1000", True),
        ("6.00", "1000", False),
    ],
)
def test_price_tolerance_is_amount_or_percent(difference: str, base: str, passes: bool) -> None:
    assert _within(Decimal(difference), Decimal(base), "0.01", "0.5") is passes


def test_policy_routes_by_code_before_class_and_checks_terms() -> None:
    policy = FlowPolicy()
    assert policy.owner("price_mismatch") == "pricing-ops"
    assert policy.owner("dependency_timeout", "PAYMENT_OVERDUE") == "collections"
    assert policy.owner("unheard_of") == "order-management"
    with pytest.raises(msgspec.ValidationError, match="NET99"):
        msgspec.convert({"default_entity": {"payment_terms": "NET99"}}, FlowPolicy)
    with pytest.raises(msgspec.ValidationError, match=r"routing\.credit"):
        msgspec.convert({"routing": {"credit": "x"}}, FlowPolicy)


def _transaction(accepted: datetime, **stamps: datetime) -> Transaction:
    return Transaction(
        id="txn_1",
        tenant="t",
        quote_id="quo_1",
        state="awaiting_payment",
        accepted_at=rfc3339(accepted),
        updated_at=rfc3339(accepted),
        **{k: rfc3339(v) for k, v in stamps.items()},  # type: ignore[arg-type]
    )


def test_sla_stages_met_breached_and_running() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    targets = SlaTargets(accepted_to_order=60, order_to_invoice=60, invoice_to_paid=600)
    tx = _transaction(
        start, ordered_at=start + timedelta(seconds=30), invoiced_at=start + timedelta(seconds=200)
    )
    statuses = {s.stage: s.status for s in stage_statuses(tx, targets, start + timedelta(hours=1))}
    assert statuses == {
        "accepted_to_order": "met",
        "order_to_invoice": "breached",
        "invoice_to_paid": "breached",
    }
    figures = report([tx], targets, start + timedelta(seconds=300), open_exceptions=0)
    assert [s.breached for s in figures.stages] == [0, 1, 0]
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert percentile([], 50) is None


def test_event_data_follows_its_contract() -> None:
    data = {"transaction_id": "txn_1", "quote_id": "quo_1", "source": "api"}
    assert check("com.q2c.quote.accepted", data) == data
    with pytest.raises(msgspec.ValidationError):
        check("com.q2c.quote.accepted", {"transaction_id": "txn_1"})
