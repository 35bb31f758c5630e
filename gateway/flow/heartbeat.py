"""Liveness of the processes that run transactions, and recovery of dead ones.

Without DBOS's hosted Conductor nobody recovers a worker that dies for good: its
PENDING workflows carry its executor id and only a process with that id recovers
them at launch. So each executor refreshes a heartbeat row; every live worker
looks for executors silent for ``dead_after_heartbeats`` intervals, claims one
with a single conditional UPDATE (so exactly one live worker wins), and asks DBOS
to recover that executor's pending workflows. The recovered transactions go back
on the queue and re-run from their last checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.flow import tables

log = logging.getLogger("q2c.flow")

Recover = Callable[[list[str]], Awaitable[list[str]]]
OnBeat = Callable[[], Awaitable[None]]


class Heartbeat:
    def __init__(
        self,
        engine: AsyncEngine,
        executor_id: str,
        *,
        role: str,
        interval: float,
        dead_after: int,
        recover: Recover | None,
        on_beat: OnBeat | None = None,
    ) -> None:
        self._engine = engine
        self.executor_id = executor_id
        self._role = role
        self._interval = interval
        self._dead_after = dead_after
        self._recover = recover
        self._on_beat = on_beat
        self._task: asyncio.Task[None] | None = None
        self.recovered: dict[str, list[str]] = {}

    async def beat(self) -> None:
        now = time.time()
        table = tables.executors
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(table).values(
            executor_id=self.executor_id, role=self._role, started_at=now, heartbeat_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["executor_id"], set_={"heartbeat_at": now}
        )
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def recover_dead(self) -> list[str]:
        """Claim and recover every executor that stopped beating; ids recovered."""
        if self._recover is None:
            return []
        table = tables.executors
        cutoff = time.time() - self._interval * self._dead_after
        async with self._engine.connect() as conn:
            silent = (
                (
                    await conn.execute(
                        sa.select(table.c.executor_id).where(
                            table.c.heartbeat_at < cutoff,
                            table.c.recovered_by.is_(None),
                            table.c.executor_id != self.executor_id,
                        )
                    )
                )
                .scalars()
                .all()
            )
        claimed = []
        for dead in silent:
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    sa.update(table)
                    .where(
                        table.c.executor_id == dead,
                        table.c.recovered_by.is_(None),
                        table.c.heartbeat_at < cutoff,
                    )
                    .values(recovered_by=self.executor_id, recovered_at=time.time())
                )
            if result.rowcount == 1:
                claimed.append(dead)
        if claimed:
            workflows = await self._recover(claimed)
            for dead in claimed:
                self.recovered[dead] = workflows
            log.warning(
                "executor %s recovered %d transaction(s) of dead executor(s) %s",
                self.executor_id,
                len(workflows),
                ", ".join(claimed),
            )
        return claimed

    async def run(self) -> None:
        while True:
            try:
                await self.beat()
                await self.recover_dead()
                if self._on_beat is not None:
                    await self._on_beat()
            except Exception:  # the database may be restarting; keep beating
                log.exception("heartbeat of %s failed", self.executor_id)
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
