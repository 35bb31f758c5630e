"""Edges of the middleware that a Litestar handler cannot produce: crashes, streams, outages."""

from __future__ import annotations

from typing import Any

import pytest

from policies.asgi import Message, Receive, Scope, Send
from policies.idempotency import (
    BeginResult,
    IdempotencyConfig,
    IdempotencyMiddleware,
    IdempotencyStoreError,
    MemoryIdempotencyStore,
)
from policies.route import governed


class Handler:
    opt = governed("orders:write", idempotency="required")


class OptionalHandler:
    opt = governed("orders:write", idempotency="optional")


class NoneHandler:
    opt = governed("orders:write")


def http_scope(key: str | None = '"k"', *, method: str = "POST") -> Scope:
    headers = [(b"content-type", b"application/json")]
    if key is not None:
        headers.append((b"idempotency-key", key.encode()))
    return {
        "type": "http",
        "method": method,
        "path": "/v1/orders",
        "path_template": "/v1/orders",
        "query_string": b"",
        "headers": headers,
        "route_handler": Handler(),
    }


def body_receive(*chunks: bytes) -> Receive:
    messages = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.messages[0]["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


class StreamingApp:
    """Answers 201 in three chunks, or crashes part-way when told to."""

    def __init__(self) -> None:
        self.runs = 0
        self.crash_after_start = False
        self.crash_before_start = False
        self.received: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.runs += 1
        message = await receive()
        self.received.append(message["body"])
        if self.crash_before_start:
            raise RuntimeError("handler crashed")
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"id":', "more_body": True})
        if self.crash_after_start:
            raise RuntimeError("stream broke")
        await send({"type": "http.response.body", "body": b'"ord_1"', "more_body": True})
        await send({"type": "http.response.body", "body": b"}", "more_body": False})


def make(
    app: Any, store: Any = None, outcomes: list[str] | None = None, **config: Any
) -> IdempotencyMiddleware:
    return IdempotencyMiddleware(
        app,
        config=IdempotencyConfig(**config),
        store=store or MemoryIdempotencyStore(),
        on_outcome=outcomes.append if outcomes is not None else None,
    )


async def test_chunked_request_and_response_are_replayed_whole() -> None:
    app = StreamingApp()
    policy = make(app)
    first = Recorder()
    await policy(http_scope(), body_receive(b'{"sku":', b'"A"}'), first)
    assert app.received == [b'{"sku":"A"}']
    again = Recorder()
    await policy(http_scope(), body_receive(b'{"sku":"A"}'), again)
    assert app.runs == 1
    assert first.body == again.body == b'{"id":"ord_1"}'
    assert again.headers[b"idempotent-replayed"] == b"true"
    assert again.headers[b"content-type"] == b"application/json"


@pytest.mark.parametrize("where", ["crash_before_start", "crash_after_start"])
async def test_a_crashing_app_releases_the_key(where: str) -> None:
    app = StreamingApp()
    setattr(app, where, True)
    outcomes: list[str] = []
    policy = make(app, outcomes=outcomes)
    with pytest.raises(RuntimeError):
        await policy(http_scope(), body_receive(b"{}"), Recorder())
    setattr(app, where, False)
    retry = Recorder()
    await policy(http_scope(), body_receive(b"{}"), retry)
    assert retry.status == 201
    assert b"idempotent-replayed" not in retry.headers
    assert app.runs == 2
    assert outcomes == ["new", "released", "new"]


async def test_app_without_a_response_releases_the_key() -> None:
    runs = 0

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal runs
        runs += 1

    policy = make(silent)
    await policy(http_scope(), body_receive(b"{}"), Recorder())
    await policy(http_scope(), body_receive(b"{}"), Recorder())
    assert runs == 2


class BrokenStore:
    async def begin(self, *args: Any) -> BeginResult:
        raise IdempotencyStoreError("down")

    async def complete(self, *args: Any) -> bool:
        raise IdempotencyStoreError("down")

    async def release(self, *args: Any) -> None:
        raise IdempotencyStoreError("down")


async def test_unreachable_store_refuses_the_request_with_503() -> None:
    app = StreamingApp()
    outcomes: list[str] = []
    sent = Recorder()
    await make(app, BrokenStore(), outcomes)(http_scope(), body_receive(b"{}"), sent)
    assert sent.status == 503
    assert sent.headers[b"retry-after"] == b"1"
    assert b'"IDEMPOTENCY_STORE_UNAVAILABLE"' in sent.body
    assert app.runs == 0
    assert outcomes == ["unavailable"]


class StoreThatFailsAfterBegin(MemoryIdempotencyStore):
    async def complete(self, *args: Any) -> bool:
        raise IdempotencyStoreError("down")


async def test_store_failing_after_the_handler_ran_still_answers_the_client() -> None:
    app = StreamingApp()
    sent = Recorder()
    store = StoreThatFailsAfterBegin()
    await make(app, store)(http_scope(), body_receive(b"{}"), sent)
    assert sent.status == 201
    assert sent.body == b'{"id":"ord_1"}'
    # The key stays claimed until its lease lapses: a retry waits rather than runs twice.
    retry = Recorder()
    await make(app, store)(http_scope(), body_receive(b"{}"), retry)
    assert retry.status == 409


async def test_lapsed_lease_keeps_the_newer_owners_record() -> None:
    now = [0.0]
    store = MemoryIdempotencyStore(clock=lambda: now[0])
    order: list[str] = []

    async def slow_first(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        if not order:
            order.append("first")
            body = b"first"
            now[0] += 61  # the first request outlives its lease ...
            retry = Recorder()
            await policy(http_scope(), body_receive(b"{}"), retry)  # ... and is taken over
            assert retry.status == 201
        else:
            order.append("retry")
            body = b"retry"
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": body})

    policy = make(slow_first)
    policy.store = store
    first = Recorder()
    await policy(http_scope(), body_receive(b"{}"), first)
    assert first.body == b"first"
    replay = Recorder()
    await policy(http_scope(), body_receive(b"{}"), replay)
    assert replay.body == b"retry"


async def test_disconnect_before_the_body_answers_nothing() -> None:
    app = StreamingApp()
    sent = Recorder()

    async def gone() -> Message:
        return {"type": "http.disconnect"}

    await make(app)(http_scope(), gone, sent)
    assert sent.messages == []
    assert app.runs == 0


async def test_streamed_body_over_the_limit_is_413() -> None:
    app = StreamingApp()
    sent = Recorder()
    await make(app, max_body_bytes=8)(http_scope(), body_receive(b"12345", b"67890"), sent)
    assert sent.status == 413
    assert app.runs == 0


@pytest.mark.parametrize(
    ("scope", "config"),
    [
        ({"type": "lifespan"}, {}),
        ({**http_scope(None), "route_handler": OptionalHandler()}, {}),
        ({**http_scope(), "route_handler": NoneHandler()}, {}),
        (http_scope(method="PUT"), {}),
        (http_scope(), {"enabled": False}),
        ({**http_scope(), "route_handler": None}, {}),
    ],
)
async def test_passes_through_untouched(scope: Scope, config: dict[str, Any]) -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    store = BrokenStore()  # any store call would fail the request
    await make(app, store, **config)(scope, body_receive(b"{}"), Recorder())
    assert seen == [scope]
