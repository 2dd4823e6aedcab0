"""SQL for matchmaking events."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.models import Organization
from app.models.base import utcnow
from app.models.event import (
    CancelledMeeting,
    Event,
    EventInvitation,
    EventPerson,
    EventSchedule,
    EventTable,
    MeetingRequest,
    Participant,
    PersonPreference,
    Preference,
    ScheduledMeeting,
    TimeSlot,
    UnavailableSlot,
)


def get_event(session: Session, event_id: int) -> Event | None:
    return session.scalar(
        select(Event).where(Event.id == event_id).options(selectinload(Event.dates))
    )


def lock_event(session: Session, event_id: int) -> None:
    """Lock the event's row until the transaction ends; fail at once if another one holds it.

    PostgreSQL: SELECT ... FOR UPDATE NOWAIT (raises OperationalError, SQLSTATE 55P03). SQLite
    has no row locks and lets one transaction write at a time: a write that comes second fails
    when it is attempted (see service.run_schedule), so nothing is locked here.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(select(Event.id).where(Event.id == event_id).with_for_update(nowait=True))


def list_events(session: Session, *, limit: int, offset: int) -> tuple[list[Event], int]:
    total = session.scalar(select(func.count()).select_from(Event)) or 0
    items = session.scalars(
        select(Event)
        .options(selectinload(Event.dates))
        .order_by(Event.id)
        .limit(limit)
        .offset(offset)
    )
    return list(items), total


def slots(session: Session, event_id: int) -> list[TimeSlot]:
    return list(
        session.scalars(
            select(TimeSlot).where(TimeSlot.event_id == event_id).order_by(TimeSlot.starts_at)
        )
    )


def delete_slots_of_day(session: Session, event_id: int, day: dt.date) -> None:
    session.execute(delete(TimeSlot).where(TimeSlot.event_id == event_id, TimeSlot.day == day))


def tables(session: Session, event_id: int) -> list[EventTable]:
    return list(
        session.scalars(
            select(EventTable).where(EventTable.event_id == event_id).order_by(EventTable.position)
        )
    )


def delete_tables(session: Session, event_id: int) -> None:
    session.execute(delete(EventTable).where(EventTable.event_id == event_id))


def participants(session: Session, event_id: int) -> list[Participant]:
    return list(
        session.scalars(
            select(Participant)
            .where(Participant.event_id == event_id)
            .options(selectinload(Participant.people), selectinload(Participant.organization))
            .order_by(Participant.id)
        )
    )


def get_participant(session: Session, event_id: int, participant_id: int) -> Participant | None:
    return session.scalar(
        select(Participant)
        .where(Participant.event_id == event_id, Participant.id == participant_id)
        .options(selectinload(Participant.people), selectinload(Participant.organization))
    )


def participant_of_organization(
    session: Session, event_id: int, organization_id: int
) -> Participant | None:
    return session.scalar(
        select(Participant).where(
            Participant.event_id == event_id, Participant.organization_id == organization_id
        )
    )


def get_organization(session: Session, organization_id: int) -> Organization | None:
    return session.get(Organization, organization_id)


def get_person(session: Session, event_id: int, person_id: int) -> EventPerson | None:
    return session.scalar(
        select(EventPerson)
        .join(Participant, EventPerson.participant_id == Participant.id)
        .where(Participant.event_id == event_id, EventPerson.id == person_id)
        .options(selectinload(EventPerson.participant).selectinload(Participant.organization))
    )


def people(session: Session, event_id: int) -> list[EventPerson]:
    return list(
        session.scalars(
            select(EventPerson)
            .join(Participant, EventPerson.participant_id == Participant.id)
            .where(Participant.event_id == event_id)
            .options(selectinload(EventPerson.participant).selectinload(Participant.organization))
            .order_by(EventPerson.id)
        )
    )


def people_of_organization(session: Session, event_id: int, organization_id: int) -> set[int]:
    """Ids of the people who attend the event for the organisation."""
    return set(
        session.scalars(
            select(EventPerson.id)
            .join(Participant, EventPerson.participant_id == Participant.id)
            .where(Participant.event_id == event_id, Participant.organization_id == organization_id)
        )
    )


def accepted_request_pairs(session: Session, event_id: int) -> list[tuple[int, int]]:
    """(from, to) person ids of the event's accepted meeting requests."""
    rows = session.execute(
        select(MeetingRequest.from_person_id, MeetingRequest.to_person_id).where(
            MeetingRequest.event_id == event_id, MeetingRequest.status == "accepted"
        )
    )
    return [(a, b) for a, b in rows]


def meeting_pairs(session: Session, event_id: int) -> list[tuple[int, int]]:
    """(person a, person b) of every stored meeting of the event."""
    rows = session.execute(
        select(ScheduledMeeting.person_a_id, ScheduledMeeting.person_b_id).where(
            ScheduledMeeting.event_id == event_id
        )
    )
    return [(a, b) for a, b in rows]


def unavailable(session: Session, person_ids: Collection[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    if not person_ids:
        return out
    rows = session.execute(
        select(UnavailableSlot.person_id, UnavailableSlot.slot_id).where(
            UnavailableSlot.person_id.in_(list(person_ids))
        )
    )
    for person_id, slot_id in rows:
        out[person_id].add(slot_id)
    return out


def set_unavailable(session: Session, person_id: int, slot_ids: Collection[int]) -> None:
    session.execute(delete(UnavailableSlot).where(UnavailableSlot.person_id == person_id))
    session.add_all(UnavailableSlot(person_id=person_id, slot_id=s) for s in sorted(slot_ids))
    session.flush()


def requests(
    session: Session,
    event_id: int,
    *,
    person_id: int | None = None,
    status: str | None = None,
) -> list[MeetingRequest]:
    query = select(MeetingRequest).where(MeetingRequest.event_id == event_id)
    if person_id is not None:
        query = query.where(
            or_(
                MeetingRequest.from_person_id == person_id, MeetingRequest.to_person_id == person_id
            )
        )
    stored = "requested" if status == "expired" else status
    if stored is not None:
        query = query.where(MeetingRequest.status == stored)
    items = list(session.scalars(query.order_by(MeetingRequest.id)))
    if status not in ("requested", "expired"):
        return items
    # "requested" means still pending: an expired request is no wish (see request_expires_at)
    event = session.get(Event, event_id)
    now = utcnow()
    return [
        r
        for r in items
        if (event is not None and is_expired(event, r, now=now)) == (status == "expired")
    ]


def request_expires_at(event: Event, request: MeetingRequest) -> dt.datetime | None:
    """When a pending request expires (None: the event lets none expire, or it was answered)."""
    if event.request_expiry_hours is None or request.status != "requested":
        return None
    return request.created_at + dt.timedelta(hours=event.request_expiry_hours)


def is_expired(event: Event, request: MeetingRequest, *, now: dt.datetime) -> bool:
    expires = request_expires_at(event, request)
    return expires is not None and expires <= now


def get_request(session: Session, event_id: int, request_id: int) -> MeetingRequest | None:
    return session.scalar(
        select(MeetingRequest).where(
            MeetingRequest.event_id == event_id, MeetingRequest.id == request_id
        )
    )


def open_request_between(session: Session, a: int, b: int) -> MeetingRequest | None:
    """A request between the two people, either way, that is still pending or accepted."""
    return session.scalar(
        select(MeetingRequest)
        .where(
            or_(
                (MeetingRequest.from_person_id == a) & (MeetingRequest.to_person_id == b),
                (MeetingRequest.from_person_id == b) & (MeetingRequest.to_person_id == a),
            ),
            MeetingRequest.status.in_(["requested", "accepted"]),
        )
        .limit(1)
    )


def preferences(session: Session, event_id: int) -> list[Preference]:
    return list(
        session.scalars(
            select(Preference)
            .join(Participant, Preference.participant_id == Participant.id)
            .where(Participant.event_id == event_id)
            .order_by(Preference.participant_id, Preference.target_participant_id)
        )
    )


def preferences_of(session: Session, participant_id: int) -> list[Preference]:
    return list(
        session.scalars(
            select(Preference)
            .where(Preference.participant_id == participant_id)
            .order_by(Preference.target_participant_id)
        )
    )


def get_preference(session: Session, participant_id: int, target_id: int) -> Preference | None:
    return session.scalar(
        select(Preference).where(
            Preference.participant_id == participant_id,
            Preference.target_participant_id == target_id,
        )
    )


def person_preferences(session: Session, event_id: int) -> list[PersonPreference]:
    return list(
        session.scalars(
            select(PersonPreference)
            .join(EventPerson, PersonPreference.person_id == EventPerson.id)
            .join(Participant, EventPerson.participant_id == Participant.id)
            .where(Participant.event_id == event_id)
            .order_by(PersonPreference.person_id, PersonPreference.target_person_id)
        )
    )


def person_preferences_of(session: Session, person_id: int) -> list[PersonPreference]:
    return list(
        session.scalars(
            select(PersonPreference)
            .where(PersonPreference.person_id == person_id)
            .order_by(PersonPreference.target_person_id)
        )
    )


def get_person_preference(
    session: Session, person_id: int, target_id: int
) -> PersonPreference | None:
    return session.scalar(
        select(PersonPreference).where(
            PersonPreference.person_id == person_id,
            PersonPreference.target_person_id == target_id,
        )
    )


def schedule(session: Session, event_id: int) -> EventSchedule | None:
    return session.scalar(select(EventSchedule).where(EventSchedule.event_id == event_id))


def meetings(session: Session, event_id: int) -> list[ScheduledMeeting]:
    return list(
        session.scalars(
            select(ScheduledMeeting)
            .join(TimeSlot, ScheduledMeeting.slot_id == TimeSlot.id)
            .join(EventTable, ScheduledMeeting.table_id == EventTable.id)
            .where(ScheduledMeeting.event_id == event_id)
            .order_by(TimeSlot.starts_at, EventTable.position)
        )
    )


def get_meeting(session: Session, event_id: int, meeting_id: int) -> ScheduledMeeting | None:
    return session.scalar(
        select(ScheduledMeeting).where(
            ScheduledMeeting.event_id == event_id, ScheduledMeeting.id == meeting_id
        )
    )


def count_meetings(
    session: Session,
    event_id: int,
    *,
    slot_ids: Collection[int] | None = None,
    person_ids: Collection[int] | None = None,
) -> int:
    query = (
        select(func.count())
        .select_from(ScheduledMeeting)
        .where(ScheduledMeeting.event_id == event_id)
    )
    if slot_ids is not None:
        query = query.where(ScheduledMeeting.slot_id.in_(list(slot_ids)))
    if person_ids is not None:
        ids = list(person_ids)
        query = query.where(
            or_(ScheduledMeeting.person_a_id.in_(ids), ScheduledMeeting.person_b_id.in_(ids))
        )
    return session.scalar(query) or 0


def invitation_of(session: Session, event_id: int, organization_id: int) -> EventInvitation | None:
    return session.scalar(
        select(EventInvitation).where(
            EventInvitation.event_id == event_id,
            EventInvitation.organization_id == organization_id,
        )
    )


def invitations(
    session: Session, event_id: int, organization_id: int | None = None, *, every: bool = False
) -> list[EventInvitation]:
    """The event's invitations: all of them (`every`), else those of one organisation."""
    stmt = select(EventInvitation).where(EventInvitation.event_id == event_id)
    if not every:
        stmt = stmt.where(EventInvitation.organization_id == organization_id)
    return list(session.scalars(stmt.order_by(EventInvitation.id)))


def get_invitation(session: Session, event_id: int, invitation_id: int) -> EventInvitation | None:
    return session.scalar(
        select(EventInvitation).where(
            EventInvitation.event_id == event_id, EventInvitation.id == invitation_id
        )
    )


def cancelled_meetings(
    session: Session, event_id: int, *, person_id: int | None = None
) -> list[CancelledMeeting]:
    """Published meetings that a re-schedule removed, by start time."""
    query = select(CancelledMeeting).where(CancelledMeeting.event_id == event_id)
    if person_id is not None:
        query = query.where(
            or_(
                CancelledMeeting.person_a_id == person_id, CancelledMeeting.person_b_id == person_id
            )
        )
    return list(session.scalars(query.order_by(CancelledMeeting.starts_at, CancelledMeeting.id)))
