"""stored messages: failures stored as a template and its values

A failed schedule run (`schedule_runs.problem`) and a failed import (`web_imports.message`)
keep their English text; the new columns hold the same sentence as the template marked for
the catalogues and its values (`app.i18n.Message.dump`), so a page shows it in the language
of whoever reads it later. Rows written before have no template and show their text.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("schedule_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("problem_message", sa.JSON(), nullable=True))
    with op.batch_alter_table("web_imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure_message", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_imports", schema=None) as batch_op:
        batch_op.drop_column("failure_message")
    with op.batch_alter_table("schedule_runs", schema=None) as batch_op:
        batch_op.drop_column("problem_message")
