"""DBOS in this process: launched where workflows run, a client where they are only
started.

``q2c serve`` with a configured database only enqueues (``DBOSClient``) and sends
messages; ``q2c worker`` launches DBOS and runs the queue. The embedded default
launches DBOS inside ``q2c serve`` on SQLite. Either way the workflow id is the
transaction id, so a second start of the same transaction attaches to the first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Any

import msgspec
from dbos import DBOS, DBOSClient

from domains.quote_to_cash.service import StartSignal
from gateway.flow.messages import (
    DECISION_TOPIC,
    DISPATCH_NAME,
    PAYMENT_TOPIC,
    QUEUE_NAME,
    StartRequest,
    dispatch_id,
)
from gateway.flow.settings import FlowSettings

log = logging.getLogger("q2c.flow")
APP_NAME = "q2c"
# Every process must agree on the version, or one would not dequeue the other's work:
# bump it when a change to the workflow's step order breaks recovery of old runs.
APP_VERSION = "q2c-flow-1"


def executor_id(role: str) -> str:
    """Unique per process, readable in logs: role, host, pid and a random tail."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _start_options(signal: StartSignal) -> Any:
    return {
        "workflow_name": DISPATCH_NAME,
        "queue_name": QUEUE_NAME,
        "workflow_id": dispatch_id(signal.transaction_id),
        "app_version": APP_VERSION,
    }


def _request(signal: StartSignal) -> dict[str, Any]:
    request: dict[str, Any] = msgspec.to_builtins(
        StartRequest(
            transaction_id=signal.transaction_id,
            tenant=signal.tenant,
            quote_id=signal.quote_id,
            source=signal.source,
            traceparent=signal.traceparent,
            accepted_at=signal.accepted_at,
        )
    )
    return request


def migrate_system_database(system_url: str) -> None:
    """Create or upgrade DBOS's own tables (``q2c db upgrade``), so a gateway that only
    enqueues can start before any worker has launched DBOS."""
    DBOS.migrate(system_url)


class FlowClient:
    """Starts transactions and delivers messages without running workflows."""

    def __init__(self, system_url: str) -> None:
        self._url = system_url
        self._client: DBOSClient | None = None

    def _get(self) -> DBOSClient:
        if self._client is None:
            if self._url.startswith("sqlite"):
                # A SQLite file of this gateway's own: nobody else creates DBOS's tables
                # (a PostgreSQL database gets them from ``q2c db upgrade``).
                migrate_system_database(self._url)
            self._client = DBOSClient(
                system_database_url=self._url, application_name=APP_NAME, lazy=True
            )
        return self._client

    async def start(self, signal: StartSignal) -> None:
        await self._get().enqueue_async(_start_options(signal), _request(signal))

    async def decide(self, transaction_id: str, decision: Any) -> None:
        await self._get().send_async(transaction_id, msgspec.to_builtins(decision), DECISION_TOPIC)

    async def payment(self, transaction_id: str, notice: Any) -> None:
        await self._get().send_async(transaction_id, msgspec.to_builtins(notice), PAYMENT_TOPIC)

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await asyncio.to_thread(client.destroy)


class FlowExecutor:
    """DBOS launched in this process: it runs the quote-to-cash queue."""

    def __init__(self, settings: FlowSettings, system_url: str, executor: str) -> None:
        self.settings = settings
        self.executor_id = executor
        self._url = system_url
        self.launched = False

    async def launch(self) -> None:
        """Launch inside the running event loop, so async workflows run on it."""
        # Importing registers the workflow function with DBOS.
        from gateway.flow import workflow  # noqa: F401

        DBOS(
            config={
                "name": APP_NAME,
                "system_database_url": self._url,
                "executor_id": self.executor_id,
                "application_version": APP_VERSION,
                "notification_listener_polling_interval_sec": min(
                    1.0, self.settings.polling_interval_seconds
                ),
                "log_level": "WARNING",
                "sys_db_pool_size": self.settings.system_pool_size,
            }
        )
        DBOS.launch()  # here, not in a thread: DBOS adopts the running loop
        await DBOS.register_queue_async(
            QUEUE_NAME,
            worker_concurrency=self.settings.worker_concurrency,
            polling_interval_sec=self.settings.polling_interval_seconds,
            on_conflict="always_update",
        )
        self.launched = True
        log.info("flow executor %s launched", self.executor_id)

    async def start(self, signal: StartSignal) -> None:
        await DBOS.enqueue_workflow_with_options_async(_start_options(signal), _request(signal))

    async def decide(self, transaction_id: str, decision: Any) -> None:
        await DBOS.send_async(transaction_id, msgspec.to_builtins(decision), DECISION_TOPIC)

    async def payment(self, transaction_id: str, notice: Any) -> None:
        await DBOS.send_async(transaction_id, msgspec.to_builtins(notice), PAYMENT_TOPIC)

    async def recover(self, executor_ids: list[str]) -> list[str]:
        """Re-enqueue the PENDING transactions of dead executors (DBOS's recovery; the
        re-enqueue is conditional on the dead executor id, so it is idempotent)."""
        handles = await asyncio.to_thread(DBOS._recover_pending_workflows, executor_ids)
        return [h.get_workflow_id() for h in handles]

    async def close(self) -> None:
        if self.launched:
            self.launched = False
            # DBOS retries a lost database connection forever, also in a workflow call
            # still running on its thread pool when the process stops; the interpreter
            # then waits for that thread at exit and the worker never ends (seen in CI:
            # a test's database dropped under a transaction waiting for its payment).
            # Stopping, it raises instead; the transaction stays PENDING and another
            # worker recovers it. (DBOS offers this switch on its client only.)
            from dbos._dbos import _get_dbos_instance

            system_database = getattr(_get_dbos_instance(), "_sys_db", None)
            if system_database is not None:
                system_database._retry_connection_errors = False
            DBOS.destroy(workflow_completion_timeout_sec=0)
