"""HTTP endpoints for matchmaking events: setup, registration, requests, schedules, agendas.

Access. Every route needs a token (401 without one). An id that does not exist is 404, except
that on the event managers' routes the role is checked first (403 to others for any id), and
on the registration routes curators get 403 for any id.

- Readers (any role): events, slots, tables and the schedule once it is published.
- Attendees: participants with their people and one person are read by event managers and
  members of an organisation registered for the event (403 for everyone else, curators
  included). An organisation that opted out of being shown to its competitors is left out of
  the lists a competitor's members read (404 for its participant and people). Meeting requests: event managers see all of them, everyone
  else those sent or received by people of the own organisation (curators: none).
- Personal data: an attendee's e-mail is shown to event managers, the attendee's own
  organisation and organisations with an accepted meeting request or a published meeting with
  the attendee; to everyone else it is null, with `hidden_fields: ["email"]`. Organisation
  names are always listed: registering for an event is consent to be listed to its attendees.
  Agendas name a partner's e-mail only once a request between the two was accepted.
- Event managers (admin, organizer) run the event, everyone else gets 403: create, change and
  delete events; slots and tables; solve, reschedule, publish and delete the schedule, lock
  meetings; read the draft schedule, the table plan and the event's printable agenda. They
  register and withdraw any participant, add, change and remove any people, set availability
  and no-show marks.
- A member registers the own organisation (403 for another one) while registration is open and
  no schedule is published (409 otherwise); until publication it adds (registration open),
  changes and removes the own organisation's people, sets their availability and withdraws the
  registration. No-show marks stay with the event managers (403).
- A member acts for the own organisation's participant: sends requests as one of its people,
  accepts or declines requests to them, withdraws requests from them, reads and sets its
  preferences and its people's, reads its recommendations and its people's agendas. Event managers may do all
  of this for any participant; members of other organisations and curators get 403 (curators
  belong to no organisation, so events are read-only to them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status

from app.auth import service as auth_service
from app.auth.deps import get_current_user
from app.deps import CurrentUser, EncoderDep, IndexDep, SessionDep, require_roles
from app.errors import Forbidden, NotFound, problem_responses
from app.events import exports, service
from app.events.schemas import (
    AgendaOut,
    AvailabilitySet,
    EventCreate,
    EventOut,
    EventPage,
    EventPatch,
    InvitationAccept,
    InvitationOut,
    MeetingOut,
    MeetingPatch,
    ParticipantCreate,
    ParticipantOut,
    PersonIn,
    PersonOut,
    PersonPatch,
    PersonPreferenceOut,
    PreferenceOut,
    PreferenceSet,
    RecommendationPage,
    RequestCreate,
    RequestOut,
    RequestStatus,
    RescheduleRequest,
    ScheduleOut,
    ScheduleRequest,
    SlotGeneration,
    SlotOut,
    TableOut,
    TablesSet,
)
from app.i18n import N_, Message
from app.models.event import Event, EventInvitation, EventPerson, MeetingRequest, Participant
from app.models.user import Role, User

router = APIRouter(
    prefix="/api/v1/events",
    tags=["events"],
    dependencies=[Depends(get_current_user)],
    responses=problem_responses({401: "No token, or an invalid one"}),
)

PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]
INVALID = "Invalid input, with field-level errors"
NO_EVENT = "No such event"
# route-level: runs before the path ids are looked up, so others get 403 for any id
MANAGER_ONLY = [Depends(require_roles(Role.admin, Role.organizer))]
# registration routes: members act for their own organisation; curators get 403 for any id
REGISTRANTS = [Depends(require_roles(Role.admin, Role.organizer, Role.member))]
NOT_MANAGER = "Only event managers (admin, organizer)"
NOT_OWN = "Neither an event manager nor a member of the participant's organisation"
is_event_manager = service.is_event_manager


def acts_for(user: User, organization_id: int | None) -> bool:
    """Event managers act for every participant, a member for the own organisation's."""
    if is_event_manager(user):
        return True
    return organization_id is not None and auth_service.is_own_organization(user, organization_id)


def valid_event_id(session: SessionDep, event_id: PathId) -> Event:
    """Load an event, or 404."""
    return service.get_event(session, event_id=event_id)


EventDep = Annotated[Event, Depends(valid_event_id)]


def valid_participant_id(
    session: SessionDep, event: EventDep, participant_id: PathId
) -> Participant:
    """Load a participant of the event, or 404."""
    return service.get_participant(session, event=event, participant_id=participant_id)


ParticipantDep = Annotated[Participant, Depends(valid_participant_id)]


def valid_person_id(session: SessionDep, event: EventDep, person_id: PathId) -> EventPerson:
    """Load a person of the event, or 404."""
    return service.get_person(session, event=event, person_id=person_id)


PersonDep = Annotated[EventPerson, Depends(valid_person_id)]


def own_participant(user: CurrentUser, participant: ParticipantDep) -> Participant:
    """The participant, for event managers and members of its organisation (else 403)."""
    if not acts_for(user, participant.organization_id):
        raise Forbidden(N_("Only event managers and the participant's own members may do this."))
    return participant


OwnParticipantDep = Annotated[Participant, Depends(own_participant)]


def own_person(user: CurrentUser, person: PersonDep) -> EventPerson:
    """The person, for event managers and members of the person's organisation (else 403)."""
    if not acts_for(user, person.participant.organization_id):
        raise Forbidden(N_("Only event managers and the person's own organisation may do this."))
    return person


OwnPersonDep = Annotated[EventPerson, Depends(own_person)]


def _request_for(*sides: str, who: str) -> Callable[..., MeetingRequest]:
    """A dependency: load a request (404), then let managers and the given sides through."""

    def dependency(
        user: CurrentUser, session: SessionDep, event: EventDep, request_id: PathId
    ) -> MeetingRequest:
        request = service.get_request(session, event=event, request_id=request_id)
        if not is_event_manager(user):
            orgs = service.organizations_of_people(session, event=event)
            if not any(acts_for(user, orgs.get(getattr(request, side))) for side in sides):
                raise Forbidden(
                    N_("Only event managers and %(who)s may do this."),
                    values={"who": Message(who)},
                )
        return request

    return dependency


VisibleRequestDep = Annotated[
    MeetingRequest,
    Depends(_request_for("from_person_id", "to_person_id", who=N_("the two organisations"))),
]
ReceivedRequestDep = Annotated[
    MeetingRequest, Depends(_request_for("to_person_id", who=N_("the receiving organisation")))
]
SentRequestDep = Annotated[
    MeetingRequest, Depends(_request_for("from_person_id", who=N_("the sending organisation")))
]


def attendee_reader(user: CurrentUser, session: SessionDep, event: EventDep) -> User:
    """Event managers and members of a registered organisation (else 403)."""
    if not service.reads_attendees(session, event=event, user=user):
        raise Forbidden(
            N_("Only event managers and members of a registered organisation read the attendees.")
        )
    return user


AttendeeReader = Annotated[User, Depends(attendee_reader)]
NOT_ATTENDEE = "Neither an event manager nor a member of a registered organisation"


def _not_shown(
    session: SessionDep,
    user: User,
    cache: IndexDep,
    encoder: EncoderDep,
    organization_id: int,
    missing: NotFound,
) -> None:
    """404, as for an id that does not exist, where the competitor opt-out hides it."""
    if organization_id in service.hidden_participants(
        session, user=user, cache=cache, encoder=encoder
    ):
        raise missing


# ---------------------------------------------------------------- events


@router.get("", response_model=EventPage, responses=problem_responses({422: INVALID}))
def list_events(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> EventPage:
    """List events."""
    items, total = service.list_events(session, limit=limit, offset=offset)
    return EventPage(
        items=[service.event_out(e) for e in items], total=total, limit=limit, offset=offset
    )


@router.post(
    "",
    response_model=EventOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=MANAGER_ONLY,
    responses=problem_responses({403: NOT_MANAGER, 422: INVALID}),
)
def create_event(body: EventCreate, session: SessionDep, response: Response) -> EventOut:
    """Create an event with its dates and settings."""
    event = service.create_event(session, data=body)
    response.headers["Location"] = f"/api/v1/events/{event.id}"
    return service.event_out(event)


@router.get("/{event_id}", response_model=EventOut, responses=problem_responses({404: NO_EVENT}))
def read_event(event: EventDep) -> EventOut:
    """Read one event."""
    return service.event_out(event)


@router.patch(
    "/{event_id}",
    response_model=EventOut,
    dependencies=MANAGER_ONLY,
    responses=problem_responses(
        {403: NOT_MANAGER, 404: NO_EVENT, 409: "Change conflicts with slots", 422: INVALID}
    ),
)
def update_event(event: EventDep, body: EventPatch, session: SessionDep) -> EventOut:
    """Change an event's name, venue, time zone, dates or settings (e.g. close registration)."""
    return service.event_out(service.update_event(session, event=event, data=body))


@router.delete(
    "/{event_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=MANAGER_ONLY,
    responses=problem_responses({403: NOT_MANAGER, 404: NO_EVENT}),
)
def delete_event(event: EventDep, session: SessionDep) -> Response:
    """Delete an event with everything in it."""
    service.delete_event(session, event=event)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- slots and tables


@router.get(
    "/{event_id}/slots", response_model=list[SlotOut], responses=problem_responses({404: NO_EVENT})
)
def list_slots(event: EventDep, session: SessionDep) -> list[SlotOut]:
    """The event's meeting slots in time order."""
    zone = service.zone_of(event)
    return [service.slot_out(s, zone) for s in service.list_slots(session, event=event)]


@router.post(
    "/{event_id}/slots",
    response_model=list[SlotOut],
    dependencies=MANAGER_ONLY,
    responses=problem_responses(
        {403: NOT_MANAGER, 404: NO_EVENT, 409: "A schedule exists", 422: INVALID}
    ),
)
def generate_slots(event: EventDep, body: SlotGeneration, session: SessionDep) -> list[SlotOut]:
    """Generate one date's slots from start, end, slot length and breaks; returns all slots."""
    zone = service.zone_of(event)
    return [
        service.slot_out(s, zone) for s in service.generate_slots(session, event=event, data=body)
    ]


@router.get(
    "/{event_id}/tables",
    response_model=list[TableOut],
    responses=problem_responses({404: NO_EVENT}),
)
def list_tables(event: EventDep, session: SessionDep) -> list[TableOut]:
    """The event's meeting tables."""
    return [
        TableOut(id=t.id, name=t.name, position=t.position)
        for t in service.list_tables(session, event=event)
    ]


@router.put(
    "/{event_id}/tables",
    response_model=list[TableOut],
    dependencies=MANAGER_ONLY,
    responses=problem_responses(
        {403: NOT_MANAGER, 404: NO_EVENT, 409: "A schedule exists", 422: INVALID}
    ),
)
def set_tables(event: EventDep, body: TablesSet, session: SessionDep) -> list[TableOut]:
    """Replace the event's tables by a count (named 1..n) or by names."""
    return [
        TableOut(id=t.id, name=t.name, position=t.position)
        for t in service.set_tables(session, event=event, data=body)
    ]


# ---------------------------------------------------------------- participants and people

CLOSED = "Registration closed, already registered, or (members) the schedule is published"
PUBLISHED = "In the schedule, or (members) the schedule is published"


def _self_service(user: User) -> bool:
    """Whether the caller changes a registration as a member (the members' rules apply)."""
    return not is_event_manager(user)


@router.get(
    "/{event_id}/participants",
    response_model=list[ParticipantOut],
    responses=problem_responses({403: NOT_ATTENDEE, 404: NO_EVENT}),
)
def list_participants(
    event: EventDep,
    session: SessionDep,
    user: AttendeeReader,
    cache: IndexDep,
    encoder: EncoderDep,
) -> list[ParticipantOut]:
    """Registered organisations with their people (e-mails only where the caller may see them)."""
    access = service.contact_access(session, event=event, user=user)
    hidden = service.hidden_participants(session, user=user, cache=cache, encoder=encoder)
    return [
        service.participant_out(session, p, access)
        for p in service.list_participants(session, event=event)
        if p.organization_id not in hidden
    ]


@router.post(
    "/{event_id}/participants",
    response_model=ParticipantOut | InvitationOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=REGISTRANTS,
    responses={
        202: {"model": InvitationOut, "description": "Invited: the organisation must consent"},
        **problem_responses(
            {
                403: "Neither an event manager nor a member of the organisation",
                404: NO_EVENT,
                409: CLOSED,
                422: INVALID,
            }
        ),
    },
)
def register_participant(
    event: EventDep,
    body: ParticipantCreate,
    session: SessionDep,
    user: CurrentUser,
    response: Response,
) -> ParticipantOut | InvitationOut:
    """Register an organisation with the people who will attend (members: their own).

    An organiser who registers a profile that is not public invites it instead (202): its
    members accept the invitation, which is their consent to be listed to the attendees.
    """
    if not acts_for(user, body.organization_id):
        raise Forbidden(N_("Members register their own organisation only."))
    if service.needs_consent(session, organization_id=body.organization_id, registrar=user):
        invitation = service.invite(
            session, event=event, organization_id=body.organization_id, registrar=user
        )
        response.status_code = status.HTTP_202_ACCEPTED
        return InvitationOut.model_validate(invitation)
    participant = service.register_participant(
        session, event=event, data=body, self_service=_self_service(user), registrar=user
    )
    access = service.contact_access(session, event=event, user=user)
    return service.participant_out(session, participant, access)


def valid_invitation_id(
    session: SessionDep, event: EventDep, invitation_id: PathId
) -> EventInvitation:
    """Load an invitation of the event, or 404."""
    return service.get_invitation(session, event=event, invitation_id=invitation_id)


InvitationDep = Annotated[EventInvitation, Depends(valid_invitation_id)]


def invited_organisation(user: CurrentUser, invitation: InvitationDep) -> EventInvitation:
    """The invitation, for members of the invited organisation only (their consent; 403)."""
    if not auth_service.is_own_organization(user, invitation.organization_id):
        raise Forbidden(N_("Only members of the invited organisation accept its invitation."))
    return invitation


@router.get(
    "/{event_id}/invitations",
    response_model=list[InvitationOut],
    dependencies=REGISTRANTS,
    responses=problem_responses({403: "Curators", 404: NO_EVENT}),
)
def list_invitations(
    event: EventDep, session: SessionDep, user: CurrentUser
) -> list[InvitationOut]:
    """Invitations not yet answered, expired ones marked: event managers all, members their
    own organisation's."""
    return [
        InvitationOut.model_validate(i)
        for i in service.list_invitations(session, event=event, user=user)
    ]


@router.post(
    "/{event_id}/invitations/{invitation_id}/accept",
    response_model=ParticipantOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=REGISTRANTS,
    responses=problem_responses(
        {
            403: "Not a member of the invited organisation",
            404: "No such event or invitation",
            409: CLOSED,
            422: INVALID,
        }
    ),
)
def accept_invitation(
    event: EventDep,
    invitation: Annotated[EventInvitation, Depends(invited_organisation)],
    body: InvitationAccept,
    session: SessionDep,
    user: CurrentUser,
) -> ParticipantOut:
    """Accept an invitation: the organisation is registered with these people."""
    participant = service.accept_invitation(
        session, event=event, invitation=invitation, people=body.people
    )
    access = service.contact_access(session, event=event, user=user)
    return service.participant_out(session, participant, access)


@router.delete(
    "/{event_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=REGISTRANTS,
    responses=problem_responses({403: NOT_OWN, 404: "No such event or invitation"}),
)
def delete_invitation(
    invitation: InvitationDep, session: SessionDep, user: CurrentUser
) -> Response:
    """Decline an invitation (the invited organisation) or withdraw it (event managers)."""
    if not acts_for(user, invitation.organization_id):
        raise Forbidden(N_("Only event managers and the invited organisation may do this."))
    service.delete_invitation(session, invitation=invitation)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{event_id}/participants/{participant_id}",
    response_model=ParticipantOut,
    responses=problem_responses({403: NOT_ATTENDEE, 404: "No such event or participant"}),
)
def read_participant(
    event: EventDep,
    participant: ParticipantDep,
    session: SessionDep,
    user: AttendeeReader,
    cache: IndexDep,
    encoder: EncoderDep,
) -> ParticipantOut:
    """One participant with its people."""
    missing = NotFound(
        N_("No participant %(id)s in event %(event_id)s."),
        values={"id": participant.id, "event_id": event.id},
    )
    _not_shown(session, user, cache, encoder, participant.organization_id, missing)
    access = service.contact_access(session, event=event, user=user)
    return service.participant_out(session, participant, access)


@router.delete(
    "/{event_id}/participants/{participant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=REGISTRANTS,
    responses=problem_responses(
        {403: NOT_OWN, 404: "No such event or participant", 409: PUBLISHED}
    ),
)
def delete_participant(
    event: EventDep, participant: OwnParticipantDep, session: SessionDep, user: CurrentUser
) -> Response:
    """Withdraw a participant's registration (members: their own, before publication)."""
    service.delete_participant(
        session, event=event, participant=participant, self_service=_self_service(user)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{event_id}/participants/{participant_id}/people",
    response_model=PersonOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=REGISTRANTS,
    responses=problem_responses(
        {
            403: NOT_OWN,
            404: "No such event or participant",
            409: "Registration closed, email taken, or (members) the schedule is published",
            422: INVALID,
        }
    ),
)
def add_person(
    event: EventDep,
    participant: OwnParticipantDep,
    body: PersonIn,
    session: SessionDep,
    user: CurrentUser,
) -> PersonOut:
    """Add a person to a participant."""
    person = service.add_person(
        session, event=event, participant=participant, data=body, self_service=_self_service(user)
    )
    return service.person_out(person, (), service.ALL_CONTACTS)


@router.get(
    "/{event_id}/people/{person_id}",
    response_model=PersonOut,
    responses=problem_responses({403: NOT_ATTENDEE, 404: "No such event or person"}),
)
def read_person(
    event: EventDep,
    person: PersonDep,
    session: SessionDep,
    user: AttendeeReader,
    cache: IndexDep,
    encoder: EncoderDep,
) -> PersonOut:
    """One person with their unavailable slots."""
    missing = NotFound(
        N_("No person %(id)s in event %(event_id)s."),
        values={"id": person.id, "event_id": event.id},
    )
    _not_shown(session, user, cache, encoder, person.participant.organization_id, missing)
    access = service.contact_access(session, event=event, user=user)
    return service.person_out(person, service.unavailable_of(session, person=person), access)


@router.patch(
    "/{event_id}/people/{person_id}",
    response_model=PersonOut,
    dependencies=REGISTRANTS,
    responses=problem_responses(
        {
            403: NOT_OWN + ", or a member marks a no-show",
            404: "No such event or person",
            409: "Email taken, or (members) the schedule is published",
            422: INVALID,
        }
    ),
)
def update_person(
    person: OwnPersonDep, body: PersonPatch, session: SessionDep, user: CurrentUser
) -> PersonOut:
    """Change a person's name, email, role or (event managers) no-show mark."""
    person = service.update_person(
        session, person=person, data=body, self_service=_self_service(user)
    )
    away = service.unavailable_of(session, person=person)
    return service.person_out(person, away, service.ALL_CONTACTS)


@router.delete(
    "/{event_id}/people/{person_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=REGISTRANTS,
    responses=problem_responses({403: NOT_OWN, 404: "No such event or person", 409: PUBLISHED}),
)
def delete_person(
    event: EventDep, person: OwnPersonDep, session: SessionDep, user: CurrentUser
) -> Response:
    """Remove a person from the event."""
    service.delete_person(session, event=event, person=person, self_service=_self_service(user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{event_id}/people/{person_id}/unavailable",
    response_model=PersonOut,
    dependencies=REGISTRANTS,
    responses=problem_responses(
        {
            403: NOT_OWN,
            404: "No such event or person",
            409: "(members) The schedule is published",
            422: INVALID,
        }
    ),
)
def set_unavailable(
    event: EventDep,
    person: OwnPersonDep,
    body: AvailabilitySet,
    session: SessionDep,
    user: CurrentUser,
) -> PersonOut:
    """Replace the slots in which a person cannot meet."""
    away = service.set_unavailable(
        session, event=event, person=person, data=body, self_service=_self_service(user)
    )
    return service.person_out(person, away, service.ALL_CONTACTS)


# ---------------------------------------------------------------- requests


def _request_out(request: MeetingRequest, event: Event) -> RequestOut:
    return service.request_out(event, request)


@router.get(
    "/{event_id}/requests",
    response_model=list[RequestOut],
    responses=problem_responses({404: NO_EVENT, 422: INVALID}),
)
def list_requests(
    event: EventDep,
    session: SessionDep,
    user: CurrentUser,
    person_id: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Sent or received")
    ] = None,
    status_filter: Annotated[RequestStatus | None, Query(alias="status")] = None,
) -> list[RequestOut]:
    """Meeting requests of the event (members: their organisation's), optionally filtered."""
    items = service.list_requests(
        session,
        event=event,
        person_id=person_id,
        status=status_filter.value if status_filter else None,
    )
    if not is_event_manager(user):
        orgs = service.organizations_of_people(session, event=event)
        items = [
            r
            for r in items
            if acts_for(user, orgs.get(r.from_person_id))
            or acts_for(user, orgs.get(r.to_person_id))
        ]
    return [_request_out(r, event) for r in items]


@router.post(
    "/{event_id}/requests",
    response_model=RequestOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        {
            403: "The sender is not one of your organisation's people",
            404: NO_EVENT,
            409: "Registration closed or request exists",
            422: INVALID,
        }
    ),
)
def create_request(
    event: EventDep, body: RequestCreate, session: SessionDep, user: CurrentUser
) -> RequestOut:
    """Ask another participant's person for a meeting (as one of your organisation's people)."""
    sender_org = service.organizations_of_people(session, event=event).get(body.from_person_id)
    # an unknown sender is left to the service (422)
    if sender_org is not None and not acts_for(user, sender_org):
        raise Forbidden(N_("Send requests as one of your own organisation's people."))
    return _request_out(service.create_request(session, event=event, data=body), event)


@router.get(
    "/{event_id}/requests/{request_id}",
    response_model=RequestOut,
    responses=problem_responses({403: NOT_OWN, 404: "No such event or request"}),
)
def read_request(request: VisibleRequestDep, event: EventDep) -> RequestOut:
    """One meeting request (event managers and the two organisations)."""
    return _request_out(request, event)


def _answer(session: SessionDep, request: MeetingRequest, action: str) -> RequestOut:
    answered = service.answer_request(session, request=request, action=action)
    event = service.get_event(session, event_id=answered.event_id)
    return _request_out(answered, event)


ANSWER_ERRORS = problem_responses(
    {403: NOT_OWN, 404: "No such event or request", 409: "Already answered, or expired"}
)


@router.post(
    "/{event_id}/requests/{request_id}/accept", response_model=RequestOut, responses=ANSWER_ERRORS
)
def accept_request(request: ReceivedRequestDep, session: SessionDep) -> RequestOut:
    """Accept a pending request (the receiving side)."""
    return _answer(session, request, "accept")


@router.post(
    "/{event_id}/requests/{request_id}/decline", response_model=RequestOut, responses=ANSWER_ERRORS
)
def decline_request(request: ReceivedRequestDep, session: SessionDep) -> RequestOut:
    """Decline a pending request (the receiving side)."""
    return _answer(session, request, "decline")


@router.post(
    "/{event_id}/requests/{request_id}/withdraw", response_model=RequestOut, responses=ANSWER_ERRORS
)
def withdraw_request(request: SentRequestDep, session: SessionDep) -> RequestOut:
    """Withdraw a pending or accepted request (the sender)."""
    return _answer(session, request, "withdraw")


# ---------------------------------------------------------------- preferences, recommendations


@router.get(
    "/{event_id}/participants/{participant_id}/preferences",
    response_model=list[PreferenceOut],
    responses=problem_responses({403: NOT_OWN, 404: "No such event or participant"}),
)
def list_preferences(participant: OwnParticipantDep, session: SessionDep) -> list[PreferenceOut]:
    """A participant's preferences toward others."""
    return [
        PreferenceOut.model_validate(p, from_attributes=True)
        for p in service.list_preferences(session, participant=participant)
    ]


@router.put(
    "/{event_id}/participants/{participant_id}/preferences/{target_participant_id}",
    response_model=PreferenceOut,
    responses=problem_responses({403: NOT_OWN, 404: "No such event or participant", 422: INVALID}),
)
def set_preference(
    event: EventDep,
    participant: OwnParticipantDep,
    target_participant_id: PathId,
    body: PreferenceSet,
    session: SessionDep,
) -> PreferenceOut:
    """Set must_meet, would_like or not_interested toward another participant."""
    pref = service.set_preference(
        session,
        event=event,
        participant=participant,
        target_id=target_participant_id,
        kind=body.kind.value,
    )
    return PreferenceOut.model_validate(pref, from_attributes=True)


@router.delete(
    "/{event_id}/participants/{participant_id}/preferences/{target_participant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses({403: NOT_OWN, 404: "No such event, participant or preference"}),
)
def delete_preference(
    participant: OwnParticipantDep, target_participant_id: PathId, session: SessionDep
) -> Response:
    """Remove a preference."""
    service.delete_preference(session, participant=participant, target_id=target_participant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{event_id}/people/{person_id}/preferences",
    response_model=list[PersonPreferenceOut],
    responses=problem_responses({403: NOT_OWN, 404: "No such event or person"}),
)
def list_person_preferences(person: OwnPersonDep, session: SessionDep) -> list[PersonPreferenceOut]:
    """A person's own preferences toward people of other organisations."""
    return [
        PersonPreferenceOut.model_validate(p, from_attributes=True)
        for p in service.list_person_preferences(session, person=person)
    ]


@router.put(
    "/{event_id}/people/{person_id}/preferences/{target_person_id}",
    response_model=PersonPreferenceOut,
    responses=problem_responses(
        {403: NOT_OWN, 404: "No such event or person", 409: "Set meanwhile", 422: INVALID}
    ),
)
def set_person_preference(
    event: EventDep,
    person: OwnPersonDep,
    target_person_id: PathId,
    body: PreferenceSet,
    session: SessionDep,
) -> PersonPreferenceOut:
    """Set one person's must_meet, would_like or not_interested toward a person of another
    organisation (next to the organisation's preferences; not-interested wins)."""
    pref = service.set_person_preference(
        session, event=event, person=person, target_id=target_person_id, kind=body.kind.value
    )
    return PersonPreferenceOut.model_validate(pref, from_attributes=True)


@router.delete(
    "/{event_id}/people/{person_id}/preferences/{target_person_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses({403: NOT_OWN, 404: "No such event, person or preference"}),
)
def delete_person_preference(
    person: OwnPersonDep, target_person_id: PathId, session: SessionDep
) -> Response:
    """Remove a person's preference."""
    service.delete_person_preference(session, person=person, target_id=target_person_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{event_id}/participants/{participant_id}/recommendations",
    response_model=RecommendationPage,
    responses=problem_responses(
        {403: NOT_OWN, 404: "No such event or participant", 503: "No embedding model loaded"}
    ),
)
def recommendations(
    event: EventDep,
    participant: OwnParticipantDep,
    session: SessionDep,
    user: CurrentUser,
    encoder: EncoderDep,
    cache: IndexDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> RecommendationPage:
    """The best partners among the event's participants, as the caller may see them."""
    items = service.recommendations(
        session,
        event=event,
        participant=participant,
        user=user,
        limit=limit,
        cache=cache,
        encoder=encoder,
    )
    assert encoder is not None
    return RecommendationPage(items=items, encoder=encoder.name)


# ---------------------------------------------------------------- schedule


@router.post(
    "/{event_id}/schedule",
    response_model=ScheduleOut,
    dependencies=MANAGER_ONLY,
    responses=problem_responses(
        {
            403: NOT_MANAGER,
            404: NO_EVENT,
            409: "No slots or tables, contradictory locks, or the schedule is published",
            422: INVALID,
            500: "The solver's schedule failed validation; nothing stored",
        }
    ),
)
def solve_schedule(
    event: EventDep,
    session: SessionDep,
    encoder: EncoderDep,
    cache: IndexDep,
    body: ScheduleRequest | None = None,
) -> ScheduleOut:
    """Compute a draft schedule (locked meetings kept) and store it with its report."""
    row = service.run_schedule(
        session, event=event, options=body or ScheduleRequest(), cache=cache, encoder=encoder
    )
    return service.schedule_out(session, event=event, row=row)


@router.post(
    "/{event_id}/reschedule",
    response_model=ScheduleOut,
    dependencies=MANAGER_ONLY,
    responses=problem_responses(
        {
            403: NOT_MANAGER,
            404: NO_EVENT,
            409: "No schedule yet, or contradictory locks",
            422: INVALID,
            500: "The solver's schedule failed validation; nothing stored",
        }
    ),
)
def reschedule(
    event: EventDep,
    body: RescheduleRequest,
    session: SessionDep,
    encoder: EncoderDep,
    cache: IndexDep,
) -> ScheduleOut:
    """Re-optimise from a slot on after no-shows or late changes; earlier meetings are kept."""
    row = service.run_reschedule(session, event=event, options=body, cache=cache, encoder=encoder)
    return service.schedule_out(session, event=event, row=row)


@router.get(
    "/{event_id}/schedule",
    response_model=ScheduleOut,
    responses=problem_responses(
        {403: "A draft, shown to event managers only", 404: "No such event or no schedule"}
    ),
)
def read_schedule(event: EventDep, session: SessionDep, user: CurrentUser) -> ScheduleOut:
    """The stored schedule with its report (drafts: event managers only)."""
    row = service.get_schedule(session, event=event)
    if row.status != "published" and not is_event_manager(user):
        raise Forbidden(N_("The schedule is a draft until the organiser publishes it."))
    return service.schedule_out(session, event=event, row=row)


@router.delete(
    "/{event_id}/schedule",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=MANAGER_ONLY,
    responses=problem_responses({403: NOT_MANAGER, 404: "No such event or no schedule"}),
)
def delete_schedule(event: EventDep, session: SessionDep) -> Response:
    """Delete the stored schedule and its meetings."""
    service.delete_schedule(session, event=event)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{event_id}/schedule/publish",
    response_model=ScheduleOut,
    dependencies=MANAGER_ONLY,
    responses=problem_responses({403: NOT_MANAGER, 404: "No such event or no schedule"}),
)
def publish_schedule(event: EventDep, session: SessionDep) -> ScheduleOut:
    """Publish the schedule: participants can then fetch their agendas."""
    row = service.publish_schedule(session, event=event)
    return service.schedule_out(session, event=event, row=row)


@router.patch(
    "/{event_id}/meetings/{meeting_id}",
    response_model=MeetingOut,
    dependencies=MANAGER_ONLY,
    responses=problem_responses({403: NOT_MANAGER, 404: "No such event or meeting", 422: INVALID}),
)
def update_meeting(
    event: EventDep, meeting_id: PathId, body: MeetingPatch, session: SessionDep
) -> MeetingOut:
    """Lock a meeting (kept by every later solve) or unlock it."""
    service.set_meeting_lock(session, event=event, meeting_id=meeting_id, locked=body.locked)
    schedule = service.schedule_out(
        session, event=event, row=service.get_schedule(session, event=event)
    )
    return next(m for m in schedule.meetings if m.id == meeting_id)


# ---------------------------------------------------------------- exports

CSV = "text/csv; charset=utf-8"
HTML = "text/html; charset=utf-8"
EXPORT_ERRORS = problem_responses(
    {404: "No such event, person or schedule", 409: "Schedule not published yet"}
)
MANAGER_EXPORT_ERRORS = {**EXPORT_ERRORS, **problem_responses({403: NOT_MANAGER})}
PERSON_EXPORT_ERRORS = {**EXPORT_ERRORS, **problem_responses({403: NOT_OWN})}


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


LangQuery = Annotated[
    Literal["de", "en"] | None,
    Query(
        description="Language of the texts; default: Accept-Language, else the language of "
        "the person's organisation, else English"
    ),
]
AcceptLanguage = Annotated[str | None, Header(include_in_schema=False)]
DelimiterQuery = Annotated[
    Literal[",", ";"], Query(description="Cell separator: , or ; (spreadsheets set to German)")
]


@router.get(
    "/{event_id}/schedule/table-plan.csv",
    response_class=Response,
    dependencies=MANAGER_ONLY,
    responses={200: {"content": {"text/csv": {}}}, **MANAGER_EXPORT_ERRORS},
)
def table_plan(
    event: EventDep,
    session: SessionDep,
    lang: LangQuery = None,
    delimiter: DelimiterQuery = ",",
    accept_language: AcceptLanguage = None,
) -> Response:
    """The organiser's table plan: one row per meeting (drafts included)."""
    loaded = service.load_agendas(
        session, event=event, published_only=False, lang=lang, accept_language=accept_language
    )
    body = exports.table_plan_csv(loaded.event, loaded.plan, lang=loaded.lang, delimiter=delimiter)
    return Response(body, media_type=CSV, headers=_attachment(f"event-{event.id}-tables.csv"))


@router.get(
    "/{event_id}/agenda.html",
    response_class=Response,
    dependencies=MANAGER_ONLY,
    responses={200: {"content": {"text/html": {}}}, **MANAGER_EXPORT_ERRORS},
)
def event_agenda_html(
    event: EventDep,
    session: SessionDep,
    user: CurrentUser,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Printable agendas of every person, one page each, each in its person's language unless
    `lang` is given (drafts included)."""
    loaded = service.load_agendas(
        session,
        event=event,
        published_only=False,
        user=user,
        lang=lang,
        accept_language=accept_language,
    )
    body = exports.agenda_html(loaded.event, loaded.agendas, lang=loaded.lang)
    return Response(body, media_type=HTML)


def _person_agenda(
    session: SessionDep,
    event: Event,
    person: EventPerson,
    user: User,
    lang: str | None,
    accept_language: str | None,
) -> service.Agendas:
    return service.load_agendas(
        session,
        event=event,
        person_id=person.id,
        published_only=True,
        user=user,
        lang=lang,
        accept_language=accept_language,
    )


@router.get(
    "/{event_id}/people/{person_id}/agenda.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **PERSON_EXPORT_ERRORS},
)
def person_agenda_ics(
    event: EventDep,
    person: OwnPersonDep,
    session: SessionDep,
    user: CurrentUser,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """A person's published agenda as iCalendar: one event per meeting, removed meetings as
    cancelled events."""
    loaded = _person_agenda(session, event, person, user, lang, accept_language)
    stamp = loaded.row.published_at or loaded.row.solved_at
    body = exports.agenda_ics(loaded.event, loaded.agendas[0], stamp=stamp)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers=_attachment(f"event-{event.id}-person-{person.id}.ics"),
    )


@router.get(
    "/{event_id}/people/{person_id}/cancellations.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **PERSON_EXPORT_ERRORS},
)
def person_cancellations_ics(
    event: EventDep,
    person: OwnPersonDep,
    session: SessionDep,
    user: CurrentUser,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """A person's removed meetings as an iCalendar cancellation (METHOD:CANCEL)."""
    loaded = _person_agenda(session, event, person, user, lang, accept_language)
    body = exports.cancellations_ics(loaded.event, loaded.agendas[0])
    return Response(
        body,
        media_type="text/calendar; charset=utf-8; method=CANCEL",
        headers=_attachment(f"event-{event.id}-person-{person.id}-cancelled.ics"),
    )


@router.get(
    "/{event_id}/people/{person_id}/agenda.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **PERSON_EXPORT_ERRORS},
)
def person_agenda_csv(
    event: EventDep,
    person: OwnPersonDep,
    session: SessionDep,
    user: CurrentUser,
    lang: LangQuery = None,
    delimiter: DelimiterQuery = ",",
    accept_language: AcceptLanguage = None,
) -> Response:
    """A person's published agenda as CSV."""
    loaded = _person_agenda(session, event, person, user, lang, accept_language)
    body = exports.agenda_csv(loaded.event, loaded.agendas[0], delimiter=delimiter)
    return Response(
        body, media_type=CSV, headers=_attachment(f"event-{event.id}-person-{person.id}.csv")
    )


@router.get(
    "/{event_id}/people/{person_id}/agenda.json",
    response_model=AgendaOut,
    responses=PERSON_EXPORT_ERRORS,
)
def person_agenda_json(
    event: EventDep,
    person: OwnPersonDep,
    session: SessionDep,
    user: CurrentUser,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> AgendaOut:
    """A person's published agenda as JSON (times in the event's time zone)."""
    loaded = _person_agenda(session, event, person, user, lang, accept_language)
    return service.agenda_out(loaded)


@router.get(
    "/{event_id}/people/{person_id}/agenda.html",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}}, **PERSON_EXPORT_ERRORS},
)
def person_agenda_html(
    event: EventDep,
    person: OwnPersonDep,
    session: SessionDep,
    user: CurrentUser,
    lang: LangQuery = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """A person's published agenda as a printable page."""
    loaded = _person_agenda(session, event, person, user, lang, accept_language)
    body = exports.agenda_html(loaded.event, loaded.agendas, lang=loaded.agendas[0].lang)
    return Response(body, media_type=HTML)
