"""Pure-ASGI input checks, after audit and before idempotency.

Throttled and retired calls are answered before their body is read (the rate
limit bounds how much reading one consumer can cause), refusals are audited,
and nothing reaches the idempotency store, the handler or a system of record
unless its query and body passed. The body is read here once, within the size
and time limits, and handed on to the application as it arrived.

What an operation declares (its query parameters, whether it reads JSON) comes
from a ``RouteInputs`` lookup the gateway provides; routes without a policy
declaration (docs, health) pass untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote_plus

from contracts.problem import FieldError
from policies.asgi import ASGIApp, Message, Receive, Scope, Send, send_problem
from policies.input.config import InputConfig
from policies.input.json_depth import deeper_than
from policies.input.media import is_json_media_type
from policies.route import route_policy

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CLOSE = (b"connection", b"close")


@dataclass(frozen=True, slots=True)
class RouteInput:
    """What one operation reads from a request."""

    json_body: bool  # its body is a JSON document
    query: frozenset[str] | None  # the query parameters it declares; None: unchecked
    repeatable: frozenset[str] = field(default_factory=frozenset)  # may appear repeatedly


# The matched route's inputs (from ``scope["route_handler"]``), None when unknown.
RouteInputs = Callable[[Scope], RouteInput | None]


class InputMiddleware:
    def __init__(self, app: ASGIApp, *, config: InputConfig, inputs: RouteInputs) -> None:
        self.app = app
        self._enabled = config.enabled
        self._max_body = config.max_body_bytes
        self._max_depth = config.max_json_depth
        self._timeout = config.body_timeout_seconds
        self._strict_query = config.strict_query
        self._inputs = inputs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._enabled or route_policy(scope) is None:
            await self.app(scope, receive, send)
            return
        route = self._inputs(scope)
        if route is None:
            await self.app(scope, receive, send)
            return
        if self._strict_query and route.query is not None:
            errors = _query_errors(scope.get("query_string", b""), route)
            if errors:
                await _bad_query(scope, send, errors)
                return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return

        content_type: str | None = None
        declared = -1
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
        if declared > self._max_body:
            await self._too_large(scope, send)
            return
        if not route.json_body:
            await self.app(scope, receive, send)  # the framework's own body limit applies
            return
        if content_type is not None and not is_json_media_type(content_type):
            await _unsupported(scope, send, content_type)
            return

        body = await self._read(receive)
        if body == "disconnected":
            return  # nobody is left to answer
        if body == "too_large":
            await self._too_large(scope, send, close=True)
            return
        if body == "timeout":
            await self._timed_out(scope, send)
            return
        if content_type is None and body:
            await _unsupported(scope, send, None)
            return
        if deeper_than(body, self._max_depth):
            await send_problem(
                scope, send, status=400, code="JSON_TOO_DEEP", kind="validation",
                title="JSON nested too deeply",
                detail=f"The body nests arrays and objects more than {self._max_depth} levels "
                "deep; no operation of this API takes a document that deep.",
            )
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(
        self, receive: Receive
    ) -> bytes | Literal["too_large", "timeout", "disconnected"]:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self._timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return "disconnected"
                    chunk: bytes = message.get("body", b"")
                    if chunk:
                        size += len(chunk)
                        if size > self._max_body:
                            return "too_large"
                        chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            return "timeout"

    async def _too_large(self, scope: Scope, send: Send, *, close: bool = False) -> None:
        # Unread body bytes are still on the connection: ask the server to drop it.
        await send_problem(
            scope, send, status=413, code="PAYLOAD_TOO_LARGE", kind="payload-too-large",
            title="Request body too large",
            detail=f"Request bodies may carry at most {self._max_body} bytes.",
            headers=[_CLOSE] if close else None,
        )

    async def _timed_out(self, scope: Scope, send: Send) -> None:
        await send_problem(
            scope, send, status=408, code="REQUEST_BODY_TIMEOUT", kind="request_timeout",
            title="Request body not received in time",
            detail=f"The body did not arrive within {self._timeout:g} s (a body shorter than "
            "its Content-Length?); nothing was done. Send the whole body with the request.",
            headers=[_CLOSE],
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that hands the already-read body on, then the connection's."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _query_errors(query_string: bytes, route: RouteInput) -> list[FieldError]:
    if not query_string:
        return []
    declared = route.query or frozenset()
    seen: set[str] = set()
    errors: list[FieldError] = []
    for pair in query_string.decode("latin-1").split("&"):
        if not pair:
            continue
        name = pair.split("=", 1)[0]
        if "%" in name or "+" in name:
            name = unquote_plus(name, encoding="latin-1")
        shown = name[:100]
        if name not in declared:
            errors.append(
                FieldError(
                    field=shown,
                    message="This operation takes no such query parameter; "
                    f"it takes {', '.join(sorted(declared)) or 'none'}.",
                    code="unknown_parameter",
                )
            )
        elif name in seen and name not in route.repeatable:
            errors.append(
                FieldError(
                    field=shown,
                    message="This query parameter may appear once.",
                    code="duplicate_parameter",
                )
            )
        seen.add(name)
        if len(errors) >= 20:
            break
    return errors


async def _bad_query(scope: Scope, send: Send, errors: list[FieldError]) -> None:
    unknown = [e.field for e in errors if e.code == "unknown_parameter"]
    if unknown:
        code, title = "UNKNOWN_QUERY_PARAMETER", "Unknown query parameter"
        detail = f"Unknown query parameter(s): {', '.join(unknown)}; check the spelling."
    else:
        code, title = "DUPLICATE_QUERY_PARAMETER", "Repeated query parameter"
        detail = f"Query parameter(s) given more than once: {', '.join(e.field for e in errors)}."
    await send_problem(
        scope, send, status=400, code=code, kind="validation", title=title, detail=detail,
        errors=errors,
    )


async def _unsupported(scope: Scope, send: Send, content_type: str | None) -> None:
    accept = b"accept-patch" if scope["method"] == "PATCH" else b"accept-post"
    given = f"Content-Type {content_type[:100]!r}" if content_type else "no Content-Type"
    await send_problem(
        scope, send, status=415, code="UNSUPPORTED_MEDIA_TYPE", kind="unsupported-media-type",
        title="Unsupported media type",
        detail=f"This operation takes a JSON body (application/json); the request has {given}.",
        headers=[(accept, b"application/json")],
    )
