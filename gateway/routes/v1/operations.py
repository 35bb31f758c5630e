"""/v1/ops: the exception queue, dead letters and the SLA report (ops:read / ops:write).

Every action is an audited POST by the calling application, recorded on the item
too; retry, resolve, dismiss and compensate reach the waiting transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from contracts.v1 import transactions as v1
from contracts.v1.common import LegalEntity
from domains.quote_to_cash.clock import rfc3339
from domains.quote_to_cash.exceptions import Action, filters
from domains.quote_to_cash.ports import ExceptionFilter
from gateway.flow.decisions import decide
from gateway.flow.reports import sla_window
from gateway.flow.runtime import Flow
from gateway.routes.common import (
    DEFAULT_PAGE,
    ETAG_HEADER,
    READ,
    CursorParam,
    Limit,
    governed_route,
    id_parameter,
    tagged,
)
from gateway.routes.dependencies import Caller, Injected
from gateway.routes.v1 import flow_representation as represent
from gateway.routes.v1.transactions import running

ExceptionIdPath = Annotated[str, id_parameter("exc", "exception", PathParameter)]
Team = Annotated[str | None, QueryParameter(max_length=64, description="Owning team")]
AgeQuery = Annotated[
    int,
    QueryParameter(
        ge=0, le=366 * 86400, description="Only items older than this (seconds; 0: any age)"
    ),
]
LegalEntityFilter = Annotated[
    LegalEntity | None,
    QueryParameter(description="Legal entity", max_length=20, pattern=r"^[A-Z0-9][A-Z0-9-]{0,19}$"),
]
ExceptionStateQuery = Annotated[
    Literal["open", "assigned", "resolved", "dismissed"] | None,
    QueryParameter(name="state", description="Exception state"),
]
WRITE_ERRORS = (400, 404, 409, 422, 500, 503)


async def _page(
    flow: Flow,
    tenant: str,
    where: ExceptionFilter,
    cursor: str | None,
    limit: int,
) -> v1.ExceptionPage:
    request = flow.pager.request(tenant, cursor, limit, "exceptions", where)
    items = await flow.exceptions.list(tenant, where, request.offset, request.limit + 1)
    more = len(items) > request.limit
    return v1.ExceptionPage(
        data=[represent.exception(i) for i in items[: request.limit]],
        next_cursor=flow.pager.cursor(request, request.offset + request.limit if more else None),
    )


class ExceptionController(Controller):
    path = "/ops/exceptions"
    tags = ["operations"]

    @get(
        operation_id="listExceptions",
        description="Filter by `class`, owning team, state, legal entity and age "
        "(`older_than_seconds`). "
        "Each item lists its findings, error history and the actions it offers.",
        summary="The exception queue: stopped transactions with their owning team",
        **governed_route("ops:read", errors=READ),
    )
    async def list_exceptions(
        self,
        flow: Injected[Flow | None],
        caller: Injected[Caller],
        error_class: Annotated[
            v1.ErrorClass | None, QueryParameter(name="class", description="Error class")
        ] = None,
        owner: Team = None,
        state_filter: ExceptionStateQuery = None,
        legal_entity: LegalEntityFilter = None,
        older_than_seconds: AgeQuery = 0,
        kind: FromQuery[Literal["exception", "dead_letter"] | None] = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> v1.ExceptionPage:
        where = filters(
            kind=kind,
            error_class=error_class,
            owner=owner,
            state=state_filter,
            legal_entity=legal_entity,
            older_than_seconds=older_than_seconds or None,
        )
        return await _page(running(flow), caller.tenant, where, cursor, limit)

    @get(
        "/{exception_id:str}",
        operation_id="getException",
        description="With the transaction's context when it stopped, comments and every "
        "audited action.",
        summary="One exception with its findings, error history, comments and actions",
        **governed_route("ops:read", errors=(*READ, 404), headers=(ETAG_HEADER,)),
    )
    async def get_exception(
        self, exception_id: ExceptionIdPath, flow: Injected[Flow | None], caller: Injected[Caller]
    ) -> Response[v1.TransactionException]:
        item = await running(flow).exceptions.get(caller.tenant, exception_id)
        return tagged(represent.exception(item))

    @post(
        "/{exception_id:str}/assign",
        status_code=200,
        operation_id="assignException",
        description="Audited (ops:write): the actor is the calling application.",
        summary="Assign an exception to a person",
        **governed_route("ops:write", errors=WRITE_ERRORS),
    )
    async def assign(
        self,
        exception_id: ExceptionIdPath,
        data: JSONBody[v1.AssignRequest],
        flow: Injected[Flow | None],
        caller: Injected[Caller],
    ) -> v1.TransactionException:
        item = await running(flow).exceptions.assign(
            caller.tenant, exception_id, caller.client_id, data.assignee
        )
        return represent.exception(item)

    @post(
        "/{exception_id:str}/comment",
        status_code=200,
        operation_id="commentException",
        description="Audited (ops:write): the actor is the calling application.",
        summary="Add a comment to an exception",
        **governed_route("ops:write", errors=WRITE_ERRORS),
    )
    async def comment(
        self,
        exception_id: ExceptionIdPath,
        data: JSONBody[v1.CommentRequest],
        flow: Injected[Flow | None],
        caller: Injected[Caller],
    ) -> v1.TransactionException:
        item = await running(flow).exceptions.comment(
            caller.tenant, exception_id, caller.client_id, data.text
        )
        return represent.exception(item)

    @post(
        "/{exception_id:str}/retry",
        status_code=202,
        operation_id="retryException",
        summary="Re-run the step that stopped, optionally with edited input",
        description="`edits` is validated against the contract (unknown fields, formats) "
        "and against the flow's rules (agreed payment terms) before anything is sent.",
        **governed_route("ops:write", errors=WRITE_ERRORS),
    )
    async def retry(
        self,
        exception_id: ExceptionIdPath,
        data: JSONBody[v1.RetryRequest],
        flow: Injected[Flow | None],
        caller: Injected[Caller],
    ) -> v1.TransactionException:
        return await _act(running(flow), caller, exception_id, "retry", data.note, data.edits)

    @post(
        "/{exception_id:str}/resolve",
        status_code=202,
        operation_id="resolveException",
        description="The operator handled it outside the flow; the transaction ends "
        "`closed`. Audited.",
        summary="Close the transaction: handled outside the flow",
        **governed_route("ops:write", errors=WRITE_ERRORS),
    )
    async def resolve(
        self,
        exception_id: ExceptionIdPath,
        data: JSONBody[v1.CloseRequest],
        flow: Injected[Flow | None],
        caller: Injected[Caller],
    ) -> v1.TransactionException:
        return await _act(running(flow), caller, exception_id, "resolve", data.note)

    @post(
        "/{exception_id:str}/dismiss",
        status_code=202,
        operation_id="dismissException",
        description="The transaction ends `cancelled`. Audited.",
        summary="Cancel the transaction",
        **governed_route("ops:write", errors=WRITE_ERRORS),
    )
    async def dismiss(
        self,
        exception_id: ExceptionIdPath,
        data: JSONBody[v1.CloseRequest],
        flow: Injected[Flow | None],
        caller: Injected[Caller],
    ) -> v1.TransactionException:
        return await _act(running(flow), caller, exception_id, "dismiss", data.note)

    @post(
        "/{exception_id:str}/compensate",
        status_code=202,
        operation_id="compensateException",
        description="Only where compensation is offered (`actions_available`). Audited.",
        summary="Run the offered compensation (cancel or hold the ERP order, void tax)",
        **governed_route("ops:write", errors=WRITE_ERRORS),
    )
    async def compensate(
        self,
        exception_id: ExceptionIdPath,
        data: JSONBody[v1.CloseRequest],
        flow: Injected[Flow | None],
        caller: Injected[Caller],
    ) -> v1.TransactionException:
        return await _act(running(flow), caller, exception_id, "compensate", data.note)


async def _act(
    flow: Flow,
    caller: Caller,
    exception_id: str,
    action: Action,
    note: str,
    edits: v1.TransactionEdits | None = None,
) -> v1.TransactionException:
    item = await decide(
        flow, caller.tenant, caller.client_id, exception_id, action, note=note, edits=edits
    )
    return represent.exception(item)


class DeadLetterController(Controller):
    path = "/ops/dead-letters"
    tags = ["operations"]

    @get(
        operation_id="listDeadLetters",
        description="Each keeps its error history (every attempt); replay re-runs only the "
        "failed step.",
        summary="Transactions parked after a dependency stayed down past the retry budget",
        **governed_route("ops:read", errors=READ),
    )
    async def list_dead_letters(
        self,
        flow: Injected[Flow | None],
        caller: Injected[Caller],
        state_filter: ExceptionStateQuery = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> v1.ExceptionPage:
        where = filters(kind="dead_letter", state=state_filter)
        return await _page(running(flow), caller.tenant, where, cursor, limit)

    @post(
        "/{exception_id:str}/replay",
        status_code=202,
        operation_id="replayDeadLetter",
        description="The transaction continues from the step that failed, with a fresh "
        "retry budget; "
        "its completed steps (and their writes) are never repeated. Audited.",
        summary="Replay from the failed step (completed writes are never repeated)",
        **governed_route("ops:write", errors=WRITE_ERRORS),
    )
    async def replay(
        self,
        exception_id: ExceptionIdPath,
        flow: Injected[Flow | None],
        caller: Injected[Caller],
    ) -> v1.TransactionException:
        return await _act(running(flow), caller, exception_id, "retry", "replay")


SinceQuery = Annotated[
    str | None,
    QueryParameter(max_length=40, description="RFC 3339 start of the window (default: 30 days)"),
]


class SlaController(Controller):
    path = "/ops/sla"
    tags = ["operations"]

    @get(
        operation_id="getSlaReport",
        description="Per stage (accepted -> order -> invoice -> paid): counts, p50/p95 and "
        "breaches; "
        "order fallout rate, manual touch rate and close-to-cash cycle time.",
        summary="SLA per stage (count, p50, p95, breaches) and the business figures",
        **governed_route("ops:read", errors=READ),
    )
    async def sla_report(
        self, flow: Injected[Flow | None], caller: Injected[Caller], since: SinceQuery = None
    ) -> v1.SlaReport:
        flow = running(flow)
        now = datetime.now(UTC)
        start = since or rfc3339(now - timedelta(days=30))
        figures = (await sla_window(flow, caller.tenant, start, now)).figures
        return v1.SlaReport(
            since=start,
            transactions=figures.transactions,
            completed=figures.completed,
            open_exceptions=figures.open_exceptions,
            stages=[
                v1.StageFigures(
                    stage=s.stage,
                    target_seconds=s.target_seconds,
                    completed=s.completed,
                    running=s.running,
                    breached=s.breached,
                    p50_seconds=s.p50_seconds,
                    p95_seconds=s.p95_seconds,
                )
                for s in figures.stages
            ],
            order_fallout_rate=figures.order_fallout_rate,
            manual_touch_rate=figures.manual_touch_rate,
            close_to_cash_p50_seconds=figures.close_to_cash_p50_seconds,
            close_to_cash_p95_seconds=figures.close_to_cash_p95_seconds,
        )
