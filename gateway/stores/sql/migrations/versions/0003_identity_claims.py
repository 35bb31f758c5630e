"""Identity claims that make concurrent creates of one customer collide.

Revision ID: 0003_identity_claims
Revises: 0002_record_owners
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_identity_claims"
down_revision = "0002_record_owners"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_claims",
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("identity_key", sa.Text, nullable=False),
        sa.Column("canonical_id", sa.Text, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "identity_key", name="pk_identity_claims"),
    )


def downgrade() -> None:
    op.drop_table("identity_claims")
