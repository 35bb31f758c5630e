"""Pure-ASGI deprecation and sunset: headers while deprecated, 410 once retired.

Runs after routing, so the matched handler's operationId is known; the API
version is the first path segment (``/v1/...``). An operation entry wins over
its version's entry. Per matched handler the answer is worked out once and
cached, so a route that is not deprecated costs one dict lookup.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from policies.asgi import ASGIApp, Receive, Scope, Send, add_headers, send_problem
from policies.context import request_context
from policies.versioning.config import VersioningConfig
from policies.versioning.lifecycle import Lifecycle

# (operation id, consumer client id or "anonymous")
CallObserver = Callable[[str, str], None]
Clock = Callable[[], float]  # seconds since the epoch

SUNSET_CODE = "API_SUNSET"

_LOG = logging.getLogger("q2c.policies.versioning")


class _Route:
    """A deprecated handler: its lifecycle and the operation name observers see."""

    __slots__ = ("lifecycle", "operation")

    def __init__(self, lifecycle: Lifecycle, operation: str) -> None:
        self.lifecycle = lifecycle
        self.operation = operation


def version_of(path: str) -> str | None:
    """``"v1"`` for ``/v1/orders`` (or ``/v1``); None when the path is not versioned."""
    end = path.find("/", 1)
    segment = path[1:] if end == -1 else path[1:end]
    if len(segment) >= 2 and segment[0] == "v" and segment[1:].isdigit() and segment.isascii():
        return segment
    return None


class VersioningMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        config: VersioningConfig,
        clock: Clock | None = None,
        on_deprecated_call: CallObserver | None = None,
        on_retired_call: CallObserver | None = None,
    ) -> None:
        self.app = app
        self.config = config
        self._clock = clock or time.time
        self._on_deprecated_call = on_deprecated_call
        self._on_retired_call = on_retired_call
        self._by_operation: dict[str, Lifecycle] = {}
        self._by_version: dict[str, Lifecycle] = {}
        for entry in config.deprecations:
            if entry.operation is not None:
                self._by_operation[entry.operation] = Lifecycle(entry)
            elif entry.version is not None:
                self._by_version[entry.version] = Lifecycle(entry)
        # Matched handler -> its deprecation (None: not deprecated). Handlers
        # live as long as the app, so the cache is bounded by the route table.
        self._by_handler: dict[object, _Route | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        try:
            route = self._by_handler[handler]
        except KeyError:
            route = self._resolve(handler, scope)
        if route is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lifecycle = route.lifecycle
        now = self._clock()
        if now < lifecycle.deprecated_at:
            await self.app(scope, receive, send)
            return
        if lifecycle.sunset_at is not None and now >= lifecycle.sunset_at:
            self._observe(self._on_retired_call, route, scope)
            await send_problem(
                scope,
                send,
                status=410,
                code=SUNSET_CODE,
                kind="gone",
                title="Operation retired",
                detail=lifecycle.detail,
                headers=lifecycle.headers,
            )
            return
        await self.app(scope, receive, add_headers(send, lifecycle.headers))
        # Read after the app ran, so a consumer set further in is counted too.
        self._observe(self._on_deprecated_call, route, scope)

    def _resolve(self, handler: object, scope: Scope) -> _Route | None:
        """Work out a handler's deprecation; cache it when it cannot vary by path."""
        if handler is None:
            return None
        operation_id = getattr(handler, "operation_id", None)
        # A callable or absent operation_id is only settled by the OpenAPI
        # generator; such handlers can be deprecated by version only.
        operation = operation_id if isinstance(operation_id, str) else None
        lifecycle = self._by_operation.get(operation) if operation is not None else None
        # Litestar copies a handler per router, so the router prefix is fixed;
        # its own paths decide whether the version can differ per request.
        versions = {version_of(path) for path in getattr(handler, "paths", ())}
        cacheable = lifecycle is not None or len(versions) <= 1
        if lifecycle is None:
            version = version_of(str(scope.get("path", "")))
            lifecycle = self._by_version.get(version) if version is not None else None
        route = None
        if lifecycle is not None:
            name = operation or str(scope.get("path_template") or lifecycle.entry.subject)
            route = _Route(lifecycle, name)
        if cacheable:
            self._by_handler[handler] = route
        return route

    def _observe(self, observer: CallObserver | None, route: _Route, scope: Scope) -> None:
        if observer is None:
            return
        try:
            observer(route.operation, request_context(scope).client_id)
        except Exception:
            # Counting a call must never fail it; the response may be sent already.
            _LOG.exception("versioning observer failed for %s", route.operation)
