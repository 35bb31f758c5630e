"""The console's pages under /console: the exception queue and its actions, a
transaction's timeline, dead letters, dashboards, and the queue's live counts.

Handlers receive the signed-in user as ``user: Injected[ConsoleUser]`` (the console router's
dependency) and read through the same services as /v1/ops and /v1/transactions
(``runtime.flow``), in the user's tenant and teams. Pages carry no route policy and
stay out of the API contract (``include_in_schema=False``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from domains.errors import GatewayError, NotConfigured
from domains.paging import PageRequest
from domains.quote_to_cash.clock import rfc3339
from domains.quote_to_cash.ports import ExceptionFilter
from domains.quote_to_cash.sla import stage_statuses
from gateway.console.actions import (
    ACTIONS,
    EDIT_FIELDS,
    Actor,
    ConsoleActions,
    Refused,
    ViewerCannotAct,
)
from gateway.console.auth import ConsoleUser, csrf_input
from gateway.console.figures import WINDOWS, Dashboard, cycle_times, daily, day_range
from gateway.console.html import PageLinks, Viewer, esc, html, notice, page
from gateway.console.queue import (
    ACTIVE,
    TeamScope,
    counts_filter,
    parse_filters,
    store_filter,
    team_scope,
)
from gateway.console.views.dashboards import dashboards_page
from gateway.console.views.dead_letters import dead_letters_page
from gateway.console.views.exception import ACTION_TITLES, FormState, exception_page
from gateway.console.views.queue import QueuePage, queue_page
from gateway.console.views.transaction import transaction_page, transactions_page
from gateway.flow.reports import sla_window
from gateway.flow.runtime import Flow
from gateway.flow.stream import cloud_event
from gateway.problems import status_of
from gateway.routes.dependencies import Injected
from gateway.routes.v1.transactions import running
from policies.context import request_context
from policies.metrics.report import governance_report

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_SIZE = 50
TRANSACTION_STATES = (
    "accepted", "running", "awaiting_fulfilment", "awaiting_payment", "exception",
    "dead_lettered", "needs_attention", "completed", "cancelled", "closed",
)  # fmt: skip
AnyRequest = Request[Any, Any, Any]
# The console router mounts page_handlers(settings, runtime); this static list is the
# fallback it reads when a pages module has no factory (none here).
PAGE_HANDLERS: list[Any] = []


class Console:
    """What the pages are built from: the runtime's flow and the console's settings."""

    def __init__(self, settings: Any, runtime: Any) -> None:
        self.settings = settings
        self.runtime = runtime
        self.config = settings.console
        self.audit = runtime.audit_store if settings.audit.enabled else None

    @property
    def flow(self) -> Flow:
        return running(self.runtime.flow)

    def scope(self, user: ConsoleUser) -> TeamScope:
        return team_scope(user.role, user.teams, self.flow.settings.policy)

    def viewer(self, user: ConsoleUser, request: AnyRequest) -> Viewer:
        return Viewer(user.name, user.role, user.teams, csrf_input(request), user.can_act,
                      user.tenant)

    def actor(self, user: ConsoleUser, request: AnyRequest) -> Actor:
        trace = request_context(request.scope).trace_id  # type: ignore[arg-type]
        return Actor(user.tenant, user.subject, user.can_act, self.scope(user), trace)

    def actions(self) -> ConsoleActions:
        return ConsoleActions(self.flow, self.audit)

    def choices(self) -> dict[str, list[str]]:
        policy = self.flow.settings.policy
        return {
            "payment_terms": sorted(policy.payment_terms),
            "legal_entity": sorted(policy.legal_entities),
        }


def _params(request: AnyRequest) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if isinstance(v, str)}


async def _form(request: AnyRequest) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _back(form: dict[str, str], fallback: str) -> str:
    """Where a form returns to: one of the console's own pages only."""
    back = form.get("back", "")
    if back.startswith("/console/") and "//" not in back and "\\" not in back:
        return back
    return fallback


def _links(flow: Flow, paging: PageRequest, found: int, base: str,
           cursor: str | None) -> PageLinks:
    """A page of ``paging.limit`` read with one more row: links to the first page and,
    when that extra row came back, to the next."""
    following = paging.offset + paging.limit if found > paging.limit else None
    return PageLinks.of(base, cursor, flow.pager.cursor(paging, following))


def error_page(viewer: Viewer, status: int, title: str, text: str) -> Response[str]:
    main = f"<h1>{esc(title)}</h1>" + notice(esc(text), "error") + (
        '<p><a href="/console/exceptions">Back to the exception queue</a></p>'
    )
    return html(page(title, main, current="", viewer=viewer), status)


def _failure(viewer: Viewer, error: GatewayError) -> Response[str]:
    status = status_of(error)
    title = "Not found" if status == 404 else "Not available"
    return error_page(viewer, status, title, error.detail)


def page_handlers(settings: Any, runtime: Any) -> list[Any]:
    """The console's page handlers and its static files."""
    console = Console(settings, runtime)
    static = create_static_files_router(
        path="/console/static",
        directories=[STATIC_DIR],
        include_in_schema=False,
        cache_control=CacheControlHeader(public=True, max_age=3600),
        name="console-static",
    )
    return [static, *_queue_routes(console), *_other_routes(console)]


def _queue_routes(console: Console) -> list[HTTPRouteHandler]:
    # The console's home is the queue (where sign-in lands).
    @get(["/console", "/console/exceptions"], include_in_schema=False)
    async def queue(request: AnyRequest, user: Injected[ConsoleUser]) -> Response[str]:
        viewer = console.viewer(user, request)
        try:
            flow = console.flow
            scope = console.scope(user)
            params = _params(request)
            chosen, issues = parse_filters(params, scope)
            where = store_filter(chosen, scope, kind="exception")
            cursor = params.get("cursor") or None
            paging = flow.pager.request(user.tenant, cursor, PAGE_SIZE, "console-queue", where)
            items = await flow.exceptions.list(
                user.tenant, where, paging.offset, paging.limit + 1
            )
            counts = await flow.exceptions.counts(user.tenant, counts_filter(scope))
        except NotConfigured as disabled:  # no flow here: nothing to queue, not an error
            main = "<h1>Exception queue</h1>" + notice(esc(disabled.detail), "info")
            return html(page("Exception queue", main, current="exceptions", viewer=viewer))
        except GatewayError as error:
            return _failure(viewer, error)
        query = chosen.query()
        data = QueuePage(
            filters=chosen,
            issues=issues,
            items=items[: paging.limit],
            counts=counts,
            scope=scope,
            links=_links(flow, paging, len(items),
                         "/console/exceptions" + (f"?{query}" if query else ""), cursor),
            refresh_seconds=console.config.refresh_seconds,
            done=ACTION_TITLES.get(params.get("done", ""), ""),
        )
        return html(queue_page(data, viewer, user.subject, datetime.now(UTC)))

    @get("/console/exceptions/counts", include_in_schema=False)
    async def counts(user: Injected[ConsoleUser]) -> Response[dict[str, Any]]:
        flow = console.flow
        scope = console.scope(user)
        found = await flow.exceptions.counts(user.tenant, counts_filter(scope))
        teams = sorted(set(scope.teams if scope.teams is not None else ()) | set(found))
        body = {
            "teams": {team: found.get(team, 0) for team in teams},
            "total": sum(found.values()),
            "at": rfc3339(datetime.now(UTC)),
        }
        return Response(
            body, media_type=MediaType.JSON, headers={"cache-control": "no-store"}
        )

    @get("/console/exceptions/{exception_id:str}", include_in_schema=False)
    async def detail(
        request: AnyRequest, user: Injected[ConsoleUser], exception_id: FromPath[str]
    ) -> Response[str]:
        viewer = console.viewer(user, request)
        try:
            item = await console.actions().visible(console.actor(user, request), exception_id)
        except GatewayError as error:
            return _failure(viewer, error)
        done = request.query_params.get("done", "")
        return html(exception_page(
            item, viewer, user.subject, datetime.now(UTC), edit_fields=EDIT_FIELDS,
            choices=console.choices(), done=done if isinstance(done, str) else "",
        ))  # fmt: skip

    @post("/console/exceptions/{exception_id:str}/{action:str}", include_in_schema=False)
    async def act(
        request: AnyRequest,
        user: Injected[ConsoleUser],
        exception_id: FromPath[str],
        action: FromPath[str],
    ) -> Response[Any]:
        viewer = console.viewer(user, request)
        if action not in ACTIONS:
            return error_page(viewer, 404, "Not found", f"There is no action {action}.")
        form = await _form(request)
        actor = console.actor(user, request)
        name = form.get("form", action) if action == "retry" else action
        try:
            await console.actions().perform(actor, action, exception_id, form)
        except ViewerCannotAct:
            return error_page(viewer, 403, "Not allowed",
                              "Your role (viewer) can read the queue but not act on it.")
        except Refused as refused:
            status, errors = refused.status, refused.errors
        except GatewayError as error:
            if status_of(error) == 404:
                return _failure(viewer, error)
            status, errors = status_of(error), {"": error.detail}
        else:
            target = f"/console/exceptions/{exception_id}"
            if action == "assign":
                target = _back(form, target)
            join = "&" if "?" in target else "?"
            return Redirect(f"{target}{join}done={action}", status_code=303)
        # Nothing changed: the page again, with what was typed and what was wrong.
        try:
            item = await console.actions().visible(actor, exception_id)
        except GatewayError as error:
            return _failure(viewer, error)
        state = FormState(form=name, values=form, errors=errors)
        return html(exception_page(
            item, viewer, user.subject, datetime.now(UTC), edit_fields=EDIT_FIELDS,
            choices=console.choices(), state=state,
        ), status)  # fmt: skip

    return [queue, counts, detail, act]


def _other_routes(console: Console) -> list[HTTPRouteHandler]:
    @get("/console/transactions", include_in_schema=False)
    async def transactions(request: AnyRequest, user: Injected[ConsoleUser]) -> Response[Any]:
        viewer = console.viewer(user, request)
        params = _params(request)
        wanted = params.get("id", "").strip()
        if wanted:
            return Redirect(f"/console/transactions/{wanted}", status_code=303)
        state = params.get("state", "")
        state = state if state in TRANSACTION_STATES else ""
        try:
            flow = console.flow
            cursor = params.get("cursor") or None
            paging = flow.pager.request(user.tenant, cursor, PAGE_SIZE, "console-tx", state)
            found = await flow.transactions.find(
                user.tenant, quote_id=None, state=state or None, offset=paging.offset,
                limit=paging.limit + 1,
            )  # fmt: skip
        except GatewayError as error:
            return _failure(viewer, error)
        base = "/console/transactions" + (f"?state={state}" if state else "")
        return html(transactions_page(
            found[: paging.limit], viewer, datetime.now(UTC), state=state,
            states=TRANSACTION_STATES, links=_links(flow, paging, len(found), base, cursor),
        ))  # fmt: skip

    @get("/console/transactions/{transaction_id:str}", include_in_schema=False)
    async def transaction(
        request: AnyRequest, user: Injected[ConsoleUser], transaction_id: FromPath[str]
    ) -> Response[str]:
        viewer = console.viewer(user, request)
        try:
            flow = console.flow
            record = await flow.transactions.get(user.tenant, transaction_id)
            events = await flow.store.events_of(user.tenant, transaction_id, 1000)
            raised = await flow.exceptions.list(
                user.tenant, ExceptionFilter(transaction_id=transaction_id), 0, 200
            )
        except GatewayError as error:
            return _failure(viewer, error)
        scope = console.scope(user)
        shown = [x for x in raised if scope.sees(x.owner)]
        statuses = stage_statuses(record, flow.settings.policy.sla, datetime.now(UTC))
        return html(transaction_page(
            record, statuses, [cloud_event(e) for _, e in events], shown,
            len(raised) - len(shown), viewer, console.config.record_urls,
        ))  # fmt: skip

    @get("/console/dead-letters", include_in_schema=False)
    async def dead_letters(request: AnyRequest, user: Injected[ConsoleUser]) -> Response[str]:
        viewer = console.viewer(user, request)
        params = _params(request)
        show_all = params.get("state") == "all"
        try:
            flow = console.flow
            scope = console.scope(user)
            where = ExceptionFilter(
                kind="dead_letter", owners=scope.teams, states=None if show_all else ACTIVE
            )
            cursor = params.get("cursor") or None
            paging = flow.pager.request(user.tenant, cursor, PAGE_SIZE, "console-dlq", where)
            items = await flow.exceptions.list(
                user.tenant, where, paging.offset, paging.limit + 1
            )
        except GatewayError as error:
            return _failure(viewer, error)
        base = "/console/dead-letters" + ("?state=all" if show_all else "")
        done = params.get("done", "")
        return html(dead_letters_page(
            items[: paging.limit], viewer, datetime.now(UTC), show_all=show_all,
            links=_links(flow, paging, len(items), base, cursor),
            done=ACTION_TITLES["replay"] if done == "replay" else "",
        ))  # fmt: skip

    @post("/console/dead-letters/{exception_id:str}/replay", include_in_schema=False)
    async def replay(
        request: AnyRequest, user: Injected[ConsoleUser], exception_id: FromPath[str]
    ) -> Response[Any]:
        viewer = console.viewer(user, request)
        form = await _form(request)
        try:
            await console.actions().perform(
                console.actor(user, request), "replay", exception_id, form
            )
        except ViewerCannotAct:
            return error_page(viewer, 403, "Not allowed",
                              "Your role (viewer) can read dead letters but not replay them.")
        except GatewayError as error:
            if status_of(error) == 404:
                return _failure(viewer, error)
            return error_page(viewer, status_of(error), "Not replayed", error.detail)
        target = _back(form, "/console/dead-letters")
        join = "&" if "?" in target else "?"
        return Redirect(f"{target}{join}done=replay", status_code=303)

    @get("/console/dashboards", include_in_schema=False)
    async def dashboards(request: AnyRequest, user: Injected[ConsoleUser]) -> Response[str]:
        viewer = console.viewer(user, request)
        raw = request.query_params.get("days", "30")
        days = int(raw) if isinstance(raw, str) and raw.isdigit() else 30
        days = days if days in WINDOWS else 30
        now = datetime.now(UTC)
        first = (now - timedelta(days=days - 1)).date()
        since = rfc3339(datetime(first.year, first.month, first.day, tzinfo=UTC))
        try:
            flow = console.flow
            scope = console.scope(user)
            window = await sla_window(flow, user.tenant, since, now)
            activity = await flow.store.exception_activity(
                user.tenant, ExceptionFilter(owners=scope.teams), since
            )
        except GatewayError as error:
            return _failure(viewer, error)
        report = None
        if console.settings.metrics.enabled:
            tenant = None if user.role == "admin" else user.tenant
            report = governance_report(console.runtime.metrics, tenant=tenant)
        data = Dashboard(
            window_days=days,
            since=since,
            sla=window.figures,
            series=daily(window.transactions, window.statuses, day_range(first, now.date())),
            cycle=cycle_times(window.transactions),
            activity=activity,
            governance=report,
            all_systems=user.role == "admin",
        )  # fmt: skip
        return html(dashboards_page(data, viewer))

    return [transactions, transaction, dead_letters, replay, dashboards]

