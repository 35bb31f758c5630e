"""Small ASGI helpers every policy shares: header access and problem responses.

Policies are pure ASGI so they stay cheap on the hot path (no Request objects)
and work in front of any app; what they need from routing comes from the
matched route handler's ``opt`` (see ``policies.route``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

from contracts.problem import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE, FieldError, Problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_encoder = msgspec.json.Encoder()


def header(scope: Scope, name: bytes) -> str | None:
    """First value of a request header; ``name`` is lower-case bytes."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def state(scope: Scope) -> dict[str, Any]:
    result: dict[str, Any] = scope.setdefault("state", {})
    return result


def trace_id(scope: Scope) -> str:
    context = state(scope).get("trace")
    return str(getattr(context, "trace_id", "")) if context is not None else ""


async def send_problem(
    scope: Scope,
    send: Send,
    *,
    status: int,
    code: str,
    title: str,
    detail: str = "",
    kind: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    errors: list[FieldError] | None = None,
    retryable: bool = False,
    violated_policies: list[str] | None = None,
) -> None:
    """Answer the request with an RFC 9457 problem, as the HTTP edge would."""
    problem = Problem(
        type=PROBLEM_TYPE_BASE + (kind or code.lower()).replace("_", "-"),
        title=title,
        status=status,
        code=code,
        detail=detail,
        instance=str(scope.get("path", ""))[:2000],
        trace_id=trace_id(scope),
        errors=errors or [],
        retryable=retryable,
        violated_policies=violated_policies or [],
    )
    body = _encoder.encode(problem)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def add_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """Wrap ``send`` so the response start carries ``extra`` headers."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return wrapped
