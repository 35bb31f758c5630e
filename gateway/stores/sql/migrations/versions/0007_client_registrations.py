"""Clients registered at run time (the developer portal's sandbox apps).

Revision ID: 0007_client_registrations
Revises: 0006_audit_entries
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_client_registrations"
down_revision = "0006_audit_entries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_registrations",
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("client_id", name="pk_client_registrations"),
    )
    op.create_index(
        "ix_client_registrations_owner_revoked_at",
        "client_registrations",
        ["owner", "revoked_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_client_registrations_owner_revoked_at", "client_registrations")
    op.drop_table("client_registrations")
