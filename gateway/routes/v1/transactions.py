"""Quote-to-cash transactions: accept a quote, follow its transaction, read the events."""

from __future__ import annotations

import base64
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import PathParameter, QueryParameter

from contracts.events import EventPage
from contracts.v1 import transactions as v1
from domains.errors import BadRequest, FieldIssue, NotConfigured, NotFound
from domains.paging import DEFAULT_LIMIT
from gateway.flow.runtime import Flow
from gateway.flow.stream import cloud_event
from gateway.routes.common import (
    DEFAULT_PAGE,
    ETAG_HEADER,
    LOCATION_HEADER,
    READ,
    CursorParam,
    Limit,
    QuoteIdPath,
    governed_route,
    id_parameter,
    tagged,
)
from gateway.routes.dependencies import Caller, Injected
from gateway.routes.v1 import flow_representation as represent

TransactionIdPath = Annotated[str, id_parameter("txn", "transaction", PathParameter)]
QuoteIdQuery = Annotated[str | None, id_parameter("quo", "quote")]


def running(flow: Flow | None) -> Flow:
    if flow is None:
        raise NotConfigured(
            "Quote-to-cash transactions are disabled in this deployment ([flow] enabled = false).",
            code="FLOW_DISABLED",
        )
    return flow


class QuoteAcceptController(Controller):
    path = "/quotes"
    tags = ["transactions"]

    @post(
        "/{quote_id:str}/accept",
        status_code=202,
        operation_id="acceptQuote",
        summary="Start the quote-to-cash transaction of an accepted quote",
        description="Records the transaction and hands it to a worker; answers at once. "
        "The same quote accepted twice (another key, the CRM's event, another gateway) "
        "is one transaction. Follow it at `Location`.",
        **governed_route(
            "orders:write",
            errors=(*READ, 404),
            idempotency="required",
            headers=(LOCATION_HEADER,),
        ),
    )
    async def accept_quote(
        self, quote_id: QuoteIdPath, flow: Injected[Flow | None], caller: Injected[Caller]
    ) -> Response[v1.AcceptedTransaction]:
        flow = running(flow)
        await _known_quote(flow, caller.tenant, quote_id)
        record, created = await flow.transactions.accept(
            caller.tenant, quote_id, source="api", traceparent=caller.traceparent
        )
        return Response(
            v1.AcceptedTransaction(
                transaction_id=record.id, quote_id=quote_id, state=record.state, created=created
            ),
            status_code=202,
            headers={"Location": f"/v1/transactions/{record.id}"},
        )


async def _known_quote(flow: Flow, tenant: str, quote_id: str) -> None:
    """The quote must be one this tenant has seen (its canonical id); a look-up in the
    crosswalk only: the CRM is read by the worker."""
    crosswalks = flow.extra["crosswalks"]
    if not await crosswalks(tenant).system_ids(quote_id):
        raise NotFound(f"Quote {quote_id} does not exist.", code="QUOTE_NOT_FOUND")


class TransactionController(Controller):
    path = "/transactions"
    tags = ["transactions"]

    @get(
        "/{transaction_id:str}",
        operation_id="getTransaction",
        summary="A transaction with its timeline across CRM, ERP, billing and payment",
        description="Each timeline entry names the step, the system and its record ids, "
        "attempts and times; `owner_system` owns the current state; `sla` says per stage "
        "whether the target was met, is running or was breached.",
        **governed_route("orders:read", errors=(*READ, 404), headers=(ETAG_HEADER,)),
    )
    async def get_transaction(
        self,
        transaction_id: TransactionIdPath,
        flow: Injected[Flow | None],
        caller: Injected[Caller],
    ) -> Response[v1.Transaction]:
        flow = running(flow)
        record = await flow.transactions.get(caller.tenant, transaction_id)
        return tagged(represent.transaction(record, flow.settings.policy.sla))

    @get(
        operation_id="listTransactions",
        summary="List transactions, by quote and state",
        description="Newest first, without their timelines (read one transaction for it).",
        **governed_route("orders:read", errors=READ),
    )
    async def list_transactions(
        self,
        flow: Injected[Flow | None],
        caller: Injected[Caller],
        quote_id: QuoteIdQuery = None,
        state_filter: Annotated[
            v1.TransactionState | None, QueryParameter(name="state", description="State")
        ] = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> v1.TransactionPage:
        flow = running(flow)
        request = flow.pager.request(
            caller.tenant, cursor, limit, "transactions", quote_id, state_filter
        )
        found = await flow.transactions.find(
            caller.tenant,
            quote_id=quote_id,
            state=state_filter,
            offset=request.offset,
            limit=request.limit + 1,
        )
        following = request.offset + request.limit if len(found) > request.limit else None
        return v1.TransactionPage(
            data=[
                represent.transaction(t, flow.settings.policy.sla, timeline=False)
                for t in found[: request.limit]
            ],
            next_cursor=flow.pager.cursor(request, following),
        )


After = Annotated[
    int,
    QueryParameter(
        ge=0, le=2**53, description="Position of the last event seen (0: from the start)"
    ),
]


class EventController(Controller):
    path = "/events"
    tags = ["transactions"]

    @get(
        operation_id="listEvents",
        summary="Canonical events (CloudEvents 1.0) after a position, oldest first",
        description="The durable feed of the tenant's transaction events (the same events "
        "go to the tenant's Redis Stream; see openapi/asyncapi.json). Pass the last "
        "`next_after` as `after` (or `next_cursor` as `cursor`); consumers de-duplicate by "
        "event `id`.",
        **governed_route("orders:read", errors=READ),
    )
    async def list_events(
        self,
        flow: Injected[Flow | None],
        caller: Injected[Caller],
        after: After = 0,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> EventPage:
        flow = running(flow)
        if cursor is not None:  # the opaque form of ``after`` (the list convention)
            after = _position(cursor)
        rows = await flow.store.events_after(caller.tenant, after, limit)
        last = rows[-1][0] if rows else after
        return EventPage(
            data=[cloud_event(event) for _, event in rows],
            next_after=last,
            next_cursor=_cursor(last) if len(rows) == limit else None,
        )


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"events:{position}".encode()).decode().rstrip("=")


def _position(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "events" and value.isdigit():
            return int(value)
    except (ValueError, UnicodeDecodeError):
        pass
    raise BadRequest(
        "The cursor is not one this API issued.",
        code="INVALID_CURSOR",
        errors=(FieldIssue(field="cursor", message="Not an events cursor."),),
    )
