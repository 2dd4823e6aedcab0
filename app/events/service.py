"""Business rules of matchmaking events: registration, requests, recommendations, schedules.

Personal data of attendees. An attendee's e-mail is shown only to event managers (admin,
organizer), to members of the attendee's own organisation, and to members of an organisation
that has an accepted meeting request or a meeting in the published schedule with that attendee
at this event (see `contact_access`); everyone else who may read the event sees name and role,
the e-mail as null and `hidden_fields: ["email"]`. Requests, schedules and the table plan carry
no e-mail at all; an agenda (every export format) shows a partner's e-mail only once a meeting
request between the two people was accepted, and only to a caller `contact_access` lets read it.

Organisation names. An organisation that registers for an event agrees to be listed to the
event's attendees, so participant lists, agendas and table plans name it, whatever its
profile's disclosure settings hide elsewhere. The list is the attendees' business only: event
managers and members of a registered organisation read participants and people, nobody else
(`reads_attendees`). An organisation that opted out of being shown to its competitors is left
out of what a competitor's members read. Recommendations show the targets through the caller's
disclosure view, like any other match list.

Self-service. Members change their own organisation's registration (register, withdraw,
people, availability) only while no schedule is published; registering and adding people also
need registration to be open. Event managers keep full control.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from app.auth import roles
from app.embeddings import Encoder
from app.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.events import repository as repo
from app.events.exports import (
    Agenda,
    AgendaEntry,
    CancelledEntry,
    EventInfo,
    Lang,
    PersonInfo,
    PlanRow,
    kind_text,
)
from app.events.reasons import reason as solver_reason
from app.events.schemas import (
    AgendaItem,
    AgendaOut,
    AgendaPartner,
    AvailabilitySet,
    CancelledItem,
    EventCreate,
    EventOut,
    EventPatch,
    MeetingOut,
    ParticipantCreate,
    ParticipantOut,
    PersonIn,
    PersonOut,
    PersonPatch,
    RecommendationOut,
    ReportOut,
    RequestCreate,
    RequestOut,
    RescheduleRequest,
    ScheduleChangesOut,
    ScheduleOut,
    ScheduleRequest,
    SlotGeneration,
    SlotOut,
    TablesSet,
)
from app.i18n import N_, Message
from app.matches.index import FittedIndex, IndexCache
from app.matches.service import fitted_index, hidden_from_competitor, language_of, shown
from app.models.base import utcnow
from app.models.event import (
    INVITATION_LIFETIME,
    CancelledMeeting,
    Event,
    EventDate,
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
)
from app.models.user import Role, User
from app.organizations.access import may_see, view_of, visible_relationships
from app.organizations.views import attendee_name
from matching import Filters, Match
from matching.scheduling import (
    CandidatePair,
    Instance,
    InvalidInstance,
    Meeting,
    Options,
    PairKind,
    Schedule,
    ScheduleChanges,
    ScheduleReport,
    changes,
    pair_key,
    pair_values,
    report,
    reschedule,
    rescheduling_instance,
    solve,
    validate,
)
from matching.scheduling import Participant as SchedulingParticipant

# engine scores become the within-tier part of a pair's value, which the scheduler wants in [0, 1)
_MAX_SCORE = 0.999


class ScheduleRejected(AppError):
    """The solver returned a schedule that the independent validator refuses; nothing is stored."""

    status = 500
    title = "Schedule rejected"


def _invalid(field_name: str, message: str, **values: Any) -> Invalid:
    """A 422 naming one field; `message` is a template marked with `N_`."""
    text = Message(message, **values)
    return Invalid(
        N_("%(field)s: %(message)s"),
        values={"field": field_name, "message": text},
        errors=[{"field": field_name, "message": text}],
    )


is_event_manager = roles.is_event_manager


# ---------------------------------------------------------------- concurrency


def _lock_failed(exc: OperationalError) -> bool:
    """Whether a database error means that another transaction holds the lock."""
    # PostgreSQL: lock_not_available (NOWAIT); SQLite: the one writer is busy, or this
    # transaction's snapshot is older than another one's commit
    return getattr(exc.orig, "sqlstate", None) == "55P03" or "database is locked" in str(exc.orig)


def _busy(event: Event) -> Conflict:
    return Conflict(
        N_(
            "The schedule of event %(event_id)s is being changed by another request; "
            "load it again and retry."
        ),
        values={"event_id": event.id},
    )


@contextmanager
def lost_race_is_conflict(session: Session, conflict: Conflict) -> Iterator[None]:
    """Run the block's writes in a savepoint; if another request's writes came first, undo
    them and raise ``conflict`` (409) instead of the database error (500).

    Another request came first when a unique or foreign key constraint fails after this
    request's own checks passed, or (SQLite) when its commit made this transaction's snapshot
    stale. Objects must be added inside the block: the savepoint starts with a flush.
    """
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError as exc:
        raise conflict from exc
    except OperationalError as exc:
        if not _lock_failed(exc):
            raise
        raise conflict from exc


def lock_event(session: Session, *, event: Event) -> None:
    """Take the event's lock for a change of its schedule, slots or tables; 409 if it is taken.

    Two solves of one event at once would otherwise both try to store a schedule and the
    second would fail with a 500. PostgreSQL refuses the second here, at once; SQLite has no
    row locks, so there the writes that come second fail (see `lost_race_is_conflict`).
    """
    try:
        with session.begin_nested():
            repo.lock_event(session, event.id)
    except OperationalError as exc:
        if not _lock_failed(exc):
            raise
        raise _busy(event) from exc


# ---------------------------------------------------------------- events


def zone_of(event: Event) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(event.timezone)


def event_out(event: Event) -> EventOut:
    return EventOut(
        id=event.id,
        name=event.name,
        venue=event.venue,
        timezone=event.timezone,
        dates=[d.day for d in event.dates],
        max_meetings=event.max_meetings,
        min_meetings=event.min_meetings,
        allow_competitors=event.allow_competitors,
        registration_open=event.registration_open,
        person_level_meetings=event.person_level_meetings,
        fill_with_recommendations=event.fill_with_recommendations,
        request_expiry_hours=event.request_expiry_hours,
        created_at=event.created_at,
        modified_at=event.modified_at,
    )


def _check_limits(min_meetings: int, max_meetings: int) -> None:
    if min_meetings > max_meetings:
        raise _invalid(
            "min_meetings", N_("must not exceed max_meetings (%(max)s)"), max=max_meetings
        )


def create_event(session: Session, *, data: EventCreate) -> Event:
    _check_limits(data.min_meetings, data.max_meetings)
    event = Event(
        name=data.name,
        venue=data.venue,
        timezone=data.timezone,
        max_meetings=data.max_meetings,
        min_meetings=data.min_meetings,
        allow_competitors=data.allow_competitors,
        registration_open=data.registration_open,
        person_level_meetings=data.person_level_meetings,
        fill_with_recommendations=data.fill_with_recommendations,
        request_expiry_hours=data.request_expiry_hours,
    )
    event.dates = [EventDate(day=d) for d in data.dates]
    session.add(event)
    session.flush()
    return event


def get_event(session: Session, *, event_id: int) -> Event:
    event = repo.get_event(session, event_id)
    if event is None:
        raise NotFound(N_("No event with id %(id)s."), values={"id": event_id})
    return event


def list_events(session: Session, *, limit: int, offset: int) -> tuple[list[Event], int]:
    return repo.list_events(session, limit=limit, offset=offset)


def update_event(session: Session, *, event: Event, data: EventPatch) -> Event:
    values = data.model_dump(exclude_unset=True)
    for key in ("name", "timezone", "max_meetings", "min_meetings"):
        if key in values and values[key] is None:
            raise _invalid(key, N_("must not be null"))
    for key in (
        "allow_competitors",
        "registration_open",
        "person_level_meetings",
        "fill_with_recommendations",
    ):
        if key in values and values[key] is None:
            raise _invalid(key, N_("must not be null"))
    _check_limits(
        values.get("min_meetings", event.min_meetings),
        values.get("max_meetings", event.max_meetings),
    )
    slots = repo.slots(session, event.id)
    if values.get(
        "person_level_meetings", event.person_level_meetings
    ) != event.person_level_meetings and _schedule_exists(session, event):
        # stored meetings are of one kind: whole organisations or people
        raise Conflict(
            N_(
                "Meetings cannot change between organisations and people while a schedule "
                "exists; delete the schedule first."
            ),
            errors=[{"field": "person_level_meetings", "message": N_("schedule exists")}],
        )
    if "timezone" in values and values["timezone"] != event.timezone and slots:
        # stored slots are instants; moving them to another zone would change their wall time
        raise Conflict(
            N_("The time zone cannot change once slots exist; delete and regenerate the slots."),
            errors=[{"field": "timezone", "message": N_("slots exist")}],
        )
    if "dates" in values:
        new_days = values.pop("dates")
        if new_days is None:
            raise _invalid("dates", N_("must not be null"))
        used = {s.day for s in slots}
        dropped = used - set(new_days)
        if dropped:
            raise Conflict(
                N_("Dates with slots cannot be removed: %(dates)s"),
                values={"dates": ", ".join(d.isoformat() for d in sorted(dropped))},
                errors=[{"field": "dates", "message": N_("a removed date has slots")}],
            )
        keep = {d.day: d for d in event.dates}
        event.dates = [keep.get(d) or EventDate(day=d) for d in new_days]
    for key, value in values.items():
        setattr(event, key, value)
    event.modified_at = utcnow()
    session.flush()
    return event


def delete_event(session: Session, *, event: Event) -> None:
    session.delete(event)
    session.flush()


# ---------------------------------------------------------------- slots and tables


def slot_out(slot: TimeSlot, zone: zoneinfo.ZoneInfo) -> SlotOut:
    return SlotOut(
        id=slot.id,
        date=slot.day,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        local_start=slot.starts_at.astimezone(zone).isoformat(),
        local_end=slot.ends_at.astimezone(zone).isoformat(),
        position=slot.position,
    )


def slot_times(
    day: dt.date,
    start: dt.time,
    end: dt.time,
    minutes: int,
    breaks: Iterable[tuple[dt.time, dt.time]],
    zone: zoneinfo.ZoneInfo,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Back-to-back slots of ``minutes`` from ``start`` to ``end`` (local), skipping breaks.

    A slot that would overlap a break starts when the break ends. Returns UTC (start, end) pairs.
    """
    length = dt.timedelta(minutes=minutes)
    pauses = [(dt.datetime.combine(day, a), dt.datetime.combine(day, b)) for a, b in breaks]
    t = dt.datetime.combine(day, start)
    stop = dt.datetime.combine(day, end)
    out: list[tuple[dt.datetime, dt.datetime]] = []
    while t + length <= stop:
        clash = [b for a, b in pauses if t < b and t + length > a]
        if clash:
            t = max(clash)
            continue
        # wall-clock times in the venue's zone, stored as instants
        out.append(
            (
                t.replace(tzinfo=zone).astimezone(dt.UTC),
                (t + length).replace(tzinfo=zone).astimezone(dt.UTC),
            )
        )
        t += length
    return out


def list_slots(session: Session, *, event: Event) -> list[TimeSlot]:
    return repo.slots(session, event.id)


def _schedule_exists(session: Session, event: Event) -> bool:
    return repo.schedule(session, event.id) is not None


def generate_slots(session: Session, *, event: Event, data: SlotGeneration) -> list[TimeSlot]:
    if data.date not in {d.day for d in event.dates}:
        raise _invalid("date", N_("not one of the event's dates"))
    if data.end <= data.start:
        raise _invalid("end", N_("must be after start"))
    lock_event(session, event=event)
    if _schedule_exists(session, event):
        raise Conflict(
            N_("The event has a schedule; delete it before changing slots."),
            errors=[{"field": "date", "message": N_("schedule exists")}],
        )
    times = slot_times(
        data.date,
        data.start,
        data.end,
        data.slot_minutes,
        [(b.start, b.end) for b in data.breaks],
        zone_of(event),
    )
    if not times:
        raise _invalid("slot_minutes", N_("no slot fits between start and end outside the breaks"))
    length = dt.timedelta(minutes=data.slot_minutes)
    overlap = any(later[0] < earlier[1] for earlier, later in pairwise(times))
    if overlap or any(b - a != length for a, b in times):
        # around a daylight-saving change wall-clock slots would be shorter, longer or overlap
        raise _invalid("start", N_("the slots cross a daylight-saving change in the event's zone"))
    repo.delete_slots_of_day(session, event.id, data.date)
    session.add_all(
        TimeSlot(event_id=event.id, day=data.date, starts_at=a, ends_at=b, position=0)
        for a, b in times
    )
    session.flush()
    slots = repo.slots(session, event.id)
    for i, slot in enumerate(slots):
        slot.position = i
    session.flush()
    return slots


def set_tables(session: Session, *, event: Event, data: TablesSet) -> list[EventTable]:
    if (data.count is None) == (data.names is None):
        raise Invalid(
            N_("Give either count or names."),
            errors=[
                {"field": "count", "message": N_("give either count or names")},
                {"field": "names", "message": N_("give either count or names")},
            ],
        )
    if data.names is not None:
        seen: set[str] = set()
        for i, name in enumerate(data.names):
            if name in seen:
                raise _invalid(f"names[{i}]", N_("duplicate table name %(name)r"), name=name)
            seen.add(name)
        names = list(data.names)
    else:
        assert data.count is not None
        names = [str(i) for i in range(1, data.count + 1)]
    lock_event(session, event=event)
    if _schedule_exists(session, event):
        raise Conflict(N_("The event has a schedule; delete it before changing tables."))
    repo.delete_tables(session, event.id)
    session.flush()
    session.add_all(
        EventTable(event_id=event.id, name=name, position=i) for i, name in enumerate(names)
    )
    session.flush()
    return repo.tables(session, event.id)


def list_tables(session: Session, *, event: Event) -> list[EventTable]:
    return repo.tables(session, event.id)


# ---------------------------------------------------------------- participants and people


@dataclass(frozen=True)
class ContactAccess:
    """Whose contact details (e-mail) one caller may read at one event."""

    everyone: bool
    person_ids: frozenset[int] = frozenset()

    def shows(self, person_id: int) -> bool:
        return self.everyone or person_id in self.person_ids


ALL_CONTACTS = ContactAccess(everyone=True)
NO_CONTACTS = ContactAccess(everyone=False)
# the attributes of an attendee that only ContactAccess reveals
CONTACT_FIELDS = ("email",)


def contact_access(session: Session, *, event: Event, user: User | None) -> ContactAccess:
    """The attendees whose e-mail the caller may read at this event.

    Event managers: everyone. A member: the own organisation's people, and the people with whom
    one of them has an accepted meeting request or a meeting in the published schedule.
    Curators and anyone else: nobody (they read names and roles only).
    """
    if is_event_manager(user):
        return ALL_CONTACTS
    if user is None or user.role != Role.member.value or user.organization_id is None:
        return NO_CONTACTS
    own = repo.people_of_organization(session, event.id, user.organization_id)
    if not own:
        return NO_CONTACTS
    pairs = repo.accepted_request_pairs(session, event.id)
    row = repo.schedule(session, event.id)
    if row is not None and row.status == "published":
        pairs += _attendee_pairs(session, event.id)
    shown = set(own)
    for a, b in pairs:
        if a in own:
            shown.add(b)
        if b in own:
            shown.add(a)
    return ContactAccess(everyone=False, person_ids=frozenset(shown))


def _attendee_pairs(session: Session, event_id: int) -> list[tuple[int, int]]:
    """Every pair of people who sit at one table in a stored meeting: with whole
    organisations, every person of one with every person of the other."""
    colleagues: dict[int, list[int]] = {}
    of: dict[int, int] = {}
    for person in repo.people(session, event_id):
        colleagues.setdefault(person.participant_id, []).append(person.id)
        of[person.id] = person.participant_id
    pairs: list[tuple[int, int]] = []
    for m in repo.meetings(session, event_id):
        if m.whole_organizations:
            pairs += [
                (a, b) for a in colleagues[of[m.person_a_id]] for b in colleagues[of[m.person_b_id]]
            ]
        else:
            pairs.append((m.person_a_id, m.person_b_id))
    return pairs


def reads_attendees(session: Session, *, event: Event, user: User | None) -> bool:
    """Event managers and members of an organisation registered for the event."""
    if is_event_manager(user):
        return True
    if user is None or user.role != Role.member.value or user.organization_id is None:
        return False
    return repo.participant_of_organization(session, event.id, user.organization_id) is not None


def hidden_participants(
    session: Session, *, user: User | None, cache: IndexCache, encoder: Encoder | None
) -> frozenset[int]:
    """Organisations that opted out of being shown to the caller's organisation as a
    competitor (event managers and curators: none)."""
    if user is None or user.role != Role.member.value or user.organization_id is None:
        return frozenset()
    return hidden_from_competitor(session, cache, encoder, user.organization_id)


def person_out(person: EventPerson, unavailable: Iterable[int], access: ContactAccess) -> PersonOut:
    shown = access.shows(person.id)
    return PersonOut(
        id=person.id,
        participant_id=person.participant_id,
        name=person.name,
        email=person.email if shown else None,
        role=person.role,
        no_show=person.no_show,
        max_meetings=person.max_meetings,
        unavailable_slot_ids=sorted(unavailable),
        hidden_fields=[] if shown else list(CONTACT_FIELDS),
    )


def participant_out(
    session: Session, participant: Participant, access: ContactAccess
) -> ParticipantOut:
    away = repo.unavailable(session, [p.id for p in participant.people])
    return ParticipantOut(
        id=participant.id,
        event_id=participant.event_id,
        organization_id=participant.organization_id,
        # registering is consent to be listed to the event's attendees (see the module text)
        organization_name=attendee_name(participant.organization),
        people=[person_out(p, away.get(p.id, ()), access) for p in participant.people],
    )


def _require_open(event: Event) -> None:
    if not event.registration_open:
        raise Conflict(
            N_("Registration for event %(event_id)s is closed."), values={"event_id": event.id}
        )


def _require_unpublished(session: Session, event_id: int) -> None:
    """Members change their registration only until the organiser publishes the schedule."""
    row = repo.schedule(session, event_id)
    if row is not None and row.status == "published":
        raise Conflict(
            N_(
                "The schedule of event %(event_id)s is published; ask the organiser to change "
                "the registration."
            ),
            values={"event_id": event_id},
        )


def _already_registered(organization_id: int) -> Conflict:
    return Conflict(
        N_("Organisation %(id)s is already registered for this event."),
        values={"id": organization_id},
        errors=[{"field": "organization_id", "message": N_("already registered")}],
    )


def register_participant(
    session: Session,
    *,
    event: Event,
    data: ParticipantCreate,
    self_service: bool = False,
    registrar: User | None = None,
) -> Participant:
    """Register an organisation; ``self_service``: by one of its members (see module text).

    An organiser (``registrar``) registers public profiles whose name it sees only:
    registering is consent to be listed to the attendees by name, which only the
    organisation's members give for a profile that is not public or hides its name (they
    register it themselves or accept an invitation; hub admins may on their behalf). A
    profile the organiser may not see answers as one that does not exist.
    """
    _require_open(event)
    if self_service:
        _require_unpublished(session, event.id)
    if needs_consent(session, organization_id=data.organization_id, registrar=registrar):
        raise Forbidden(
            N_(
                "Organisation %(id)s does not show its profile and name to you: invite it; its "
                "members accept the invitation."
            ),
            values={"id": data.organization_id},
            errors=[
                {"field": "organization_id", "message": N_("needs the organisation's consent")}
            ],
        )
    if repo.participant_of_organization(session, event.id, data.organization_id) is not None:
        raise _already_registered(data.organization_id)
    seen: set[str] = set()
    for i, person in enumerate(data.people):
        if person.email in seen:
            raise _invalid(f"people[{i}].email", N_("duplicate email within the participant"))
        seen.add(person.email)
    participant = Participant(event_id=event.id, organization_id=data.organization_id)
    participant.people = [
        EventPerson(name=p.name, email=p.email, role=p.role, max_meetings=p.max_meetings)
        for p in data.people
    ]
    with lost_race_is_conflict(session, _already_registered(data.organization_id)):
        session.add(participant)
    return get_participant(session, event=event, participant_id=participant.id)


def needs_consent(session: Session, *, organization_id: int, registrar: User | None) -> bool:
    """Whether an organiser registering the organisation needs its consent (an invitation its
    members accept): its profile is not public, or its name is hidden from the organiser (the
    attendees' list would name it). 422, as for an id that does not exist, when the registrar
    may not see it."""
    organization = repo.get_organization(session, organization_id)
    if organization is None or (registrar is not None and not may_see(registrar, organization)):
        raise _invalid("organization_id", N_("no organisation with id %(id)s"), id=organization_id)
    if registrar is None or registrar.role != Role.organizer.value:
        return False
    return (
        organization.visibility != "public"
        or "name" in view_of(session, registrar, organization).hidden
    )


def invite(
    session: Session, *, event: Event, organization_id: int, registrar: User
) -> EventInvitation:
    """Invite an organisation (see needs_consent); inviting twice keeps the first one."""
    _require_open(event)
    if repo.participant_of_organization(session, event.id, organization_id) is not None:
        raise _already_registered(organization_id)
    found = repo.invitation_of(session, event.id, organization_id)
    if found is not None:
        if found.expired:  # inviting again renews an expired invitation
            found.created_at = utcnow()
            found.expires_at = found.created_at + INVITATION_LIFETIME
            found.invited_by_user_id = registrar.id
            session.flush()
        return found
    now = utcnow()
    invitation = EventInvitation(
        event_id=event.id,
        organization_id=organization_id,
        invited_by_user_id=registrar.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    with lost_race_is_conflict(session, Conflict(N_("The organisation was invited meanwhile."))):
        session.add(invitation)
    return invitation


def list_invitations(session: Session, *, event: Event, user: User) -> list[EventInvitation]:
    """Event managers: every invitation; members: their own organisation's."""
    return repo.invitations(
        session, event.id, roles.member_organization(user), every=is_event_manager(user)
    )


def get_invitation(session: Session, *, event: Event, invitation_id: int) -> EventInvitation:
    invitation = repo.get_invitation(session, event.id, invitation_id)
    if invitation is None:
        raise NotFound(
            N_("No invitation %(id)s in event %(event_id)s."),
            values={"id": invitation_id, "event_id": event.id},
        )
    return invitation


def accept_invitation(
    session: Session, *, event: Event, invitation: EventInvitation, people: list[PersonIn]
) -> Participant:
    """The organisation's members accept: it is registered (the members' rules apply). An
    expired invitation cannot be accepted (409)."""
    if invitation.expired:
        raise Conflict(
            N_(
                "The invitation expired at %(expired_at)s; the organiser may invite the "
                "organisation again."
            ),
            values={"expired_at": invitation.expires_at.isoformat()},
            errors=[{"field": "invitation", "message": N_("expired")}],
        )
    data = ParticipantCreate(organization_id=invitation.organization_id, people=people)
    participant = register_participant(session, event=event, data=data, self_service=True)
    session.delete(invitation)
    session.flush()
    return participant


def delete_invitation(session: Session, *, invitation: EventInvitation) -> None:
    session.delete(invitation)
    session.flush()


def get_participant(session: Session, *, event: Event, participant_id: int) -> Participant:
    participant = repo.get_participant(session, event.id, participant_id)
    if participant is None:
        raise NotFound(
            N_("No participant %(id)s in event %(event_id)s."),
            values={"id": participant_id, "event_id": event.id},
        )
    return participant


def list_participants(session: Session, *, event: Event) -> list[Participant]:
    return repo.participants(session, event.id)


def _in_schedule(session: Session, event: Event, person_ids: list[int]) -> bool:
    return repo.count_meetings(session, event.id, person_ids=person_ids) > 0


def delete_participant(
    session: Session, *, event: Event, participant: Participant, self_service: bool = False
) -> None:
    if self_service:
        _require_unpublished(session, event.id)
    if _in_schedule(session, event, [p.id for p in participant.people]):
        raise Conflict(N_("The participant has scheduled meetings; reschedule without them first."))
    session.delete(participant)
    session.flush()


def add_person(
    session: Session,
    *,
    event: Event,
    participant: Participant,
    data: PersonIn,
    self_service: bool = False,
) -> EventPerson:
    _require_open(event)
    if self_service:
        _require_unpublished(session, event.id)
    taken = Conflict(
        N_("%(email)s is already registered for this participant."),
        values={"email": data.email},
        errors=[{"field": "email", "message": N_("already registered")}],
    )
    if any(p.email == data.email for p in participant.people):
        raise taken
    person = EventPerson(
        participant_id=participant.id,
        name=data.name,
        email=data.email,
        role=data.role,
        max_meetings=data.max_meetings,
    )
    with lost_race_is_conflict(session, taken):
        session.add(person)
    return get_person(session, event=event, person_id=person.id)


def get_person(session: Session, *, event: Event, person_id: int) -> EventPerson:
    person = repo.get_person(session, event.id, person_id)
    if person is None:
        raise NotFound(
            N_("No person %(id)s in event %(event_id)s."),
            values={"id": person_id, "event_id": event.id},
        )
    return person


def organizations_of_people(session: Session, *, event: Event) -> dict[int, int]:
    """Which organisation each person of the event attends for: person id -> organisation id."""
    return {p.id: p.participant.organization_id for p in repo.people(session, event.id)}


def update_person(
    session: Session, *, person: EventPerson, data: PersonPatch, self_service: bool = False
) -> EventPerson:
    values = data.model_dump(exclude_unset=True)
    if self_service:
        if "no_show" in values:
            # the no-show mark drives rescheduling: the organiser's call
            raise Forbidden(
                N_("Only event managers mark no-shows."),
                errors=[{"field": "no_show", "message": N_("event managers only")}],
            )
        _require_unpublished(session, person.participant.event_id)
    for key in ("name", "email", "no_show"):
        if key in values and values[key] is None:
            raise _invalid(key, N_("must not be null"))
    if "email" in values and values["email"] != person.email:
        others = repo.get_participant(session, person.participant.event_id, person.participant_id)
        assert others is not None
        if any(p.email == values["email"] and p.id != person.id for p in others.people):
            raise Conflict(
                N_("%(email)s is already registered for this participant."),
                values={"email": values["email"]},
                errors=[{"field": "email", "message": N_("already registered")}],
            )
    for key, value in values.items():
        setattr(person, key, value)
    session.flush()
    return person


def delete_person(
    session: Session, *, event: Event, person: EventPerson, self_service: bool = False
) -> None:
    if self_service:
        _require_unpublished(session, event.id)
    if _in_schedule(session, event, [person.id]):
        raise Conflict(N_("The person has scheduled meetings; reschedule without them first."))
    session.delete(person)
    session.flush()


def unavailable_of(session: Session, *, person: EventPerson) -> set[int]:
    return repo.unavailable(session, [person.id]).get(person.id, set())


def set_unavailable(
    session: Session,
    *,
    event: Event,
    person: EventPerson,
    data: AvailabilitySet,
    self_service: bool = False,
) -> set[int]:
    if self_service:
        _require_unpublished(session, event.id)
    known = {s.id for s in repo.slots(session, event.id)}
    for i, slot_id in enumerate(data.unavailable_slot_ids):
        if slot_id not in known:
            raise _invalid(
                f"unavailable_slot_ids[{i}]", N_("no slot %(id)s in this event"), id=slot_id
            )
    repo.set_unavailable(session, person.id, set(data.unavailable_slot_ids))
    return set(data.unavailable_slot_ids)


# ---------------------------------------------------------------- requests and preferences


def create_request(session: Session, *, event: Event, data: RequestCreate) -> MeetingRequest:
    _require_open(event)
    sender = repo.get_person(session, event.id, data.from_person_id)
    if sender is None:
        raise _invalid(
            "from_person_id", N_("no person %(id)s in this event"), id=data.from_person_id
        )
    receiver = repo.get_person(session, event.id, data.to_person_id)
    if receiver is None:
        raise _invalid("to_person_id", N_("no person %(id)s in this event"), id=data.to_person_id)
    if sender.id == receiver.id:
        raise _invalid("to_person_id", N_("a person cannot request a meeting with themself"))
    if sender.participant_id == receiver.participant_id:
        raise _invalid("to_person_id", N_("both people belong to the same organisation"))
    existing = repo.open_request_between(session, sender.id, receiver.id)
    if existing is not None and request_status(event, existing, now=utcnow()) == "expired":
        # an expired request is no answer: it gives way to a new one
        existing.status = "withdrawn"
        existing.answered_at = utcnow()
        session.flush()
        existing = None
    if existing is not None:
        raise Conflict(
            N_("Request %(id)s between these people is already %(status)s."),
            values={"id": existing.id, "status": Message(existing.status)},
            request_id=existing.id,
        )
    request = MeetingRequest(
        event_id=event.id,
        from_person_id=sender.id,
        to_person_id=receiver.id,
        message=data.message or None,
        status="requested",
    )
    session.add(request)
    session.flush()
    return request


def get_request(session: Session, *, event: Event, request_id: int) -> MeetingRequest:
    request = repo.get_request(session, event.id, request_id)
    if request is None:
        raise NotFound(
            N_("No meeting request %(id)s in event %(event_id)s."),
            values={"id": request_id, "event_id": event.id},
        )
    return request


def request_status(event: Event, request: MeetingRequest, *, now: dt.datetime) -> str:
    """The stored status, or "expired" for a pending request past the event's expiry time."""
    return "expired" if repo.is_expired(event, request, now=now) else request.status


def request_out(event: Event, request: MeetingRequest) -> RequestOut:
    return RequestOut(
        id=request.id,
        event_id=request.event_id,
        from_person_id=request.from_person_id,
        to_person_id=request.to_person_id,
        message=request.message,
        status=request_status(event, request, now=utcnow()),
        created_at=request.created_at,
        answered_at=request.answered_at,
        expires_at=repo.request_expires_at(event, request),
    )


def list_requests(
    session: Session, *, event: Event, person_id: int | None, status: str | None
) -> list[MeetingRequest]:
    """Filtered by status as ``request_status`` tells it ("expired": pending past the expiry)."""
    return repo.requests(session, event.id, person_id=person_id, status=status)


# the statuses of a meeting request as the error messages name them, translated on the pages
STATUS_WORDS = (N_("requested"), N_("accepted"), N_("declined"), N_("withdrawn"), N_("expired"))

_TRANSITIONS = {
    "accept": ({"requested"}, "accepted"),
    "decline": ({"requested"}, "declined"),
    "withdraw": ({"requested", "accepted"}, "withdrawn"),
}


def answer_request(session: Session, *, request: MeetingRequest, action: str) -> MeetingRequest:
    """Accept or decline (the receiving side) or withdraw (the sender) a request."""
    allowed, target = _TRANSITIONS[action]
    event = repo.get_event(session, request.event_id)
    if (
        action != "withdraw"
        and event is not None
        and request_status(event, request, now=utcnow()) == "expired"
    ):
        raise Conflict(
            N_("Request %(id)s has expired; it cannot be %(target)s now."),
            values={"id": request.id, "target": Message(target)},
            status_now="expired",
        )
    if request.status not in allowed:
        raise Conflict(
            N_("Request %(id)s is %(status)s; it cannot be %(target)s now."),
            values={"id": request.id, "status": Message(request.status), "target": Message(target)},
            status_now=request.status,
        )
    request.status = target
    request.answered_at = utcnow()
    session.flush()
    return request


def set_preference(
    session: Session, *, event: Event, participant: Participant, target_id: int, kind: str
) -> Preference:
    if target_id == participant.id:
        raise _invalid("target_participant_id", N_("a participant has no preference toward itself"))
    get_participant(session, event=event, participant_id=target_id)
    pref = repo.get_preference(session, participant.id, target_id)
    if pref is None:
        pref = Preference(participant_id=participant.id, target_participant_id=target_id, kind=kind)
        session.add(pref)
    else:
        pref.kind = kind
    session.flush()
    return pref


def delete_preference(session: Session, *, participant: Participant, target_id: int) -> None:
    pref = repo.get_preference(session, participant.id, target_id)
    if pref is None:
        raise NotFound(
            N_("Participant %(id)s has no preference toward %(target_id)s."),
            values={"id": participant.id, "target_id": target_id},
        )
    session.delete(pref)
    session.flush()


def list_preferences(session: Session, *, participant: Participant) -> list[Preference]:
    return repo.preferences_of(session, participant.id)


def set_person_preference(
    session: Session, *, event: Event, person: EventPerson, target_id: int, kind: str
) -> PersonPreference:
    """One person's must_meet, would_like or not_interested toward a person of another
    organisation; it applies next to the organisations' preferences (not-interested wins)."""
    if target_id == person.id:
        raise _invalid("target_person_id", N_("a person has no preference toward themself"))
    target = get_person(session, event=event, person_id=target_id)
    if target.participant_id == person.participant_id:
        raise _invalid("target_person_id", N_("both people belong to the same organisation"))
    pref = repo.get_person_preference(session, person.id, target_id)
    if pref is None:
        pref = PersonPreference(person_id=person.id, target_person_id=target_id, kind=kind)
        with lost_race_is_conflict(session, Conflict(N_("The preference was set meanwhile."))):
            session.add(pref)
    else:
        pref.kind = kind
        session.flush()
    return pref


def delete_person_preference(session: Session, *, person: EventPerson, target_id: int) -> None:
    pref = repo.get_person_preference(session, person.id, target_id)
    if pref is None:
        raise NotFound(
            N_("Person %(id)s has no preference toward person %(target_id)s."),
            values={"id": person.id, "target_id": target_id},
        )
    session.delete(pref)
    session.flush()


def list_person_preferences(session: Session, *, person: EventPerson) -> list[PersonPreference]:
    return repo.person_preferences_of(session, person.id)


def list_event_person_preferences(session: Session, *, event: Event) -> list[PersonPreference]:
    """Every person-level mark of the event's people, by person, then target."""
    return repo.person_preferences(session, event.id)


# ---------------------------------------------------------------- recommendations


def _event_matches(
    index: FittedIndex,
    organization_id: int,
    event_orgs: set[int],
    *,
    include_competitors: bool,
    limit: int,
    visible_relationships: frozenset[tuple[int, int]] | None = None,
) -> list[Match]:
    """The engine's ranking of ``organization_id``'s partners, restricted to ``event_orgs``;
    the network features count only ``visible_relationships`` when given (None: all)."""
    query = index.profiles.get(organization_id)
    if query is None or limit <= 0 or not event_orgs:
        return []
    filters = Filters(
        include_competitors=include_competitors,
        exclude_known=False,
        only_ids=frozenset(event_orgs),
        visible_relationships=visible_relationships,
    )
    return index.matcher.match(query, filters=filters, limit=limit)


def recommendations(
    session: Session,
    *,
    event: Event,
    participant: Participant,
    user: User,
    limit: int,
    cache: IndexCache,
    encoder: Encoder | None,
) -> list[RecommendationOut]:
    """The best partners among the event's participants, each target shown through the
    caller's disclosure view; what opted out of the caller's organisation as a competitor is
    left out."""
    index = fitted_index(session, cache, encoder)
    by_org = {p.organization_id: p.id for p in repo.participants(session, event.id)}
    hidden = hidden_participants(session, user=user, cache=cache, encoder=encoder)
    found = _event_matches(
        index,
        participant.organization_id,
        set(by_org) - {participant.organization_id} - hidden,
        include_competitors=event.allow_competitors,
        limit=limit,
        visible_relationships=visible_relationships(session, user),
    )
    return [
        RecommendationOut(
            participant_id=by_org[item.organization.id],
            organization=item.organization,
            score=item.score,
            relation=item.relation,
            reasons=item.reasons,
            shared_interests=item.shared_interests,
        )
        for item in shown(session, user=user, index=index, matches=found)
    ]


# ---------------------------------------------------------------- scheduling


@dataclass
class EventInstance:
    """A stored event as a scheduling instance, with what is needed to store the answer."""

    instance: Instance
    no_shows: set[int]
    stored: list[ScheduledMeeting] = field(default_factory=list)


def _engine_scores(
    session: Session,
    event: Event,
    participants: list[Participant],
    *,
    per_participant: int,
    cache: IndexCache,
    encoder: Encoder | None,
) -> tuple[dict[tuple[int, int], float], set[tuple[int, int]]]:
    """Engine scores of organisation pairs, and the pairs each side ranks in its top ``k``.

    Without an embedding model the event is scheduled from explicit requests and preferences.
    """
    if encoder is None or per_participant <= 0 or len(participants) < 2:
        return {}, set()
    index = cache.get(session, encoder.name)
    orgs = {p.organization_id for p in participants}
    scores: dict[tuple[int, int], float] = {}
    top: set[tuple[int, int]] = set()
    for org in sorted(orgs):
        # every other participant is scored, so requests and preferences get a score too
        found = _event_matches(
            index,
            org,
            orgs - {org},
            include_competitors=event.allow_competitors,
            limit=len(orgs),
        )
        for rank, match in enumerate(found):
            key = pair_key(org, match.target_id)
            scores[key] = max(scores.get(key, 0.0), min(max(match.score, 0.0), _MAX_SCORE))
            if rank < per_participant:
                top.add(key)
    return scores, top


def build_instance(
    session: Session,
    *,
    event: Event,
    options: ScheduleRequest,
    cache: IndexCache,
    encoder: Encoder | None,
    no_show_everywhere: bool,
) -> EventInstance:
    """The scheduling instance of the stored event.

    Who meets: by default whole organisations. Each organisation is one participant of the
    instance, standing as its first registered person (lowest id); all its people attend each
    of its meetings together at one table, so a slot is open to it only when every attending
    person is available, and its maximum is the smallest of their maxima. People marked as
    no-shows do not attend and do not restrict the organisation; an organisation whose people
    are all no-shows gets no meeting. With the event's ``person_level_meetings`` people meet one
    to one instead.

    Candidate pairs, between organisations or people alike: accepted requests (wanted by both
    sides), pending requests (a wish of the sender), must-meet and would-like preferences of
    organisations and of people (a wish of one side, of both when both ask) and, only when the
    event's ``fill_with_recommendations`` is on, engine recommendations. When people meet one to
    one, an organisation's wish (or recommendation) toward another organisation is one wish that
    any pair of their people can fulfil: its person pairs form one wish group, so it brings at
    most one meeting, not one per pair of colleagues; a person pair that also has a wish or
    request of its own stays a wish of its own. A not-interested mark
    (of an organisation or a person, either way) or a declined request forbids the pair; a wish
    that it overrides stays in the instance as a candidate, so the report counts it as unmet.
    Locked meetings are kept. With ``no_show_everywhere`` people marked as no-shows get no
    meeting at all (a fresh schedule); otherwise ``reschedule`` handles them.
    """
    slots = repo.slots(session, event.id)
    tables = repo.tables(session, event.id)
    if not slots:
        raise Conflict(N_("The event has no slots; generate them first."))
    if not tables:
        raise Conflict(N_("The event has no tables; set them first."))
    participants = repo.participants(session, event.id)
    people = [person for p in participants for person in p.people]
    org_of = {person.id: p.organization_id for p in participants for person in p.people}
    people_of_org: dict[int, list[int]] = {
        p.organization_id: sorted(person.id for person in p.people) for p in participants
    }
    org_of_participant = {p.id: p.organization_id for p in participants}
    away = repo.unavailable(session, [p.id for p in people])
    all_slots = frozenset(s.id for s in slots)
    no_shows = {p.id for p in people if p.no_show}
    whole = not event.person_level_meetings

    def unit(person: int) -> int:
        """The instance's participant that a person attends as."""
        return people_of_org[org_of[person]][0] if whole else person

    def maximum(person: EventPerson) -> int:
        return event.max_meetings if person.max_meetings is None else person.max_meetings

    def closed(person: EventPerson) -> frozenset[int]:
        if no_show_everywhere and person.id in no_shows:
            return all_slots
        return frozenset(away.get(person.id, ()))

    members: list[SchedulingParticipant] = []
    unit_no_shows: set[int] = set()
    if whole:
        for p in participants:
            if not p.people:
                continue
            attending = [person for person in p.people if not person.no_show] or list(p.people)
            unavailable = frozenset().union(*(closed(person) for person in attending))
            rep = people_of_org[p.organization_id][0]
            if all(person.no_show for person in p.people):
                unit_no_shows.add(rep)
            members.append(
                SchedulingParticipant(
                    person=rep,
                    organisation=p.organization_id,
                    unavailable=unavailable,
                    max_meetings=min(maximum(person) for person in attending),
                    min_meetings=event.min_meetings,
                )
            )
    else:
        unit_no_shows = no_shows
        members = [
            SchedulingParticipant(
                person=person.id,
                organisation=org_of[person.id],
                unavailable=closed(person),
                max_meetings=maximum(person),
                min_meetings=event.min_meetings,
            )
            for person in people
        ]
    scores, top = _engine_scores(
        session,
        event,
        participants,
        per_participant=options.recommendations_per_participant,
        cache=cache,
        encoder=encoder,
    )

    def score(a: int, b: int) -> float:
        return scores.get(pair_key(org_of[a], org_of[b]), 0.0)

    # directed wishes between units: (from, to) -> the strongest kind
    wishes: dict[tuple[int, int], PairKind] = {}
    accepted: set[tuple[int, int]] = set()
    forbidden: set[tuple[int, int]] = set()
    # unit pairs with a wish or request of a person (not only of their organisations)
    personal: set[tuple[int, int]] = set()

    def wish(a: int, b: int, kind: PairKind, *, of_person: bool) -> None:
        ua, ub = unit(a), unit(b)
        if ua == ub or org_of[a] == org_of[b]:
            return
        if of_person:
            personal.add(pair_key(ua, ub))
        if wishes.get((ua, ub)) != "must_meet":
            wishes[(ua, ub)] = kind

    def group(a: int, b: int) -> tuple[int, int] | None:
        """The wish group of an organisation-level wish between two people (person-level only)."""
        return None if whole else pair_key(org_of[a], org_of[b])

    def forbid(a: int, b: int) -> None:
        if org_of[a] != org_of[b]:
            forbidden.add(pair_key(unit(a), unit(b)))

    now = utcnow()
    for request in repo.requests(session, event.id):
        a, b = request.from_person_id, request.to_person_id
        status = request_status(event, request, now=now)  # an expired request is no wish
        if status == "accepted":
            if org_of[a] != org_of[b]:
                accepted.add(pair_key(unit(a), unit(b)))
        elif status == "requested":
            wish(a, b, "would_like", of_person=True)
        elif status == "declined":
            forbid(a, b)
    for pref in repo.preferences(session, event.id):
        org_a = org_of_participant[pref.participant_id]
        org_b = org_of_participant[pref.target_participant_id]
        for a in people_of_org[org_a]:
            for b in people_of_org[org_b]:
                if pref.kind == "not_interested":
                    forbid(a, b)
                else:
                    wanted: PairKind = "must_meet" if pref.kind == "must_meet" else "would_like"
                    wish(a, b, wanted, of_person=False)
    for person_pref in repo.person_preferences(session, event.id):
        a, b = person_pref.person_id, person_pref.target_person_id
        if person_pref.kind == "not_interested":
            forbid(a, b)
        else:
            wanted = "must_meet" if person_pref.kind == "must_meet" else "would_like"
            wish(a, b, wanted, of_person=True)

    pairs: list[CandidatePair] = []
    wished = {pair_key(a, b) for a, b in wishes} | accepted
    for a, b in sorted(wished):
        if (a, b) in accepted:
            kind: PairKind = "accepted_request"
            sides = 2
        else:
            kinds = [k for k in (wishes.get((a, b)), wishes.get((b, a))) if k is not None]
            kind = "must_meet" if "must_meet" in kinds else "would_like"
            sides = len(kinds)
        of_orgs = (a, b) not in accepted and (a, b) not in personal
        pairs.append(
            CandidatePair(
                a, b, score(a, b), kind, wanted_by=sides, group=group(a, b) if of_orgs else None
            )
        )
    if event.fill_with_recommendations:
        recommended: set[tuple[int, int]] = set()
        for org_a, org_b in sorted(top):
            for a in people_of_org.get(org_a, ()):
                for b in people_of_org.get(org_b, ()):
                    recommended.add(pair_key(unit(a), unit(b)))
        pairs.extend(
            CandidatePair(a, b, score(a, b), "recommended", wanted_by=0, group=group(a, b))
            for a, b in sorted(recommended - forbidden)
        )
    stored = repo.meetings(session, event.id)
    locked = tuple(
        Meeting.of(unit(m.person_a_id), unit(m.person_b_id), m.slot_id, m.table_id)
        for m in stored
        if m.locked
    )
    instance = Instance(
        slots=[s.id for s in slots],
        tables=[t.id for t in tables],
        participants=members,
        pairs=pairs,
        forbidden=sorted(forbidden),
        locked=locked,
        options=Options(time_limit=options.time_limit),
    )
    return EventInstance(instance=instance, no_shows=unit_no_shows, stored=stored)


def _report_json(rep: ScheduleReport) -> dict[str, Any]:
    return {
        "meetings": rep.meetings,
        "requests_satisfied": dict(rep.satisfied),
        "requested": dict(rep.requested),
        "overridden": [list(pair) for pair in rep.overridden],
        "wanted_both": rep.wanted_both,
        "wanted_one": rep.wanted_one,
        "filled_in": rep.filled_in,
        "below_minimum": list(rep.below_minimum),
        "without_meeting": list(rep.with_zero),
        "idle_gaps_total": rep.idle_total,
        "idle_gaps_mean": rep.idle_mean,
        "total_value": rep.total_value,
        "upper_bound": rep.upper_bound,
        "gap": rep.gap,
        "fair_upper_bound": rep.fair_upper_bound,
        "fair_gap": rep.fair_gap,
        "solve_seconds": rep.solve_seconds,
        "solver_status": rep.status,
        "dropped_pairs": len(rep.dropped),
    }


def _check_and_store(
    session: Session,
    *,
    event: Event,
    instance: Instance,
    schedule: Schedule,
    stored: list[ScheduledMeeting],
    status: str,
) -> EventSchedule:
    violations = validate(instance, schedule)
    if violations:
        raise ScheduleRejected(
            N_("The solver's schedule breaks %(count)s rule(s); nothing was stored."),
            values={"count": len(violations)},
            errors=[
                {"field": v.kind, "message": v.detail, "persons": list(v.persons), "slot": v.slot}
                for v in violations[:50]
            ],
        )
    body = _report_json(report(instance, schedule))
    # another request may have stored a schedule or changed slots, tables or people meanwhile
    with lost_race_is_conflict(session, _busy(event)):
        row = _store(session, event=event, instance=instance, schedule=schedule, stored=stored)
        row.status = status
        row.solver_status = schedule.status
        row.report = body
        row.solved_at = utcnow()
    return row


def _store(
    session: Session,
    *,
    event: Event,
    instance: Instance,
    schedule: Schedule,
    stored: list[ScheduledMeeting],
) -> EventSchedule:
    """Replace the stored meetings by the schedule's (unchanged ones stay as they are); the row.

    Once the schedule is published, calendars hold its meetings: a meeting that moves is stored
    anew with its sequence grown and the time of the change, and a removed one is kept as a
    cancelled meeting (one per pair, the pair being the calendar UID), so the .ics can update
    and cancel them. A pair that meets again continues its cancelled meeting's sequence.
    """
    values = pair_values(instance)
    row = repo.schedule(session, event.id)
    published = row is not None and row.status == "published"
    now = utcnow()
    wanted = {m.pair: m for m in schedule.meetings}
    cancelled = {
        (c.person_a_id, c.person_b_id): c for c in repo.cancelled_meetings(session, event.id)
    }
    slots = {s.id: s for s in repo.slots(session, event.id)} if published else {}
    tables = {t.id: t for t in repo.tables(session, event.id)} if published else {}
    kept: set[tuple[int, int]] = set()
    next_sequence: dict[tuple[int, int], int] = {}
    for old in stored:
        pair = (old.person_a_id, old.person_b_id)
        new = wanted.get(pair)
        if new is not None and (new.slot, new.table) == (old.slot_id, old.table_id):
            kept.add(pair)
            continue
        if published and new is not None:
            next_sequence[pair] = old.sequence + 1
        elif published:
            slot = slots[old.slot_id]
            gone = cancelled.get(pair)
            if gone is None:
                gone = CancelledMeeting(event_id=event.id, person_a_id=pair[0], person_b_id=pair[1])
                session.add(gone)
            gone.starts_at = slot.starts_at
            gone.ends_at = slot.ends_at
            gone.table = tables[old.table_id].name
            gone.sequence = old.sequence + 1
            gone.cancelled_at = now
        session.delete(old)
    # deletes first: a new meeting may take a table that an old one frees
    session.flush()
    for m in schedule.meetings:
        if m.pair in kept:
            continue
        sequence = next_sequence.get(m.pair, 0)
        again = cancelled.get(m.pair)
        if again is not None:
            sequence = max(sequence, again.sequence + 1)
            session.delete(again)
        value, kind = values.get(m.pair, (None, "manual"))
        session.add(
            ScheduledMeeting(
                event_id=event.id,
                slot_id=m.slot,
                table_id=m.table,
                person_a_id=m.a,
                person_b_id=m.b,
                kind=kind,
                value=value,
                locked=False,
                whole_organizations=not event.person_level_meetings,
                sequence=sequence,
                changed_at=now if published else None,
            )
        )
    session.flush()
    if row is None:
        row = EventSchedule(event_id=event.id, status="draft", solver_status=schedule.status)
        session.add(row)
    # a fresh solve has no "last changes"; run_reschedule sets them after storing
    row.last_changes = None
    return row


def agenda_holders(session: Session, *, event: Event, person_ids: Iterable[int]) -> list[int]:
    """The people on whose agendas the meetings of ``person_ids`` are, sorted: a meeting of
    whole organisations (the default) is on the agenda of every person of both, while its
    ``person_a_id`` / ``person_b_id`` name only each organisation's first person."""
    ids = set(person_ids)
    if event.person_level_meetings:
        return sorted(ids)
    people = repo.people(session, event.id)
    organizations = {p.participant_id for p in people if p.id in ids}
    return sorted(p.id for p in people if p.participant_id in organizations)


def changes_json(
    diff: ScheduleChanges,
    *,
    from_slot_id: int,
    future: Iterable[int],
    no_shows: Iterable[int],
    affected: Iterable[int],
    at: dt.datetime,
) -> dict[str, Any]:
    """What a re-schedule changed, as stored with the schedule and shown in ``ScheduleOut``;
    ``kept`` counts the meetings in ``future`` slots that stayed as they were; ``affected``
    are the people whose agendas changed (see ``agenda_holders``)."""
    changeable = set(future)

    def meeting(m: Meeting) -> dict[str, int]:
        return {"person_a_id": m.a, "person_b_id": m.b, "slot_id": m.slot, "table_id": m.table}

    return {
        "rescheduled_at": at.isoformat(),
        "from_slot_id": from_slot_id,
        "no_show_person_ids": sorted(no_shows),
        "kept": sum(1 for m in diff.kept if m.slot in changeable),
        "moved": [
            {
                **meeting(mv.after),
                "from_slot_id": mv.before.slot,
                "from_table_id": mv.before.table,
            }
            for mv in diff.moved
        ],
        "removed": [meeting(m) for m in diff.removed],
        "added": [meeting(m) for m in diff.added],
        "affected_person_ids": list(affected),
    }


def run_schedule(
    session: Session,
    *,
    event: Event,
    options: ScheduleRequest,
    cache: IndexCache,
    encoder: Encoder | None,
) -> EventSchedule:
    """Solve the event from scratch (keeping locked meetings) and store a draft schedule.

    The event's lock is held from the start, so a second solve at the same time gets 409
    (PostgreSQL: at once; SQLite: when its writes come second).
    """
    lock_event(session, event=event)
    existing = repo.schedule(session, event.id)
    if existing is not None and existing.status == "published":
        raise Conflict(
            N_("The schedule is published; use reschedule to change it during the event.")
        )
    built = build_instance(
        session, event=event, options=options, cache=cache, encoder=encoder, no_show_everywhere=True
    )
    try:
        schedule = solve(built.instance)
    except InvalidInstance as exc:
        raise Conflict(
            N_("The event cannot be scheduled as it stands: %(reason)s"),
            values={"reason": solver_reason(exc)},
        ) from exc
    return _check_and_store(
        session,
        event=event,
        instance=built.instance,
        schedule=schedule,
        stored=built.stored,
        status="draft",
    )


def rescheduling_problem(
    session: Session,
    *,
    event: Event,
    options: RescheduleRequest,
    cache: IndexCache,
    encoder: Encoder | None,
) -> tuple[EventInstance, Schedule, Instance]:
    """The stored event, its stored schedule as the previous one, and the instance that
    re-plans from ``options.from_slot_id`` on (no-shows as they are marked)."""
    built = build_instance(
        session,
        event=event,
        options=options,
        cache=cache,
        encoder=encoder,
        no_show_everywhere=False,
    )
    previous = Schedule(
        meetings=tuple(
            Meeting.of(m.person_a_id, m.person_b_id, m.slot_id, m.table_id) for m in built.stored
        ),
        status="feasible",
    )
    try:
        instance = rescheduling_instance(
            built.instance, previous, from_slot=options.from_slot_id, no_shows=built.no_shows
        )
    except InvalidInstance as exc:
        raise Conflict(
            N_("The event cannot be rescheduled as it stands: %(reason)s"),
            values={"reason": solver_reason(exc)},
        ) from exc
    return built, previous, instance


def run_reschedule(
    session: Session,
    *,
    event: Event,
    options: RescheduleRequest,
    cache: IndexCache,
    encoder: Encoder | None,
) -> EventSchedule:
    """Re-plan from one slot on after no-shows or late changes, changing as little as possible.

    Earlier and locked meetings stay; so does every later meeting that does not involve a
    no-show, in its slot and at its table (see ``matching.scheduling.reschedule``). The schedule
    row keeps the list of changes (``last_changes``).
    """
    lock_event(session, event=event)
    existing = repo.schedule(session, event.id)
    if existing is None:
        raise Conflict(N_("The event has no schedule yet; solve it first."))
    if options.from_slot_id not in {s.id for s in repo.slots(session, event.id)}:
        raise _invalid("from_slot_id", N_("no slot %(id)s in this event"), id=options.from_slot_id)
    for i, person_id in enumerate(options.no_show_person_ids):
        person = repo.get_person(session, event.id, person_id)
        if person is None:
            raise _invalid(
                f"no_show_person_ids[{i}]", N_("no person %(id)s in this event"), id=person_id
            )
        person.no_show = True
    session.flush()
    built, previous, instance = rescheduling_problem(
        session, event=event, options=options, cache=cache, encoder=encoder
    )
    try:
        schedule = reschedule(
            built.instance, previous, from_slot=options.from_slot_id, no_shows=built.no_shows
        )
    except InvalidInstance as exc:
        raise Conflict(
            N_("The event cannot be rescheduled as it stands: %(reason)s"),
            values={"reason": solver_reason(exc)},
        ) from exc
    row = _check_and_store(
        session,
        event=event,
        instance=instance,
        schedule=schedule,
        stored=built.stored,
        status=existing.status,
    )
    record_changes(
        session,
        event=event,
        row=row,
        built=built,
        previous=previous,
        schedule=schedule,
        from_slot_id=options.from_slot_id,
    )
    return row


def record_changes(
    session: Session,
    *,
    event: Event,
    row: EventSchedule,
    built: EventInstance,
    previous: Schedule,
    schedule: Schedule,
    from_slot_id: int,
) -> None:
    """Keep what a re-schedule changed against ``previous`` on the schedule row
    (``last_changes``), stamped with the time calendars were given for the changes."""
    diff = changes(previous.meetings, schedule.meetings)
    # the time calendars were given for the changes (_store's), else the time of the solve
    stamps = [m.changed_at for m in repo.meetings(session, event.id) if m.changed_at is not None]
    stamps += [c.cancelled_at for c in repo.cancelled_meetings(session, event.id)]
    row.last_changes = changes_json(
        diff,
        from_slot_id=from_slot_id,
        future=built.instance.slots[list(built.instance.slots).index(from_slot_id) :],
        no_shows=built.no_shows,
        affected=agenda_holders(session, event=event, person_ids=diff.affected),
        at=max(stamps) if diff.changed and row.status == "published" and stamps else row.solved_at,
    )
    session.flush()


def get_schedule(session: Session, *, event: Event) -> EventSchedule:
    row = repo.schedule(session, event.id)
    if row is None:
        raise NotFound(N_("Event %(event_id)s has no schedule yet."), values={"event_id": event.id})
    return row


def publish_schedule(session: Session, *, event: Event) -> EventSchedule:
    lock_event(session, event=event)
    row = get_schedule(session, event=event)
    if row.status != "published":
        row.status = "published"
        row.published_at = utcnow()
        session.flush()
    return row


def delete_schedule(session: Session, *, event: Event) -> None:
    lock_event(session, event=event)
    row = get_schedule(session, event=event)
    for m in repo.meetings(session, event.id):
        session.delete(m)
    session.delete(row)
    session.flush()


def set_meeting_lock(session: Session, *, event: Event, meeting_id: int, locked: bool) -> None:
    meeting = repo.get_meeting(session, event.id, meeting_id)
    if meeting is None:
        raise NotFound(
            N_("No meeting %(id)s in event %(event_id)s."),
            values={"id": meeting_id, "event_id": event.id},
        )
    meeting.locked = locked
    session.flush()


def meeting_out(
    meeting: ScheduledMeeting, slots: dict[int, TimeSlot], tables: dict[int, EventTable]
) -> MeetingOut:
    slot = slots[meeting.slot_id]
    return MeetingOut(
        id=meeting.id,
        slot_id=meeting.slot_id,
        table_id=meeting.table_id,
        table=tables[meeting.table_id].name,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        person_a_id=meeting.person_a_id,
        person_b_id=meeting.person_b_id,
        kind=meeting.kind,
        value=meeting.value,
        locked=meeting.locked,
        whole_organizations=meeting.whole_organizations,
    )


def schedule_out(session: Session, *, event: Event, row: EventSchedule) -> ScheduleOut:
    slots = {s.id: s for s in repo.slots(session, event.id)}
    tables = {t.id: t for t in repo.tables(session, event.id)}
    return ScheduleOut(
        event_id=event.id,
        status=row.status,
        solved_at=row.solved_at,
        published_at=row.published_at,
        meetings=[meeting_out(m, slots, tables) for m in repo.meetings(session, event.id)],
        report=ReportOut.model_validate(row.report),
        changes=ScheduleChangesOut.model_validate(row.last_changes) if row.last_changes else None,
    )


# ---------------------------------------------------------------- agendas and exports


def event_info(event: Event) -> EventInfo:
    return EventInfo(id=event.id, name=event.name, venue=event.venue, timezone=event.timezone)


def person_info(person: EventPerson) -> PersonInfo:
    return PersonInfo(
        id=person.id,
        name=person.name,
        role=person.role,
        organization_id=person.participant.organization_id,
        organization=attendee_name(person.participant.organization),
    )


def agenda_language(
    person: EventPerson | None, *, lang: str | None, accept_language: str | None
) -> Lang:
    """An export's language: ``lang``, else Accept-Language, else the language of the person's
    organisation (its profile text), else English."""
    profile = person.participant.organization.description if person is not None else None
    return language_of(lang, accept_language, profile)


@dataclass(frozen=True)
class Agendas:
    event: EventInfo
    row: EventSchedule
    agendas: list[Agenda]
    plan: list[PlanRow]
    lang: Lang = "en"


def load_agendas(
    session: Session,
    *,
    event: Event,
    person_id: int | None = None,
    published_only: bool,
    user: User | None = None,
    lang: str | None = None,
    accept_language: str | None = None,
) -> Agendas:
    """Every person's agenda (or one person's) and the table plan of the stored schedule.

    Participants see a schedule once it is published; the organiser also sees drafts. Each
    agenda is in its person's language (``agenda_language``; for every person's agenda at once,
    Accept-Language is the reader's and does not count). A partner's e-mail is shown once both
    sides accepted a meeting request between the two people, and only to a ``user`` whom
    ``contact_access`` lets read it (no ``user``: never). The table plan carries no e-mail.
    """
    if person_id is not None:
        get_person(session, event=event, person_id=person_id)
    row = repo.schedule(session, event.id)
    if row is None:
        raise NotFound(N_("Event %(event_id)s has no schedule yet."), values={"event_id": event.id})
    if published_only and row.status != "published":
        raise Conflict(
            N_("The schedule of event %(event_id)s is not published yet."),
            values={"event_id": event.id},
        )
    rows = {p.id: p for p in repo.people(session, event.id)}
    people = {p: person_info(person) for p, person in rows.items()}
    access = contact_access(session, event=event, user=user) if user is not None else NO_CONTACTS
    accepted = {pair_key(a, b) for a, b in repo.accepted_request_pairs(session, event.id)}

    organization_of = {p: info.organization_id for p, info in people.items()}
    accepted_organizations = {pair_key(organization_of[a], organization_of[b]) for a, b in accepted}

    def partner(me: int, other: int, *, whole: bool = False) -> PersonInfo:
        """`other` as `me` sees it: with the e-mail once a request between the two people (for
        a meeting of whole organisations: between their organisations) was accepted."""
        info = people[other]
        agreed = pair_key(me, other) in accepted or (
            whole
            and pair_key(organization_of[me], organization_of[other]) in accepted_organizations
        )
        if agreed and access.shows(other) and rows[other].email:
            return replace(info, email=rows[other].email)
        return info

    slots = {s.id: s for s in repo.slots(session, event.id)}
    tables = {t.id: t for t in repo.tables(session, event.id)}
    entries: dict[int, list[AgendaEntry]] = {p: [] for p in people}
    plan: list[PlanRow] = []
    colleagues: dict[int, list[int]] = {}
    for info in people.values():
        colleagues.setdefault(info.organization_id, []).append(info.id)
    for m in repo.meetings(session, event.id):
        slot = slots[m.slot_id]
        table = tables[m.table_id].name
        a, b = people[m.person_a_id], people[m.person_b_id]
        plan.append(
            PlanRow(slot.position, slot.starts_at, slot.ends_at, table, a, b, m.kind, m.locked)
        )
        for me, other in ((a, b), (b, a)):
            # a meeting of whole organisations is on the agenda of each of their people
            attendees = colleagues[me.organization_id] if m.whole_organizations else [me.id]
            for attendee in attendees:
                entries[attendee].append(
                    AgendaEntry(
                        meeting_id=m.id,
                        starts_at=slot.starts_at,
                        ends_at=slot.ends_at,
                        table=table,
                        partner=partner(attendee, other.id, whole=m.whole_organizations),
                        kind=m.kind,
                        person_a_id=m.person_a_id,
                        person_b_id=m.person_b_id,
                        sequence=m.sequence,
                        stamp=m.changed_at,
                    )
                )
    cancelled: dict[int, list[CancelledEntry]] = {p: [] for p in people}
    if row.status == "published":
        # a cancelled meeting of whole organisations is cancelled for each of their people
        whole = not event.person_level_meetings
        for c in repo.cancelled_meetings(session, event.id, person_id=None if whole else person_id):
            for mine, theirs in ((c.person_a_id, c.person_b_id), (c.person_b_id, c.person_a_id)):
                for attendee in colleagues[people[mine].organization_id] if whole else [mine]:
                    cancelled[attendee].append(
                        CancelledEntry(
                            starts_at=c.starts_at,
                            ends_at=c.ends_at,
                            table=c.table,
                            partner=partner(attendee, theirs, whole=whole),
                            person_a_id=c.person_a_id,
                            person_b_id=c.person_b_id,
                            sequence=c.sequence,
                            cancelled_at=c.cancelled_at,
                        )
                    )
    chosen = [person_id] if person_id is not None else list(people)
    reader_language = None if person_id is None else accept_language
    agendas = [
        Agenda(
            person=people[p],
            entries=entries[p],
            cancelled=cancelled[p],
            lang=agenda_language(rows[p], lang=lang, accept_language=reader_language),
        )
        for p in chosen
    ]
    return Agendas(
        event=event_info(event),
        row=row,
        agendas=agendas,
        plan=plan,
        lang=language_of(lang, accept_language, None),
    )


def agenda_out(loaded: Agendas) -> AgendaOut:
    agenda = loaded.agendas[0]
    zone = loaded.event.zone

    def partner_out(p: PersonInfo) -> AgendaPartner:
        return AgendaPartner(
            person_id=p.id,
            name=p.name,
            role=p.role,
            organization_id=p.organization_id,
            organization=p.organization,
            email=p.email,
        )

    return AgendaOut(
        event_id=loaded.event.id,
        event=loaded.event.name,
        venue=loaded.event.venue,
        timezone=loaded.event.timezone,
        person_id=agenda.person.id,
        person=agenda.person.name,
        organization=agenda.person.organization,
        lang=agenda.lang,
        meetings=[
            AgendaItem(
                meeting_id=e.meeting_id,
                starts_at=e.starts_at.astimezone(zone),
                ends_at=e.ends_at.astimezone(zone),
                table=e.table,
                partner=partner_out(e.partner),
                kind=e.kind,
                kind_text=kind_text(e.kind, agenda.lang),
                sequence=e.sequence,
            )
            for e in agenda.entries
        ],
        cancelled=[
            CancelledItem(
                partner=partner_out(c.partner),
                starts_at=c.starts_at.astimezone(zone),
                ends_at=c.ends_at.astimezone(zone),
                table=c.table,
                sequence=c.sequence,
                cancelled_at=c.cancelled_at,
            )
            for c in agenda.cancelled
        ],
    )
