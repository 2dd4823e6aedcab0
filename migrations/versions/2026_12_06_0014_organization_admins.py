"""organisation admins: the member accounts that may delete or erase their organisation

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Each organisation's first active member account (the lowest id) becomes its organisation
admin, so every organisation with members keeps someone who may act for it as a whole.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("organization_admin", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    users = sa.table(
        "users",
        sa.column("id", sa.Integer()),
        sa.column("role", sa.String()),
        sa.column("organization_id", sa.Integer()),
        sa.column("is_active", sa.Boolean()),
        sa.column("organization_admin", sa.Boolean()),
    )
    first_members = (
        sa.select(sa.func.min(users.c.id))
        .where(
            users.c.role == "member",
            users.c.organization_id.is_not(None),
            users.c.is_active.is_(True),
        )
        .group_by(users.c.organization_id)
    )
    op.execute(
        users.update().where(users.c.id.in_(first_members)).values(organization_admin=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("organization_admin")
