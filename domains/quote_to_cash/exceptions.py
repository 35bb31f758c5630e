"""The exception queue: stopped transactions in front of their owning teams.

Operators list, assign, comment, retry (optionally with edited input), resolve
or dismiss. Every action is recorded on the item with its actor; the ones that
move the transaction (retry, resolve, dismiss, compensate) are sent to the
waiting transaction, which re-runs only the step that stopped.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from domains.errors import Conflict, NotFound
from domains.quote_to_cash.clock import Clock
from domains.quote_to_cash.ports import DecisionChannel, ExceptionFilter, TransactionStore
from domains.quote_to_cash.records import (
    ACTIVE_EXCEPTION_STATES,
    ActionEntry,
    Comment,
    Decision,
    ExceptionItem,
)
from domains.quote_to_cash.validation import Edits

Action = Literal["retry", "resolve", "dismiss", "compensate"]


class ExceptionQueue:
    def __init__(self, *, store: TransactionStore, channel: DecisionChannel, clock: Clock) -> None:
        self._store = store
        self._channel = channel
        self._clock = clock

    async def list(
        self, tenant: str, where: ExceptionFilter, offset: int, limit: int
    ) -> list[ExceptionItem]:
        return await self._store.exceptions(tenant, where, offset, limit)

    async def counts(self, tenant: str, where: ExceptionFilter) -> dict[str, int]:
        """How many items match, per owning team (the queue's counts)."""
        return await self._store.exception_counts(tenant, where)

    async def get(self, tenant: str, exception_id: str) -> ExceptionItem:
        item = await self._store.exception(tenant, exception_id)
        if item is None:
            raise NotFound(f"Exception {exception_id} does not exist.", code="EXCEPTION_NOT_FOUND")
        return item

    async def assign(
        self, tenant: str, exception_id: str, actor: str, assignee: str
    ) -> ExceptionItem:
        item = self._active(await self.get(tenant, exception_id), "assign")
        item.assignee = assignee
        item.state = "assigned"
        return await self._record(item, actor, "assign", f"to {assignee}", touch=False)

    async def comment(self, tenant: str, exception_id: str, actor: str, text: str) -> ExceptionItem:
        item = await self.get(tenant, exception_id)
        now = self._clock.now()
        item.comments = [*item.comments, Comment(author=actor, text=text, at=now)]
        return await self._record(item, actor, "comment", "", touch=False)

    async def act(
        self,
        tenant: str,
        exception_id: str,
        actor: str,
        action: Action,
        *,
        edits: Edits | None = None,
        note: str = "",
    ) -> ExceptionItem:
        item = self._active(await self.get(tenant, exception_id), action)
        if action == "compensate" and not item.compensation:
            raise Conflict(
                f"Exception {exception_id} offers no compensation.", code="NO_COMPENSATION"
            )
        item.state = "dismissed" if action == "dismiss" else "resolved"
        detail = note
        if edits is not None and edits != Edits():
            detail = (
                (note + " " if note else "")
                + "edits: "
                + msgspec.json.encode(
                    {
                        k: v
                        for k, v in msgspec.structs.asdict(edits).items()
                        if v not in (None, False)
                    }
                ).decode()
            )
        item = await self._record(item, actor, action, detail, touch=True)
        await self._channel.decide(
            item.transaction_id,
            Decision(
                action=action,
                exception_id=item.id,
                actor=actor,
                edits=msgspec.structs.asdict(edits) if edits is not None else {},
            ),
        )
        return item

    def _active(self, item: ExceptionItem, action: str) -> ExceptionItem:
        if item.state not in ACTIVE_EXCEPTION_STATES:
            raise Conflict(
                f"Exception {item.id} is {item.state}; it cannot be {action}ed any more.",
                code="EXCEPTION_CLOSED",
            )
        return item

    async def _record(
        self, item: ExceptionItem, actor: str, action: str, detail: str, *, touch: bool
    ) -> ExceptionItem:
        now = self._clock.now()
        item.actions = [
            *item.actions,
            ActionEntry(action=action, actor=actor, at=now, detail=detail),
        ]
        item.updated_at = now
        await self._store.save_exception(item, touch_transaction=touch)
        return item


def filters(
    *,
    kind: str | None = None,
    error_class: str | None = None,
    owner: str | None = None,
    state: str | None = None,
    legal_entity: str | None = None,
    older_than_seconds: float | None = None,
) -> ExceptionFilter:
    return ExceptionFilter(
        kind=kind,
        error_class=error_class,
        owner=owner,
        state=state,
        legal_entity=legal_entity,
        older_than_seconds=older_than_seconds,
    )
