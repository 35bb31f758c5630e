"""How each step of the quote-to-cash workflow runs: checkpointed by DBOS, retried only
for dependency failures, recorded with its timeline entry and events in one database
transaction, and parked in front of an operator when it cannot go on.

Every business step is one DBOS step: the domain call, then, in the same step, the
timeline entry, the transaction's new fields and its events, appended to the tenant's
event stream too. DBOS checkpoints the step's result, so a transaction re-run after a
crash (or a replay) skips every completed step and never repeats a system write.

Retries: only dependency_* failures, bounded per step (DBOS step retries with a
``should_retry`` filter; the first interval is jittered per transaction, so a
recovered ERP is not hit by every parked transaction at the same instant, and a
system's Retry-After is waited out first). A step that exhausts them parks a dead
letter; one that fails for a business reason opens an exception; either way the
workflow waits durably (``DBOS.recv``) for an operator's decision and then re-runs
only that step.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from dbos import DBOS, StepOptions
from dbos._error import DBOSMaxStepRetriesExceeded

from domains.ids import derived_id
from domains.quote_to_cash import events as ev
from domains.quote_to_cash.clock import seconds_between
from domains.quote_to_cash.ports import CanonicalEvent, TransactionChange
from domains.quote_to_cash.records import (
    Decision,
    ExceptionItem,
    Finding,
    StepEntry,
    TransactionState,
)
from domains.quote_to_cash.steps import InvoiceRef, OrderRef
from domains.quote_to_cash.taxonomy import StepFailed
from domains.quote_to_cash.validation import Edits, Validated
from gateway.flow import context
from gateway.flow.messages import DECISION_TOPIC, StartRequest
from gateway.flow.tracing import step_context

log = logging.getLogger("q2c.flow")
T = TypeVar("T")

FLOW = "quote_to_cash"
MAX_RETRY_AFTER_SECONDS = 60.0


class Stopped(Exception):
    """An operator closed the transaction (resolve, dismiss, compensate)."""

    def __init__(self, state: TransactionState) -> None:
        super().__init__(state)
        self.state: TransactionState = state


class Compensate(Exception):
    """A compensable step failed for good after the ERP order exists."""

    def __init__(self, failure: StepFailed) -> None:
        super().__init__(failure.detail)
        self.failure = failure


class StepRunner:
    """The state of one workflow execution and the machinery its steps run through;
    everything it decides comes from checkpoints, so a re-run decides the same."""

    def __init__(self, start: StartRequest) -> None:
        self.flow = context.current()
        self.start = start
        self.tenant = start.tenant
        self.txid = start.transaction_id
        self.edits = Edits()
        self.occurrence = 0  # numbers steps in workflow order: same on every re-run
        self.order: OrderRef | None = None
        self.invoice: InvoiceRef | None = None
        self.validated: Validated | None = None
        self.stamps: dict[str, str] = {"accepted_at": start.accepted_at}

    def now(self) -> str:
        return self.flow.clock.now()

    def event(self, kind: str, subject: str, data: dict[str, Any]) -> CanonicalEvent:
        return ev.event(
            kind,
            tenant=self.tenant,
            transaction_id=self.txid,
            subject=subject,
            time=self.now(),
            data={"transaction_id": self.txid, **data},
            traceparent=self.start.traceparent,
            occurrence=str(self.occurrence),
        )

    def retry_options(self, step: str) -> StepOptions:
        policy = self.flow.policy.retry_for(step.split(".")[0])
        jitter = 1 + random.uniform(-policy.jitter, policy.jitter)
        return {
            "name": step,
            "retries_allowed": policy.max_attempts > 1,
            "max_attempts": policy.max_attempts,
            "interval_seconds": policy.interval_seconds * jitter,
            "backoff_rate": policy.backoff_rate,
            "should_retry": _dependency_failure,
        }

    def guarded(self, call: Callable[[], Awaitable[T]]) -> Callable[[], Coroutine[Any, Any, T]]:
        async def attempt() -> T:
            try:
                async with self.flow.slots():  # bounds the work, not the waits
                    return await call()
            except Exception as exc:
                failure = StepFailed.from_error(exc)
                if failure.retryable and failure.retry_after:
                    # Honour the system's (or the submission ledger's) Retry-After before
                    # DBOS's own backoff: a dead worker's lease must run out first.
                    await asyncio.sleep(min(failure.retry_after, MAX_RETRY_AFTER_SECONDS))
                if failure is exc:
                    raise
                raise failure from None

        return attempt

    async def record(
        self,
        step: str,
        call: Callable[[], Awaitable[T] | None],
        *,
        system: str | Callable[[T], str] = "",
        system_ids: dict[str, str] | Callable[[T], dict[str, str]] | None = None,
        state: TransactionState | None = None,
        fields: Callable[[T], dict[str, Any]] | None = None,
        events: Callable[[T], list[CanonicalEvent]] | None = None,
        detail: Callable[[T], str] | None = None,
        status: Callable[[T], str] | None = None,
        sla_stage: tuple[str, str] | None = None,
        compensable: bool = False,
    ) -> T:
        """Run ``call`` as one checkpointed step with its timeline entry and events;
        on failure park the transaction and re-run after the operator's decision."""
        spec = _Spec(
            step=step,
            call=call,
            system=system,
            system_ids=system_ids,
            state=state,
            fields=fields,
            events=events,
            detail=detail,
            status=status,
            sla_stage=sla_stage,
        )
        while True:
            self.occurrence += 1
            attempt = self._attempt(spec, self.occurrence, self.now())
            try:
                result: T = await DBOS.run_step_async(self.retry_options(step), attempt)
                return result
            except DBOSMaxStepRetriesExceeded as exhausted:
                history = [StepFailed.from_error(e).as_dict() for e in exhausted.errors]
                last = (
                    StepFailed.from_error(exhausted.errors[-1])
                    if exhausted.errors
                    else StepFailed("dependency_unavailable", "RETRIES_EXHAUSTED", str(exhausted))
                )
                self._count(step, "dead_lettered")
                decision = await self.park("dead_letter", step, last, history)
            except StepFailed as failure:
                self._count(step, failure.error_class)
                if compensable and self.order is not None:
                    raise Compensate(failure) from None
                decision = await self.park("exception", step, failure, [failure.as_dict()])
            await self.follow(decision)

    def _attempt(
        self, spec: _Spec[T], occurrence: int, started: str
    ) -> Callable[[], Coroutine[Any, Any, T]]:
        """One attempt of a step: the call, then its outcome written and published."""
        attempts = 0

        async def attempt() -> T:
            nonlocal attempts
            attempts += 1
            with step_context(
                self.txid,
                self.start.traceparent,
                spec.step,
                tracer=self.flow.tracer,
                tenant=self.tenant,
            ):
                pending = spec.call()
                result: T = await pending if pending is not None else None  # type: ignore[assignment]
            ended = self.now()
            fields_now = dict(spec.fields(result)) if spec.fields else {}
            fields_now["entry_key"] = f"{occurrence}:{spec.step}"
            self.stamps.update({k: v for k, v in fields_now.items() if k.endswith("_at") and v})
            if spec.sla_stage is not None:
                await self._sla(spec.sla_stage, ended)
            system_ids = spec.system_ids
            entry = StepEntry(
                step=spec.step,  # type: ignore[arg-type]
                status=(spec.status(result) if spec.status else "succeeded"),  # type: ignore[arg-type]
                system=spec.system(result) if callable(spec.system) else spec.system,
                system_ids=(system_ids(result) if callable(system_ids) else system_ids) or {},
                attempts=attempts,
                started_at=started,
                ended_at=ended,
                detail=spec.detail(result) if spec.detail else "",
            )
            emitted = spec.events(result) if spec.events else []
            await self.flow.store.apply(
                TransactionChange(
                    tenant=self.tenant,
                    transaction_id=self.txid,
                    entry=entry,
                    state=spec.state,
                    fields=fields_now,
                    events=emitted,
                )
            )
            if emitted:
                await self.flow.stream.publish(emitted)
            self._count(spec.step, "succeeded" if attempts == 1 else "succeeded_after_retry")
            return result

        return self.guarded(attempt)

    async def follow(self, decision: Decision) -> None:
        """Apply an operator's decision: retry (with edits) continues, the rest close."""
        if decision.action == "retry":
            if decision.edits:
                merged = {
                    **msgspec.structs.asdict(self.edits),
                    **{k: v for k, v in decision.edits.items() if v not in (None, False)},
                }
                self.edits = msgspec.convert(merged, Edits)
            await self.set_state("running", None, None)
            return
        if decision.action == "compensate":
            await self.close("cancelled")
        await self.close("closed" if decision.action == "resolve" else "cancelled")

    async def close(self, state: TransactionState) -> None:
        await self.record(
            "decision",
            lambda: None,
            state=state,
            fields=lambda _: {"ended_at": self.now()},
            events=lambda _: (
                [self.event(ev.TRANSACTION_CANCELLED, self.txid, {"state": state})]
                if state == "cancelled"
                else []
            ),
            detail=lambda _: f"closed by an operator ({state})",
        )
        raise Stopped(state)

    async def set_state(
        self, state: TransactionState, stage: str | None, owner_system: str | None
    ) -> None:
        fields: dict[str, Any] = {}
        if stage is not None:
            fields["stage"] = stage
        if owner_system is not None:
            fields["owner_system"] = owner_system

        async def write() -> None:
            await self.flow.store.apply(
                TransactionChange(
                    tenant=self.tenant, transaction_id=self.txid, state=state, fields=fields
                )
            )

        await DBOS.run_step_async(self.retry_options(f"state.{state}"), self.guarded(write))

    async def park(
        self,
        kind: str,
        step: str,
        failure: StepFailed,
        history: list[dict[str, Any]],
        *,
        state: TransactionState | None = None,
        compensation: str | None = None,
        owner_code: str | None = None,
    ) -> Decision:
        """Stop in front of the owning team and wait, durably, for a decision."""
        policy = self.flow.policy
        self.occurrence += 1
        exception_id = derived_id("exception", self.tenant, self.txid, step, str(self.occurrence))
        state = state or ("dead_lettered" if kind == "dead_letter" else "exception")
        owner = policy.owner(failure.error_class, owner_code or failure.code)
        occurrence = self.occurrence

        async def write() -> None:
            now = self.now()
            item = ExceptionItem(
                id=exception_id,
                tenant=self.tenant,
                transaction_id=self.txid,
                kind=kind,  # type: ignore[arg-type]
                step=step,
                error_class=failure.error_class,
                code=failure.code,
                detail=failure.detail,
                owner=owner,
                legal_entity=self.validated.legal_entity if self.validated else None,
                system=failure.system,
                findings=[msgspec.convert(f, Finding) for f in failure.findings],
                errors=history,
                context=self._context(),
                compensation=compensation,
                created_at=now,
                updated_at=now,
                amount=self.validated.total if self.validated else failure.facts.get("amount"),
                currency=(
                    self.validated.currency if self.validated else failure.facts.get("currency")
                ),
            )
            kind_event = {"dead_letter": ev.DEAD_LETTERED}.get(
                kind, ev.NEEDS_ATTENTION if state == "needs_attention" else ev.EXCEPTION_RAISED
            )
            emitted = [
                self.event(
                    kind_event,
                    exception_id,
                    {
                        "exception_id": exception_id,
                        "step": step,
                        "class": failure.error_class,
                        "code": failure.code,
                        "owner": owner,
                        "detail": failure.detail,
                    },
                )
            ]
            await self.flow.store.apply(
                TransactionChange(
                    tenant=self.tenant,
                    transaction_id=self.txid,
                    entry=StepEntry(
                        step=step,  # type: ignore[arg-type]
                        status="failed",
                        system=failure.system,
                        attempts=max(1, len(history)),
                        started_at=now,
                        ended_at=now,
                        detail=f"{kind.replace('_', ' ')} {exception_id} -> {owner}",
                        error=failure.as_dict(),
                    ),
                    state=state,
                    fields={"entry_key": f"{occurrence}:{step}:parked", "stage": step},
                    events=emitted,
                    exception=item,
                )
            )
            await self.flow.stream.publish(emitted)
            log.warning(
                "transaction %s stopped at %s: %s %s -> %s",
                self.txid,
                step,
                failure.error_class,
                failure.code,
                owner,
                extra={"transaction_id": self.txid},
            )

        await DBOS.run_step_async(self.retry_options(f"park.{step}"), self.guarded(write))
        while True:
            message = await DBOS.recv_async(
                DECISION_TOPIC, timeout_seconds=policy.decision_timeout_seconds
            )
            if message is None:
                log.warning(
                    "transaction %s still waits for a decision on %s",
                    self.txid,
                    exception_id,
                    extra={"transaction_id": self.txid},
                )
                continue
            decision = msgspec.convert(message, Decision)
            if decision.exception_id == exception_id:
                return decision

    def _context(self) -> dict[str, Any]:
        context: dict[str, Any] = {
            "quote_id": self.start.quote_id,
            "edits": msgspec.structs.asdict(self.edits),
        }
        if self.validated is not None:
            context["customer_id"] = self.validated.customer_id
            context["quote_number"] = self.validated.quote_number
        if self.order is not None:
            context["order"] = msgspec.structs.asdict(self.order)
        if self.invoice is not None:
            context["invoice"] = msgspec.structs.asdict(self.invoice)
        return context

    async def _sla(self, stage_and_start: tuple[str, str], ended: str) -> None:
        stage, start_field = stage_and_start
        start = self.stamps.get(start_field)
        if start is None:  # re-run after a crash: the stamp is in the store
            transaction = await self.flow.store.get(self.tenant, self.txid)
            start = getattr(transaction, start_field, None) if transaction else None
        target = float(getattr(self.flow.policy.sla, stage))
        if start and seconds_between(start, ended) > target and self.flow.metrics is not None:
            self.flow.metrics.sla_breach(FLOW, stage)

    def _count(self, step: str, outcome: str) -> None:
        if self.flow.metrics is not None:
            self.flow.metrics.flow_step(FLOW, step, outcome)


@dataclass(frozen=True)
class _Spec(Generic[T]):
    """What one step does and how its outcome is recorded."""

    step: str
    call: Callable[[], Awaitable[T] | None]
    system: str | Callable[[T], str]
    system_ids: dict[str, str] | Callable[[T], dict[str, str]] | None
    state: TransactionState | None
    fields: Callable[[T], dict[str, Any]] | None
    events: Callable[[T], list[CanonicalEvent]] | None
    detail: Callable[[T], str] | None
    status: Callable[[T], str] | None
    sla_stage: tuple[str, str] | None


def _dependency_failure(error: BaseException) -> bool:
    return isinstance(error, StepFailed) and error.retryable
