"""The ASGI plumbing every system-of-record sandbox shares.

Each sandbox is a plain ASGI callable (served standalone, embedded in the gateway
through ``httpx.ASGITransport``, and used by tests). What differs per vendor (routing,
content types, 204 and HEAD handling, error envelopes, fault behaviour) stays in the
vendor's module; this one reads a whole request, answers lifespan messages, applies the
injected latency and sends one complete response. Where sandboxes read or frame a detail
differently, the difference is a parameter here, so each keeps its exact wire behaviour.

:class:`SandboxASGIApp` puts the pieces together for the sandboxes that answer every
request through one ``respond``; the SAP sandbox, which also checks the body size and
tunnels methods, calls the functions itself.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Faults(Protocol):
    """The fault-injection knob every sandbox's ``SandboxFaults`` has."""

    @property
    def latency_seconds(self) -> float: ...


class Sandbox(Protocol):
    """A sandbox as its ASGI app needs it: only its faults are read here."""

    @property
    def faults(self) -> Faults: ...


SandboxT = TypeVar("SandboxT", bound=Sandbox)


class ApiError(Exception):
    """Ends a sandbox's request handling with an HTTP ``status``, a ``body`` for the
    vendor to render and extra ``headers``. Each vendor raises its own subclass."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class BodyTooLarge(Exception):
    """The request body grew past ``read_request``'s ``max_body``."""


@dataclass(slots=True)
class SandboxRequest:
    """One HTTP request, read whole."""

    method: str  # upper-cased
    path: str  # as sent (percent-encoded), without the query
    query: str  # the raw query string, without the "?"
    headers: dict[str, str]  # names lower-cased; a repeated name keeps its last value
    body: bytes
    base_url: str  # scheme://host[:port], from the Host header


@dataclass(slots=True)
class SandboxReply:
    """What a sandbox's ``handle`` answers: the vendor's app renders ``body``."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def requote(path: str) -> str:
    """Percent-encode a decoded ``scope["path"]`` again: near enough the raw path it
    came from, for a server that gives no ``raw_path``."""
    return quote(path, safe="/:@!$&'()*+,;=")


async def read_request(
    scope: Scope,
    receive: Receive,
    *,
    path_fallback: Callable[[str], str] = requote,
    host_from_server: bool = False,
    max_body: int | None = None,
    drop_on_disconnect: bool = True,
) -> SandboxRequest | None:
    """Read the whole request of an ``http`` scope.

    ``path_fallback`` turns the decoded ``scope["path"]`` into the path when there is no
    ``raw_path``. Without a Host header the base URL names ``localhost``, or with
    ``host_from_server`` the scope's ``server`` (``localhost:80`` when that is missing
    too). A body larger than ``max_body`` raises :class:`BodyTooLarge` as soon as it
    is seen. When the client disconnects mid-body the answer is ``None`` (nothing to
    respond to), or with ``drop_on_disconnect=False`` the request as read so far.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            if drop_on_disconnect:
                return None
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if max_body is not None and size > max_body:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    headers = {
        key.decode("latin-1").lower(): value.decode("latin-1")
        for key, value in scope.get("headers", [])
    }
    raw_path = scope.get("raw_path")  # httpx's ASGITransport includes the query here
    if raw_path:
        path = raw_path.decode("latin-1").partition("?")[0]
    else:
        path = path_fallback(scope["path"])
    host = headers.get("host")
    if not host:
        if host_from_server:
            server = scope.get("server") or ("localhost", 80)
            host = f"{server[0]}:{server[1]}"
        else:
            host = "localhost"
    return SandboxRequest(
        method=scope["method"].upper(),
        path=path,
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=b"".join(chunks),
        base_url=f"{scope.get('scheme', 'http')}://{host}",
    )


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Answer a ``lifespan`` scope: nothing to start or stop, so just acknowledge."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def inject_latency(faults: Faults) -> None:
    """Wait the injected ``faults.latency_seconds`` (if any) before answering."""
    if faults.latency_seconds > 0:
        await asyncio.sleep(faults.latency_seconds)


async def send_response(
    send: Send,
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    content_type: str | None,
    content_length: bool = True,
    head: bool = False,
    framing_first: bool = False,
) -> None:
    """Send one complete response.

    ``headers`` go out in order, then ``content-type`` (unless ``None``) and
    ``content-length`` (unless ``content_length`` is false); ``framing_first`` sends
    those two before ``headers`` instead, length first. ``head`` sends no body bytes
    (the headers still describe ``body``).
    """
    framing: list[tuple[bytes, bytes]] = []
    if content_type is not None:
        framing.append((b"content-type", content_type.encode("latin-1")))
    if content_length:
        framing.append((b"content-length", str(len(body)).encode()))
    encoded = [(key.encode("latin-1"), value.encode("latin-1")) for key, value in headers]
    raw_headers = [*reversed(framing), *encoded] if framing_first else [*encoded, *framing]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def send_json(
    send: Send,
    reply: SandboxReply,
    encoder: msgspec.json.Encoder,
    *,
    content_type: str,
    head: bool,
    bare_204: bool,
) -> None:
    """Send ``reply`` with its body encoded as JSON by ``encoder``; with ``bare_204`` a
    204 goes out bare: no body, ``content-type`` or ``content-length``."""
    bare = bare_204 and reply.status == 204
    await send_response(
        send, reply.status, reply.headers.items(), b"" if bare else encoder.encode(reply.body),
        content_type=None if bare else content_type, content_length=not bare, head=head,
    )  # fmt: skip


class SandboxASGIApp(ABC, Generic[SandboxT]):
    """The ASGI application serving one sandbox, with the vendor's :meth:`respond`.

    A ``lifespan`` scope is acknowledged and websockets are ignored (no sandbox API has
    them); an ``http`` request is read whole and, after the sandbox's injected latency,
    passed to :meth:`respond`, unless the client went away first.
    """

    def __init__(self, sandbox: SandboxT) -> None:
        self.sandbox = sandbox

    def path_fallback(self, path: str) -> str:
        """The request path from a decoded ``scope["path"]``, for servers without
        ``raw_path`` (see :func:`read_request`)."""
        return requote(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
        elif scope["type"] == "http":
            request = await read_request(scope, receive, path_fallback=self.path_fallback)
            if request is not None:
                await inject_latency(self.sandbox.faults)
                await self.respond(request, send)

    @abstractmethod
    async def respond(self, request: SandboxRequest, send: Send) -> None:
        """Answer ``request`` through ``send`` (one complete response)."""
