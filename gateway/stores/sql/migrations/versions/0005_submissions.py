"""The submission ledger: one system-of-record create per canonical id.

Revision ID: 0005_submissions
Revises: 0004_idempotency_records
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_submissions"
down_revision = "0004_idempotency_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("canonical_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("system", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("previous_state", sa.Text, nullable=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.Text, nullable=False),
        sa.Column("lease_expires_at", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger, nullable=True),
        sa.Column("resolve_after", sa.BigInteger, nullable=False),
        sa.Column("system_id", sa.Text, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "canonical_id", name="pk_submissions"),
        sa.UniqueConstraint("tenant", "subject", name="uq_submissions_tenant_subject"),
    )


def downgrade() -> None:
    op.drop_table("submissions")
