"""A system of record that answers from a script, reachable three ways: over real HTTP
through aiohttp, over real HTTP through httpx's pool, and in-process through
``httpx.MockTransport``. The upstream contract suite runs against all three."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from systems.transport import AiohttpTransport, HttpxTransport, UpstreamTransport
from tests.support.servers import free_port, serve_in_thread

TRANSPORTS = ("aiohttp", "httpx", "httpx-mock")
NETWORK_TRANSPORTS = ("aiohttp", "httpx")


@dataclass(frozen=True)
class Step:
    """How the system answers one request: after ``delay`` seconds, or after ``hang``
    seconds, longer than the caller waits."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
    body: bytes = b'{"ok": true}'
    delay: float = 0.0
    hang: float = 0.0


@dataclass(frozen=True)
class Seen:
    """One request as the system received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client_port: int


@dataclass
class ScriptedSystem:
    plan: list[Step] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def will(self, *steps: Step) -> None:
        self.plan.extend(steps)

    def reset(self) -> None:
        self.plan.clear()
        self.seen.clear()

    def _next(self) -> Step:
        return self.plan.pop(0) if self.plan else Step()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The system as an ASGI app."""
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append(
            Seen(
                method=scope["method"],
                path=scope["raw_path"].decode(),
                query=scope["query_string"].decode(),
                headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
                body=body,
                client_port=scope["client"][1],
            )
        )
        step = self._next()
        await asyncio.sleep(step.delay + step.hang)
        headers = [(k.encode(), v.encode()) for k, v in step.headers]
        await send({"type": "http.response.start", "status": step.status, "headers": headers})
        await send({"type": "http.response.body", "body": step.body})

    async def mock(self, request: httpx.Request) -> httpx.Response:
        """The same script for httpx.MockTransport; a hang is the ReadTimeout httpx
        raises when a real server stays silent."""
        self.seen.append(
            Seen(
                method=request.method,
                path=request.url.raw_path.decode().split("?", 1)[0],
                query=request.url.query.decode(),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.content,
                client_port=0,
            )
        )
        step = self._next()
        if step.hang:
            raise httpx.ReadTimeout("no answer", request=request)
        await asyncio.sleep(step.delay)
        return httpx.Response(step.status, headers=list(step.headers), content=step.body)


@contextlib.contextmanager
def scripted_server() -> Iterator[tuple[ScriptedSystem, str]]:
    system = ScriptedSystem()
    with serve_in_thread(system) as url:
        yield system, url


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@contextlib.asynccontextmanager
async def reach(
    kind: str, system: ScriptedSystem, url: str, *, refusing: bool = False
) -> AsyncIterator[tuple[UpstreamTransport, str]]:
    """(transport, base URL) reaching ``system`` the ``kind`` way; with ``refusing``, a
    base URL where nothing accepts connections."""
    if refusing:
        url = f"http://127.0.0.1:{free_port()}"
    if kind == "aiohttp":
        transport = AiohttpTransport()
        try:
            yield transport, url
        finally:
            await transport.aclose()
        return
    if kind == "httpx":
        client = httpx.AsyncClient()
    else:
        handler = _refuse if refusing else system.mock
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        url = "http://erp.test"
    async with client:
        yield HttpxTransport(client), url
