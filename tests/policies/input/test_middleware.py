"""The input policy on its own, in front of a recording ASGI app."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec
import pytest

from policies.asgi import Message, Receive, Scope, Send
from policies.input import InputConfig, InputMiddleware, RouteInput
from policies.route import governed

ROUTE = RouteInput(json_body=True, query=frozenset({"limit", "tag"}), repeatable=frozenset({"tag"}))


class Recorder:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def routed(app: Any, route: RouteInput | None = ROUTE, **config: Any) -> Any:
    handler = type("Handler", (), {"opt": governed("things:write")})()
    guard = InputMiddleware(app, config=InputConfig(**config), inputs=lambda scope: route)

    async def with_route(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route_handler"] = handler
        await guard(scope, receive, send)

    return with_route


async def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        return await client.request(method, url, **kwargs)


async def test_the_body_is_handed_on_exactly_as_it_arrived() -> None:
    recorder = Recorder()
    body = msgspec.json.encode({"a": [1, {"b": "[[[["}]})
    response = await call(
        routed(recorder), "POST", "/x", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert recorder.bodies == [body]


@pytest.mark.parametrize(
    ("query", "code", "fields"),
    [
        ("limt=1", "UNKNOWN_QUERY_PARAMETER", ["limt"]),
        ("limit=1&limit=2", "DUPLICATE_QUERY_PARAMETER", ["limit"]),
        ("limit=1&x=1&y=", "UNKNOWN_QUERY_PARAMETER", ["x", "y"]),
        ("%6Cimt=1", "UNKNOWN_QUERY_PARAMETER", ["limt"]),
    ],
)
async def test_undeclared_or_repeated_query_parameters_are_400(
    query: str, code: str, fields: list[str]
) -> None:
    recorder = Recorder()
    response = await call(routed(recorder), "GET", f"/x?{query}")
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == code
    assert [e["field"] for e in problem["errors"]] == fields
    assert recorder.bodies == []


async def test_declared_repeatable_and_absent_query_parameters_pass() -> None:
    recorder = Recorder()
    for url in ("/x", "/x?limit=3", "/x?tag=a&tag=b&limit=1"):
        assert (await call(routed(recorder), "GET", url)).status_code == 200


async def test_an_unchecked_route_and_the_switch_let_everything_through() -> None:
    recorder = Recorder()
    assert (await call(routed(recorder, route=None), "GET", "/x?anything=1")).status_code == 200
    loose = RouteInput(json_body=True, query=None)
    assert (await call(routed(recorder, route=loose), "GET", "/x?anything=1")).status_code == 200
    assert (
        await call(routed(recorder, strict_query=False), "GET", "/x?limt=1&limt=2")
    ).status_code == 200


async def test_content_length_over_the_limit_is_413_before_reading() -> None:
    read = False

    async def receive() -> Message:
        nonlocal read
        read = True
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http", "method": "POST", "path": "/x", "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"2000000")],
    }
    await routed(Recorder())(scope, receive, send)
    assert sent[0]["status"] == 413
    assert not read


async def test_a_body_that_stops_arriving_is_408_after_the_timeout() -> None:
    async def receive() -> Message:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http", "method": "POST", "path": "/x", "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"10")],
    }
    loop = asyncio.get_running_loop()
    started = loop.time()
    await routed(Recorder(), body_timeout_seconds=0.2)(scope, receive, send)
    assert 0.2 <= loop.time() - started < 1.0
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert msgspec.json.decode(sent[1]["body"])["code"] == "REQUEST_BODY_TIMEOUT"


async def test_a_client_gone_mid_body_gets_no_answer() -> None:
    messages = iter([
        {"type": "http.request", "body": b"[", "more_body": True},
        {"type": "http.disconnect"},
    ])

    async def receive() -> Message:
        return next(messages)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http", "method": "POST", "path": "/x", "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
    }
    recorder = Recorder()
    await routed(recorder)(scope, receive, send)
    assert sent == []
    assert recorder.bodies == []


async def test_a_non_json_operation_is_not_read_here() -> None:
    recorder = Recorder()
    form = RouteInput(json_body=False, query=frozenset())
    response = await call(
        routed(recorder, route=form), "POST", "/x", content=b"a=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert recorder.bodies == [b"a=1"]


async def test_415_says_which_media_type_is_taken() -> None:
    response = await call(
        routed(Recorder()), "PATCH", "/x", content=b"<a/>", headers={"content-type": "text/xml"}
    )
    assert response.status_code == 415
    assert response.headers["accept-patch"] == "application/json"
    assert "text/xml" in response.json()["detail"]


@pytest.mark.parametrize(
    "change",
    [{"max_body_bytes": 10}, {"max_json_depth": 1}, {"body_timeout_seconds": 0.0},
     {"body_timeout_seconds": 301.0}],
)
def test_config_out_of_bounds_names_the_field(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=f"input.{next(iter(change))}"):
        InputConfig(**change)
