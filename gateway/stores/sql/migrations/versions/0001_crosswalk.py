"""Crosswalk: canonical ids <-> system ids per tenant, and annotations.

Revision ID: 0001_crosswalk
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_crosswalk"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crosswalk_links",
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("system", sa.Text, nullable=False),
        sa.Column("system_id", sa.Text, nullable=False),
        sa.Column("canonical_id", sa.Text, nullable=False),
        sa.Column("linked_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant", "kind", "system", "system_id", name="pk_crosswalk_links"
        ),
    )
    op.create_index(
        "ix_crosswalk_links_tenant_canonical_id", "crosswalk_links", ["tenant", "canonical_id"]
    )
    op.create_table(
        "annotations",
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("canonical_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "canonical_id", "name", name="pk_annotations"),
    )


def downgrade() -> None:
    op.drop_table("annotations")
    op.drop_index("ix_crosswalk_links_tenant_canonical_id", "crosswalk_links")
    op.drop_table("crosswalk_links")
