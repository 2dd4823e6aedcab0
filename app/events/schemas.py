"""Request and response bodies for matchmaking events."""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.i18n import N_, FieldProblem
from app.matches.schemas import MatchedOrganization, ReasonOut
from app.text_types import MAX_INT, check_line, check_text
from matching.scheduling import DEFAULT_TIME_LIMIT

_Line = AfterValidator(check_line)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), _Line]
PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _Line
]
TableName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), _Line
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=320,
        pattern=r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$",
    ),
    _Line,
]
Id = Annotated[int, Field(ge=1, le=MAX_INT)]

# Event dates: a window wide enough for any real event, narrow enough that every slot's UTC
# time exists in every time zone (9999-12-31 in Pacific/Pago_Pago overflows datetime)
FIRST_EVENT_DATE = dt.date(2000, 1, 1)
LAST_EVENT_DATE = dt.date(2100, 12, 31)


def _check_event_date(value: dt.date) -> dt.date:
    if not FIRST_EVENT_DATE <= value <= LAST_EVENT_DATE:
        raise FieldProblem(
            N_("must be a date between %(first)s and %(last)s"),
            first=FIRST_EVENT_DATE.isoformat(),
            last=LAST_EVENT_DATE.isoformat(),
        )
    return value


EventDate = Annotated[dt.date, AfterValidator(_check_event_date)]


def _check_timezone(value: str) -> str:
    # zoneinfo accepts file paths relative to the tz database; only plain IANA keys are wanted
    if not value or value.startswith("/") or ".." in value:
        raise ValueError(N_("not an IANA time zone name (e.g. Europe/Berlin)"))
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(N_("not an IANA time zone name (e.g. Europe/Berlin)")) from exc
    return value


TimeZoneName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=64),
    _Line,
    AfterValidator(_check_timezone),
]


def _unique_dates(value: list[EventDate]) -> list[EventDate]:
    if len(set(value)) != len(value):
        raise ValueError(N_("dates must be distinct"))
    return sorted(value)


EventDates = Annotated[
    list[EventDate], Field(min_length=1, max_length=31), AfterValidator(_unique_dates)
]


class PreferenceKind(enum.StrEnum):
    must_meet = "must_meet"
    would_like = "would_like"
    not_interested = "not_interested"


class RequestStatus(enum.StrEnum):
    requested = "requested"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"
    # never stored: a request still "requested" when the event's expiry time has passed
    expired = "expired"


PERSON_LEVEL = (
    "False (default): one meeting per pair of organisations, which all registered people of both "
    "attend together at one table; true: people meet one to one"
)
FILL = (
    "Whether the engine's recommendations may fill slots that no request or preference asks "
    "for (default false)"
)
PERSON_MAX = "This person's maximum of meetings; null: the event's max_meetings"


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    venue: Name | None = None
    timezone: TimeZoneName = Field(description="IANA time zone of the venue, e.g. Europe/Berlin")
    dates: EventDates
    max_meetings: int = Field(8, ge=0, le=200, description="Meetings per person at most")
    min_meetings: int = Field(3, ge=0, le=200, description="Meetings per person aimed for")
    allow_competitors: bool = Field(True, description="Whether competitors may be proposed")
    registration_open: bool = True
    person_level_meetings: bool = Field(False, description=PERSON_LEVEL)
    fill_with_recommendations: bool = Field(False, description=FILL)
    request_expiry_hours: int | None = Field(
        None,
        ge=1,
        le=8760,
        description="A pending meeting request expires this many hours after it was sent "
        "(null: never); expired requests are listed as expired and are no wish",
    )


class EventPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    venue: Name | None = None
    timezone: TimeZoneName | None = None
    dates: EventDates | None = None
    max_meetings: int | None = Field(None, ge=0, le=200)
    min_meetings: int | None = Field(None, ge=0, le=200)
    allow_competitors: bool | None = None
    registration_open: bool | None = None
    person_level_meetings: bool | None = Field(None, description=PERSON_LEVEL)
    fill_with_recommendations: bool | None = Field(None, description=FILL)
    request_expiry_hours: int | None = Field(
        None,
        ge=1,
        le=8760,
        description="A pending meeting request expires this many hours after it was sent "
        "(null: never); expired requests are listed as expired and are no wish",
    )


class EventOut(BaseModel):
    id: int
    name: str
    venue: str | None
    timezone: str
    dates: list[dt.date]
    max_meetings: int
    min_meetings: int
    allow_competitors: bool
    registration_open: bool
    person_level_meetings: bool = Field(description=PERSON_LEVEL)
    fill_with_recommendations: bool = Field(description=FILL)
    request_expiry_hours: int | None = None
    created_at: dt.datetime
    modified_at: dt.datetime


class EventPage(BaseModel):
    items: list[EventOut]
    total: int
    limit: int
    offset: int


class Break(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError(N_("a break must end after it starts"))
        return self


class SlotGeneration(BaseModel):
    """Slots of one date, in the event's local time; replaces that date's slots."""

    model_config = ConfigDict(extra="forbid")

    date: EventDate
    start: dt.time = Field(description="Local time of the first slot, e.g. 09:00")
    end: dt.time = Field(description="Local time by which the last slot ends")
    slot_minutes: int = Field(ge=5, le=240)
    breaks: list[Break] = Field(default_factory=list, max_length=20)


class SlotOut(BaseModel):
    id: int
    date: dt.date
    starts_at: dt.datetime = Field(description="UTC")
    ends_at: dt.datetime = Field(description="UTC")
    local_start: str = Field(description="ISO 8601 in the event's time zone")
    local_end: str
    position: int


class TablesSet(BaseModel):
    """A number of tables (named 1..n) or their names; replaces the event's tables."""

    model_config = ConfigDict(extra="forbid")

    count: int | None = Field(None, ge=1, le=2000)
    names: list[TableName] | None = Field(None, min_length=1, max_length=2000)


class TableOut(BaseModel):
    id: int
    name: str
    position: int


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonName
    email: Email
    role: PersonName | None = None
    max_meetings: int | None = Field(None, ge=0, le=200, description=PERSON_MAX)


class PersonPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonName | None = None
    email: Email | None = None
    role: PersonName | None = None
    no_show: bool | None = None
    max_meetings: int | None = Field(None, ge=0, le=200, description=PERSON_MAX)


class PersonOut(BaseModel):
    """An attendee. The e-mail is shown to event managers, the person's own organisation and
    organisations with an accepted request or a published meeting with the person; to everyone
    else it is null and `hidden_fields` names it."""

    id: int
    participant_id: int
    name: str
    email: str | None
    role: str | None
    no_show: bool
    max_meetings: int | None = Field(description=PERSON_MAX)
    unavailable_slot_ids: list[int]
    hidden_fields: list[str] = Field(description="Personal fields withheld from the caller")


class ParticipantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: Id
    people: list[PersonIn] = Field(min_length=1, max_length=20)


class InvitationOut(BaseModel):
    """An organiser's invitation to an organisation whose profile is not public; its members
    accept it (registering it) or decline it. It names no organisation."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    organization_id: int
    created_at: dt.datetime
    expires_at: dt.datetime = Field(description="After this it can no longer be accepted")
    expired: bool = Field(description="Whether it has expired: the organiser may invite again")


class InvitationAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    people: list[PersonIn] = Field(min_length=1, max_length=20)


class ParticipantOut(BaseModel):
    """A registered organisation. Its name is always shown: an organisation that registers for
    an event agrees to be listed to the event's attendees, whatever its profile's disclosure
    settings say."""

    id: int
    event_id: int
    organization_id: int
    organization_name: str
    people: list[PersonOut]


class AvailabilitySet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unavailable_slot_ids: list[Id] = Field(max_length=1000)


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_person_id: Id
    to_person_id: Id
    message: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=2000),
            AfterValidator(check_text),
        ]
        | None
    ) = None


class RequestOut(BaseModel):
    id: int
    event_id: int
    from_person_id: int
    to_person_id: int
    message: str | None
    status: RequestStatus
    created_at: dt.datetime
    answered_at: dt.datetime | None
    expires_at: dt.datetime | None = Field(
        None, description="When a pending request expires (null: never, or answered)"
    )


class PreferenceSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: PreferenceKind


class PreferenceOut(BaseModel):
    participant_id: int
    target_participant_id: int
    kind: PreferenceKind


class PersonPreferenceOut(BaseModel):
    person_id: int
    target_person_id: int
    kind: PreferenceKind


class RecommendationOut(BaseModel):
    participant_id: int
    organization: MatchedOrganization
    score: float
    relation: str
    reasons: list[ReasonOut]
    shared_interests: list[str]


class RecommendationPage(BaseModel):
    items: list[RecommendationOut]
    encoder: str


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_limit: float = Field(
        DEFAULT_TIME_LIMIT, gt=0, le=300, description="Solver time limit in seconds"
    )
    recommendations_per_participant: int = Field(
        10,
        ge=0,
        le=100,
        description="Engine-recommended partners added as candidates when the event's "
        "fill_with_recommendations is on (0: none)",
    )


class RescheduleRequest(ScheduleRequest):
    from_slot_id: Id = Field(description="First slot that may still change")
    no_show_person_ids: list[Id] = Field(default_factory=list, max_length=1000)


class MeetingOut(BaseModel):
    id: int
    slot_id: int
    table_id: int
    table: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    person_a_id: int
    person_b_id: int
    kind: str
    value: float | None
    locked: bool
    whole_organizations: bool = Field(
        description="A meeting of the two organisations, attended by all their people; "
        "person_a_id and person_b_id stand for them (each one's first registered person)"
    )


class MeetingPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locked: bool


class ReportOut(BaseModel):
    """The quality of a schedule. Pairs are pairs of organisations (person ids standing for
    them) unless the event has person-level meetings."""

    meetings: int
    requests_satisfied: dict[str, int] = Field(description="Candidate pairs met, by kind")
    requested: dict[str, int] = Field(
        description="Candidate pairs, by kind; a wish that a not-interested mark or a declined "
        "request overrides counts here and stays unmet"
    )
    overridden: list[tuple[int, int]] = Field(
        default_factory=list,
        description="Wished-for pairs (requests, must-meet, would-like) that a not-interested "
        "mark or a declined request forbids",
    )
    wanted_both: int = Field(0, description="Meetings both sides asked for")
    wanted_one: int = Field(0, description="Meetings one side asked for")
    filled_in: int = Field(0, description="Meetings nobody asked for: recommendations")
    below_minimum: list[int] = Field(description="Person ids below the target minimum")
    without_meeting: list[int]
    idle_gaps_total: int
    idle_gaps_mean: float
    total_value: float
    upper_bound: float | None
    gap: float | None
    fair_upper_bound: float | None = Field(
        None,
        description="Bound on the value of any schedule that brings as many people to their "
        "minimum as this one (everybody, when below_minimum is empty)",
    )
    fair_gap: float | None = Field(None, description="1 - total_value / fair_upper_bound")
    solve_seconds: float
    solver_status: str = Field(
        description="optimal (proven for the whole schedule: value, fairness and no idle slot), "
        "feasible, or empty"
    )
    dropped_pairs: int


class ChangedMeeting(BaseModel):
    person_a_id: int
    person_b_id: int
    slot_id: int
    table_id: int


class MovedMeeting(ChangedMeeting):
    from_slot_id: int
    from_table_id: int


class ScheduleChangesOut(BaseModel):
    rescheduled_at: dt.datetime
    from_slot_id: int
    no_show_person_ids: list[int]
    kept: int = Field(
        description="Meetings from the first changeable slot on that stayed as they were"
    )
    moved: list[MovedMeeting]
    removed: list[ChangedMeeting]
    added: list[ChangedMeeting]
    affected_person_ids: list[int] = Field(description="The people whose agenda changed")


class ScheduleOut(BaseModel):
    event_id: int
    status: str = Field(description="draft or published")
    solved_at: dt.datetime
    published_at: dt.datetime | None
    meetings: list[MeetingOut]
    report: ReportOut
    changes: ScheduleChangesOut | None = Field(
        None, description="What the last re-schedule changed (null after a fresh solve)"
    )


class AgendaPartner(BaseModel):
    person_id: int
    name: str
    role: str | None
    organization_id: int
    organization: str
    email: str | None = Field(
        None, description="Once both sides accepted a meeting request between the two people"
    )


class AgendaItem(BaseModel):
    meeting_id: int
    starts_at: dt.datetime = Field(description="In the event's time zone")
    ends_at: dt.datetime
    table: str
    partner: AgendaPartner
    kind: str
    kind_text: str = Field("", description="Why the meeting is planned, in the agenda's language")
    sequence: int = Field(0, description="Grows each time the published meeting changes")


class CancelledItem(BaseModel):
    partner: AgendaPartner
    starts_at: dt.datetime = Field(description="In the event's time zone")
    ends_at: dt.datetime
    table: str
    sequence: int
    cancelled_at: dt.datetime


class AgendaOut(BaseModel):
    event_id: int
    event: str
    venue: str | None
    timezone: str
    person_id: int
    person: str
    organization: str
    lang: str = Field("en", description="Language of the texts: de or en")
    meetings: list[AgendaItem]
    cancelled: list[CancelledItem] = Field(
        default_factory=list, description="Published meetings a re-schedule removed"
    )
