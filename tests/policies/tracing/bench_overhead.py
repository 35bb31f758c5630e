"""Micro-benchmark (not a test): per-request cost of the tracing edge.

    .venv/bin/python -m tests.policies.tracing.bench_overhead [--requests N]

Drives ASGI apps in-process (no sockets, no HTTP parsing) so only the
middleware's own cost shows: a trivial ASGI app and a plain Litestar endpoint,
bare and wrapped by TracingMiddleware at sampling off / 5 % (the default) /
100 %, with and without the JSON access line (written to a null stream), and
with one instrumented system-of-record call (no I/O) per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from litestar import Litestar, get

from policies.tracing import (
    Tracer,
    TracingConfig,
    TracingMiddleware,
    configure_logging,
    sor_call_span,
)

_BODY = b'{"status":"ok"}'
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")],
}
_END = {"type": "http.response.body", "body": _BODY}


async def trivial(scope: Any, receive: Any, send: Any) -> None:
    await send(dict(_START))
    await send(_END)


async def trivial_with_sor_call(scope: Any, receive: Any, send: Any) -> None:
    with sor_call_span("sap_s4hana", "getSalesOrder", "GET", "https://sap.test/orders/1"):
        pass
    await trivial(scope, receive, send)


@get("/v1/health/{item:str}", sync_to_thread=False)
def plain(item: str) -> dict[str, str]:
    return {"status": "ok"}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/health/abc",
        "raw_path": b"/v1/health/abc",
        "root_path": "",
        "query_string": b"",
        "headers": list(headers),
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }


async def _time(app: Any, requests: int, headers: list[tuple[bytes, bytes]]) -> float:
    """Microseconds per request over one run."""
    started = time.perf_counter()
    for _ in range(requests):
        await app(_scope(headers), _receive, _send)
    return (time.perf_counter() - started) / requests * 1e6


def _wrap(inner: Any, log: bool, **config: Any) -> tuple[Any, Tracer]:
    tracer = Tracer(TracingConfig(log_requests=log, **config))
    return TracingMiddleware(inner, tracer.config, tracer=tracer), tracer


Case = tuple[str, Callable[[], tuple[Any, Tracer | None]], list[tuple[bytes, bytes]]]
UNSAMPLED = [(b"traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")]


def _sections() -> list[tuple[str, list[Case]]]:
    litestar = Litestar(route_handlers=[plain], logging_config=None, openapi_config=None)
    return [
        (
            "trivial ASGI app",
            [
                ("no tracing", lambda: (trivial, None), []),
                ("sampler off, no log", lambda: _wrap(trivial, False, sampler="always_off"), []),
                ("ratio 0.05, no log", lambda: _wrap(trivial, False), []),
                ("ratio 0.05, caller sent unsampled", lambda: _wrap(trivial, False), UNSAMPLED),
                ("ratio 1.0, no log", lambda: _wrap(trivial, False, ratio=1.0), []),
                ("ratio 0.05, JSON access log", lambda: _wrap(trivial, True), []),
                ("ratio 1.0, JSON access log", lambda: _wrap(trivial, True, ratio=1.0), []),
                ("ratio 0.05, 1 SoR hook", lambda: _wrap(trivial_with_sor_call, False), []),
                (
                    "ratio 1.0, 1 SoR hook",
                    lambda: _wrap(trivial_with_sor_call, False, ratio=1.0),
                    [],
                ),
            ],
        ),
        (
            "Litestar plain endpoint",
            [
                ("no tracing", lambda: (litestar, None), []),
                (
                    "sampler off, JSON access log",
                    lambda: _wrap(litestar, True, sampler="always_off"),
                    [],
                ),
                ("ratio 0.05, JSON access log", lambda: _wrap(litestar, True), []),
                ("ratio 1.0, JSON access log", lambda: _wrap(litestar, True, ratio=1.0), []),
            ],
        ),
    ]


async def main(requests: int, rounds: int) -> None:
    """Cases run round-robin and each keeps its best round, so a noisy neighbour
    slowing the machine for a while does not land on one case only."""
    with open(os.devnull, "w") as null:
        configure_logging("INFO", stream=null)  # the access line's full cost, minus the disk
        built = [
            (section, name, *build(), headers)
            for section, cases in _sections()
            for name, build, headers in cases
        ]
        best = [float("inf")] * len(built)
        for _ in range(rounds):
            for index, (_, _, app, _, headers) in enumerate(built):
                best[index] = min(best[index], await _time(app, requests, headers))
        print(f"{'case':44} {'us/req':>8} {'added':>8} {'req/s':>9}")
        baseline = {}
        for (section, name, _, tracer, _), micros in zip(built, best, strict=True):
            if section not in baseline:
                print(section)
                baseline[section] = micros
            added = micros - baseline[section]
            print(f"  {name:42} {micros:8.2f} {added:8.2f} {1e6 / micros:9.0f}")
            if tracer is not None:
                tracer.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5_000, help="per case and round")
    parser.add_argument("--rounds", type=int, default=10)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))
