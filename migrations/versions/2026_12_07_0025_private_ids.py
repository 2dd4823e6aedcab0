"""Per-request matches on PostgreSQL: the private organisations by a small partial index

A per-request match loads the relationship edges the proximity walk reads, hop by hop (up to
20,000 organisations): an edge counts unless both of its ends are private. Looking that up on
the organisations table visits a heap row per end (2 KB vectors inline: random reads once the
table outgrows the cache, at 100,000 organisations and more); a partial index of the private
ids alone answers it from a few pages (an index-only scan).

On SQLite nothing changes (matches are scored in process there).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_organizations_private_id "
        "ON organizations (id) WHERE visibility = 'private'"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_organizations_private_id")
