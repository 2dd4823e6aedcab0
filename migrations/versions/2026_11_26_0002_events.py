"""matchmaking events: dates, slots, tables, participants, people, requests, preferences, schedules

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Reviewed by hand: foreign keys to events and participants cascade (an event owns everything in it);
indexes that a unique constraint already leads with are left out; UTC timestamps are plain
timezone-aware DateTime columns, as in 0001.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('max_meetings', sa.Integer(), nullable=False),
    sa.Column('min_meetings', sa.Integer(), nullable=False),
    sa.Column('allow_competitors', sa.Boolean(), nullable=False),
    sa.Column('registration_open', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('max_meetings >= 0', name=op.f('ck_events_max_meetings_non_negative')),
    sa.CheckConstraint('min_meetings >= 0', name=op.f('ck_events_min_meetings_non_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    op.create_table('event_dates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_dates_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_dates')),
    sa.UniqueConstraint('event_id', 'day', name='uq_event_dates_event_id_day')
    )
    op.create_table('event_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_participants_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_event_participants_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_participants')),
    sa.UniqueConstraint('event_id', 'organization_id', name='uq_event_participants_event_id_organization_id')
    )
    with op.batch_alter_table('event_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_participants_organization_id'), ['organization_id'], unique=False)

    op.create_table('event_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('solver_status', sa.String(length=10), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('solved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'published')", name=op.f('ck_event_schedules_status')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_schedules_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_schedules')),
    sa.UniqueConstraint('event_id', name=op.f('uq_event_schedules_event_id'))
    )
    op.create_table('event_tables',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_tables_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_tables')),
    sa.UniqueConstraint('event_id', 'name', name='uq_event_tables_event_id_name')
    )
    op.create_table('time_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_time_slots_ends_after_start')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_time_slots_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_time_slots')),
    sa.UniqueConstraint('event_id', 'starts_at', name='uq_time_slots_event_id_starts_at')
    )
    op.create_table('event_people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=True),
    sa.Column('no_show', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['event_participants.id'], name=op.f('fk_event_people_participant_id_event_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_people')),
    sa.UniqueConstraint('participant_id', 'email', name='uq_event_people_participant_id_email')
    )
    op.create_table('event_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('target_participant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.CheckConstraint("kind IN ('must_meet', 'would_like', 'not_interested')", name=op.f('ck_event_preferences_kind')),
    sa.CheckConstraint('participant_id <> target_participant_id', name=op.f('ck_event_preferences_not_self')),
    sa.ForeignKeyConstraint(['participant_id'], ['event_participants.id'], name=op.f('fk_event_preferences_participant_id_event_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_participant_id'], ['event_participants.id'], name=op.f('fk_event_preferences_target_participant_id_event_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_preferences')),
    sa.UniqueConstraint('participant_id', 'target_participant_id', name='uq_event_preferences_participant_id_target_participant_id')
    )
    with op.batch_alter_table('event_preferences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_preferences_target_participant_id'), ['target_participant_id'], unique=False)

    op.create_table('event_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('table_id', sa.Integer(), nullable=False),
    sa.Column('person_a_id', sa.Integer(), nullable=False),
    sa.Column('person_b_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('accepted_request', 'must_meet', 'would_like', 'recommended', 'manual')", name=op.f('ck_event_meetings_kind')),
    sa.CheckConstraint('person_a_id < person_b_id', name=op.f('ck_event_meetings_ordered_pair')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_meetings_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_a_id'], ['event_people.id'], name=op.f('fk_event_meetings_person_a_id_event_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_b_id'], ['event_people.id'], name=op.f('fk_event_meetings_person_b_id_event_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['slot_id'], ['time_slots.id'], name=op.f('fk_event_meetings_slot_id_time_slots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['table_id'], ['event_tables.id'], name=op.f('fk_event_meetings_table_id_event_tables'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_meetings')),
    sa.UniqueConstraint('slot_id', 'table_id', name='uq_event_meetings_slot_id_table_id')
    )
    with op.batch_alter_table('event_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_meetings_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_meetings_person_a_id'), ['person_a_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_meetings_person_b_id'), ['person_b_id'], unique=False)

    op.create_table('event_unavailable_slots',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['event_people.id'], name=op.f('fk_event_unavailable_slots_person_id_event_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['slot_id'], ['time_slots.id'], name=op.f('fk_event_unavailable_slots_slot_id_time_slots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'slot_id', name=op.f('pk_event_unavailable_slots'))
    )
    with op.batch_alter_table('event_unavailable_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_unavailable_slots_slot_id'), ['slot_id'], unique=False)

    op.create_table('meeting_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('from_person_id', sa.Integer(), nullable=False),
    sa.Column('to_person_id', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('requested', 'accepted', 'declined', 'withdrawn')", name=op.f('ck_meeting_requests_status')),
    sa.CheckConstraint('from_person_id <> to_person_id', name=op.f('ck_meeting_requests_not_self')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_meeting_requests_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_person_id'], ['event_people.id'], name=op.f('fk_meeting_requests_from_person_id_event_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_person_id'], ['event_people.id'], name=op.f('fk_meeting_requests_to_person_id_event_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_requests'))
    )
    with op.batch_alter_table('meeting_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_requests_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_requests_from_person_id'), ['from_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_requests_to_person_id'), ['to_person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('meeting_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_requests_to_person_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_requests_from_person_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_requests_event_id'))

    op.drop_table('meeting_requests')
    with op.batch_alter_table('event_unavailable_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_unavailable_slots_slot_id'))

    op.drop_table('event_unavailable_slots')
    with op.batch_alter_table('event_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_meetings_person_b_id'))
        batch_op.drop_index(batch_op.f('ix_event_meetings_person_a_id'))
        batch_op.drop_index(batch_op.f('ix_event_meetings_event_id'))

    op.drop_table('event_meetings')
    with op.batch_alter_table('event_preferences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_preferences_target_participant_id'))

    op.drop_table('event_preferences')
    op.drop_table('event_people')
    op.drop_table('time_slots')
    op.drop_table('event_tables')
    op.drop_table('event_schedules')
    with op.batch_alter_table('event_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_participants_organization_id'))

    op.drop_table('event_participants')
    op.drop_table('event_dates')
    op.drop_table('events')
