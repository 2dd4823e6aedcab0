"""relationships: tie strength and recency (joint_projects, last_year)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relationships") as batch:
        batch.add_column(sa.Column("joint_projects", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("last_year", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_relationships_joint_projects"), "joint_projects IS NULL OR joint_projects >= 1"
        )


def downgrade() -> None:
    with op.batch_alter_table("relationships") as batch:
        batch.drop_constraint(op.f("ck_relationships_joint_projects"), type_="check")
        batch.drop_column("last_year")
        batch.drop_column("joint_projects")
