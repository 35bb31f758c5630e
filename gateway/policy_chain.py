"""The policies every governed call passes, in the one order that is declared and tested.

    tracing -> metrics -> auth -> versioning -> rate_limit -> audit -> idempotency -> handler

Tracing and metrics wrap the whole application (they must see unmatched routes
too); the rest run after routing, so they know the matched route's declared
policy. Auth comes before the rate limit so limits key on the consumer.
Versioning sits right after auth so a retired operation answers 410 without
spending quota or an idempotency key. Audit sits outside idempotency so replays
and idempotency rejections are recorded too, and idempotency is closest to the
handler so that throttled or refused calls never hold a key.
"""

from __future__ import annotations

from typing import Any, cast

from litestar.middleware import DefineMiddleware

from gateway.wiring import Runtime
from policies.audit import AuditMiddleware
from policies.auth import AuthMiddleware
from policies.idempotency import IdempotencyMiddleware
from policies.metrics import MetricsMiddleware
from policies.rate_limit import RateLimitMiddleware
from policies.tracing.middleware import TracingMiddleware
from policies.versioning import VersioningMiddleware


def _asgi(cls: type) -> Any:
    # The policies are plain ASGI classes typed against MutableMapping scopes;
    # Litestar's DefineMiddleware is typed against its TypedDict scopes.
    return cast("Any", cls)


def policy_middleware(runtime: Runtime) -> list[DefineMiddleware]:
    """The policies that run after routing, as Litestar middleware, in the declared order."""
    settings = runtime.settings
    metrics = runtime.metrics
    chain: list[DefineMiddleware] = []
    if settings.auth.enabled:
        chain.append(
            DefineMiddleware(
                _asgi(AuthMiddleware), verifier=runtime.verifier, on_failure=metrics.auth_failure
            )
        )
    if settings.versioning.deprecations:
        chain.append(
            DefineMiddleware(
                _asgi(VersioningMiddleware),
                config=settings.versioning,
                on_deprecated_call=metrics.deprecated_call,
            )
        )
    if settings.rate_limit.enabled:
        chain.append(
            DefineMiddleware(
                _asgi(RateLimitMiddleware),
                config=settings.rate_limit,
                store=runtime.rate_limit_store,
                on_decision=metrics.rate_limit_decision,
            )
        )
    if settings.audit.enabled:
        chain.append(
            DefineMiddleware(
                _asgi(AuditMiddleware), config=settings.audit, store=runtime.audit_store
            )
        )
    if settings.idempotency.enabled:
        chain.append(
            DefineMiddleware(
                _asgi(IdempotencyMiddleware),
                config=settings.idempotency,
                store=runtime.idempotency_store,
                on_outcome=metrics.idempotency_outcome,
            )
        )
    return chain


def edge(app: Any, runtime: Runtime) -> Any:
    """Wrap the application in the policies that must see every request."""
    wrapped = app
    if runtime.settings.metrics.enabled:
        wrapped = MetricsMiddleware(wrapped, metrics=runtime.metrics)
    return TracingMiddleware(wrapped, runtime.settings.tracing, tracer=runtime.tracer)
