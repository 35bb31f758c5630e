"""The Litestar routes: GET /metrics (Prometheus text) and GET /v1/ops/governance.

Both take ``opt`` explicitly, so mounting one without deciding who may read it
is impossible; the gateway passes ``governed("ops:read")``. What a caller sees is
its ``view``: a tenant's token sees that tenant's calls and consumers alone; the
global view needs ``ops:admin`` (or no tenancy: a public route, auth switched off).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, cast

from litestar import Request, Response, get
from litestar.datastructures import ResponseHeader
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from policies.asgi import Scope
from policies.auth.scopes import OPS_ADMIN
from policies.context import request_context
from policies.metrics.registry import GatewayMetrics
from policies.metrics.report import GovernanceReport, governance_report

GOVERNANCE_PATH = "/v1/ops/governance"

# The tenant whose data a request may see, or None for the global view.
View = Callable[[Scope], str | None]


def caller_view(*, tenancy: bool = True) -> View:
    """The caller's tenant, unless it holds ``ops:admin``; the global view for callers
    without a consumer (a public route) and when there is no tenancy (auth off)."""

    def view(scope: Scope) -> str | None:
        consumer = request_context(scope).consumer
        if not tenancy or consumer is None or OPS_ADMIN in consumer.scopes:
            return None
        return consumer.tenant

    return view


def _scope(request: Request[Any, Any, Any]) -> Scope:
    return cast("Scope", request.scope)


def metrics_route(
    metrics: GatewayMetrics,
    *,
    opt: dict[str, Any],
    path: str | None = None,
    responses: Mapping[int, ResponseSpec] | None = None,
    response_headers: Sequence[ResponseHeader] | None = None,
    view: View | None = None,
) -> HTTPRouteHandler:
    """GET ``path`` (default ``config.path``): the registry in the Prometheus text format.

    A scraper asking for ``application/openmetrics-text`` gets OpenMetrics.
    """
    seen_by = view or caller_view()

    @get(
        path or metrics.config.path,
        opt=opt,
        operation_id="getMetrics",
        tags=["operations"],
        summary="Prometheus metrics",
        description=(
            "Request volume by API, version, operation, consumer and status class; gateway "
            "and system-of-record latency histograms; SoR errors by class; rate-limit, "
            "idempotency, authentication, deprecation and flow metrics. Prometheus text "
            "format 0.0.4, or OpenMetrics when the Accept header asks for it. A tenant's "
            "token sees its own tenant's series only; every tenant's and the shared "
            "systems' series need the ops:admin scope."
        ),
        media_type=CONTENT_TYPE_PLAIN_0_0_4,
        include_in_schema=True,
        responses=dict(responses or {}),
        response_headers=list(response_headers or []),
    )
    async def get_metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = seen_by(_scope(request))
        body, content_type = metrics.exposition(request.headers.get("accept"), tenant=tenant)
        # Set as a header: Litestar would append a second charset to a text/ media type.
        return Response(
            body,
            media_type=content_type,
            headers={"Content-Type": content_type, "Cache-Control": "no-store"},
        )

    return get_metrics


def governance_route(
    metrics: GatewayMetrics,
    *,
    opt: dict[str, Any],
    path: str = GOVERNANCE_PATH,
    responses: Mapping[int, ResponseSpec] | None = None,
    response_headers: Sequence[ResponseHeader] | None = None,
    view: View | None = None,
) -> HTTPRouteHandler:
    """GET ``path``: the governance report of the live metrics (mount with
    ``path="/ops/governance"`` inside the /v1 router)."""
    seen_by = view or caller_view()

    @get(
        path,
        opt=opt,
        operation_id="getGovernanceReport",
        tags=["operations"],
        summary="Governance report from live metrics",
        description=(
            "Per API and version: call volume, error rate by status class and by error "
            "class, p95 gateway and system-of-record latency, top consumers, rate-limited "
            "share and deprecated-operation usage; plus systems of record, rate-limit "
            "decisions by plan, idempotency outcomes, authentication failures and flows. "
            "Counts are since the gateway (all of its workers, in multiprocess mode) started. "
            "A tenant's token sees its own tenant's calls and consumers only (no systems, "
            "auth failures or flows); the report across tenants needs the ops:admin scope."
        ),
        include_in_schema=True,
        responses=dict(responses or {}),
        response_headers=list(response_headers or []),
    )
    async def get_governance_report(
        request: Request[Any, Any, Any],
        top_consumers: Annotated[
            int,
            QueryParameter(
                ge=1,
                le=100,
                description="Consumers listed per API, by call volume",
            ),
        ] = 5,
    ) -> GovernanceReport:
        return governance_report(
            metrics, top_consumers=top_consumers, tenant=seen_by(_scope(request))
        )

    return get_governance_report
