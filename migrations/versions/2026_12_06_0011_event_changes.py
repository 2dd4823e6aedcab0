"""event changes: meeting sequence numbers, cancelled meetings, last re-schedule, request expiry

Calendar clients update a meeting only when its SEQUENCE grows and learn of a removed meeting
only from a cancellation with the same UID, so each meeting keeps a sequence number and the time
it last changed, and a published meeting that a re-schedule removes is kept as cancelled. The
schedule keeps what its last re-schedule changed; an event may let meeting requests expire.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_expiry_hours", sa.Integer(), nullable=True))
    with op.batch_alter_table("event_meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sequence", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("event_schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_changes", sa.JSON(), nullable=True))
    op.create_table(
        "event_cancelled_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("person_a_id", sa.Integer(), nullable=False),
        sa.Column("person_b_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("table", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "person_a_id < person_b_id", name=op.f("ck_event_cancelled_meetings_ordered_pair")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_cancelled_meetings_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_a_id"],
            ["event_people.id"],
            name=op.f("fk_event_cancelled_meetings_person_a_id_event_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_b_id"],
            ["event_people.id"],
            name=op.f("fk_event_cancelled_meetings_person_b_id_event_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_cancelled_meetings")),
        sa.UniqueConstraint(
            "event_id",
            "person_a_id",
            "person_b_id",
            name="uq_event_cancelled_meetings_event_id_person_a_id_person_b_id",
        ),
    )
    with op.batch_alter_table("event_cancelled_meetings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_cancelled_meetings_person_a_id"), ["person_a_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_event_cancelled_meetings_person_b_id"), ["person_b_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event_cancelled_meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_cancelled_meetings_person_b_id"))
        batch_op.drop_index(batch_op.f("ix_event_cancelled_meetings_person_a_id"))
    op.drop_table("event_cancelled_meetings")
    with op.batch_alter_table("event_schedules", schema=None) as batch_op:
        batch_op.drop_column("last_changes")
    with op.batch_alter_table("event_meetings", schema=None) as batch_op:
        batch_op.drop_column("changed_at")
        batch_op.drop_column("sequence")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("request_expiry_hours")
