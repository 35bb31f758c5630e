"""The submission ledger port's contract, on every backend (memory, SQLite, PostgreSQL).

The ledger is what makes "one system-of-record create per canonical id" hold across
processes, so the races are run for real: concurrent claims on one id and on one
subject, against the database each backend uses.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from domains.submission import Claim, SubmissionLedger
from gateway.stores.memory import MemorySubmissionLedger
from gateway.stores.sql.submissions import SqlSubmissionLedger

LEASE = 0.4


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def ledger(request: pytest.FixtureRequest) -> SubmissionLedger:
    if request.param == "memory":
        return MemorySubmissionLedger()
    return SqlSubmissionLedger(request.getfixturevalue(f"{request.param}_database"))


async def claim(
    ledger: SubmissionLedger,
    owner: str,
    canonical_id: str = "ord_1",
    *,
    subject: str | None = None,
    lease: float = LEASE,
    window: float = 5.0,
    tenant: str = "acme",
) -> Claim:
    return await ledger.claim(
        tenant,
        canonical_id,
        kind="order",
        system="sap",
        subject=subject,
        owner=owner,
        lease_seconds=lease,
        commit_window_seconds=window,
    )


async def test_first_claim_runs_and_a_second_is_held(ledger: SubmissionLedger) -> None:
    first = await claim(ledger, "a")
    assert first.outcome == "claimed"
    assert first.submission.attempt == 1
    assert first.submission.previous_state is None
    held = await claim(ledger, "b")
    assert held.outcome == "held"
    assert held.submission.lease_owner == "a"
    assert 0 < held.submission.lease_expires_at - time.time() <= LEASE + 0.1


async def test_done_is_final_and_carries_the_system_id(ledger: SubmissionLedger) -> None:
    await claim(ledger, "a")
    assert await ledger.settle("acme", "ord_1", owner="a", state="done", system_id="5000001")
    again = await claim(ledger, "b")
    assert again.outcome == "done"
    assert again.submission.system_id == "5000001"
    # Nobody settles a finished entry again, not even its last owner.
    assert not await ledger.settle("acme", "ord_1", owner="a", state="failed")


async def test_only_the_lease_holder_settles(ledger: SubmissionLedger) -> None:
    await claim(ledger, "a")
    assert not await ledger.settle("acme", "ord_1", owner="intruder", state="done", system_id="x")
    assert not await ledger.settle("acme", "missing", owner="a", state="done", system_id="x")
    entry = await ledger.get("acme", "ord_1")
    assert entry is not None
    assert entry.state == "in_flight"


async def test_unknown_is_taken_over_with_its_resolve_time(ledger: SubmissionLedger) -> None:
    await claim(ledger, "a")
    until = time.time() + 30
    assert await ledger.settle(
        "acme", "ord_1", owner="a", state="unknown", error="timeout", resolve_after=until
    )
    retry = await claim(ledger, "b")
    assert retry.outcome == "claimed"
    assert retry.submission.previous_state == "unknown"
    assert retry.submission.attempt == 2
    assert retry.submission.resolve_after == pytest.approx(until, abs=0.002)
    assert retry.submission.last_error == "timeout"


async def test_a_lapsed_lease_is_taken_over_and_waits_out_the_window(
    ledger: SubmissionLedger,
) -> None:
    first = await claim(ledger, "a", lease=0.2, window=7.0)
    await asyncio.sleep(0.3)
    retry = await claim(ledger, "b", window=7.0)
    assert retry.outcome == "claimed"
    assert retry.submission.previous_state == "in_flight"
    # Whatever the dead holder sent may still commit until its lease ended + the window.
    expected = first.submission.lease_expires_at + 7.0
    assert retry.submission.resolve_after == pytest.approx(expected, abs=0.002)
    # The dead holder can no longer settle.
    assert not await ledger.settle("acme", "ord_1", owner="a", state="done", system_id="x")


async def test_failed_frees_the_id_and_the_subject(ledger: SubmissionLedger) -> None:
    assert (await claim(ledger, "a", subject="quote:q1")).outcome == "claimed"
    taken = await claim(ledger, "b", "ord_2", subject="quote:q1")
    assert taken.outcome == "taken"
    assert taken.submission.canonical_id == "ord_1"
    assert await ledger.settle("acme", "ord_1", owner="a", state="failed", error="rejected")
    assert (await claim(ledger, "b", "ord_2", subject="quote:q1")).outcome == "claimed"
    retry = await claim(ledger, "c", "ord_1", subject="quote:q1")
    assert retry.outcome == "taken"
    assert retry.submission.canonical_id == "ord_2"


async def test_subjects_are_per_tenant(ledger: SubmissionLedger) -> None:
    assert (await claim(ledger, "a", subject="quote:q1")).outcome == "claimed"
    other = await claim(ledger, "b", "ord_9", subject="quote:q1", tenant="globex")
    assert other.outcome == "claimed"


async def test_concurrent_claims_on_one_id_make_one_attempt(ledger: SubmissionLedger) -> None:
    results = await asyncio.gather(*(claim(ledger, f"owner-{n}") for n in range(12)))
    outcomes = [r.outcome for r in results]
    assert outcomes.count("claimed") == 1
    assert outcomes.count("held") == 11


async def test_concurrent_claims_on_one_subject_have_one_winner(ledger: SubmissionLedger) -> None:
    results = await asyncio.gather(
        *(claim(ledger, f"owner-{n}", f"ord_{n}", subject="quote:q7") for n in range(12))
    )
    winners = [r for r in results if r.outcome == "claimed"]
    assert len(winners) == 1
    assert {r.submission.canonical_id for r in results if r.outcome == "taken"} == {
        winners[0].submission.canonical_id
    }
