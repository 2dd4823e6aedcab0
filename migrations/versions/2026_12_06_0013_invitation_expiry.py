"""invitation expiry: an invitation can be accepted until expires_at (14 days after it was
made; those made before this revision get 14 days from their creation)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIFETIME = dt.timedelta(days=14)


def upgrade() -> None:
    with op.batch_alter_table("event_invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    invitations = sa.table(
        "event_invitations",
        sa.column("id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    for invitation_id, created_at in bind.execute(
        sa.select(invitations.c.id, invitations.c.created_at)
    ).all():
        bind.execute(
            invitations.update()
            .where(invitations.c.id == invitation_id)
            .values(expires_at=created_at + LIFETIME)
        )
    with op.batch_alter_table("event_invitations", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event_invitations", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
