"""The audit trail.

Revision ID: 0006_audit_entries
Revises: 0005_submissions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_audit_entries"
down_revision = "0005_submissions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("recorded_ms", sa.BigInteger, nullable=False),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("consumer", sa.Text, nullable=False),
        sa.Column("resource_id", sa.Text, nullable=True),
        sa.Column("entry", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_audit_entries_recorded_ms_id", "audit_entries", ["recorded_ms", "id"]
    )
    op.create_index(
        "ix_audit_entries_tenant_recorded_ms_id", "audit_entries", ["tenant", "recorded_ms", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_entries_tenant_recorded_ms_id", "audit_entries")
    op.drop_index("ix_audit_entries_recorded_ms_id", "audit_entries")
    op.drop_table("audit_entries")
