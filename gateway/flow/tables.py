"""The flow's tables in the gateway's database (created by the Alembic migration
``0008_flow`` in gateway/stores/sql/migrations, with the console's columns and indexes
from ``0010_console_queue``, and part of the store's metadata, so
the migration test checks them for drift like every other table).

Timestamps are RFC 3339 UTC strings with milliseconds: they sort as text on both
PostgreSQL and SQLite, and the API returns them as they are.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.stores.sql.schema import metadata

transactions = sa.Table(
    "flow_transactions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("quote_id", sa.String(40), nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("stage", sa.String(24), nullable=False),
    sa.Column("owner_system", sa.String(32), nullable=False, server_default=""),
    sa.Column("customer_id", sa.String(40)),
    sa.Column("legal_entity", sa.String(20)),
    sa.Column("order_id", sa.String(40)),
    sa.Column("order_system", sa.String(32)),
    sa.Column("order_system_id", sa.String(64)),
    sa.Column("invoice_id", sa.String(40)),
    sa.Column("invoice_system_id", sa.String(64)),
    sa.Column("payment_id", sa.String(40)),
    sa.Column("trace_id", sa.String(32)),
    sa.Column("accepted_at", sa.String(32), nullable=False),
    sa.Column("ordered_at", sa.String(32)),
    sa.Column("invoiced_at", sa.String(32)),
    sa.Column("paid_at", sa.String(32)),
    sa.Column("ended_at", sa.String(32)),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("had_exception", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("order_fallout", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("manual_touches", sa.Integer, nullable=False, server_default="0"),
    sa.Index("flow_transactions_tenant_quote", "tenant", "quote_id"),
    sa.Index("flow_transactions_tenant_state", "tenant", "state"),
    sa.Index("flow_transactions_tenant_invoice", "tenant", "invoice_id"),
    # The dashboards' window of a tenant's transactions, newest first for lists.
    sa.Index("flow_transactions_tenant_accepted", "tenant", "accepted_at"),
    # Workers' sweep for transactions whose start was lost (0011).
    sa.Index("flow_transactions_state_updated", "state", "updated_at"),
)

steps = sa.Table(
    "flow_steps",
    metadata,
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("transaction_id", sa.String(40), nullable=False),
    # The step's place in the workflow: a re-run of the same step writes nothing twice.
    sa.Column("entry_key", sa.String(40), nullable=False),
    sa.Column("step", sa.String(24), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("system", sa.String(32), nullable=False, server_default=""),
    sa.Column("system_ids", sa.JSON, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("started_at", sa.String(32), nullable=False),
    sa.Column("ended_at", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Column("error", sa.JSON),
    sa.UniqueConstraint("transaction_id", "entry_key", name="flow_steps_entry"),
)

exceptions = sa.Table(
    "flow_exceptions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("transaction_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("step", sa.String(24), nullable=False),
    sa.Column("error_class", sa.String(32), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("assignee", sa.String(200)),
    sa.Column("legal_entity", sa.String(20)),
    sa.Column("system", sa.String(32), nullable=False, server_default=""),
    sa.Column("findings", sa.JSON, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),
    sa.Column("context", sa.JSON, nullable=False),
    sa.Column("compensation", sa.String(200)),
    sa.Column("comments", sa.JSON, nullable=False),
    sa.Column("actions", sa.JSON, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    # The quote's total the exception is about (None: not known when it stopped).
    sa.Column("amount", sa.Numeric(18, 4)),
    sa.Column("currency", sa.String(3)),
    sa.Index("flow_exceptions_tenant_state", "tenant", "state", "kind"),
    sa.Index("flow_exceptions_transaction", "transaction_id"),
    # The console's queue: a tenant's open items per team, oldest first.
    sa.Index("flow_exceptions_queue", "tenant", "kind", "state", "owner", "created_at"),
)

events = sa.Table(
    "flow_events",
    metadata,
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("id", sa.String(40), nullable=False),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("transaction_id", sa.String(40), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(64), nullable=False),
    sa.Column("time", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("traceparent", sa.String(55)),
    sa.Index("flow_events_tenant_position", "tenant", "position"),
    sa.Index("flow_events_transaction", "transaction_id", "position"),
    sa.UniqueConstraint("id", name="flow_events_id"),
)

executors = sa.Table(
    "flow_executors",
    metadata,
    sa.Column("executor_id", sa.String(100), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    # Set once, atomically, by the live executor that recovers a dead one.
    sa.Column("recovered_by", sa.String(100)),
    sa.Column("recovered_at", sa.Float),
)
