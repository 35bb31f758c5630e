"""Exactly one system-of-record create per canonical id: the submission ledger.

Orders, invoices and payments are created in a system of record under a canonical
id fixed before the call (derived from the Idempotency-Key, or from the order being
invoiced). The ledger holds one entry per such id; only the holder of its lease may
call the system's create, so two gateway processes, the v1 and v2 routes of one
operation or two keys racing on one id end in one call.

When a create ends without a definite answer (a timeout, a connection lost after the
request left, a process that died holding the lease), nobody knows whether the
system of record has the record. The entry then says ``unknown``, and whoever claims
it next first looks the record up by its external id: found -> done, answered as if
the first attempt had succeeded; not found while the system may still be committing
what was sent (its commit window) -> 503 with Retry-After; not found after that ->
the create runs again. Only a definite failure (the system refused, the request was
never sent) frees the id at once.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

import msgspec

from domains.errors import Conflict, DependencyError, DependencyUnavailable, GatewayError
from domains.ids import Kind

SubmissionState = Literal["in_flight", "unknown", "done", "failed"]
ClaimOutcome = Literal["claimed", "held", "done", "taken"]

DEFAULT_COMMIT_WINDOW_SECONDS = 30.0
_POLL_SECONDS = 0.1


class Submission(msgspec.Struct, frozen=True, kw_only=True):
    """The ledger entry of one canonical id. Times are epoch seconds."""

    tenant: str
    canonical_id: str
    kind: Kind
    system: str
    state: SubmissionState
    attempt: int
    lease_owner: str
    lease_expires_at: float
    # A look-up that misses before this moment does not prove the last attempt failed.
    resolve_after: float = 0.0
    # What the claim that made this attempt found: None for the first attempt.
    previous_state: SubmissionState | None = None
    subject: str | None = None
    system_id: str | None = None
    last_error: str = ""


class Claim(msgspec.Struct, frozen=True):
    """``claimed``: the caller holds the lease and makes the attempt. ``held``: another
    attempt holds a live lease. ``done``: the record exists (``system_id``). ``taken``:
    another canonical id holds the subject (``submission`` is that one's entry)."""

    outcome: ClaimOutcome
    submission: Submission


class SubmissionLedger(Protocol):
    async def claim(
        self,
        tenant: str,
        canonical_id: str,
        *,
        kind: Kind,
        system: str,
        subject: str | None,
        owner: str,
        lease_seconds: float,
        commit_window_seconds: float,
    ) -> Claim:
        """Atomically: start the first attempt, or take over an entry that is
        ``unknown``, ``failed`` or ``in_flight`` with a lapsed lease (its
        ``resolve_after`` becomes the lapsed lease's end plus the commit window)."""
        ...

    async def settle(
        self,
        tenant: str,
        canonical_id: str,
        *,
        owner: str,
        state: Literal["unknown", "done", "failed"],
        system_id: str | None = None,
        error: str = "",
        resolve_after: float | None = None,
    ) -> bool:
        """End the attempt ``owner`` holds (False when its lease was taken over).
        ``failed`` frees the subject; ``unknown`` records when a look-up may decide."""
        ...

    async def get(self, tenant: str, canonical_id: str) -> Submission | None: ...


class SubmissionInProgress(Conflict):
    """Another attempt at the same canonical id holds the lease right now."""

    code, title, retryable = "SUBMISSION_IN_PROGRESS", "Submission in progress", True


class OutcomePending(DependencyUnavailable):
    """The last attempt's outcome is unknown and cannot be decided yet."""

    code, title = "SUBMISSION_OUTCOME_PENDING", "Outcome of an earlier attempt not known yet"


@dataclass(frozen=True, slots=True)
class SubmissionPolicy:
    """How long one attempt may hold an id, and how long each system may take to
    commit what it was sent (after which a look-up that misses is conclusive)."""

    lease_seconds: float = 60.0
    commit_windows: Mapping[str, float] = field(default_factory=dict)

    def window(self, system: str) -> float:
        return self.commit_windows.get(system, DEFAULT_COMMIT_WINDOW_SECONDS)


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class SubmissionSteps(Generic[R]):
    """What ``Submissions.submit`` calls, all about one record in one system."""

    find: Callable[[], Awaitable[R | None]]  # look it up by its external id
    create: Callable[[], Awaitable[R]]  # the system-of-record create (the side effect)
    fetch: Callable[[str], Awaitable[R | None]]  # by system id, once it is done
    register: Callable[[R], Awaitable[None]]  # crosswalk and owner, before "done"
    system_id: Callable[[R], str]


class Submissions:
    """The ledger's protocol, shared by every service that creates money or master data."""

    def __init__(
        self,
        ledger: SubmissionLedger,
        policy: SubmissionPolicy,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ledger = ledger
        self._policy = policy
        self._clock = clock

    async def submit(
        self,
        tenant: str,
        canonical_id: str,
        *,
        kind: Kind,
        system: str,
        steps: SubmissionSteps[R],
        subject: str | None = None,
        subject_taken: Callable[[str], GatewayError] | None = None,
        wait_seconds: float = 0.0,
    ) -> R:
        """The record for ``canonical_id``, created at most once in ``system``.

        ``wait_seconds``: when another attempt holds the id, wait up to this long for it
        to finish (for quick creates many requests share, such as a customer's ERP
        account) instead of answering 409 at once.
        """
        owner = secrets.token_hex(12)
        window = self._policy.window(system)

        async def claim_it() -> Claim:
            return await self._ledger.claim(
                tenant,
                canonical_id,
                kind=kind,
                system=system,
                subject=subject,
                owner=owner,
                lease_seconds=self._policy.lease_seconds,
                commit_window_seconds=window,
            )

        claim = await claim_it()
        waited = 0.0
        while claim.outcome == "held" and waited < wait_seconds:
            await asyncio.sleep(_POLL_SECONDS)
            waited += _POLL_SECONDS
            claim = await claim_it()
        entry = claim.submission
        if claim.outcome == "done":
            return await self._done(entry, steps)
        if claim.outcome == "held":
            raise SubmissionInProgress(
                f"{canonical_id} is being submitted to {entry.system} by another request; "
                "retry after Retry-After seconds for its result.",
                system=entry.system,
                retry_after=self._remaining(entry.lease_expires_at),
            )
        if claim.outcome == "taken":
            if subject_taken is not None:
                raise subject_taken(entry.canonical_id)
            raise Conflict(
                f"{subject} is already submitted as {entry.canonical_id}.",
                existing_id=entry.canonical_id,
            )

        settle = _Settle(self._ledger, tenant, canonical_id, owner, self._clock)
        record: R | None = None
        if entry.previous_state in ("in_flight", "unknown"):
            # The last attempt's outcome is unknown: look before creating again.
            try:
                record = await steps.find()
            except BaseException as error:
                await settle.after(error, created=False, window=window, previous=entry)
                raise
            if record is None and self._clock() < entry.resolve_after:
                await settle.unknown(entry.resolve_after, entry.last_error)
                raise OutcomePending(
                    f"An earlier attempt at {canonical_id} may still be committing in "
                    f"{system}; it is looked up again after Retry-After seconds.",
                    system=system,
                    retry_after=self._remaining(entry.resolve_after),
                )
        created = False
        try:
            if record is None:
                record = await steps.create()
                created = True
            await steps.register(record)
        except BaseException as error:
            await settle.after(error, created=created, window=window, previous=entry)
            raise
        await settle.done(steps.system_id(record))
        return record

    async def _done(self, entry: Submission, steps: SubmissionSteps[R]) -> R:
        record = await steps.fetch(entry.system_id) if entry.system_id else None
        if record is None:
            record = await steps.find()
        if record is None:
            raise DependencyUnavailable(
                f"{entry.system} no longer returns {entry.system_id or entry.canonical_id}, "
                f"which it created for {entry.canonical_id}.",
                system=entry.system,
            )
        return record

    def _remaining(self, until: float) -> float:
        return max(1.0, math.ceil(until - self._clock()))


@dataclass(slots=True)
class _Settle:
    ledger: SubmissionLedger
    tenant: str
    canonical_id: str
    owner: str
    clock: Callable[[], float]

    async def done(self, system_id: str) -> None:
        await self.ledger.settle(
            self.tenant, self.canonical_id, owner=self.owner, state="done", system_id=system_id
        )

    async def unknown(self, resolve_after: float, error: str) -> None:
        await self.ledger.settle(
            self.tenant,
            self.canonical_id,
            owner=self.owner,
            state="unknown",
            error=error,
            resolve_after=resolve_after,
        )

    async def after(
        self, error: BaseException, *, created: bool, window: float, previous: Submission
    ) -> None:
        """Record how the attempt ended. Never raises: the caller re-raises ``error``."""
        now = self.clock()
        description = f"{type(error).__name__}: {error}"[:500]
        try:
            if created:
                # The system has the record; only our bookkeeping failed. The next
                # claim finds it by its external id at once.
                await asyncio.shield(self.unknown(now, description))
            elif definite(error):
                await asyncio.shield(
                    self.ledger.settle(
                        self.tenant,
                        self.canonical_id,
                        owner=self.owner,
                        state="failed",
                        error=description,
                    )
                )
            else:
                answered = isinstance(error, DependencyError) and error.delivery == "answered"
                # An earlier unknown attempt keeps its window: the look-up this attempt
                # could not make must still wait for it.
                until = now if answered else now + window
                await asyncio.shield(self.unknown(max(until, previous.resolve_after), description))
        except Exception:  # noqa: S110 - the ledger is down: the lease lapses, the next claim resolves
            pass


def definite(error: BaseException) -> bool:
    """Failures after which the system of record certainly has no record: it refused the
    request, or it never saw it. Anything else may have created it."""
    if isinstance(error, DependencyError):
        return error.delivery == "not_sent" or (
            error.delivery == "answered" and 400 <= error.sor_status < 500
        )
    return isinstance(error, GatewayError)
