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
    # Whether this gateway can serve without it (see ``ready``).
    essential: bool = False


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    # ready: everything answers; degraded: something this gateway can serve without is
    # failing (calls that need it answer 503); not_ready: it cannot serve at all.
    status: Literal["ready", "degraded", "not_ready"]
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
    summary="Whether this gateway can take traffic, with the state of every store and system",
    description=f"Each check runs within {READY_TIMEOUT_SECONDS:g} s. 503 (`not_ready`) only "
    "when an essential check fails: the database, which every call needs, and Redis when the "
    "rate limiter is configured to fail closed. A failing system of record, or Redis as a "
    "cache, is `degraded` with 200: every gateway shares them, so taking gateways out of "
    "rotation would not help, and the calls that need them answer 503 with Retry-After "
    "themselves. Not authenticated and not rate limited.",
    responses={503: ResponseSpec(data_container=Readiness, description="Not ready")},
)
async def ready(request: Request[Any, Any, Any]) -> Response[Readiness]:
    runtime = request.app.state.runtime
    checks = runtime.health_checks
    essential = runtime.essential_checks
    systems = runtime.settings.systems

    async def run(name: str, check: Any) -> CheckResult:
        kind: Literal["store", "system"] = "system" if name in systems else "store"
        needed = name in essential
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT_SECONDS)
        except (GatewayError, TimeoutError, OSError, ConnectionError) as exc:
            detail = str(getattr(exc, "detail", "") or type(exc).__name__)[:500]
            return CheckResult(kind=kind, status="failing", detail=detail, essential=needed)
        except Exception as exc:  # a failing probe must not fail the probe endpoint
            detail = f"{type(exc).__name__}: {exc}"[:500]
            return CheckResult(kind=kind, status="failing", detail=detail, essential=needed)
        return CheckResult(kind=kind, status="ok", essential=needed)

    names = list(checks)
    results = await asyncio.gather(*(run(name, checks[name]) for name in names))
    report = dict(zip(names, results, strict=True))
    failing = [r for r in results if r.status != "ok"]
    if any(r.essential for r in failing):
        return Response(
            Readiness(status="not_ready", checks=report),
            status_code=503,
            headers={"Retry-After": str(NOT_READY_RETRY_AFTER_SECONDS)},
        )
    return Response(Readiness(status="degraded" if failing else "ready", checks=report))
