"""The Salesforce adapter wired to an in-process sandbox, with every request recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from sandboxes.salesforce.app import STATIC_TOKEN, SalesforceSandbox, create_app
from systems.salesforce.adapter import SalesforceAdapter
from systems.salesforce.client import SalesforceAuth, SalesforceClient
from systems.salesforce.errors import SYSTEM, translate
from systems.transport import HttpxTransport
from systems.upstream import Upstream, UpstreamConfig

BASE = "http://salesforce.sandbox"
NO_RETRY = UpstreamConfig(backoff_seconds=0.0, max_retries=0)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Serves requests from the sandbox app and keeps them for assertions."""

    def __init__(self, sandbox: SalesforceSandbox) -> None:
        self.inner = httpx.ASGITransport(app=create_app(sandbox))
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def soql(self) -> list[str]:
        """The SOQL of every query sent so far, in order."""
        return [r.url.params["q"] for r in self.requests if r.url.path.endswith("/query")]


@dataclass
class Wired:
    sandbox: SalesforceSandbox
    transport: RecordingTransport
    adapter: SalesforceAdapter
    client: SalesforceClient
    direct: httpx.AsyncClient  # plain REST calls, behind the adapter's back


@asynccontextmanager
async def wired(
    sandbox: SalesforceSandbox, auth: SalesforceAuth | None = None, api_version: str = "62.0"
) -> AsyncIterator[Wired]:
    transport = RecordingTransport(sandbox)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(sandbox)),
            base_url=BASE,
            headers={"Authorization": f"Bearer {STATIC_TOKEN}"},
        ) as direct,
    ):
        upstream = Upstream(
            system=SYSTEM,
            transport=HttpxTransport(http),
            base_url=BASE,
            config=NO_RETRY,
            translate=translate,
        )
        client = SalesforceClient(
            upstream, auth or SalesforceAuth(access_token=STATIC_TOKEN), api_version
        )
        yield Wired(sandbox, transport, SalesforceAdapter(client), client, direct)
