"""The policies every governed call passes, in the one order that is declared and tested.

    tracing -> metrics -> http -> auth -> versioning -> rate_limit -> audit -> input
    -> idempotency -> handler

Tracing, metrics and http wrap the whole application (they must see unmatched routes
too); tracing, outermost, opens the request's context (policies/context.py), and http
answers non-canonical paths before routing and turns HEAD into the GET it stands for. The
rest run after routing, so they know the matched route's declared policy. Auth
comes before the rate limit so limits key on the consumer. Versioning sits right
after auth so a retired operation answers 410 without spending quota or an
idempotency key. Audit sits outside idempotency so replays and idempotency
rejections are recorded too, and idempotency is closest to the handler so that
throttled or refused calls never hold a key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from litestar.middleware import DefineMiddleware

from gateway.route_inputs import OperationInputs, RouteMethods
from gateway.wiring import Runtime
from policies.audit import AuditMiddleware
from policies.auth import AuthMiddleware
from policies.http import HttpMiddleware
from policies.idempotency import IdempotencyMiddleware
from policies.input import InputMiddleware, RouteInputs
from policies.metrics import MetricsMiddleware
from policies.rate_limit import RateLimitMiddleware
from policies.tracing.middleware import TracingMiddleware
from policies.versioning import VersioningMiddleware

POLICY_ORDER = (
    "tracing",
    "metrics",
    "http",
    "auth",
    "versioning",
    "rate_limit",
    "audit",
    "input",
    "idempotency",
)
# Around the whole application, before routing; the rest run after it.
EDGE_POLICIES = POLICY_ORDER[:3]


def _asgi(cls: type) -> Any:
    # The policies are plain ASGI classes typed against MutableMapping scopes;
    # Litestar's DefineMiddleware is typed against its TypedDict scopes.
    return cast("Any", cls)


def _routed(runtime: Runtime, inputs: RouteInputs) -> dict[str, DefineMiddleware]:
    """The policies that run after routing and are switched on, by name."""
    settings = runtime.settings
    metrics = runtime.metrics
    chain: dict[str, DefineMiddleware] = {}
    if settings.auth.enabled:
        chain["auth"] = DefineMiddleware(
            _asgi(AuthMiddleware), verifier=runtime.verifier, on_failure=metrics.auth_failure
        )
    if settings.versioning.deprecations:
        chain["versioning"] = DefineMiddleware(
            _asgi(VersioningMiddleware),
            config=settings.versioning,
            on_deprecated_call=metrics.deprecated_call,
        )
    if settings.rate_limit.enabled:
        chain["rate_limit"] = DefineMiddleware(
            _asgi(RateLimitMiddleware),
            config=settings.rate_limit,
            store=runtime.rate_limit_store,
            on_decision=metrics.rate_limit_decision,
        )
    if settings.audit.enabled:
        chain["audit"] = DefineMiddleware(
            _asgi(AuditMiddleware), config=settings.audit, store=runtime.audit_store
        )
    if settings.input.enabled:
        chain["input"] = DefineMiddleware(
            _asgi(InputMiddleware), config=settings.input, inputs=inputs
        )
    if settings.idempotency.enabled:
        chain["idempotency"] = DefineMiddleware(
            _asgi(IdempotencyMiddleware),
            config=settings.idempotency,
            store=runtime.idempotency_store,
            on_outcome=metrics.idempotency_outcome,
            leases=runtime.leases,
        )
    return chain


def policy_middleware(runtime: Runtime) -> list[DefineMiddleware]:
    """The policies that run after routing, as Litestar middleware, in POLICY_ORDER
    (Litestar runs the first in the list outermost)."""
    chain = _routed(runtime, OperationInputs())
    return [chain[name] for name in POLICY_ORDER if name in chain]


def _edge(runtime: Runtime) -> dict[str, Callable[[Any], Any]]:
    """The policies around the whole application that are switched on, by name."""
    edge: dict[str, Callable[[Any], Any]] = {
        "tracing": lambda app: TracingMiddleware(
            app, runtime.settings.tracing, tracer=runtime.tracer
        ),
    }
    if runtime.settings.metrics.enabled:
        edge["metrics"] = lambda app: MetricsMiddleware(app, metrics=runtime.metrics)
    edge["http"] = lambda app: HttpMiddleware(app, allowed=RouteMethods())
    return edge


def edge(app: Any, runtime: Runtime) -> Any:
    """Wrap the application in the policies that must see every request, the
    first of POLICY_ORDER outermost."""
    wrappers = _edge(runtime)
    wrapped = app
    for name in reversed(EDGE_POLICIES):
        if name in wrappers:
            wrapped = wrappers[name](wrapped)
    return wrapped
