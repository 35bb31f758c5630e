"""``q2c dlq list|replay``: dead letters straight from the shared database."""

from __future__ import annotations

import getpass
import sys

import msgspec

from domains.errors import GatewayError
from domains.quote_to_cash.clock import SystemClock
from domains.quote_to_cash.exceptions import ExceptionQueue, filters
from gateway.flow.engine import FlowClient
from gateway.flow.settings import system_database_url
from gateway.flow.store import SqlTransactionStore
from gateway.settings import Settings
from gateway.stores.sql.config import home_folder
from gateway.stores.sql.engine import Database


def _database(settings: Settings) -> Database:
    return Database(settings.database_url(), settings.database)


async def list_dead_letters(settings: Settings, tenant: str, everything: bool) -> int:
    database = _database(settings)
    try:
        store = SqlTransactionStore(database)
        where = filters(kind="dead_letter", state=None if everything else "open")
        items = await store.exceptions(tenant, where, 0, 1000)
        for item in items:
            line = {
                "id": item.id,
                "transaction_id": item.transaction_id,
                "step": item.step,
                "class": item.error_class,
                "code": item.code,
                "state": item.state,
                "attempts": len(item.errors),
                "created_at": item.created_at,
                "detail": item.detail,
            }
            print(msgspec.json.encode(line).decode())
        print(f"{len(items)} dead letter(s)", file=sys.stderr)
        return 0
    finally:
        await database.dispose()


async def replay(settings: Settings, tenant: str, exception_id: str) -> int:
    database = _database(settings)
    client = FlowClient(
        system_database_url(settings.database_url(), settings.database is not None, home_folder())
    )
    try:
        queue = ExceptionQueue(
            store=SqlTransactionStore(database), channel=client, clock=SystemClock()
        )
        try:
            item = await queue.get(tenant, exception_id)
            if item.kind != "dead_letter":
                print(f"q2c dlq replay: {exception_id} is not a dead letter", file=sys.stderr)
                return 2
            item = await queue.act(
                tenant, exception_id, f"cli:{getpass.getuser()}", "retry", note="replay"
            )
        except GatewayError as exc:
            print(f"q2c dlq replay: {exc.detail}", file=sys.stderr)
            return 1
        print(f"replaying {item.transaction_id} from step {item.step}")
        return 0
    finally:
        await client.close()
        await database.dispose()
