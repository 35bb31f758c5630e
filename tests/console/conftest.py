"""The embedded gateway in-process, its clock in the test's hands, for the console's
sign-in tests (the browser tests are in tests/e2e/console)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import post

from gateway.app import create_app
from gateway.console import pages
from gateway.console.auth import ConsoleUser
from gateway.routes.dependencies import Injected
from gateway.settings import Settings
from gateway.wiring import Runtime, build_runtime
from tests.support.settings import gateway_settings

# The settings' own address: a loopback host, so the session cookie is not Secure and
# httpx sends it over plain http, as a browser on this machine would.
BASE = "http://127.0.0.1:8080"


@dataclass
class FakeClock:
    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Console:
    runtime: Runtime
    clock: FakeClock
    client: httpx.AsyncClient

    def browser(self) -> httpx.AsyncClient:
        """Another browser (its own cookies) on the same gateway."""
        return httpx.AsyncClient(transport=self.client._transport, base_url=BASE)


PROBE = "/console/test-probe"


@post(PROBE, include_in_schema=False, status_code=200)
async def probe(user: Injected[ConsoleUser]) -> str:
    """An action a page would offer: what the guard lets through, and as whom."""
    return f"done by {user.subject}"


@pytest.fixture
async def console(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Console]:
    """The embedded default with the pages plus ``probe`` (a POST behind the guard)."""
    factory = getattr(pages, "page_handlers", None)

    def with_probe(settings: Settings, runtime: Runtime) -> list[Any]:
        found = factory(settings, runtime) if callable(factory) else pages.PAGE_HANDLERS
        return [*found, probe]

    monkeypatch.setattr(pages, "page_handlers", with_probe, raising=False)
    runtime = build_runtime(gateway_settings())
    clock = FakeClock()
    runtime.clock = clock
    await runtime.start()
    app = create_app(runtime.settings, runtime)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=BASE) as client:
            yield Console(runtime, clock, client)
    finally:
        await runtime.close()
