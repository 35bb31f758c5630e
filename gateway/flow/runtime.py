"""The flow's part of the composition root: stores, services and the engine of one
process, built from the gateway's runtime and ``[flow]``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from domains.paging import Pager
from domains.quote_to_cash.clock import SystemClock, parse, rfc3339
from domains.quote_to_cash.exceptions import ExceptionQueue
from domains.quote_to_cash.ports import EventStream
from domains.quote_to_cash.service import TransactionService
from domains.quote_to_cash.steps import QuoteToCash
from domains.quote_to_cash.validation import QuoteValidator
from gateway.flow import context
from gateway.flow.crm import CrmWriteBack
from gateway.flow.engine import FlowClient, FlowExecutor, executor_id
from gateway.flow.heartbeat import Heartbeat
from gateway.flow.settings import FlowSettings, system_database_url
from gateway.flow.store import SqlTransactionStore
from gateway.flow.stream import MemoryEventStream, RedisEventStream
from gateway.stores.sql.config import home_folder
from gateway.stores.sql.engine import Database

log = logging.getLogger("q2c.flow")


@dataclass
class Flow:
    """What the routes and the worker use: services over one store and one engine."""

    settings: FlowSettings
    database: Database
    store: SqlTransactionStore
    stream: EventStream
    transactions: TransactionService
    exceptions: ExceptionQueue
    channel: FlowClient | FlowExecutor
    runtime: context.FlowRuntime
    pager: Pager  # signs the list cursors, as every other list's
    heartbeat: Heartbeat | None = None
    role: str = "serve"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def runs_workflows(self) -> bool:
        return isinstance(self.channel, FlowExecutor)

    async def open(self) -> None:
        """The flow's tables come with the gateway's schema (migration 0008_flow)."""
        if isinstance(self.channel, FlowExecutor):
            context.install(self.runtime)
            await self.channel.launch()
            self.heartbeat = Heartbeat(
                self.database.engine,
                self.channel.executor_id,
                role=self.role,
                interval=self.settings.heartbeat_seconds,
                dead_after=self.settings.dead_after_heartbeats,
                recover=self.channel.recover,
                on_beat=self._on_beat,
            )
            await self.heartbeat.beat()
            self.heartbeat.start()

    async def _on_beat(self) -> None:
        await self._report_dead_letters()
        await self._restart_stranded()

    async def _restart_stranded(self) -> None:
        """Start again what was recorded but never started (see
        ``FlowSettings.restart_accepted_after_seconds``); every worker sweeps, and a
        second start of one transaction is a no-op."""
        now = parse(self.runtime.clock.now())
        cutoff = rfc3339(now - timedelta(seconds=self.settings.restart_accepted_after_seconds))
        for transaction in await self.store.stranded(cutoff, limit=100):
            log.warning(
                "transaction %s still accepted since %s: starting it again",
                transaction.id,
                transaction.updated_at,
                extra={"transaction_id": transaction.id},
            )
            await self.transactions.restart(transaction)

    async def _report_dead_letters(self) -> None:
        """The flow metrics' DLQ depth: open dead letters across tenants, as seen now."""
        metrics = self.runtime.metrics
        if metrics is not None:
            depth = await self.store.count_exceptions(None, "dead_letter")
            metrics.set_dlq_depth("quote_to_cash", depth)

    async def close(self) -> None:
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        await self.channel.close()
        if isinstance(self.channel, FlowExecutor):
            context.uninstall()


def _pager(runtime: Any) -> Pager:
    pager = runtime.pager
    assert isinstance(pager, Pager), "the gateway's runtime signs every list's cursors"
    return pager


def build_flow(runtime: Any, *, role: str, runs_workflows: bool) -> Flow:
    """``runtime`` is the gateway's (gateway.wiring.Runtime)."""
    settings: FlowSettings = runtime.settings.flow
    database: Database = runtime.database
    store = SqlTransactionStore(database)
    stream: EventStream
    if runtime.redis is not None:
        stream = RedisEventStream(runtime.redis, runtime.settings.redis.prefix)
    else:
        stream = MemoryEventStream()
    services = runtime.services
    adapters = runtime.adapters
    policy = settings.policy
    clock = SystemClock()
    validator = QuoteValidator(
        policy=policy,
        ownership=runtime.ownership,
        crosswalks=runtime.crosswalks,
        customers=services.customers,
        products=services.products,
        books=adapters.crm,
        erps=adapters.erps,
    )
    steps = QuoteToCash(
        validator=validator,
        quotes=services.quotes,
        orders=services.orders,
        invoices=services.invoices,
        crm=CrmWriteBack(services.quotes.source()),
    )
    system_url = system_database_url(
        runtime.settings.database_url(), runtime.settings.database is not None, home_folder()
    )
    channel: FlowClient | FlowExecutor = (
        FlowExecutor(settings, system_url, executor_id(role))
        if runs_workflows
        else FlowClient(system_url)
    )
    flow_runtime = context.FlowRuntime(
        steps=steps,
        store=store,
        stream=stream,
        policy=policy,
        clock=clock,
        metrics=runtime.metrics,
        tracer=runtime.tracer,
        max_active_steps=settings.worker_concurrency,
    )
    return Flow(
        settings=settings,
        database=database,
        store=store,
        stream=stream,
        transactions=TransactionService(store=store, starter=channel, channel=channel, clock=clock),
        exceptions=ExceptionQueue(store=store, channel=channel, clock=clock),
        channel=channel,
        runtime=flow_runtime,
        pager=_pager(runtime),
        role=role,
        extra={"crosswalks": runtime.crosswalks, "quote_system": services.quotes.source().system},
    )
