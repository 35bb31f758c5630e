"""The network transports against real local servers: connection reuse, closing and
reopening, decoded bodies, no cookie jar, and how failures are classified."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from systems.transport import (
    AiohttpTransport,
    ConnectError,
    HttpxTransport,
    TimeBudget,
    TransportError,
    TransportTimeout,
    UpstreamTransport,
)
from tests.support.scripted_upstream import (
    NETWORK_TRANSPORTS,
    ScriptedSystem,
    Step,
    reach,
    scripted_server,
)
from tests.support.servers import free_port

BUDGET = TimeBudget(total=2.0, connect=1.0)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ScriptedSystem, str]]:
    with scripted_server() as value:
        yield value


@pytest.fixture(params=NETWORK_TRANSPORTS)
async def network(
    request: pytest.FixtureRequest, server: tuple[ScriptedSystem, str]
) -> AsyncIterator[tuple[ScriptedSystem, UpstreamTransport, str]]:
    system, url = server
    system.reset()
    async with reach(request.param, system, url) as (transport, base_url):
        yield system, transport, base_url


async def test_connections_are_kept_alive_across_calls(
    network: tuple[ScriptedSystem, UpstreamTransport, str],
) -> None:
    system, transport, url = network
    for _ in range(3):
        response = await transport.send("GET", f"{url}/x", {}, None, BUDGET)
        assert response.status_code == 200
    ports = {seen.client_port for seen in system.seen}
    assert len(system.seen) == 3
    assert len(ports) == 1


async def test_gzip_bodies_come_back_decoded(
    network: tuple[ScriptedSystem, UpstreamTransport, str],
) -> None:
    system, transport, url = network
    payload = b'{"d": {"results": []}}' * 50
    system.will(
        Step(
            headers=(("Content-Type", "application/json"), ("Content-Encoding", "gzip")),
            body=gzip.compress(payload),
        )
    )
    response = await transport.send("GET", f"{url}/x", {}, None, BUDGET)
    assert response.content == payload
    assert "gzip" in system.seen[0].headers["accept-encoding"]


async def test_aiohttp_closes_and_reopens_across_lifespans(
    server: tuple[ScriptedSystem, str],
) -> None:
    system, url = server
    system.reset()
    transport = AiohttpTransport()
    await transport.aclose()  # closing before the first call is harmless
    try:
        await transport.send("GET", f"{url}/x", {}, None, BUDGET)
        await transport.aclose()
        await transport.aclose()
        response = await transport.send("GET", f"{url}/x", {}, None, BUDGET)
        assert response.status_code == 200
    finally:
        await transport.aclose()
    first, second = system.seen
    assert first.client_port != second.client_port  # the first connection was closed


async def test_aiohttp_keeps_no_cookies(server: tuple[ScriptedSystem, str]) -> None:
    system, url = server
    system.reset()
    system.will(Step(headers=(("Set-Cookie", "session=abc; Path=/"),)))
    transport = AiohttpTransport()
    try:
        first = await transport.send("GET", f"{url}/x", {}, None, BUDGET)
        await transport.send("GET", f"{url}/x", {}, None, BUDGET)
    finally:
        await transport.aclose()
    assert first.cookies == {"session": "abc"}
    assert "cookie" not in system.seen[1].headers


@pytest.fixture(params=NETWORK_TRANSPORTS)
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[UpstreamTransport]:
    if request.param == "aiohttp":
        aiohttp_transport = AiohttpTransport()
        try:
            yield aiohttp_transport
        finally:
            await aiohttp_transport.aclose()
    else:
        async with httpx.AsyncClient() as client:
            yield HttpxTransport(client)


async def test_a_refused_connection_is_a_connect_error(transport: UpstreamTransport) -> None:
    with pytest.raises(ConnectError):
        await transport.send("POST", f"http://127.0.0.1:{free_port()}/x", {}, b"{}", BUDGET)


async def test_silence_is_a_timeout(
    transport: UpstreamTransport, server: tuple[ScriptedSystem, str]
) -> None:
    system, url = server
    system.reset()
    system.will(Step(hang=1.0))
    with pytest.raises(TransportTimeout):
        await transport.send("GET", f"{url}/x", {}, None, TimeBudget(total=0.2, connect=0.2))


@pytest.fixture
def hangs_up() -> Iterator[str]:
    """A server that accepts a connection, reads the request and closes without answering."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


async def test_a_dropped_connection_may_have_been_sent(
    transport: UpstreamTransport, hangs_up: str
) -> None:
    with pytest.raises(TransportError) as info:
        await transport.send("POST", f"{hangs_up}/x", {}, b"{}", BUDGET)
    assert not isinstance(info.value, ConnectError | TransportTimeout)
