"""event scheduling rules: company-level meetings, filling with recommendations, per-person
maximum, person-level preferences

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "person_level_meetings", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "fill_with_recommendations",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    with op.batch_alter_table("event_people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_meetings", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_event_people_max_meetings_non_negative"), "max_meetings >= 0"
        )
    with op.batch_alter_table("event_meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "whole_organizations", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_table(
        "event_person_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("target_person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "kind IN ('must_meet', 'would_like', 'not_interested')",
            name=op.f("ck_event_person_preferences_kind"),
        ),
        sa.CheckConstraint(
            "person_id <> target_person_id", name=op.f("ck_event_person_preferences_not_self")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["event_people.id"],
            name=op.f("fk_event_person_preferences_person_id_event_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_person_id"],
            ["event_people.id"],
            name=op.f("fk_event_person_preferences_target_person_id_event_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_person_preferences")),
        sa.UniqueConstraint(
            "person_id",
            "target_person_id",
            name="uq_event_person_preferences_person_id_target_person_id",
        ),
    )
    with op.batch_alter_table("event_person_preferences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_person_preferences_target_person_id"),
            ["target_person_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("event_person_preferences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_person_preferences_target_person_id"))
    op.drop_table("event_person_preferences")
    with op.batch_alter_table("event_meetings", schema=None) as batch_op:
        batch_op.drop_column("whole_organizations")
    with op.batch_alter_table("event_people", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_event_people_max_meetings_non_negative"), type_="check"
        )
        batch_op.drop_column("max_meetings")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("fill_with_recommendations")
        batch_op.drop_column("person_level_meetings")
