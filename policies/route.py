"""What a route declares for the policies, next to the route itself.

Route handlers carry ``opt=governed(...)``; policies read it from the matched
handler in the ASGI scope (Litestar puts the handler at ``scope["route_handler"]``).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from policies.asgi import Scope

IdempotencyMode = Literal["required", "optional", "none"]


class RoutePolicy(TypedDict, total=False):
    scopes: tuple[str, ...]  # every one is needed (e.g. ("orders:write",))
    idempotency: IdempotencyMode
    # The operation an Idempotency-Key names (e.g. "orders.create"), shared by every
    # version of it; default: the route template.
    idempotency_scope: str
    cost: int  # rate-limit cost of one call, default 1
    operation: str  # operationId, for metrics and audit
    public: bool  # no authentication (health, token endpoint, docs)


def governed(
    *scopes: str,
    idempotency: IdempotencyMode = "none",
    idempotency_scope: str | None = None,
    cost: int = 1,
) -> dict[str, Any]:
    """``opt`` for a route handler: the scopes it needs and how it is governed."""
    policy = RoutePolicy(scopes=scopes, idempotency=idempotency, cost=cost)
    if idempotency_scope is not None:
        policy["idempotency_scope"] = idempotency_scope
    return {"policy": policy}


def public() -> dict[str, Any]:
    return {"policy": RoutePolicy(public=True, scopes=())}


def route_policy(scope: Scope) -> RoutePolicy | None:
    """The matched route's policy, or None when no route matched or none is declared."""
    handler = scope.get("route_handler")
    if handler is None:
        return None
    policy: RoutePolicy | None = getattr(handler, "opt", {}).get("policy")
    return policy
