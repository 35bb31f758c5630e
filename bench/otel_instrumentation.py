#!/usr/bin/env python3
"""Micro-benchmark: what the opentelemetry-instrumentation packages would cost the
governed GET, next to what the gateway does itself.

    .venv/bin/pip install opentelemetry-instrumentation-asgi \\
        opentelemetry-instrumentation-aiohttp-client opentelemetry-instrumentation-redis
    .venv/bin/python bench/otel_instrumentation.py [--calls 4000] [--rounds 5]

Not project dependencies: this script is how bench/README.md decides whether they
fit the budget (unsampled tracing + metrics <= 50 µs per request). CPU time per
request or call, median of rounds, each round running every variant in turn; the
tracer provider samples like the gateway (``ParentBased(TraceIdRatioBased(0.05))``)
and every call happens under an unsampled request span, as 95% do in production.

- ``asgi``: ``OpenTelemetryMiddleware`` around the routed-app stand-in of
  bench/edge_overhead.py, against the gateway's ``TracingMiddleware`` (no access
  line) around the same app, and the app alone;
- ``aiohttp-client``: a ``ClientSession`` with the instrumentation's trace config
  against one without, GETs to bench/memory_upstream.py;
- ``redis``: the GCRA EVALSHA with ``RedisInstrumentor`` on and off.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import aiohttp  # noqa: E402
import edge_overhead  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from opentelemetry import context as otel_context  # noqa: E402
from opentelemetry import trace as otel  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased  # noqa: E402

from policies.rate_limit.redis import GCRA_SCRIPT  # noqa: E402
from policies.tracing import Tracer, TracingConfig, TracingMiddleware  # noqa: E402

Variant = Callable[[int], Awaitable[None]]


def _provider() -> TracerProvider:
    return TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.05)), shutdown_on_exit=False)


def _unsampled_request() -> object:
    """Attach an unsampled server span, as the request's current context."""
    span = otel.NonRecordingSpan(
        otel.SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, False)
    )
    return otel_context.attach(otel.set_span_in_context(span))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _rounds(variants: dict[str, Variant], calls: int, rounds: int) -> dict[str, float]:
    names = list(variants)
    for name in names:
        await variants[name](max(200, calls // 10))
    measured: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        for name in names[index % len(names):] + names[: index % len(names)]:
            started = time.process_time()
            await variants[name](calls)
            measured[name].append((time.process_time() - started) / calls * 1e6)
    return {name: statistics.median(values) for name, values in measured.items()}


async def asgi_variants() -> dict[str, Variant]:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    bare = edge_overhead.routed_app(
        (edge_overhead._no_headers, edge_overhead._no_instrument, edge_overhead._no_observer)
    )
    config = TracingConfig(log_requests=False)
    ours = TracingMiddleware(bare, config, tracer=Tracer(config))
    theirs = OpenTelemetryMiddleware(bare, tracer_provider=_provider())

    def driver(app: Any) -> Variant:
        async def run(count: int) -> None:
            for _ in range(count):
                await app(edge_overhead._scope(), edge_overhead._receive, edge_overhead._send)

        return run

    return {
        "asgi: app alone": driver(bare),
        "asgi: gateway TracingMiddleware": driver(ours),
        "asgi: OpenTelemetryMiddleware": driver(theirs),
    }


async def client_variants(url: str, stack: list[Any]) -> dict[str, Variant]:
    from opentelemetry.instrumentation.aiohttp_client import create_trace_config

    plain = aiohttp.ClientSession()
    traced = aiohttp.ClientSession(trace_configs=[create_trace_config(tracer_provider=_provider())])
    stack.extend([plain, traced])

    def driver(session: aiohttp.ClientSession) -> Variant:
        async def run(count: int) -> None:
            token = _unsampled_request()
            try:
                for _ in range(count):
                    async with session.get(url) as response:
                        await response.read()
            finally:
                otel_context.detach(token)

        return run

    return {"aiohttp GET: plain": driver(plain), "aiohttp GET: instrumented": driver(traced)}


async def redis_variants(stack: list[Any]) -> dict[str, Variant]:
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    client = aioredis.Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    stack.append(client)
    sha = await client.script_load(GCRA_SCRIPT)
    key = f"q2c-bench:otel-redis:{os.getpid()}"
    instrumentor = RedisInstrumentor()

    def driver(instrumented: bool) -> Variant:
        async def run(count: int) -> None:
            if instrumented:
                instrumentor.instrument(tracer_provider=_provider())
            token = _unsampled_request()
            try:
                for _ in range(count):
                    await client.evalsha(sha, 1, key, 1, 10**12, 1)
            finally:
                otel_context.detach(token)
                if instrumented:
                    instrumentor.uninstrument()

        return run

    async def cleanup() -> None:
        await client.delete(key)

    stack.append(cleanup)
    return {"redis EVALSHA: plain": driver(False), "redis EVALSHA: instrumented": driver(True)}


async def main_async(calls: int, rounds: int, url: str) -> dict[str, float]:
    stack: list[Any] = []
    results: dict[str, float] = {}
    try:
        results.update(await _rounds(await asgi_variants(), calls * 5, rounds))
        results.update(await _rounds(await client_variants(url, stack), calls, rounds))
        results.update(await _rounds(await redis_variants(stack), calls, rounds))
    finally:
        for item in reversed(stack):
            if callable(item):
                await item()
            elif isinstance(item, aiohttp.ClientSession):
                await item.close()
            else:
                await item.aclose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    try:
        import opentelemetry.instrumentation.aiohttp_client
        import opentelemetry.instrumentation.asgi
        import opentelemetry.instrumentation.redis  # noqa: F401
    except ImportError as exc:
        print(f"otel_instrumentation: {exc}; install the three packages first (see --help)")
        return 2
    with tempfile.TemporaryDirectory() as workdir:
        body = Path(workdir) / "body.json"
        body.write_bytes(b'{"d":{"results":[{"Product":"Q2C-1001"}]}}')
        port = _free_port()
        upstream = subprocess.Popen(
            [sys.executable, str(BENCH / "memory_upstream.py"), "--port", str(port),
             "--body-file", str(body)]
        )
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            run = main_async(args.calls, args.rounds, f"http://127.0.0.1:{port}/x")
            try:
                import uvloop
            except ImportError:
                results = asyncio.run(run)
            else:
                results = uvloop.run(run)
        finally:
            upstream.terminate()
            upstream.wait(timeout=10)
    print(f"CPU µs per request or call, median of {args.rounds} rounds (load average "
          f"{[round(x, 2) for x in os.getloadavg()]})")
    for name, value in results.items():
        print(f"  {name:<36}{value:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
