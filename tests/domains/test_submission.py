"""The submission protocol (domains/submission.py) on the in-process ledger.

The system of record is a small scripted fake: each test decides what its create and
look-up do (succeed, time out, answer an error, never see the request) and counts the
creates, which is the side effect that must happen once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from domains.errors import (
    Conflict,
    DependencyRejected,
    DependencyTimeout,
    DependencyUnavailable,
    StoreUnavailable,
)
from domains.submission import (
    OutcomePending,
    SubmissionInProgress,
    SubmissionPolicy,
    Submissions,
    SubmissionSteps,
)
from gateway.stores.memory import MemorySubmissionLedger


@dataclass
class FakeSystem:
    """A system of record with one kind of record: ids "R1", "R2", ..."""

    records: dict[str, str] = field(default_factory=dict)  # reference -> system id
    creates: int = 0
    registered: list[str] = field(default_factory=list)
    # What the next create does after (or instead of) creating: None, or an error.
    fail_create: list[BaseException | None] = field(default_factory=list)
    create_before_failing: bool = False  # the system committed, then the answer was lost
    fail_register: int = 0

    def steps(self, reference: str) -> SubmissionSteps[str]:
        async def find() -> str | None:
            return self.records.get(reference)

        async def create() -> str:
            failure = self.fail_create.pop(0) if self.fail_create else None
            if failure is not None and not self.create_before_failing:
                raise failure
            self.creates += 1
            self.records[reference] = f"R{self.creates}"
            if failure is not None:
                raise failure
            return self.records[reference]

        async def fetch(system_id: str) -> str | None:
            return system_id if system_id in self.records.values() else None

        async def register(record: str) -> None:
            if self.fail_register:
                self.fail_register -= 1
                raise StoreUnavailable("database down")
            self.registered.append(record)

        return SubmissionSteps(
            find=find, create=create, fetch=fetch, register=register, system_id=lambda r: r
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def submissions(clock: Clock) -> Submissions:
    ledger = MemorySubmissionLedger(clock=clock)
    return Submissions(ledger, SubmissionPolicy(10.0, {"erp": 30.0}), clock=clock)


def timeout() -> DependencyTimeout:
    return DependencyTimeout("slow", system="erp")


def answered(status: int) -> DependencyUnavailable | DependencyRejected:
    error: DependencyUnavailable | DependencyRejected
    if status >= 500:
        error = DependencyUnavailable("erp said no", system="erp")
    else:
        error = DependencyRejected("erp refused", system="erp")
    error.delivery = "answered"
    error.sor_status = status
    return error


def not_sent() -> DependencyUnavailable:
    error = DependencyUnavailable("refused", system="erp")
    error.delivery = "not_sent"
    return error


async def submit(
    submissions: Submissions, erp: FakeSystem, ref: str = "ord_1", **kw: Any
) -> str:
    return await submissions.submit(
        "acme", ref, kind="order", system="erp", steps=erp.steps(ref), **kw
    )


async def test_a_create_runs_once_and_later_calls_return_it(submissions: Submissions) -> None:
    erp = FakeSystem()
    assert await submit(submissions, erp) == "R1"
    assert await submit(submissions, erp) == "R1"
    assert erp.creates == 1
    assert erp.registered == ["R1"]


async def test_concurrent_submits_make_one_create(submissions: Submissions) -> None:
    erp = FakeSystem()
    gate = asyncio.Event()
    steps = erp.steps("ord_1")
    original = steps.create

    async def slow_create() -> str:
        await gate.wait()
        return await original()

    slow = SubmissionSteps(
        find=steps.find, create=slow_create, fetch=steps.fetch,
        register=steps.register, system_id=steps.system_id,
    )
    first = asyncio.create_task(
        submissions.submit("acme", "ord_1", kind="order", system="erp", steps=slow)
    )
    await asyncio.sleep(0)
    with pytest.raises(SubmissionInProgress) as busy:
        await submit(submissions, erp)
    assert busy.value.retry_after == 10  # the holder's lease
    gate.set()
    assert await first == "R1"
    assert erp.creates == 1


async def test_a_timeout_is_looked_up_and_never_sent_twice_inside_the_window(
    submissions: Submissions, clock: Clock
) -> None:
    erp = FakeSystem(fail_create=[timeout()])
    with pytest.raises(DependencyTimeout):
        await submit(submissions, erp)
    clock.now += 5
    # Not found yet, and the system may still be committing: wait, do not create.
    with pytest.raises(OutcomePending) as pending:
        await submit(submissions, erp)
    assert pending.value.retry_after == 25
    assert erp.creates == 0
    # The first attempt's create lands in the system after all.
    erp.records["ord_1"] = "R-late"
    assert await submit(submissions, erp) == "R-late"
    assert erp.creates == 0
    assert erp.registered == ["R-late"]


async def test_after_the_window_a_miss_is_conclusive_and_the_create_runs(
    submissions: Submissions, clock: Clock
) -> None:
    erp = FakeSystem(fail_create=[timeout()])
    with pytest.raises(DependencyTimeout):
        await submit(submissions, erp)
    clock.now += 31
    assert await submit(submissions, erp) == "R1"
    assert erp.creates == 1


async def test_an_answered_server_error_is_looked_up_at_once(
    submissions: Submissions,
) -> None:
    erp = FakeSystem(fail_create=[answered(503)])
    with pytest.raises(DependencyUnavailable):
        await submit(submissions, erp)
    # The system finished with the request: its look-up decides without waiting.
    assert await submit(submissions, erp) == "R1"
    assert erp.creates == 1


async def test_an_answered_error_after_committing_is_found_not_repeated(
    submissions: Submissions,
) -> None:
    erp = FakeSystem(fail_create=[answered(500)], create_before_failing=True)
    with pytest.raises(DependencyUnavailable):
        await submit(submissions, erp)
    assert await submit(submissions, erp) == "R1"
    assert erp.creates == 1


@pytest.mark.parametrize("failure", [not_sent, lambda: answered(400)])
async def test_a_definite_failure_frees_the_id_without_a_look_up(
    submissions: Submissions, failure: Callable[[], Exception]
) -> None:
    error = failure()
    erp = FakeSystem(fail_create=[error])
    with pytest.raises(type(error)):
        await submit(submissions, erp)
    erp.records["ord_1"] = "planted"  # a look-up would find this; none must happen
    assert await submit(submissions, erp) == "R1"


async def test_a_lost_bookkeeping_write_is_healed_by_the_next_claim(
    submissions: Submissions,
) -> None:
    erp = FakeSystem(fail_register=1)
    with pytest.raises(StoreUnavailable):
        await submit(submissions, erp)
    assert erp.creates == 1
    assert await submit(submissions, erp) == "R1"
    assert erp.creates == 1
    assert erp.registered == ["R1"]


async def test_a_crashed_holder_is_taken_over_after_its_lease(
    submissions: Submissions, clock: Clock
) -> None:
    ledger = MemorySubmissionLedger(clock=clock)
    crashed = await ledger.claim(
        "acme", "ord_1", kind="order", system="erp", subject=None, owner="dead",
        lease_seconds=10, commit_window_seconds=30,
    )
    assert crashed.outcome == "claimed"
    subs = Submissions(ledger, SubmissionPolicy(10.0, {"erp": 30.0}), clock=clock)
    erp = FakeSystem()
    with pytest.raises(SubmissionInProgress):
        await submit(subs, erp)
    clock.now += 11
    # The dead holder may have sent its create until its lease ended: wait the window.
    with pytest.raises(OutcomePending) as pending:
        await submit(subs, erp)
    assert pending.value.retry_after == 29
    clock.now += 30
    assert await submit(subs, erp) == "R1"


async def test_a_cancelled_create_is_unknown(submissions: Submissions) -> None:
    erp = FakeSystem(fail_create=[asyncio.CancelledError()])
    with pytest.raises(asyncio.CancelledError):
        await submit(submissions, erp)
    with pytest.raises(OutcomePending):
        await submit(submissions, erp)
    assert erp.creates == 0


async def test_one_subject_one_record(submissions: Submissions) -> None:
    erp = FakeSystem()
    assert await submit(submissions, erp, "ord_1", subject="quote:q1") == "R1"
    with pytest.raises(Conflict) as taken:
        await submit(
            submissions,
            erp,
            "ord_2",
            subject="quote:q1",
            subject_taken=lambda existing: Conflict("ordered", existing_id=existing),
        )
    assert taken.value.existing_id == "ord_1"
    assert erp.creates == 1


async def test_a_failed_look_up_leaves_the_outcome_unknown(
    submissions: Submissions, clock: Clock
) -> None:
    erp = FakeSystem(fail_create=[timeout()])
    with pytest.raises(DependencyTimeout):
        await submit(submissions, erp)
    steps = erp.steps("ord_1")

    async def broken_find() -> str | None:
        raise DependencyUnavailable("erp down", system="erp")

    looking = SubmissionSteps(
        find=broken_find, create=steps.create, fetch=steps.fetch,
        register=steps.register, system_id=steps.system_id,
    )
    clock.now += 40  # past the window: only the look-up stands between us and a create
    with pytest.raises(DependencyUnavailable):
        await submissions.submit("acme", "ord_1", kind="order", system="erp", steps=looking)
    assert erp.creates == 0  # never created blind
    erp.records["ord_1"] = "R-first"  # the first attempt had landed after all
    assert await submit(submissions, erp) == "R-first"
    assert erp.creates == 0
