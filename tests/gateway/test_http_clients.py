"""The composition root's HTTP clients: which transport a system of record gets, and
that one gateway lifespan's close leaves the next lifespan able to call again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import httpx
import pytest

from gateway.settings import UpstreamClientSettings
from gateway.wiring import build_http_client
from systems.transport import AiohttpTransport, HttpxTransport, TimeBudget
from tests.support.scripted_upstream import ScriptedSystem, scripted_server

BUDGET = TimeBudget(total=2.0, connect=1.0)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ScriptedSystem, str]]:
    with scripted_server() as value:
        yield value


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_closing_a_lifespan_releases_connections_and_the_next_reconnects(
    kind: Literal["aiohttp", "httpx"], server: tuple[ScriptedSystem, str]
) -> None:
    system, url = server
    system.reset()
    clients = build_http_client(UpstreamClientSettings(transport=kind), {})
    expected = AiohttpTransport if kind == "aiohttp" else HttpxTransport
    assert isinstance(clients.network, expected)
    try:
        for _ in range(2):  # two lifespans of one app
            await clients.network.send("GET", f"{url}/sor", {}, None, BUDGET)
            assert (await clients.http.get(f"{url}/jwks")).status_code == 200
            await clients.aclose()
    finally:
        await clients.aclose()
    sor_ports = [seen.client_port for seen in system.seen if seen.path == "/sor"]
    jwks_ports = [seen.client_port for seen in system.seen if seen.path == "/jwks"]
    assert len(set(sor_ports)) == 2  # a new connection after each close
    assert len(set(jwks_ports)) == 2


async def test_sandboxes_are_reached_in_process_by_base_url() -> None:
    async def sandbox(scope: object, receive: object, send: object) -> None:
        del scope, receive
        assert callable(send)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"in-process"})

    mounts: dict[str, httpx.AsyncBaseTransport] = {
        "http://sap.sandbox": httpx.ASGITransport(app=sandbox)
    }
    clients = build_http_client(UpstreamClientSettings(), mounts)
    try:
        response = await clients.sandboxes.send(
            "GET", "http://sap.sandbox/sap/opu/odata/sap/", {}, None, BUDGET
        )
    finally:
        await clients.aclose()
    assert response.content == b"in-process"
