"""one history: the index-state and event-invitation revisions both follow 0005; join them

Revision ID: 0009
Revises: 0007, 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

revision: str = "0009"
down_revision: tuple[str, str] = ("0007", "0008")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
