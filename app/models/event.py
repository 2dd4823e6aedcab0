"""Matchmaking events: dates, slots, tables, participants, requests, preferences, schedules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow
from app.models.organization import Organization


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    venue: Mapped[str | None] = mapped_column(String(300), nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    max_meetings: Mapped[int] = mapped_column(Integer, nullable=False)
    min_meetings: Mapped[int] = mapped_column(Integer, nullable=False)
    allow_competitors: Mapped[bool] = mapped_column(Boolean, nullable=False)
    registration_open: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # False: one meeting per pair of organisations, which all their people attend together
    person_level_meetings: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    # whether the engine's recommendations may fill slots nobody asked for
    fill_with_recommendations: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    # a pending meeting request expires this long after it was sent (None: never)
    request_expiry_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )

    dates: Mapped[list[EventDate]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventDate.day", lazy="raise"
    )

    __table_args__ = (
        CheckConstraint("max_meetings >= 0", name="max_meetings_non_negative"),
        CheckConstraint("min_meetings >= 0", name="min_meetings_non_negative"),
    )


class EventDate(Base):
    __tablename__ = "event_dates"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)

    event: Mapped[Event] = relationship(back_populates="dates", lazy="raise")

    __table_args__ = (UniqueConstraint("event_id", "day", name="uq_event_dates_event_id_day"),)


class TimeSlot(Base):
    """One meeting slot; ``position`` orders the event's slots (consecutive slots matter)."""

    __tablename__ = "time_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        UniqueConstraint("event_id", "starts_at", name="uq_time_slots_event_id_starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )


class EventTable(Base):
    __tablename__ = "event_tables"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (UniqueConstraint("event_id", "name", name="uq_event_tables_event_id_name"),)


class Participant(Base):
    """An organisation registered for an event."""

    __tablename__ = "event_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    organization: Mapped[Organization] = relationship(lazy="raise")
    people: Mapped[list[EventPerson]] = relationship(
        back_populates="participant",
        cascade="all, delete-orphan",
        order_by="EventPerson.id",
        lazy="raise",
    )

    __table_args__ = (
        UniqueConstraint(
            "event_id", "organization_id", name="uq_event_participants_event_id_organization_id"
        ),
    )


class EventPerson(Base):
    """A person who attends for a participant and takes the meetings."""

    __tablename__ = "event_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("event_participants.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # null once the person is erased (app/privacy): the seat in the event stays, the address goes
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    role: Mapped[str | None] = mapped_column(String(200), nullable=True)
    no_show: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # the person's own maximum of meetings; null: the event's
    max_meetings: Mapped[int | None] = mapped_column(Integer, nullable=True)

    participant: Mapped[Participant] = relationship(back_populates="people", lazy="raise")

    __table_args__ = (
        UniqueConstraint("participant_id", "email", name="uq_event_people_participant_id_email"),
        CheckConstraint("max_meetings >= 0", name="max_meetings_non_negative"),
    )


class UnavailableSlot(Base):
    __tablename__ = "event_unavailable_slots"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("event_people.id", ondelete="CASCADE"), primary_key=True
    )
    slot_id: Mapped[int] = mapped_column(
        ForeignKey("time_slots.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class MeetingRequest(Base):
    __tablename__ = "meeting_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_person_id: Mapped[int] = mapped_column(
        ForeignKey("event_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    to_person_id: Mapped[int] = mapped_column(
        ForeignKey("event_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'accepted', 'declined', 'withdrawn')", name="status"
        ),
        CheckConstraint("from_person_id <> to_person_id", name="not_self"),
    )


class Preference(Base):
    """How one participant regards another: must_meet, would_like or not_interested."""

    __tablename__ = "event_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("event_participants.id", ondelete="CASCADE"), nullable=False
    )
    target_participant_id: Mapped[int] = mapped_column(
        ForeignKey("event_participants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)

    __table_args__ = (
        UniqueConstraint(
            "participant_id",
            "target_participant_id",
            name="uq_event_preferences_participant_id_target_participant_id",
        ),
        CheckConstraint("kind IN ('must_meet', 'would_like', 'not_interested')", name="kind"),
        CheckConstraint("participant_id <> target_participant_id", name="not_self"),
    )


class PersonPreference(Base):
    """How one person regards another: must_meet, would_like or not_interested."""

    __tablename__ = "event_person_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("event_people.id", ondelete="CASCADE"), nullable=False
    )
    target_person_id: Mapped[int] = mapped_column(
        ForeignKey("event_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)

    __table_args__ = (
        UniqueConstraint(
            "person_id",
            "target_person_id",
            name="uq_event_person_preferences_person_id_target_person_id",
        ),
        CheckConstraint("kind IN ('must_meet', 'would_like', 'not_interested')", name="kind"),
        CheckConstraint("person_id <> target_person_id", name="not_self"),
    )


class EventSchedule(Base):
    """The stored schedule of an event (one at a time) with the solver's report."""

    __tablename__ = "event_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    solver_status: Mapped[str] = mapped_column(String(10), nullable=False)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    solved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # what the last re-schedule changed (kept, moved, removed, added, affected people)
    last_changes: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (CheckConstraint("status IN ('draft', 'published')", name="status"),)


class ScheduledMeeting(Base):
    """A meeting of two people at one slot and table; ``person_a_id < person_b_id``."""

    __tablename__ = "event_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    slot_id: Mapped[int] = mapped_column(
        ForeignKey("time_slots.id", ondelete="CASCADE"), nullable=False
    )
    table_id: Mapped[int] = mapped_column(
        ForeignKey("event_tables.id", ondelete="CASCADE"), nullable=False
    )
    person_a_id: Mapped[int] = mapped_column(
        ForeignKey("event_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    person_b_id: Mapped[int] = mapped_column(
        ForeignKey("event_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # True: a meeting of the two organisations, attended by all their people; person_a_id and
    # person_b_id then stand for their organisations (each one's first registered person)
    whole_organizations: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    # the iCalendar SEQUENCE: grows each time a published meeting moves
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # when a published meeting last changed (None: as published)
    changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("slot_id", "table_id", name="uq_event_meetings_slot_id_table_id"),
        CheckConstraint("person_a_id < person_b_id", name="ordered_pair"),
        CheckConstraint(
            "kind IN ('accepted_request', 'must_meet', 'would_like', 'recommended', 'manual')",
            name="kind",
        ),
    )


# how long an organisation has to accept an invitation (inviting again renews it)
INVITATION_LIFETIME = dt.timedelta(days=14)


def _invitation_expiry() -> dt.datetime:
    return utcnow() + INVITATION_LIFETIME


class CancelledMeeting(Base):
    """A published meeting that a re-schedule removed, kept so calendars can be told (one per
    pair: the calendar UID is the pair's); ``person_a_id < person_b_id``."""

    __tablename__ = "event_cancelled_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    person_a_id: Mapped[int] = mapped_column(
        ForeignKey("event_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    person_b_id: Mapped[int] = mapped_column(
        ForeignKey("event_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    table: Mapped[str] = mapped_column(String(100), nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    cancelled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint(
            "event_id",
            "person_a_id",
            "person_b_id",
            name="uq_event_cancelled_meetings_event_id_person_a_id_person_b_id",
        ),
        CheckConstraint("person_a_id < person_b_id", name="ordered_pair"),
    )


class EventInvitation(Base):
    """An organiser's invitation to an organisation whose profile is not public: its members
    accept it (registering the organisation, their consent to be listed) or decline it."""

    __tablename__ = "event_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    invited_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # after this, the invitation can no longer be accepted (inviting again renews it)
    expires_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, nullable=False, default=_invitation_expiry
    )

    @property
    def expired(self) -> bool:
        return self.expires_at <= utcnow()

    __table_args__ = (
        UniqueConstraint(
            "event_id", "organization_id", name="uq_event_invitations_event_id_organization_id"
        ),
    )
