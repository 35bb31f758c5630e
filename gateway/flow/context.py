"""What a running workflow reaches: the process's flow runtime.

DBOS registers workflow functions at import time, before the composition root
has built the services; the worker (or the embedded gateway) installs its
runtime here once, before it launches DBOS.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domains.quote_to_cash.clock import Clock
from domains.quote_to_cash.config import FlowPolicy
from domains.quote_to_cash.ports import EventStream
from domains.quote_to_cash.steps import QuoteToCash

if TYPE_CHECKING:
    from gateway.flow.store import SqlTransactionStore
    from policies.metrics import GatewayMetrics
    from policies.tracing.otel import Tracer


@dataclass
class FlowRuntime:
    steps: QuoteToCash
    store: SqlTransactionStore
    stream: EventStream
    policy: FlowPolicy
    clock: Clock
    metrics: GatewayMetrics | None = None
    tracer: Tracer | None = None
    source: str = "/q2c"
    # Steps doing work at once in this process (waits hold none).
    max_active_steps: int = 100
    _slots: asyncio.Semaphore | None = None

    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_active_steps)
        return self._slots


_installed: list[FlowRuntime] = []


def install(runtime: FlowRuntime) -> None:
    _installed[:] = [runtime]


def uninstall() -> None:
    _installed.clear()


def current() -> FlowRuntime:
    if not _installed:
        raise RuntimeError("no flow runtime installed in this process (q2c worker not started)")
    return _installed[0]
