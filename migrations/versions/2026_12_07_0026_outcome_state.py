"""outcome state: the change marker of the stored outcomes

The match path re-ranks with features computed from every stored outcome step (cooperation
requests answered, meeting requests answered, meetings held). A server process keeps them
once and reads this one row per request to know whether they are still current: every
transaction that writes what the steps are read from raises `version` and sets a new random
`stamp` (app.session_hooks.outcome_changes).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    state = op.create_table(
        "outcome_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_state")),
    )
    op.bulk_insert(state, [{"id": 1, "version": 0, "stamp": ""}])


def downgrade() -> None:
    op.drop_table("outcome_state")
