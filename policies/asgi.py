"""Small ASGI helpers every policy shares: header access and problem responses.

Policies are pure ASGI so they stay cheap on the hot path (no Request objects)
and work in front of any app; what they need from routing comes from the
matched route handler's ``opt`` (see ``policies.route``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from contracts.problem import PROBLEM_MEDIA_TYPE, FieldError
from policies.problems import problem_json

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def header(scope: Scope, name: bytes) -> str | None:
    """First value of a request header; ``name`` is lower-case bytes."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


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
    body = problem_json(
        scope,
        status=status,
        code=code,
        title=title,
        kind=kind,
        detail=detail,
        errors=errors or (),
        retryable=retryable,
        violated_policies=violated_policies or (),
    )
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
