"""Liveness and readiness for load balancers and orchestrators.

These routes declare no policy on purpose: probes come often and from one
address, and must never be authenticated or rate limited.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from domains.errors import GatewayError

READY_TIMEOUT_SECONDS = 3.0
# When a load balancer (or a client that reached a not-ready gateway) should ask again.
NOT_READY_RETRY_AFTER_SECONDS = 5


class Liveness(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok"]


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    # A store of the gateway's own (Redis, the database) or a system of record.
    kind: Literal["store", "system"]
    status: Literal["ok", "failing"]
    detail: Annotated[str, msgspec.Meta(max_length=500)] = ""


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ready", "not_ready"]
    checks: dict[str, CheckResult]


@get(
    "/health/live",
    operation_id="getLiveness",
    tags=["operations"],
    summary="The process is up",
    description="Answers 200 while the process serves requests; checks nothing else. Not "
    "authenticated and not rate limited, for load balancers and orchestrators.",
)
async def live() -> Liveness:
    return Liveness(status="ok")


@get(
    "/health/ready",
    operation_id="getReadiness",
    tags=["operations"],
    summary="Every store of the gateway (its database, and Redis when configured) and every "
    "system of record answer",
    description=f"Each check runs within {READY_TIMEOUT_SECONDS:g} s; 503 with each check's "
    "state when any fails: a gateway whose store is down takes no traffic, as every call it "
    "would accept needs the store. Not authenticated and not rate limited.",
    responses={503: ResponseSpec(data_container=Readiness, description="Not ready")},
)
async def ready(request: Request[Any, Any, Any]) -> Response[Readiness]:
    runtime = request.app.state.runtime
    checks = runtime.health_checks
    systems = runtime.settings.systems

    async def run(name: str, check: Any) -> CheckResult:
        kind: Literal["store", "system"] = "system" if name in systems else "store"
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT_SECONDS)
        except (GatewayError, TimeoutError, OSError, ConnectionError) as exc:
            detail = getattr(exc, "detail", "") or type(exc).__name__
            return CheckResult(kind=kind, status="failing", detail=str(detail)[:500])
        except Exception as exc:  # a failing probe must not fail the probe endpoint
            detail = f"{type(exc).__name__}: {exc}"
            return CheckResult(kind=kind, status="failing", detail=detail[:500])
        return CheckResult(kind=kind, status="ok")

    names = list(checks)
    results = await asyncio.gather(*(run(name, checks[name]) for name in names))
    report = dict(zip(names, results, strict=True))
    healthy = all(r.status == "ok" for r in results)
    return Response(
        Readiness(status="ready" if healthy else "not_ready", checks=report),
        status_code=200 if healthy else 503,
        headers=None if healthy else {"Retry-After": str(NOT_READY_RETRY_AFTER_SECONDS)},
    )
