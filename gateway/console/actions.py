"""What the console's forms do: the same calls as the /v1/ops API, with the signed-in
user as the actor, each audited like the API's write (same store, same operation id,
the user's subject as the consumer).

A form's fields become the API's request body (the contract Struct) and are validated
exactly as the API validates it; an invalid body, or one the flow's rules refuse,
changes nothing and comes back as field errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts.v1 import transactions as v1
from domains.errors import GatewayError, NotFound, ValidationFailed
from domains.quote_to_cash.records import ExceptionItem
from gateway.console.forms import FormField, body_from_form, error_map, struct_fields, validate
from gateway.console.queue import TeamScope
from gateway.flow.decisions import decide
from gateway.flow.runtime import Flow
from gateway.problems import status_of
from policies.audit import AuditStore, make_entry, record

# The API operation each console action is, for the audit trail, and its success status.
OPERATIONS: dict[str, tuple[str, int]] = {
    "assign": ("assignException", 200),
    "comment": ("commentException", 200),
    "retry": ("retryException", 202),
    "resolve": ("resolveException", 202),
    "dismiss": ("dismissException", 202),
    "compensate": ("compensateException", 202),
    "replay": ("replayDeadLetter", 202),
}
ACTIONS = frozenset(OPERATIONS) - {"replay"}

# The retry form: every member of the API's RetryRequest (edits flattened).
RETRY_FIELDS: tuple[FormField, ...] = tuple(struct_fields(v1.RetryRequest))
EDIT_FIELDS: tuple[FormField, ...] = tuple(f for f in RETRY_FIELDS if f.name != "note")


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in user acting, as the audit trail records them."""

    tenant: str
    subject: str
    can_act: bool
    scope: TeamScope
    trace_id: str = ""


class Refused(Exception):
    """The form was not acceptable: nothing changed. ``errors`` by field name ("" for
    the form as a whole), ``status`` as the API would have answered."""

    def __init__(self, status: int, errors: Mapping[str, str]) -> None:
        super().__init__(status)
        self.status = status
        self.errors = dict(errors)


class ViewerCannotAct(Exception):
    """A viewer posted an action: refused (403) before anything is read or changed."""


class ConsoleActions:
    def __init__(self, flow: Flow, audit: AuditStore | None) -> None:
        self._flow = flow
        self._audit = audit  # None: the audit trail is switched off

    async def visible(self, actor: Actor, exception_id: str) -> ExceptionItem:
        """The item, if it is the user's tenant's and one of their teams' (else 404,
        as for another tenant's record: its existence is not disclosed)."""
        item = await self._flow.exceptions.get(actor.tenant, exception_id)
        if not actor.scope.sees(item.owner):
            raise NotFound(f"Exception {exception_id} does not exist.", code="EXCEPTION_NOT_FOUND")
        return item

    async def perform(
        self, actor: Actor, action: str, exception_id: str, form: Mapping[str, str]
    ) -> ExceptionItem:
        """Run ``action`` on the item from the posted ``form``; Refused on bad input."""
        if not actor.can_act:
            raise ViewerCannotAct(actor.subject)
        item = await self.visible(actor, exception_id)
        if action == "replay" and item.kind != "dead_letter":
            raise NotFound(f"Dead letter {exception_id} does not exist.", code="NOT_A_DEAD_LETTER")
        call = self._call(actor, action, exception_id, form)
        return await self._audited(actor, action, exception_id, call)

    def _call(
        self, actor: Actor, action: str, exception_id: str, form: Mapping[str, str]
    ) -> Callable[[], Awaitable[ExceptionItem]]:
        flow, tenant, who = self._flow, actor.tenant, actor.subject
        if action == "assign":
            request = _decoded(v1.AssignRequest, {"assignee": who}, ())
            return lambda: flow.exceptions.assign(tenant, exception_id, who, request.assignee)
        if action == "comment":
            body = {"text": form.get("text", "")}
            comment = _decoded(v1.CommentRequest, body, ("text",))
            return lambda: flow.exceptions.comment(tenant, exception_id, who, comment.text)
        if action == "retry":
            retry = _decoded(v1.RetryRequest, body_from_form(RETRY_FIELDS, form),
                             tuple(f.name for f in RETRY_FIELDS))  # fmt: skip
            return lambda: decide(
                flow, tenant, who, exception_id, "retry", note=retry.note, edits=retry.edits
            )
        if action == "replay":
            return lambda: decide(flow, tenant, who, exception_id, "retry", note="replay")
        if action in ("resolve", "dismiss", "compensate"):
            note = form.get("note", "").strip()
            if action == "resolve" and not note:
                # The console asks for the reason the API leaves optional.
                raise Refused(422, {"note": "Give the reason the transaction is closed."})
            close = _decoded(v1.CloseRequest, {"note": note} if note else {}, ("note",))
            return lambda: decide(flow, tenant, who, exception_id, action, note=close.note)  # type: ignore[arg-type]
        raise NotFound(f"There is no action {action}.", code="NO_SUCH_ACTION")

    async def _audited(
        self,
        actor: Actor,
        action: str,
        exception_id: str,
        call: Callable[[], Awaitable[ExceptionItem]],
    ) -> ExceptionItem:
        operation, status = OPERATIONS[action]
        try:
            item = await call()
        except ValidationFailed as refused:
            await self._record(actor, operation, action, exception_id, status_of(refused))
            raise Refused(status_of(refused), _issues(refused)) from None
        except GatewayError as failed:
            await self._record(actor, operation, action, exception_id, status_of(failed))
            raise
        await self._record(actor, operation, action, exception_id, status)
        return item

    async def _record(
        self, actor: Actor, operation: str, action: str, exception_id: str, status: int
    ) -> None:
        if self._audit is None:
            return
        base = "dead-letters" if action == "replay" else "exceptions"
        entry = make_entry(
            tenant=actor.tenant,
            consumer=actor.subject,
            operation=operation,
            status=status,
            method="POST",
            route=f"/console/{base}/{{exception_id}}/{action}",
            resource_id=exception_id,
            trace_id=actor.trace_id,
        )
        await record(self._audit, entry)


def _decoded(target: type[Any], body: dict[str, Any], names: tuple[str, ...]) -> Any:
    decoded, issues = validate(target, body)
    if issues:
        fields = [FormField(n, n, "text") for n in names]
        raise Refused(422, error_map(issues, fields))
    return decoded


def _issues(error: ValidationFailed) -> dict[str, str]:
    fields = [FormField(f.name, f.label, f.kind) for f in RETRY_FIELDS]
    found = error_map(list(error.errors), fields)
    if not found:
        found[""] = error.detail
    return found
