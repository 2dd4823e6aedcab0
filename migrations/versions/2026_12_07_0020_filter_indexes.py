"""Retrieval filters on PostgreSQL: a prefix index on the NACE code, competences by owner

Candidate retrieval (`app.matches.pgvector`) answers a filter that leaves few organisations
exactly: it finds the passing ones first and compares only their vectors. A NACE filter is a
prefix (`nace_code LIKE '26%'`), which the plain btree index of 0001 cannot serve unless the
database's collation is "C"; `text_pattern_ops` can, in every collation. Counting the passing
organisations (which path a query takes) uses the same index. The exact path then reads the
competence rows of the passing organisations: an index on the owner that carries the vector
and the kind answers that without visiting the table (an index-only scan).

On SQLite nothing changes (retrieval runs in process there).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_organizations_nace_code_pattern "
        "ON organizations (nace_code text_pattern_ops)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_competences_owner_vector "
        "ON competences (organization_id) INCLUDE (vector_id, kind)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_competences_owner_vector")
    op.execute("DROP INDEX IF EXISTS ix_organizations_nace_code_pattern")
