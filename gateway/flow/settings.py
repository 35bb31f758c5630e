"""``[flow]``: how the quote-to-cash transactions run and are reached.

The flow keeps its tables in the gateway's database (``[database]``, migrated with
the rest) and DBOS keeps its system tables in the same PostgreSQL database (schema
``dbos``). Without ``[database]`` (the embedded default) DBOS uses its own SQLite
file under the gateway's home folder and one worker runs inside ``q2c serve``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec

from domains.quote_to_cash.config import FlowPolicy


class FlowSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True
    # Run a worker inside ``q2c serve``: the embedded default does; a deployment with
    # ``q2c worker`` processes should not (None: only without ``[database]``).
    embedded_worker: bool | None = None
    # Steps one worker process runs at once (and transactions it takes off the queue at
    # a time); transactions waiting for a payment, a delivery or an operator hold none.
    worker_concurrency: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100
    # How often a worker looks for new transactions on the queue.
    polling_interval_seconds: Annotated[float, msgspec.Meta(ge=0.01, le=60)] = 0.5
    # DBOS's own connection pool per process (its checkpoints, queue and messages).
    system_pool_size: Annotated[int, msgspec.Meta(ge=2, le=200)] = 20
    # Liveness: each process refreshes its heartbeat this often; an executor silent
    # for ``dead_after_heartbeats`` intervals is dead and a live worker recovers its
    # transactions.
    heartbeat_seconds: Annotated[float, msgspec.Meta(ge=0.05, le=300)] = 5.0
    dead_after_heartbeats: Annotated[int, msgspec.Meta(ge=2, le=100)] = 3
    # A transaction still `accepted` (recorded, no step run) this long after its last
    # change is started again by a worker: its start was lost (a crash between the
    # insert and the enqueue, or a database that dropped its last commits). Starting a
    # running transaction again is a no-op, so a queue that is merely long costs one
    # look-up per transaction and sweep.
    restart_accepted_after_seconds: Annotated[float, msgspec.Meta(ge=0.5, le=86_400)] = 300.0
    # Inbound events: the CRM's shared HMAC secret and Stripe's webhook signing secret
    # come from these environment variables (unset: the endpoint answers 401).
    crm_secret_env: str | None = "Q2C_CRM_WEBHOOK_SECRET"  # noqa: S105 - a variable name
    stripe_webhook_secret_env: str | None = "Q2C_STRIPE_WEBHOOK_SECRET"  # noqa: S105
    # The tenant the CRM's events start transactions for.
    crm_tenant: str = "sandbox"
    signature_tolerance_seconds: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 300
    # The business rules of the transaction.
    policy: FlowPolicy = FlowPolicy()


def system_database_url(database_url: str, configured: bool, home: Path) -> str:
    """DBOS's system database: the gateway's PostgreSQL, or a SQLite file of its own
    beside the embedded gateway's (two writers on one SQLite file would queue on its
    lock for every checkpoint)."""
    if configured and database_url.startswith(("postgresql", "postgres")):
        _, rest = database_url.split("://", 1)
        return "postgresql://" + rest
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(home / 'dbos.sqlite').resolve()}"
