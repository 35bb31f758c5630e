"""Pure-ASGI audit of every governed write, recorded once the response has been sent.

Sits after auth (it records the consumer) and routing (it records the route
template and operation). Placed just outside idempotency it also sees replays
and idempotency rejections; just inside, it sees what the handler answered.
Bodies are never stored: a JSON success body of at most ``MAX_PARSED_BODY``
bytes is read only for the resource's ``id`` and ``external_references``.
"""

from __future__ import annotations

import logging
import re

import msgspec

from contracts.v1.common import ExternalReference
from policies.asgi import ASGIApp, Message, Receive, Scope, Send
from policies.audit.config import AuditConfig
from policies.audit.entry import MAX_SYSTEM_REFS, ErrorHook, make_entry
from policies.audit.store import AuditStore
from policies.context import request_context
from policies.route import RoutePolicy, route_policy

logger = logging.getLogger(__name__)

MAX_PARSED_BODY = 256 * 1024

_CANONICAL_ID = re.compile(r"^[a-z]{2,5}_[0-9A-HJKMNP-TV-Z]{26}$")
_RESOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_SYSTEM = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


class _Ref(msgspec.Struct):
    system: str
    id: str


class _Written(msgspec.Struct):
    """The members of a resource body the audit keeps; the rest is skipped unread."""

    id: str | None = None
    external_references: list[_Ref] = []


_body_decoder = msgspec.json.Decoder(_Written)


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and
                                            media.endswith(b"+json"))


def _operation(scope: Scope, policy: RoutePolicy) -> str:
    declared = policy.get("operation")
    if isinstance(declared, str) and declared:
        return declared
    handler = scope.get("route_handler")
    operation_id = getattr(handler, "operation_id", None)
    if isinstance(operation_id, str) and operation_id:
        return operation_id
    name = getattr(getattr(handler, "fn", None), "__name__", "")
    return name if isinstance(name, str) else ""


def _path_resource(scope: Scope) -> str | None:
    for value in (scope.get("path_params") or {}).values():
        if isinstance(value, str) and _CANONICAL_ID.fullmatch(value):
            return value
    return None


class _Exchange:
    """What one request's response tells the audit, captured on its way out."""

    __slots__ = ("chunks", "parse", "recorded", "replayed", "size", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.replayed = False
        self.parse = False
        self.chunks: list[bytes] = []
        self.size = 0
        self.recorded = False

    def start(self, message: Message) -> None:
        self.status = int(message["status"])
        parse = 200 <= self.status < 300
        json_body = False
        for name, value in message.get("headers", []):
            lowered = name.lower()
            if lowered == b"content-type":
                json_body = _is_json(value)
            elif lowered == b"content-length" and value.isdigit() and int(value) > MAX_PARSED_BODY:
                parse = False
            elif lowered == b"content-encoding" and value.strip().lower() != b"identity":
                parse = False  # a compressed body is not worth inflating for two members
            elif lowered == b"idempotent-replayed":
                self.replayed = value.strip().lower() == b"true"
        self.parse = parse and json_body

    def body(self, chunk: bytes) -> None:
        if not self.parse or not chunk:
            return
        self.size += len(chunk)
        if self.size > MAX_PARSED_BODY:
            self.parse = False
            self.chunks.clear()
        else:
            self.chunks.append(chunk)

    def written(self) -> tuple[str | None, list[ExternalReference]]:
        if not self.parse or not self.chunks:
            return None, []
        try:
            body = _body_decoder.decode(b"".join(self.chunks))
        except msgspec.DecodeError:
            return None, []
        resource_id = body.id if body.id and _RESOURCE_ID.fullmatch(body.id) else None
        refs = [
            ExternalReference(system=ref.system, id=ref.id)
            for ref in body.external_references
            if _SYSTEM.fullmatch(ref.system) and 0 < len(ref.id) <= 64
        ]
        return resource_id, refs[:MAX_SYSTEM_REFS]


class AuditMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        config: AuditConfig,
        store: AuditStore,
        on_error: ErrorHook | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self._enabled = config.enabled
        self._methods = frozenset(config.methods)
        self._on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._enabled or scope["method"] not in self._methods:
            await self.app(scope, receive, send)
            return
        policy = route_policy(scope)
        if policy is None or policy.get("public"):
            await self.app(scope, receive, send)
            return

        exchange = _Exchange()

        async def audited_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                exchange.start(message)
            elif kind == "http.response.body" and exchange.status is not None:
                exchange.body(message.get("body", b""))
                if not message.get("more_body", False):
                    # The client has its answer (or has gone) before the trail is written.
                    try:
                        await send(message)
                    finally:
                        await self._record(scope, policy, exchange)
                    return
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        except Exception:
            if exchange.status is None:
                exchange.status = 500
            await self._record(scope, policy, exchange)
            raise
        if exchange.status is not None:
            await self._record(scope, policy, exchange)

    async def _record(self, scope: Scope, policy: RoutePolicy, exchange: _Exchange) -> None:
        if exchange.recorded or exchange.status is None:
            return
        exchange.recorded = True
        try:
            resource_id, refs = exchange.written()
            context = request_context(scope)
            entry = make_entry(
                tenant=context.tenant,
                consumer=context.client_id,
                operation=_operation(scope, policy),
                status=exchange.status,
                method=scope["method"],
                route=scope.get("path_template") or "",
                resource_id=resource_id or _path_resource(scope),
                system_refs=refs,
                trace_id=context.trace_id,
                # Set by the idempotency policy (also on replays it answers itself).
                idempotency_key=context.idempotency_key,
                replayed=exchange.replayed,
            )
            await self.store.append(entry)
        except Exception as exc:
            # The response is already on its way; the audit must not alter it.
            logger.warning(
                "audit entry not recorded for %s %s (trace %s)",
                scope["method"], scope.get("path_template") or "?",
                request_context(scope).trace_id or "-",
                exc_info=True,
            )
            if self._on_error is not None:
                try:
                    self._on_error(exc)
                except Exception:
                    logger.exception("audit on_error hook failed")
