#!/usr/bin/env python3
"""Micro-benchmark: what unsampled tracing and metrics cost per request, together.

    .venv/bin/python bench/edge_overhead.py [--requests 20000] [--rounds 7]

In one process, no sockets: an ASGI app that stands in for the routed gateway
(it writes the matched handler and route template into the scope, as Litestar
does, makes one "system-of-record call" through the same three hooks
``systems.upstream.Upstream`` calls, and answers 200) is driven request after
request, and the process CPU time (``time.process_time``) per request is taken:

- ``baseline``: the app alone, with Upstream's default no-op hooks;
- ``tracing+metrics``: wrapped in ``TracingMiddleware(MetricsMiddleware(app))`` as
  ``gateway.policy_chain.edge`` wraps the gateway, with the hooks the composition
  root passes (``outbound_headers``, ``sor_call_span``, ``sor_observer(metrics)``),
  default config (parent-based ratio 0.05, span ring on) and no access line;
- the same with the JSON access line (to a null stream), tracing or metrics alone,
  and every request sampled (for scale).

The budget (issue 10) is ``tracing+metrics - baseline <= 0.05 ms``. Each round runs
every variant in turn, in a rotating order, so neighbours' load touches them alike;
the table shows the median round. Not a pytest test.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies.context import sor_observer  # noqa: E402
from policies.metrics import GatewayMetrics, MetricsMiddleware  # noqa: E402
from policies.route import governed  # noqa: E402
from policies.tracing import (  # noqa: E402
    Tracer,
    TracingConfig,
    TracingMiddleware,
    configure_logging,
    outbound_headers,
    sor_call_span,
)

Hooks = tuple[
    Callable[[], Mapping[str, str]],
    Callable[[str, str, str, str], AbstractContextManager[Mapping[str, str]]],
    Callable[[str, str, float, str], None],
]
_SOR_URL = "http://127.0.0.1:50000/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product"
_BASE_HEADERS = {
    "Authorization": "Basic UTJDX0dBVEVXQVk6c2FuZGJveA==",
    "Accept": "application/json",
}
_BODY = b'{"id":"prd_01","sku":"Q2C-1001"}'
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"33")],
}
_END = {"type": "http.response.body", "body": _BODY, "more_body": False}


class _Handler:
    """What the edge policies read from Litestar's matched handler."""

    operation_id = "getProduct"
    handler_name = "get_product"
    opt = governed("products:read")

    def resolve_tags(self) -> list[str]:
        return ["products"]


_HANDLER = _Handler()


def _no_headers() -> Mapping[str, str]:
    return {}


def _no_instrument(
    system: str, operation: str, method: str, url: str
) -> AbstractContextManager[Mapping[str, str]]:
    return nullcontext({})


def _no_observer(system: str, operation: str, seconds: float, outcome: str) -> None:
    return None


def routed_app(hooks: Hooks) -> Any:
    """The routed gateway reduced to what the edge sees, with one SoR call's hooks
    used as ``Upstream.request`` and ``Upstream._attempt`` use them."""
    headers_of, instrument, observe = hooks

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["route_handler"] = _HANDLER
        scope["path_template"] = "/v1/products/{product_id}"
        call_headers = {**headers_of(), **_BASE_HEADERS}
        started = time.perf_counter()
        with instrument("sap_s4hana", "A_Product.query", "GET", _SOR_URL) as span:
            sent = {**call_headers, **span} if span else call_headers
        observe("sap_s4hana", "A_Product.query", time.perf_counter() - started, "ok")
        assert sent
        await send(dict(_START))
        await send(_END)

    return app


def _scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/products/prd_01",
        "raw_path": b"/v1/products/prd_01",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"authorization", b"Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln"),
            (b"accept", b"application/json"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


def variants() -> dict[str, Any]:
    null_log = io.StringIO()
    configure_logging("INFO", stream=null_log)
    quiet = TracingConfig(log_requests=False)
    logged = TracingConfig(log_requests=True)
    every = TracingConfig(log_requests=False, ratio=1.0)
    metrics = GatewayMetrics()

    def edge(config: TracingConfig | None, with_metrics: bool) -> Any:
        observe = sor_observer(metrics.observe_sor_call if with_metrics else None)
        app = routed_app((outbound_headers, sor_call_span, observe) if config else
                         (_no_headers, _no_instrument, observe))
        if with_metrics:
            app = MetricsMiddleware(app, metrics=metrics)
        if config is not None:
            app = TracingMiddleware(app, config, tracer=Tracer(config))
        return app

    return {
        "baseline": routed_app((_no_headers, _no_instrument, _no_observer)),
        "tracing+metrics": edge(quiet, True),
        "tracing+metrics+access log": edge(logged, True),
        "tracing only": edge(quiet, False),
        "metrics only": edge(None, True),
        "tracing+metrics, all sampled": edge(every, True),
    }


async def _drive(app: Any, requests: int) -> float:
    receive, send = _receive, _send
    started = time.process_time()
    for _ in range(requests):
        await app(_scope(), receive, send)
    return (time.process_time() - started) / requests * 1e6


async def main_async(requests: int, rounds: int) -> dict[str, Any]:
    apps = variants()
    names = list(apps)
    for name in names:  # warm caches, label children, the span ring
        await _drive(apps[name], 2000)
    per_round: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % len(names):] + names[: index % len(names)]
        for name in order:
            per_round[name].append(await _drive(apps[name], requests))
    median = {name: statistics.median(values) for name, values in per_round.items()}
    base = median["baseline"]
    return {
        "requests_per_round": requests,
        "rounds": rounds,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "us_per_request": {k: round(v, 2) for k, v in median.items()},
        "us_over_baseline": {k: round(v - base, 2) for k, v in median.items()},
        "spread_us": {k: round(max(v) - min(v), 2) for k, v in per_round.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = asyncio.run(main_async(args.requests, args.rounds))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"edge overhead, CPU µs per request (median of {args.rounds} rounds x "
        f"{args.requests}; load average {result['loadavg']})"
    )
    print(f"  {'variant':<32}{'µs/request':>11}{'over baseline':>15}{'spread':>9}")
    for name, value in result["us_per_request"].items():
        over = result["us_over_baseline"][name]
        print(f"  {name:<32}{value:>11.2f}{over:>+15.2f}{result['spread_us'][name]:>9.2f}")
    over = result["us_over_baseline"]["tracing+metrics"]
    verdict = "MET" if over <= 50 else "MISSED"
    print(f"  unsampled tracing + metrics: {over:.1f} µs (budget <= 50 µs): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
