#!/usr/bin/env python3
"""Micro-benchmark: the gateway application's own CPU per governed GET, without a server.

    .venv/bin/python bench/app_cpu.py [--requests 4000] [--rounds 5] [--concurrency 8]
                                      [--profile FILE] [--sample FILE]

The gateway of bench/run.py (same generated config: Redis stores, every policy
on) is built in this process and driven through ASGI directly, no HTTP server in
front: ``GET /v1/products/{id}`` with a bearer token, ``--concurrency`` requests
in flight. Its one upstream call goes to bench/memory_upstream.py (another
process) answering the SAP sandbox's own answer from memory; the GCRA EVALSHA
goes to the Redis on 127.0.0.1:6379. So the CPU time of this process per request
(``time.process_time``) is the application's cost: policies, Litestar, redis-py,
aiohttp, the adapter; not granian's, nor the kernel's on the server side.

It is the steady figure for A/B work on the request path (much less sensitive to
neighbours than wrk numbers); the gateway-CPU column of ``make bench`` adds the
server (granian) on top. ``--profile FILE`` writes a cProfile of one more round
(wall time: on a busy machine socket writes look expensive), ``--sample FILE``
CPU-time stack samples of three more (bench/cpu_sampler.py's format).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import run  # noqa: E402  (bench/run.py: processes, config, Redis clean-up)

SKU = "Q2C-1001"


def product_path() -> str:
    url = httpx.URL(
        f"{run.SAP_ROOT}/API_PRODUCT_SRV/A_Product",
        params={
            "$filter": f"Product eq '{SKU}'",
            "$expand": "to_Description",
            "$top": "1",
            "$format": "json",
        },
    )
    return url.raw_path.decode()


def capture_body(processes: run.Processes, workdir: Path) -> Path:
    """The SAP sandbox's answer to the governed GET's upstream request."""
    port = run.free_port()
    sap = processes.start(
        "sandbox-sap",
        [run.Q2C, "sandbox", "serve", "--system", "sap-s4hana", "--host", run.LOOPBACK,
         "--port", str(port)],
        port,
    )
    try:
        answer = httpx.get(
            sap.url + product_path(),
            headers={"Authorization": run.SAP_BASIC, "Accept": "application/json"},
            timeout=20,
        )
        answer.raise_for_status()
    finally:
        processes.stop(sap)
    body = workdir / "product.json"
    body.write_bytes(answer.content)
    return body


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class _Sink:
    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status = 0

    async def __call__(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]


def _scope(path: str, token: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"authorization", b"Bearer " + token),
            (b"accept", b"application/json"),
            (b"user-agent", b"app_cpu"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }


async def drive(app: Any, path: str, token: bytes, requests: int, concurrency: int) -> float:
    """CPU µs per request for ``requests`` GETs, ``concurrency`` at a time."""
    per_task = requests // concurrency
    failures: list[int] = []

    async def one_stream() -> None:
        for _ in range(per_task):
            sink = _Sink()
            await app(_scope(path, token), _receive, sink)
            if sink.status != 200:
                failures.append(sink.status)

    started = time.process_time()
    await asyncio.gather(*(one_stream() for _ in range(concurrency)))
    used = time.process_time() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return used / (per_task * concurrency) * 1e6


async def measure(config: Path, args: argparse.Namespace) -> dict[str, Any]:
    os.environ["Q2C_CONFIG"] = str(config)
    for name, value in run.SANDBOX_ENV.items():
        os.environ[name] = value
    from gateway.app import create_app
    from gateway.settings import load_settings

    settings = load_settings()
    app = create_app(settings)
    async with app.litestar.lifespan():
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
        async with http:
            issued = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(run.CLIENT_ID, args.client_secret),
            )
            issued.raise_for_status()
            token = issued.json()["access_token"].encode()
            headers = {"Authorization": f"Bearer {token.decode()}"}
            listed = await http.get("/v1/products", params={"limit": "5"}, headers=headers)
            assert listed.status_code == 200, listed.text
            product = listed.json()["data"][0]["id"]
        path = f"/v1/products/{product}"
        await drive(app, path, token, 1000, args.concurrency)  # warm: caches, pools
        rounds = [
            await drive(app, path, token, args.requests, args.concurrency)
            for _ in range(args.rounds)
        ]
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await drive(app, path, token, args.requests, args.concurrency)
            profiler.disable()
            profiler.dump_stats(args.profile)
        if args.sample:
            # CPU-time stack samples (bench/cpu_sampler.py), in collapsed-stack form.
            import cpu_sampler

            os.environ["BENCH_PROFILE_OUT"] = str(args.sample)
            cpu_sampler._start(0, None)
            await drive(app, path, token, args.requests * 3, args.concurrency)
            cpu_sampler._stop(0, None)
    return {"rounds_us": [round(r, 1) for r in rounds], "median_us": statistics.median(rounds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", type=Path, default=None, help="cProfile output (wall time)")
    parser.add_argument(
        "--sample", type=Path, default=None, help="CPU-time samples, collapsed stacks"
    )
    args = parser.parse_args()
    args.client_secret = secrets.token_urlsafe(24)
    workdir = Path(tempfile.mkdtemp(prefix="q2c-app-cpu-"))
    processes = run.Processes(workdir)
    prefix = f"q2c-bench:app-cpu-{os.getpid()}-{secrets.token_hex(3)}:"
    try:
        body = capture_body(processes, workdir)
        port = run.free_port()
        upstream = processes.start(
            "memory-upstream",
            [sys.executable, str(BENCH / "memory_upstream.py"), "--port", str(port),
             "--body-file", str(body)],
            port,
        )
        (workdir / "issuer-key.pem").unlink(missing_ok=True)
        config = run.gateway_config(
            workdir / "gateway.toml",
            sap=upstream.url,
            salesforce=f"http://{run.LOOPBACK}:9",
            prefix=prefix,
            transport="aiohttp",
            client_secret=args.client_secret,
        )
        try:  # the event loop granian runs the gateway on when uvloop is installed
            import uvloop
        except ImportError:
            result = asyncio.run(measure(config, args))
        else:
            result = uvloop.run(measure(config, args))
    finally:
        processes.stop_all()
        redis = run.MiniRedis()
        redis.delete_prefix(prefix)
        redis.close()
    print(
        f"gateway app CPU per GET /v1/products/{{id}} (in-process ASGI, c={args.concurrency}, "
        f"{args.requests} x {args.rounds}; load average {[round(x, 2) for x in os.getloadavg()]}):"
        f" median {result['median_us']:.1f} µs, rounds {result['rounds_us']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
