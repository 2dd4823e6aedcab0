"""SQLite: who may be listed, read from an index instead of every organisation row

SQLite stores a row's columns in order, and an organisation's `disclosure` and
`hide_from_competitors` come after its 2 KB profile vector, so a query that filters every
organisation by them (the relationships a member may see, the organisations that opted out of
being shown to competitors) read each row's overflow pages: about 350 ms per request at
100,000 organisations. This index holds the three columns (and the row id, as every SQLite
index does), so those queries scan it alone. PostgreSQL keeps large values out of line
(TOAST) and needs nothing.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_organizations_disclosure_read "
        "ON organizations (hide_from_competitors, visibility, disclosure)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP INDEX IF EXISTS ix_organizations_disclosure_read")
