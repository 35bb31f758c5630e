#!/usr/bin/env python3
"""Micro-benchmark: client CPU per system-of-record GET, by upstream client.

In one run, against one local upstream (a raw asyncio HTTP/1.1 server in its own
process, answering every request with the same OData JSON), it sends the governed
GET's upstream request (SAP ``A_Product`` by ``$filter``, Basic auth) through:

- ``upstream-aiohttp``: ``systems.upstream.Upstream`` over ``AiohttpTransport`` (the
  gateway's default);
- ``upstream-httpx``: ``Upstream`` over ``HttpxTransport`` (httpx's public
  ``AsyncClient.send``, its own pool; ``[http_client] transport = "httpx"``);
- ``bare-aiohttp``: ``aiohttp.ClientSession.get`` + ``read``, nothing else (baseline);
- ``bare-httpx``: ``httpx.AsyncClient.get``, nothing else (for scale).

It reports the client process's CPU time (``time.process_time``) per call: the
median over rounds, each round running every client in turn (rotating order) so
that a neighbour's load on a shared machine touches them alike. Not a pytest test.

    .venv/bin/python bench/upstream_client.py [--calls 4000] [--rounds 5] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domains.errors import DependencyUnavailable  # noqa: E402
from systems.transport import AiohttpTransport, HttpxTransport, UpstreamResponse  # noqa: E402
from systems.upstream import Upstream, UpstreamConfig  # noqa: E402

PATH = "/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product"
PARAMS = {
    "$filter": "Product eq 'Q2C-1001'",
    "$expand": "to_Description",
    "$top": "1",
    "$format": "json",
}
HEADERS = {"Authorization": "Basic UTJDX0dBVEVXQVk6c2FuZGJveA==", "Accept": "application/json"}
TRACEPARENT = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-00"}
BODY = json.dumps(
    {
        "d": {
            "results": [
                {
                    "__metadata": {"type": "API_PRODUCT_SRV.A_ProductType"},
                    "Product": "Q2C-1001",
                    "ProductType": "FERT",
                    "BaseUnit": "EA",
                    "ProductGroup": "L001",
                    "IsMarkedForDeletion": False,
                    "to_Description": {
                        "results": [
                            {
                                "Product": "Q2C-1001",
                                "Language": "EN",
                                "ProductDescription": "Widget",
                            }
                        ]
                    },
                }
            ]
        }
    }
).encode()

Call = Callable[[], Awaitable[bytes]]


# ------------------------------------------------------------------ the upstream


class _Answer(asyncio.Protocol):
    """Answers each request head with the fixed JSON, keeping the connection open."""

    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:  # GETs only: a request is its head
            _, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            self.transport.write(self.response)


async def _serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Answer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"the upstream did not listen on {port}")


# ------------------------------------------------------------------ the clients


def _translate(response: UpstreamResponse) -> DependencyUnavailable:
    return DependencyUnavailable(f"HTTP {response.status_code}", system="sap_s4hana")


def _upstream(transport: Any, base: str) -> Upstream:
    return Upstream(
        system="sap_s4hana",
        transport=transport,
        base_url=base,
        config=UpstreamConfig(),
        translate=_translate,
        headers=lambda: TRACEPARENT,
    )


@asynccontextmanager
async def clients(base: str, pool: int) -> AsyncIterator[dict[str, Call]]:
    url = str(httpx.URL(base + PATH, params=PARAMS))  # what all of them put on the wire
    headers = {**HEADERS, **TRACEPARENT}
    aiohttp_transport = AiohttpTransport(max_connections=pool)
    httpx_client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=pool), trust_env=False, timeout=10
    )
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=pool), cookie_jar=aiohttp.DummyCookieJar()
    )
    via_aiohttp = _upstream(aiohttp_transport, base)
    via_httpx = _upstream(HttpxTransport(httpx_client), base)

    async def upstream_aiohttp() -> bytes:
        response = await via_aiohttp.request(
            "GET", PATH, operation="read", retry_safe=True, headers=HEADERS, params=PARAMS
        )
        return response.content

    async def upstream_httpx() -> bytes:
        response = await via_httpx.request(
            "GET", PATH, operation="read", retry_safe=True, headers=HEADERS, params=PARAMS
        )
        return response.content

    async def bare_aiohttp() -> bytes:
        async with session.get(url, headers=headers) as response:
            return await response.read()

    async def bare_httpx() -> bytes:
        return (await httpx_client.get(url, headers=headers)).content

    try:
        yield {
            "upstream-aiohttp": upstream_aiohttp,
            "upstream-httpx": upstream_httpx,
            "bare-aiohttp": bare_aiohttp,
            "bare-httpx": bare_httpx,
        }
    finally:
        await aiohttp_transport.aclose()
        await httpx_client.aclose()
        await session.close()


# ------------------------------------------------------------------ measuring


async def _run(call: Call, calls: int, concurrency: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) for ``calls`` calls over ``concurrency`` workers."""

    async def worker(count: int) -> None:
        for _ in range(count):
            body = await call()
            assert body == BODY

    shares = [calls // concurrency + (i < calls % concurrency) for i in range(concurrency)]
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(share) for share in shares))
    return time.process_time() - cpu, time.perf_counter() - wall


async def measure(base: str, args: argparse.Namespace) -> dict[str, list[float]]:
    cpu_us: dict[str, list[float]] = {}
    async with clients(base, args.concurrency) as paths:
        names = list(paths)
        for name in names:  # warm up: connections, caches, imports
            await _run(paths[name], args.warmup, args.concurrency)
        for round_ in range(args.rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                cpu, _ = await _run(paths[name], args.calls, args.concurrency)
                cpu_us.setdefault(name, []).append(cpu / args.calls * 1e6)
    return cpu_us


def report(cpu_us: dict[str, list[float]], args: argparse.Namespace) -> None:
    baseline = statistics.median(cpu_us["bare-aiohttp"])
    print(
        f"\nclient CPU per GET: {args.rounds} rounds x {args.calls} calls, "
        f"concurrency {args.concurrency}; Python {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}, httpx {httpx.__version__}"
    )
    print(f"{'client':<18}{'median us':>10}{'min us':>9}{'x bare-aiohttp':>16}")
    for name, values in cpu_us.items():
        median = statistics.median(values)
        print(f"{name:<18}{median:>10.0f}{min(values):>9.0f}{median / baseline:>16.2f}")
    added = statistics.median(cpu_us["upstream-aiohttp"]) - baseline
    print(f"Upstream's own work over bare aiohttp: {added:.0f} us per call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4000, help="calls per client per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the upstream process
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        _wait_for(port)
        cpu_us = asyncio.run(measure(f"http://127.0.0.1:{port}", args))
    finally:
        server.terminate()
        server.wait(timeout=10)
    report(cpu_us, args)


if __name__ == "__main__":
    main()
