"""match corpus statistics: what a fit estimates over the whole corpus, for per-request matches

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "match_corpus_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("embedding_model", sa.String(length=200), nullable=False),
        # index_state.version when the statistics were taken
        sa.Column("index_version", sa.BigInteger(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        # floors, niche scale, hub centre and k, largest degree, number of core labels (JSON)
        sa.Column("scalars", sa.Text(), nullable=False),
        # document frequency of every core-label word (JSON)
        sa.Column("core_df", sa.Text(), nullable=False),
        # hub damping's reference sample: distinct need rows (float32) and their counts (int64)
        sa.Column("hub_reference", sa.LargeBinary(), nullable=True),
        sa.Column("hub_counts", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_corpus_stats")),
        sa.UniqueConstraint("embedding_model", name=op.f("uq_match_corpus_stats_embedding_model")),
    )
    op.create_table(
        "match_hub_values",
        sa.Column("stats_id", sa.Integer(), nullable=False),
        # SHA-256 of the offer vector's float32 bytes (a core competence or a profile vector)
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stats_id"],
            ["match_corpus_stats.id"],
            name=op.f("fk_match_hub_values_stats_id_match_corpus_stats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stats_id", "digest", name=op.f("pk_match_hub_values")),
    )


def downgrade() -> None:
    op.drop_table("match_hub_values")
    op.drop_table("match_corpus_stats")
