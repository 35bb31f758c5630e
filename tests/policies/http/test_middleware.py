"""The HTTP semantics policy on its own, around a small ASGI app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from policies.asgi import Receive, Scope, Send
from policies.http import HttpMiddleware, none_match


@pytest.mark.parametrize(
    ("header", "etag", "matches"),
    [
        ('"a"', '"a"', True),
        ('W/"a"', '"a"', True),
        ('"a"', 'W/"a"', True),
        ('"b", "a"', '"a"', True),
        ("*", '"a"', True),
        ('"b"', '"a"', False),
        ("", '"a"', False),
        ('"a', '"a"', False),
    ],
)
def test_weak_comparison(header: str, etag: str, matches: bool) -> None:
    assert none_match(header, etag) is matches


async def streamed(scope: Scope, receive: Receive, send: Send) -> None:
    """A GET-only resource answering in three chunks with an ETag."""
    if scope["method"] != "GET":
        await send({"type": "http.response.start", "status": 405,
                    "headers": [(b"allow", b"GET")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"etag", b'"v1"'), (b"content-length", b"9"),
                            (b"content-type", b"text/plain")]})  # fmt: skip
    for part in (b"abc", b"def", b"ghi"):
        await send({"type": "http.response.body", "body": part, "more_body": part != b"ghi"})


async def call(method: str, path: str = "/r", **kwargs: Any) -> httpx.Response:
    app = HttpMiddleware(streamed)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        return await client.request(method, path, **kwargs)


async def test_head_runs_the_get_and_sends_no_body() -> None:
    response = await call("HEAD")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "9"


async def test_a_matching_validator_turns_a_streamed_200_into_one_304() -> None:
    response = await call("GET", headers={"If-None-Match": 'W/"v1"'})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == '"v1"'
    assert "content-length" not in response.headers


async def test_405_gains_head_and_options() -> None:
    response = await call("POST")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"


async def refuse_unread(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers 401 without reading the body, as auth and rate limits do."""
    await send({"type": "http.response.start", "status": 401, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, then answers."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_an_answer_before_the_body_was_read_closes_the_connection() -> None:
    """Bytes of an unread body are still on the connection: if it were kept alive, they
    would be parsed as the next request (or the server drops it while the client reuses
    it). Saying ``Connection: close`` makes the client open a fresh one."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=HttpMiddleware(refuse_unread)), base_url="http://t"
    ) as client:
        refused = await client.post("/r", content=b"x" * 100_000)
        empty = await client.post("/r", content=b"")
        bodiless = await client.get("/r")
    assert refused.headers["connection"] == "close"
    assert "connection" not in empty.headers
    assert "connection" not in bodiless.headers
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=HttpMiddleware(echo)), base_url="http://t"
    ) as client:
        read = await client.post("/r", content=b"x" * 100_000)
    assert read.content == b"x" * 100_000
    assert "connection" not in read.headers
