"""``q2c worker``: a process that runs quote-to-cash transactions and nothing else.

Any number of workers share one PostgreSQL database with the gateways: each
dequeues from the same DBOS queue under its own executor id, beats its heartbeat
and recovers the transactions of workers that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from gateway.settings import Settings
from gateway.wiring import build_runtime
from policies.metrics import MetricsListener


async def run_worker(settings: Settings, *, ready: str = "") -> int:
    runtime = build_runtime(settings, role="worker", run_workflows=True)
    flow = runtime.flow
    assert flow is not None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    listener = None
    if settings.metrics.enabled and settings.metrics.listen_port is not None:
        listener = MetricsListener(runtime.metrics)
        await listener.start()
    executor = getattr(flow.channel, "executor_id", "?")
    print(f"q2c worker {executor} running quote-to-cash transactions{ready}", flush=True)
    try:
        await stop.wait()
    finally:
        if listener is not None:
            await listener.stop()
        with contextlib.suppress(Exception):
            await runtime.close()
    return 0


def main(settings: Settings) -> int:
    if not settings.flow.enabled:
        print("q2c worker: [flow] is disabled in this configuration", file=sys.stderr)
        return 2
    if settings.database is None:
        print(
            "q2c worker: needs [database] (PostgreSQL) shared with q2c serve; the embedded "
            "default runs its worker inside q2c serve",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(run_worker(settings))
