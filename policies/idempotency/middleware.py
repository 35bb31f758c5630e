"""Pure-ASGI Idempotency-Key handling (draft-ietf-httpapi-idempotency-key-header-06).

Runs after auth (keys are scoped per consumer) and routing (the route declares
whether a key is required, and the operation it belongs to: the v1 and v2 routes
of one operation share their keys). The first request with a key claims it, runs,
and its response is stored before the client sees its last byte, so any retry the
client makes afterwards is a replay. Requests that did nothing downstream (see
``IdempotencyConfig.release_statuses``) release the key instead, and so does every
5xx: a server error is never replayed, because a retry may well succeed (where a
5xx left a system-of-record create undecided, the submission ledger, not this key,
keeps the retry from creating a second record).

A claim is a lease, and the lease is also the request's deadline: a request still
running when its lease is about to lapse is cancelled and answered 504, so a retry
that takes the key over can never run alongside the first execution.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from policies.asgi import ASGIApp, Message, Receive, Scope, Send, send_problem
from policies.consumer import ANONYMOUS
from policies.context import request_context
from policies.idempotency.config import IdempotencyConfig
from policies.idempotency.key import fingerprint, parse_idempotency_key, record_id
from policies.idempotency.store import IdempotencyStore, IdempotencyStoreError, StoredResponse
from policies.route import route_policy

logger = logging.getLogger(__name__)

Outcome = Literal[
    "new", "replayed", "mismatch", "in_flight", "missing", "invalid", "released", "unavailable"
]

_HEADER = b"idempotency-key"
_RETRY_SOON = [(b"retry-after", b"1")]
_REPLAYED = (b"idempotent-replayed", b"true")
# Lease used when neither the configuration nor the composition root sets one.
DEFAULT_LEASE_SECONDS = 60.0


def deadline_of(lease: float) -> float:
    """How long the handler may run under a lease of ``lease`` seconds: the rest of
    the lease is left for settling the key before it could lapse."""
    return max(0.5 * lease, lease - min(1.0, 0.1 * lease))


def retry_after(seconds: float) -> list[tuple[bytes, bytes]]:
    return [(b"retry-after", str(max(1, math.ceil(seconds))).encode())]


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        config: IdempotencyConfig,
        store: IdempotencyStore,
        on_outcome: Callable[[Outcome], None] | None = None,
        leases: Mapping[str, float] | None = None,
    ) -> None:
        """``leases``: the lease (and deadline) of each operation (idempotency scope),
        computed by the composition root from the systems it calls; a configured
        ``lease_seconds`` applies to every operation instead."""
        self.app = app
        self.config = config
        self.store = store
        self._on_outcome = on_outcome
        self._enabled = config.enabled
        self._methods = frozenset(config.methods)
        self._lease = float(config.lease_seconds or DEFAULT_LEASE_SECONDS)
        self._leases = {} if config.lease_seconds else dict(leases or {})
        self._retention = float(config.retention_seconds)
        self._max_body = config.max_body_bytes
        self._replay_headers = frozenset(name.encode("latin-1") for name in config.replay_headers)
        self._release_statuses = frozenset(config.release_statuses)

    def _outcome(self, outcome: Outcome) -> None:
        if self._on_outcome is not None:
            self._on_outcome(outcome)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._enabled or scope["method"] not in self._methods:
            await self.app(scope, receive, send)
            return
        policy = route_policy(scope)
        mode = policy.get("idempotency", "none") if policy is not None else "none"
        if mode == "none":
            await self.app(scope, receive, send)
            return

        raw_key: str | None = None
        key_fields = 0
        content_length = 0
        for name, value in scope["headers"]:
            if name == _HEADER:
                raw_key = value.decode("latin-1")
                key_fields += 1
            elif name == b"content-length" and value.isdigit():
                content_length = int(value)

        if raw_key is None:
            if mode != "required":
                await self.app(scope, receive, send)
                return
            self._outcome("missing")
            await send_problem(
                scope, send, status=400, code="IDEMPOTENCY_KEY_MISSING", kind="idempotency",
                title="Idempotency-Key required",
                detail="This operation needs an Idempotency-Key header, e.g. "
                'Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324".',
            )
            return
        # Two fields would be a List, not the Item the draft defines.
        key = parse_idempotency_key(raw_key) if key_fields == 1 else None
        if key is None:
            self._outcome("invalid")
            await send_problem(
                scope, send, status=400, code="IDEMPOTENCY_KEY_INVALID", kind="idempotency",
                title="Idempotency-Key invalid",
                detail="Send one Idempotency-Key: a quoted string of 1-255 visible ASCII "
                "characters.",
            )
            return
        # Parsed once, here: audit records it and the handler derives ids from it.
        context = request_context(scope)
        context.idempotency_key = key

        body = await self._read_body(receive, content_length)
        if not isinstance(body, bytes):
            if body == "too_large":
                await self._too_large(scope, send)
            return  # or the client went away: nobody is left to answer

        method: str = scope["method"]
        path: str = scope["path"]
        consumer = context.consumer
        # The operation, not the path: v1 and v2 of one operation share a key's record
        # (their fingerprints differ, so one version's retry never replays the other's).
        declared = policy.get("idempotency_scope") if policy is not None else None
        operation = declared or scope.get("path_template") or path
        lease = self._leases.get(operation, self._lease)
        record = record_id(
            consumer.key if consumer is not None else ANONYMOUS, method, operation, key
        )
        request_fingerprint = fingerprint(
            method,
            path.encode("utf-8", "surrogatepass"),
            scope.get("query_string", b""),
            body,
        )
        owner = secrets.token_hex(16)
        try:
            begun = await self.store.begin(record, request_fingerprint, owner, lease)
        except IdempotencyStoreError:
            logger.warning("idempotency store unavailable; refusing keyed request", exc_info=True)
            self._outcome("unavailable")
            await send_problem(
                scope, send, status=503, code="IDEMPOTENCY_STORE_UNAVAILABLE",
                kind="dependency_unavailable", title="Idempotency store unavailable",
                detail="The request was not executed; retry with the same Idempotency-Key.",
                retryable=True, headers=_RETRY_SOON,
            )
            return

        if begun.outcome == "new":
            self._outcome("new")
            await self._execute(scope, send, record, owner, body, receive, lease)
        elif begun.outcome == "completed":
            assert begun.response is not None
            self._outcome("replayed")
            await self._replay(send, begun.response)
        elif begun.outcome == "mismatch":
            self._outcome("mismatch")
            await send_problem(
                scope, send, status=422, code="IDEMPOTENCY_KEY_MISMATCH", kind="idempotency",
                title="Idempotency-Key reused with a different request",
                detail="This Idempotency-Key was first used with another method, path, query "
                "or body; use a new key for a new request.",
            )
        else:
            self._outcome("in_flight")
            await send_problem(
                scope, send, status=409, code="IDEMPOTENCY_REQUEST_IN_FLIGHT",
                kind="idempotency", title="A request with this Idempotency-Key is in progress",
                detail="Retry after Retry-After seconds (when the running request's lease "
                "ends at the latest) to receive its result.",
                retryable=True, headers=retry_after(begun.lease_remaining or 1.0),
            )

    async def _read_body(
        self, receive: Receive, content_length: int
    ) -> bytes | Literal["too_large", "disconnected"]:
        """The whole request body, which the fingerprint covers."""
        if content_length > self._max_body:
            return "too_large"
        chunks: list[bytes] = []
        size = 0
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

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await send_problem(
            scope, send, status=413, code="PAYLOAD_TOO_LARGE", kind="payload-too-large",
            title="Request body too large",
            detail=f"Requests with an Idempotency-Key may carry at most {self._max_body} bytes.",
        )

    async def _replay(self, send: Send, stored: StoredResponse) -> None:
        headers = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers
        ]
        headers.append((b"content-length", str(len(stored.body)).encode()))
        headers.append(_REPLAYED)
        await send({"type": "http.response.start", "status": stored.status, "headers": headers})
        await send({"type": "http.response.body", "body": stored.body})

    async def _execute(
        self,
        scope: Scope,
        send: Send,
        record: str,
        owner: str,
        body: bytes,
        receive: Receive,
        lease: float,
    ) -> None:
        execution = _Execution(send, self._replay_headers, self._settle, record, owner)
        body_pending = True

        async def replay_body() -> Message:
            # The body was consumed for the fingerprint; hand it to the app once,
            # then fall through to the real receive (which reports a disconnect).
            nonlocal body_pending
            if body_pending:
                body_pending = False
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            async with asyncio.timeout(deadline_of(lease)):
                await self.app(scope, replay_body, execution.send)
        except TimeoutError:
            # Past the deadline: the handler was cancelled (a system-of-record create it
            # had started is left "unknown" in the submission ledger, to be looked up).
            if not execution.settled:
                execution.settled = True
                await self._release(record, owner)
            if not execution.started:
                await send_problem(
                    scope, send, status=504, code="REQUEST_DEADLINE_EXCEEDED",
                    kind="dependency_timeout", title="Request deadline exceeded",
                    detail="The request did not finish within its deadline; retry with the "
                    "same Idempotency-Key to receive its outcome.",
                    retryable=True, headers=_RETRY_SOON,
                )
            return
        except BaseException:
            # The handler died without a complete answer; whether it reached the
            # system of record is unknown, and a retry must be free to find out.
            if not execution.settled:
                execution.settled = True
                await self._release(record, owner)
            raise
        if not execution.settled:
            await execution.settle()

    async def _settle(
        self, record: str, owner: str, status: int | None, headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        if status is None or status >= 500 or status in self._release_statuses:
            await self._release(record, owner)
        else:
            await self._store(record, owner, StoredResponse(status, headers, body))

    async def _release(self, record: str, owner: str) -> None:
        self._outcome("released")
        try:
            await self.store.release(record, owner)
        except IdempotencyStoreError:
            # The in-flight record lapses with its lease; a retry gets 409 until then.
            logger.warning("could not release idempotency key", exc_info=True)

    async def _store(self, record: str, owner: str, response: StoredResponse) -> None:
        try:
            stored = await self.store.complete(record, owner, response, self._retention)
        except IdempotencyStoreError:
            logger.warning("could not store idempotent response", exc_info=True)
            return
        if not stored:
            # Our lease lapsed and a retry took the key over; its record wins.
            logger.warning("idempotency lease lapsed before the response was stored")


class _Execution:
    """Captures the first response on its way to the client and settles the key."""

    __slots__ = ("_chunks", "_headers", "_keep", "_owner", "_record", "_send", "_settle",
                 "_status", "settled", "started")

    def __init__(
        self,
        send: Send,
        keep: frozenset[bytes],
        settle: Callable[
            [str, str, int | None, list[tuple[str, str]], bytes], Awaitable[None]
        ],
        record: str,
        owner: str,
    ) -> None:
        self._send = send
        self._keep = keep
        self._settle = settle
        self._record = record
        self._owner = owner
        self._status: int | None = None
        self._headers: list[tuple[str, str]] = []
        self._chunks: list[bytes] = []
        self.settled = False
        self.started = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.started = True
            self._status = int(message["status"])
            self._headers = [
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in message.get("headers", [])
                if name.lower() in self._keep
            ]
        elif kind == "http.response.body" and self._status is not None and not self.settled:
            chunk = message.get("body", b"")
            if chunk:
                self._chunks.append(chunk)
            if not message.get("more_body", False):
                # Record before the client has the whole answer, so a retry it
                # sends after reading the response always finds the record.
                await self.settle()
        await self._send(message)

    async def settle(self) -> None:
        self.settled = True
        await self._settle(
            self._record, self._owner, self._status, self._headers, b"".join(self._chunks)
        )
