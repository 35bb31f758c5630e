"""Record ownership: the tenant that created a system-of-record record.

Revision ID: 0002_record_owners
Revises: 0001_crosswalk
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_record_owners"
down_revision = "0001_crosswalk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_owners",
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("system", sa.Text, nullable=False),
        sa.Column("system_id", sa.Text, nullable=False),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("claimed_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("kind", "system", "system_id", name="pk_record_owners"),
    )


def downgrade() -> None:
    op.drop_table("record_owners")
