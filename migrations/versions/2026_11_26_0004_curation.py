"""curation: verified flag on organisations, merge history

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.String(length=320), nullable=True))

    op.create_table(
        "organization_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kept_organization_id", sa.Integer(), nullable=True),
        sa.Column("merged_organization_id", sa.Integer(), nullable=False),
        sa.Column("merged_external_id", sa.String(length=200), nullable=True),
        sa.Column("merged_name", sa.String(length=300), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("merged_by", sa.String(length=320), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kept_organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_merges_kept_organization_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_merges")),
    )
    with op.batch_alter_table("organization_merges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_merges_kept_organization_id"),
            ["kept_organization_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_organization_merges_merged_external_id"),
            ["merged_external_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("organization_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_merges_merged_external_id"))
        batch_op.drop_index(batch_op.f("ix_organization_merges_kept_organization_id"))
    op.drop_table("organization_merges")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verified_at")
