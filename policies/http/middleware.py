"""Pure-ASGI HTTP semantics, right around the application (inside tracing and metrics).

* One canonical path per resource: a trailing slash or an empty segment
  (``/v1/customers/``, ``//v1/customers``) is a 404 naming the canonical path,
  not a silent alias. A redirect would make clients resend bodies of writes, and a
  path starting ``//`` must never become a ``Location``.
* HEAD on every GET resource: the request runs as the GET it stands for (the same
  policies, status and headers, Content-Length included) and the body is dropped.
* OPTIONS and 405 list every method of the path in ``Allow`` (HEAD with GET).
* If-None-Match on GET and HEAD: a 200 whose ETag matches becomes a 304 without a
  body (weak comparison, RFC 9110 section 13.1.2).
* An answer that starts before the request's body was read to its end (a 401 or 429
  refuses a write before reading it) says ``Connection: close``. The server drops such
  a connection anyway, since the unread bytes would be parsed as the next request;
  without the header a keep-alive client reuses it and its next request fails with no
  answer (measured against granian: 66 of 100 such pairs).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from policies.asgi import ASGIApp, Message, Receive, Scope, Send, send_problem
from policies.http.conditional import none_match

# The methods of the matched path (``scope["path_template"]``), None when unknown.
AllowedMethods = Callable[[Scope], frozenset[str] | None]

_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_EMPTY_SEGMENTS = re.compile(r"/{2,}")
# Representation metadata a 304 leaves out (RFC 9110 section 15.4.5).
_NOT_IN_304 = frozenset({
    b"content-type", b"content-length", b"content-encoding", b"content-language",
    b"transfer-encoding",
})  # fmt: skip


_CLOSE = (b"connection", b"close")


def _declares_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


def _framed(receive: Receive, send: Send) -> tuple[Receive, Send]:
    """``receive`` noting when the body has been read to its end, and ``send`` adding
    ``Connection: close`` to an answer that starts before then."""
    ended = False

    async def tracked() -> Message:
        nonlocal ended
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            ended = True
        return message

    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start" and not ended:
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"connection" for name, _ in headers):
                headers.append(_CLOSE)
            message = {**message, "headers": headers}
        await send(message)

    return tracked, closing


def allow_value(methods: set[str]) -> bytes:
    if "GET" in methods:
        methods = {*methods, "HEAD"}
    known = [m for m in _ORDER if m in methods]
    return ", ".join(known + sorted(methods - set(_ORDER))).encode()


class HttpMiddleware:
    def __init__(self, app: ASGIApp, *, allowed: AllowedMethods | None = None) -> None:
        self.app = app
        self._allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) > 1 and (path.endswith("/") or "//" in path):
            canonical = _EMPTY_SEGMENTS.sub("/", path).rstrip("/") or "/"
            await send_problem(
                scope, send, status=404, code="NOT_FOUND", kind="not-found",
                title="Not Found",
                detail=f"No resource has this path; paths have no trailing slash and no "
                f"empty segment (did you mean {canonical[:300]}?).",
            )
            return
        if _declares_body(scope):
            receive, send = _framed(receive, send)
        method: str = scope["method"]
        head = method == "HEAD"
        validator = None
        if method in ("GET", "HEAD"):
            for name, value in scope["headers"]:
                if name == b"if-none-match":
                    validator = value.decode("latin-1")
                    break
        if not (head or validator is not None or method == "OPTIONS"):
            await self.app(scope, receive, self._allow_on_405(scope, send))
            return
        if head:
            scope["method"] = "GET"
        try:
            await self.app(scope, receive, self._wrap(scope, send, method, head, validator))
        finally:
            scope["method"] = method

    def _allow_on_405(self, scope: Scope, send: Send) -> Send:
        async def fix_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                message["headers"] = self._with_allow(scope, message.get("headers", []))
            await send(message)

        return fix_allow

    def _with_allow(
        self, scope: Scope, headers: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        methods: set[str] = set()
        rest = []
        for name, value in headers:
            if name.lower() == b"allow":
                methods.update(m.strip().upper() for m in value.decode("latin-1").split(","))
            else:
                rest.append((name, value))
        methods.discard("")
        if self._allowed is not None:
            methods.update(self._allowed(scope) or ())
        if not methods:
            return headers
        methods.add("OPTIONS")
        return [*rest, (b"allow", allow_value(methods))]

    def _wrap(
        self, scope: Scope, send: Send, method: str, head: bool, validator: str | None
    ) -> Send:
        drop_body = head
        answered = False

        async def wrapped(message: Message) -> None:
            nonlocal drop_body, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                if status == 405 or (method == "OPTIONS" and status < 300):
                    message["headers"] = self._with_allow(scope, headers)
                elif validator is not None and status == 200:
                    etag = next((v for n, v in headers if n.lower() == b"etag"), None)
                    if etag is not None and none_match(validator, etag.decode("latin-1")):
                        drop_body = True
                        message = {
                            "type": "http.response.start",
                            "status": 304,
                            "headers": [(n, v) for n, v in headers if n.lower() not in _NOT_IN_304],
                        }
                await send(message)
                return
            if message["type"] == "http.response.body" and drop_body:
                if answered or message.get("more_body", False):
                    return
                answered = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        return wrapped
