"""Workers look for transactions still `accepted` long after their last change (a lost
start) on every heartbeat, across tenants: an index on (state, updated_at).

Revision ID: 0011_flow_stranded
Revises: 0010_console_queue
"""

from __future__ import annotations

from alembic import op

revision = "0011_flow_stranded"
down_revision = "0010_console_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "flow_transactions_state_updated", "flow_transactions", ["state", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("flow_transactions_state_updated", table_name="flow_transactions")
