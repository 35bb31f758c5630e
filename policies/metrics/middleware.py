"""Pure-ASGI request metrics: volume, status class, and gateway vs SoR latency.

Sits right after tracing and before auth. Two ways to mount it:

* wrapped around the Litestar app (``MetricsMiddleware(litestar_app, metrics=m)``,
  as tracing is): sees every request, including 404/405 for paths no route
  matches, which are counted under api/operation "unmatched" (raw paths never
  become labels). Litestar writes the matched handler into the same scope dict,
  so it is read after the app returns. This is the recommended mounting.
* as Litestar app middleware (``DefineMiddleware(MetricsMiddleware, metrics=m)``):
  Litestar runs app middleware only for matched routes, so unmatched requests go
  uncounted.

The consumer is read after the app returns too, because auth runs later in the
chain. Time waiting on systems of record comes from the request's SoR tracker
(policies/context.py), which tracing's access line and span read as well.
"""

from __future__ import annotations

import asyncio

from policies.asgi import ASGIApp, Message, Receive, Scope, Send
from policies.context import RequestContext, enter, leave
from policies.metrics.labels import UNMATCHED_LABELS
from policies.metrics.registry import GatewayMetrics

# nginx's convention for a client that went away before the answer.
CLIENT_CLOSED = 499


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._clock = metrics.clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.metrics.enabled:
            await self.app(scope, receive, send)
            return
        clock = self._clock
        context, token = enter(scope, clock)
        if context.metered:
            # Already inside a measured request (mounted twice): count it once.
            try:
                await self.app(scope, receive, send)
            finally:
                leave(context, token)
            return
        context.metered = True
        started = clock()
        status = 0

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        except asyncio.CancelledError:
            status = status or CLIENT_CLOSED
            raise
        except BaseException:
            status = status or 500
            raise
        finally:
            ended = clock()
            self._record(scope, context, status or 500, ended - started, ended)
            leave(context, token)

    def _record(
        self, scope: Scope, context: RequestContext, status: int, seconds: float, ended: float
    ) -> None:
        metrics = self.metrics
        handler = scope.get("route_handler")
        if handler is None:
            labels = UNMATCHED_LABELS
        else:
            labels = metrics.labels_for(handler, str(scope.get("path_template") or ""))
        consumer = context.consumer
        metrics.record_request(
            labels,
            metrics.consumer_label(context.client_id),
            status,
            seconds,
            context.sor,
            ended,
            tenant=metrics.tenant_label(consumer.tenant if consumer is not None else None),
        )
