"""The policy chain is built in the order POLICY_ORDER declares, and only from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Litestar

from gateway.app import create_app
from gateway.policy_chain import EDGE_POLICIES, POLICY_ORDER, policy_middleware
from gateway.wiring import build_runtime
from policies.audit import AuditMiddleware
from policies.auth import AuthMiddleware
from policies.http import HttpMiddleware
from policies.idempotency import IdempotencyMiddleware
from policies.input import InputMiddleware
from policies.metrics import MetricsConfig, MetricsMiddleware
from policies.rate_limit import RateLimitMiddleware
from policies.tracing import TracingMiddleware
from policies.versioning import Deprecation, VersioningConfig, VersioningMiddleware
from tests.support.settings import gateway_settings

CLASSES: dict[str, type] = {
    "tracing": TracingMiddleware,
    "metrics": MetricsMiddleware,
    "http": HttpMiddleware,
    "auth": AuthMiddleware,
    "versioning": VersioningMiddleware,
    "rate_limit": RateLimitMiddleware,
    "audit": AuditMiddleware,
    "input": InputMiddleware,
    "idempotency": IdempotencyMiddleware,
}


def _every_policy_on() -> Any:
    now = datetime.now(UTC)
    deprecation = Deprecation(
        operation="listPrices",
        deprecated_at=now - timedelta(days=1),
        link="https://q2c.dev/deprecations/prices",
    )
    return gateway_settings(versioning=VersioningConfig(deprecations=[deprecation]))


def test_the_declared_order_names_every_policy_once() -> None:
    assert sorted(POLICY_ORDER) == sorted(CLASSES)
    assert len(set(POLICY_ORDER)) == len(POLICY_ORDER)
    # Auth before the rate limit (limits key on the consumer); idempotency last.
    assert POLICY_ORDER.index("auth") < POLICY_ORDER.index("rate_limit")
    assert POLICY_ORDER[-1] == "idempotency"
    # Input checks after the rate limit and audit, before any key is held.
    assert POLICY_ORDER.index("audit") < POLICY_ORDER.index("input") < POLICY_ORDER.index(
        "idempotency"
    )


def test_the_chain_follows_the_declared_order() -> None:
    runtime = build_runtime(_every_policy_on())
    app = create_app(runtime.settings, runtime)
    edge: list[type] = []
    layer: Any = app._asgi
    while not isinstance(layer, Litestar):
        edge.append(type(layer))
        layer = layer.app
    assert layer is app.litestar
    routed = [define.middleware for define in policy_middleware(runtime)]
    assert [*edge, *routed] == [CLASSES[name] for name in POLICY_ORDER]
    assert edge == [CLASSES[name] for name in EDGE_POLICIES]


def test_switched_off_policies_leave_the_rest_in_order() -> None:
    base = gateway_settings()
    settings = msgspec.structs.replace(
        base,
        rate_limit=msgspec.structs.replace(base.rate_limit, enabled=False),
        metrics=MetricsConfig(enabled=False),
    )
    runtime = build_runtime(settings)
    app = create_app(settings, runtime)
    assert type(app._asgi) is TracingMiddleware
    assert type(app._asgi.app) is HttpMiddleware
    assert app._asgi.app.app is app.litestar
    routed = [define.middleware for define in policy_middleware(runtime)]
    assert routed == [AuthMiddleware, AuditMiddleware, InputMiddleware, IdempotencyMiddleware]
