"""login attempts: the login limits' counters in the database, so every server process
counts against one limit

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key_hash", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        "ix_login_attempts_window_started_at", "login_attempts", ["window_started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_login_attempts_window_started_at", table_name="login_attempts")
    op.drop_table("login_attempts")
