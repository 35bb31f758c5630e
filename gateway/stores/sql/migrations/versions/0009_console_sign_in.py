"""The operations console's sign-in: the built-in OpenID provider's authorization codes
and the console's sessions.

Revision ID: 0009_console_sign_in
Revises: 0008_flow
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_console_sign_in"
down_revision = "0008_flow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.Text, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("code_hash", name="pk_authorization_codes"),
    )
    op.create_index("ix_authorization_codes_expires_at", "authorization_codes", ["expires_at"])
    op.create_table(
        "console_sessions",
        sa.Column("session_hash", sa.Text, nullable=False),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_seen_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("session_hash", name="pk_console_sessions"),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_expires_at", "console_sessions")
    op.drop_table("console_sessions")
    op.drop_index("ix_authorization_codes_expires_at", "authorization_codes")
    op.drop_table("authorization_codes")
