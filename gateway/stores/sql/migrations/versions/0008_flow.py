"""Quote-to-cash transactions: transactions, their timeline, exceptions and dead
letters, canonical events, and the executor heartbeats (gateway/flow/tables.py).

DBOS keeps its own tables in the ``dbos`` schema of the same PostgreSQL database (or
its own SQLite file) and migrates them itself.

Revision ID: 0008_flow
Revises: 0007_client_registrations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_flow"
down_revision = "0007_client_registrations"
branch_labels = None
depends_on = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "flow_transactions",
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
    )
    op.create_index("flow_transactions_tenant_quote", "flow_transactions", ["tenant", "quote_id"])
    op.create_index("flow_transactions_tenant_state", "flow_transactions", ["tenant", "state"])
    op.create_index(
        "flow_transactions_tenant_invoice", "flow_transactions", ["tenant", "invoice_id"]
    )
    op.create_table(
        "flow_steps",
        sa.Column("position", _POSITION, primary_key=True, autoincrement=True),
        sa.Column("transaction_id", sa.String(40), nullable=False),
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
    op.create_table(
        "flow_exceptions",
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
    )
    op.create_index(
        "flow_exceptions_tenant_state", "flow_exceptions", ["tenant", "state", "kind"]
    )
    op.create_index("flow_exceptions_transaction", "flow_exceptions", ["transaction_id"])
    op.create_table(
        "flow_events",
        sa.Column("position", _POSITION, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("traceparent", sa.String(55)),
        sa.UniqueConstraint("id", name="flow_events_id"),
    )
    op.create_index("flow_events_tenant_position", "flow_events", ["tenant", "position"])
    op.create_table(
        "flow_executors",
        sa.Column("executor_id", sa.String(100), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("recovered_by", sa.String(100)),
        sa.Column("recovered_at", sa.Float),
    )


def downgrade() -> None:
    for table in (
        "flow_executors",
        "flow_events",
        "flow_exceptions",
        "flow_steps",
        "flow_transactions",
    ):
        op.drop_table(table)
