"""The operations console's queries: the amount an exception is about, and indexes for
the queue (per tenant, kind, state and team, oldest first), the dashboards' windows of
transactions (per tenant by acceptance time) and a transaction's events.

Revision ID: 0010_console_queue
Revises: 0009_console_sign_in
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_console_queue"
down_revision = "0009_console_sign_in"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flow_exceptions") as batch:
        batch.add_column(sa.Column("amount", sa.Numeric(18, 4)))
        batch.add_column(sa.Column("currency", sa.String(3)))
    op.create_index(
        "flow_exceptions_queue",
        "flow_exceptions",
        ["tenant", "kind", "state", "owner", "created_at"],
    )
    op.create_index(
        "flow_transactions_tenant_accepted", "flow_transactions", ["tenant", "accepted_at"]
    )
    op.create_index("flow_events_transaction", "flow_events", ["transaction_id", "position"])


def downgrade() -> None:
    op.drop_index("flow_events_transaction", table_name="flow_events")
    op.drop_index("flow_transactions_tenant_accepted", table_name="flow_transactions")
    op.drop_index("flow_exceptions_queue", table_name="flow_exceptions")
    with op.batch_alter_table("flow_exceptions") as batch:
        batch.drop_column("currency")
        batch.drop_column("amount")
