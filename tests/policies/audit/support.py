"""Shared pieces of the audit tests: a fake auth policy and stores that fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from contracts.v1.audit import AuditEntry
from policies.asgi import ASGIApp, Receive, Scope, Send, header
from policies.audit.memory import MemoryAuditStore
from policies.audit.store import AuditStoreError
from policies.consumer import Consumer
from policies.context import request_context


class FakeAuth:
    """Stands in for the auth policy: ``X-Consumer: tenant/client`` names the caller."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (name := header(scope, b"x-consumer")):
            tenant, _, client = name.partition("/")
            request_context(scope).consumer = Consumer(client_id=client, tenant=tenant)
        await self.app(scope, receive, send)


class BrokenStore(MemoryAuditStore):
    """A trail whose backend is down."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__()
        self.error = error or AuditStoreError("audit store unavailable: connection refused")

    async def append(self, entry: AuditEntry) -> str:
        raise self.error

    async def query(self, tenant: str, **_: object) -> tuple[list[AuditEntry], str | None]:
        raise self.error

    async def export(
        self, tenant: str | None, since: datetime | None = None, until: datetime | None = None
    ) -> AsyncIterator[AuditEntry]:
        raise self.error
        yield  # pragma: no cover
