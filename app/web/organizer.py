"""The cluster manager's pages: run a matchmaking event from setup to the figures afterwards.

Every page is for event managers (admin, organizer; others get 403) and calls the event
services directly, as the JSON API does, so the same rules hold. The schedule is computed in
the background (app.events.jobs): a page only starts a run and then polls its progress.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth.roles import is_event_manager, is_staff
from app.db import finish, get_sessionmaker
from app.deps import SessionDep
from app.errors import AppError, Conflict, Forbidden, Invalid
from app.events import exports, jobs, service
from app.events import repository as event_repository
from app.events.schemas import (
    AvailabilitySet,
    EventCreate,
    EventPatch,
    ParticipantCreate,
    PersonIn,
    PersonPatch,
    RescheduleRequest,
    ScheduleRequest,
    SlotGeneration,
    TablesSet,
)
from app.i18n import N_
from app.models.base import utcnow
from app.models.cooperation import CooperationRequest
from app.models.event import Event, EventSchedule
from app.models.user import User
from app.organizations import service as organization_service
from app.organizations.repository import OrganizationQuery
from app.organizations.views import attendee_name
from app.web import charts, forms, i18n, participant_import
from app.web.deps import PageUser, SignedInForm
from app.web.messages import page_field_messages, translate
from app.web.rendering import WebRoute, redirect, render

router = APIRouter(prefix="/events", route_class=WebRoute, include_in_schema=False)

PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TABS = ("setup", "participants", "requests", "schedule", "day", "exports", "figures")
# the time limit a page's solve gets unless the organiser picks another one
DEFAULT_TIME_LIMIT = ScheduleRequest.model_fields["time_limit"].default
SEARCH_LIMIT = 20
# one runner per app, so computations run one at a time
_RUNNER_LOCK = threading.Lock()


def manager_user(user: PageUser) -> User:
    """An event manager (admin or organizer): these pages run events."""
    if not is_event_manager(user):
        raise Forbidden(N_("These pages belong to event managers."))
    return user


ManagerUser = Annotated[User, Depends(manager_user)]


def valid_event(session: SessionDep, user: ManagerUser, event_id: PathId) -> Event:
    """Load an event, or 404 (after the role check: others get 403 for any id)."""
    return service.get_event(session, event_id=event_id)


EventDep = Annotated[Event, Depends(valid_event)]


def runner(request: Request) -> jobs.ScheduleRunner:
    """The process's runner of schedule computations, made on first use."""
    state = request.app.state
    with _RUNNER_LOCK:
        found: jobs.ScheduleRunner | None = getattr(state, "schedule_runner", None)
        if found is None:
            found = jobs.ScheduleRunner(
                reader=get_sessionmaker(),
                writer=get_sessionmaker(writes=True),
                cache=state.match_index,
                encoder=getattr(state, "encoder", None),
            )
            state.schedule_runner = found
    return found


def _page(
    request: Request,
    template: str,
    user: User,
    event: Event | None,
    tab: str | None,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    values = {"event": event, "tab": tab, "tabs": TABS, **(context or {})}
    return render(request, f"organizer/{template}", values, user=user, status_code=status_code)


def _errors(request: Request, exc: AppError | ValidationError) -> dict[str, str]:
    """Field -> message in the page's language."""
    text = i18n.Formatter(i18n.request_locale(request))
    if isinstance(exc, ValidationError):
        return {name: str(message) for name, message in forms.field_errors(exc, text).items()}
    return page_field_messages(exc, text)


# ---------------------------------------------------------------- slots and people, shaped


@dataclass(frozen=True)
class SlotView:
    id: int
    day: dt.date
    start: dt.datetime  # local
    end: dt.datetime
    position: int

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def slot_views(session: Session, event: Event) -> list[SlotView]:
    zone = service.zone_of(event)
    return [
        SlotView(s.id, s.day, s.starts_at.astimezone(zone), s.ends_at.astimezone(zone), s.position)
        for s in service.list_slots(session, event=event)
    ]


@dataclass(frozen=True)
class PersonView:
    id: int
    name: str
    email: str | None
    role: str | None
    organization: str
    participant_id: int
    no_show: bool
    unavailable: frozenset[int]
    max_meetings: int | None = None  # None: the event's maximum


def people_of(session: Session, event: Event, user: User) -> list[PersonView]:
    """Every attendee as the caller may see them (event managers: with e-mail)."""
    access = service.contact_access(session, event=event, user=user)
    out = []
    for participant in service.list_participants(session, event=event):
        shown = service.participant_out(session, participant, access)
        for p in shown.people:
            out.append(
                PersonView(
                    p.id,
                    p.name,
                    p.email,
                    p.role,
                    shown.organization_name,
                    shown.id,
                    p.no_show,
                    frozenset(p.unavailable_slot_ids),
                    p.max_meetings,
                )
            )
    return out


# ---------------------------------------------------------------- event list and setup


def _parse_dates(text: str) -> list[str]:
    return [d for d in re.split(r"[\s,;]+", text.strip()) if d]


@router.get("")
def events_page(request: Request, session: SessionDep, user: ManagerUser) -> Response:
    items, _ = service.list_events(session, limit=200, offset=0)
    return _page(
        request,
        "events.html",
        user,
        None,
        None,
        {"events": items, "errors": {}, "values": {"timezone": "Europe/Berlin"}},
    )


@router.post("", dependencies=[SignedInForm])
def create_event(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    name: Annotated[str, Form(max_length=300)] = "",
    venue: Annotated[str, Form(max_length=300)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
    dates: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    values = {"name": name, "venue": venue, "timezone": timezone, "dates": dates}
    try:
        data = EventCreate.model_validate(
            {
                "name": name,
                "venue": venue.strip() or None,
                "timezone": timezone,
                "dates": _parse_dates(dates),
            }
        )
        event = service.create_event(session, data=data)
    except (ValidationError, Invalid) as exc:
        session.rollback()
        items, _ = service.list_events(session, limit=200, offset=0)
        return _page(
            request,
            "events.html",
            user,
            None,
            None,
            {"events": items, "errors": _errors(request, exc), "values": values},
            status_code=422,
        )
    finish(session)
    return redirect(request, f"/events/{event.id}")


def _setup_context(session: Session, event: Event, **extra: Any) -> dict[str, Any]:
    slots = slot_views(session, event)
    by_day: dict[dt.date, list[SlotView]] = defaultdict(list)
    for s in slots:
        by_day[s.day].append(s)
    return {
        "slots": slots,
        "timelines": [(day, charts.timeline(by_day.get(day, []))) for day in event_days(event)],
        "tables": service.list_tables(session, event=event),
        "has_schedule": event_repository.schedule(session, event.id) is not None,
        "errors": {},
        "saved": None,
        **extra,
    }


def event_days(event: Event) -> list[dt.date]:
    return [d.day for d in event.dates]


@router.get("/{event_id}")
def setup_page(
    request: Request, session: SessionDep, user: ManagerUser, event: EventDep
) -> Response:
    saved = request.query_params.get("saved")
    return _page(
        request, "setup.html", user, event, "setup", _setup_context(session, event, saved=saved)
    )


def _setup_failed(
    request: Request, session: Session, user: User, event_id: int, exc: AppError | ValidationError
) -> Response:
    session.rollback()
    event = service.get_event(session, event_id=event_id)
    status = 409 if isinstance(exc, Conflict) else 422
    return _page(
        request,
        "setup.html",
        user,
        event,
        "setup",
        _setup_context(session, event, errors=_errors(request, exc)),
        status_code=status,
    )


@router.post("/{event_id}/settings", dependencies=[SignedInForm])
def save_settings(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    name: Annotated[str, Form(max_length=300)] = "",
    venue: Annotated[str, Form(max_length=300)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
    dates: Annotated[str, Form(max_length=1000)] = "",
    max_meetings: Annotated[str, Form(max_length=5)] = "",
    min_meetings: Annotated[str, Form(max_length=5)] = "",
    allow_competitors: Annotated[str | None, Form(max_length=5)] = None,
    registration_open: Annotated[str | None, Form(max_length=5)] = None,
    person_level_meetings: Annotated[str | None, Form(max_length=5)] = None,
    fill_with_recommendations: Annotated[str | None, Form(max_length=5)] = None,
    request_expiry_hours: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    event_id = event.id
    try:
        data = EventPatch.model_validate(
            {
                "name": name,
                "venue": venue.strip() or None,
                "timezone": timezone,
                "dates": _parse_dates(dates),
                "max_meetings": max_meetings,
                "min_meetings": min_meetings,
                "allow_competitors": allow_competitors is not None,
                "registration_open": registration_open is not None,
                "person_level_meetings": person_level_meetings is not None,
                "fill_with_recommendations": fill_with_recommendations is not None,
                # empty: pending requests never expire
                "request_expiry_hours": request_expiry_hours.strip() or None,
            }
        )
        service.update_event(session, event=event, data=data)
    except (ValidationError, AppError) as exc:
        return _setup_failed(request, session, user, event_id, exc)
    finish(session)
    return redirect(request, f"/events/{event_id}?saved=settings")


def _breaks(text: str) -> list[dict[str, str]]:
    out = []
    for part in re.split(r"[,;\n]+", text.strip()):
        if part.strip():
            start, _, end = part.strip().partition("-")
            out.append({"start": start.strip(), "end": end.strip()})
    return out


@router.post("/{event_id}/slots", dependencies=[SignedInForm])
def generate_slots(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    date: Annotated[str, Form(max_length=20)] = "",
    start: Annotated[str, Form(max_length=10)] = "",
    end: Annotated[str, Form(max_length=10)] = "",
    slot_minutes: Annotated[str, Form(max_length=5)] = "",
    breaks: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    event_id = event.id
    try:
        data = SlotGeneration.model_validate(
            {
                "date": date,
                "start": start,
                "end": end,
                "slot_minutes": slot_minutes,
                "breaks": _breaks(breaks),
            }
        )
        service.generate_slots(session, event=event, data=data)
    except (ValidationError, AppError) as exc:
        return _setup_failed(request, session, user, event_id, exc)
    finish(session)
    return redirect(request, f"/events/{event_id}?saved=slots#slots-h")


@router.post("/{event_id}/tables", dependencies=[SignedInForm])
def set_tables(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    count: Annotated[str, Form(max_length=5)] = "",
    names: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    event_id = event.id
    listed = [n.strip() for n in names.splitlines() if n.strip()]
    try:
        body: dict[str, Any] = {"names": listed} if listed else {"count": count or None}
        service.set_tables(session, event=event, data=TablesSet.model_validate(body))
    except (ValidationError, AppError) as exc:
        return _setup_failed(request, session, user, event_id, exc)
    finish(session)
    return redirect(request, f"/events/{event_id}?saved=tables#tables-h")


# ---------------------------------------------------------------- participants


def _search(
    session: Session, user: User, q: str, limit: int = SEARCH_LIMIT
) -> list[dict[str, Any]]:
    """Organisations whose name the organiser sees, matching ``q`` (the API's rules)."""
    staff = is_staff(user)
    query = OrganizationQuery(
        q=q,
        visibility=[] if staff else ["public", "members"],
        restrict_text=not staff,
        order_by_name=True,
    )
    items, _ = organization_service.list_organizations(session, query=query, limit=limit, offset=0)
    summaries = organization_service.organization_summaries(session, user=user, organizations=items)
    return [
        {"id": s.id, "name": s.name, "public": o.visibility == "public", "region": s.region}
        for s, o in zip(summaries, items, strict=True)
        if s.name
    ]


def _participants_context(
    session: Session, event: Event, user: User, **extra: Any
) -> dict[str, Any]:
    people = people_of(session, event, user)
    by_participant: dict[int, list[PersonView]] = defaultdict(list)
    for p in people:
        by_participant[p.participant_id].append(p)
    participants = [
        {"id": p.id, "name": attendee_name(p.organization), "organization_id": p.organization_id}
        for p in service.list_participants(session, event=event)
    ]
    invitations = service.list_invitations(session, event=event, user=user)
    return {
        "participants": participants,
        "people": by_participant,
        "slots": slot_views(session, event),
        "invitations": len(invitations),
        "q": "",
        "results": None,
        "registered": {p["organization_id"] for p in participants},
        "errors": {},
        "notice": None,
        "report": None,
        **extra,
    }


@router.get("/{event_id}/participants")
def participants_page(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    text = q.strip()
    results = _search(session, user, text) if len(text) >= 2 else None
    context = _participants_context(
        session, event, user, q=text, results=results, notice=request.query_params.get("done")
    )
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "found":
        return _page(request, "search_results.html", user, event, "participants", context)
    return _page(request, "participants.html", user, event, "participants", context)


def _participants_failed(
    request: Request, session: Session, user: User, event_id: int, exc: AppError | ValidationError
) -> Response:
    session.rollback()
    event = service.get_event(session, event_id=event_id)
    return _page(
        request,
        "participants.html",
        user,
        event,
        "participants",
        _participants_context(session, event, user, errors=_errors(request, exc)),
        status_code=409 if isinstance(exc, Conflict) else 422,
    )


@router.post("/{event_id}/participants", dependencies=[SignedInForm])
def register(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    organization_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    person_name: Annotated[str, Form(max_length=200)] = "",
    person_email: Annotated[str, Form(max_length=320)] = "",
    person_role: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Register a public profile; a profile that is not public is invited (it must consent)."""
    event_id = event.id
    try:
        if service.needs_consent(session, organization_id=organization_id, registrar=user):
            service.invite(session, event=event, organization_id=organization_id, registrar=user)
            done = "invited"
        else:
            person = {"name": person_name, "email": person_email, "role": person_role or None}
            data = ParticipantCreate.model_validate(
                {"organization_id": organization_id, "people": [person]}
            )
            service.register_participant(session, event=event, data=data, registrar=user)
            done = "registered"
    except (ValidationError, AppError) as exc:
        return _participants_failed(request, session, user, event_id, exc)
    finish(session)
    return redirect(request, f"/events/{event_id}/participants?done={done}")


@router.post("/{event_id}/participants/import", dependencies=[SignedInForm])
async def import_list(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    file: Annotated[UploadFile, File()],
    check_only: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    """A participant list (CSV or XLSX): checked row by row, stored only when every row is."""
    data = await file.read(participant_import.MAX_BYTES + 1)
    return await _run_sync(
        _import_list, request, session, user, event, data, file.filename or "", check_only
    )


def _import_list(
    request: Request,
    session: Session,
    user: User,
    event: Event,
    data: bytes,
    filename: str,
    check_only: str | None,
) -> Response:
    event_id = event.id

    def find(name: str) -> list[int]:
        wanted = name.strip().casefold()
        return [
            r["id"] for r in _search(session, user, name, 200) if r["name"].casefold() == wanted
        ]

    try:
        rows = participant_import.read_rows(data, filename)
    except participant_import.FileProblem as exc:
        return _page(
            request,
            "participants.html",
            user,
            event,
            "participants",
            _participants_context(
                session,
                event,
                user,
                errors={
                    "file": translate(exc.message, i18n.Formatter(i18n.request_locale(request)))
                },
            ),
            status_code=422,
        )
    report = participant_import.import_participants(
        session, event=event, user=user, rows=rows, find=find, check_only=check_only is not None
    )
    if report.stored:
        finish(session)
    else:
        session.rollback()
    event = service.get_event(session, event_id=event_id)
    return _page(
        request,
        "participants.html",
        user,
        event,
        "participants",
        _participants_context(session, event, user, report=report),
        status_code=422 if report.problems else 200,
    )


@router.post("/{event_id}/participants/{participant_id}/people", dependencies=[SignedInForm])
def add_person(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    participant_id: PathId,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    event_id = event.id
    try:
        participant = service.get_participant(session, event=event, participant_id=participant_id)
        data = PersonIn.model_validate({"name": name, "email": email, "role": role or None})
        service.add_person(session, event=event, participant=participant, data=data)
    except (ValidationError, AppError) as exc:
        return _participants_failed(request, session, user, event_id, exc)
    finish(session)
    return redirect(request, f"/events/{event_id}/participants?done=person")


@router.post("/{event_id}/participants/{participant_id}/withdraw", dependencies=[SignedInForm])
def withdraw(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    participant_id: PathId,
) -> Response:
    event_id = event.id
    try:
        participant = service.get_participant(session, event=event, participant_id=participant_id)
        service.delete_participant(session, event=event, participant=participant)
    except AppError as exc:
        return _participants_failed(request, session, user, event_id, exc)
    finish(session)
    return redirect(request, f"/events/{event_id}/participants?done=withdrawn")


@router.post("/{event_id}/people/{person_id}/unavailable", dependencies=[SignedInForm])
async def set_unavailable(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    person_id: PathId,
) -> Response:
    form = await request.form()
    slots = [v for v in form.getlist("slot") if isinstance(v, str)]
    return await _run_sync(_store_unavailable, request, session, user, event, person_id, slots)


async def _run_sync(fn: Any, *args: Any) -> Response:
    from starlette.concurrency import run_in_threadpool

    result: Response = await run_in_threadpool(fn, *args)
    return result


def _store_unavailable(
    request: Request,
    session: Session,
    user: User,
    event: Event,
    person_id: int,
    slots: list[str],
) -> Response:
    event_id = event.id
    try:
        person = service.get_person(session, event=event, person_id=person_id)
        data = AvailabilitySet.model_validate({"unavailable_slot_ids": slots})
        service.set_unavailable(session, event=event, person=person, data=data)
    except (ValidationError, AppError) as exc:
        return _participants_failed(request, session, user, event_id, exc)
    finish(session)
    return redirect(request, f"/events/{event_id}/participants?done=availability")


@router.post("/{event_id}/people/{person_id}/max-meetings", dependencies=[SignedInForm])
def set_person_maximum(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    person_id: PathId,
    max_meetings: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """A person's own maximum of meetings; empty: the event's maximum."""
    event_id = event.id
    try:
        person = service.get_person(session, event=event, person_id=person_id)
        data = PersonPatch.model_validate({"max_meetings": max_meetings.strip() or None})
        service.update_person(session, person=person, data=data)
    except (ValidationError, AppError) as exc:
        return _participants_failed(request, session, user, event_id, exc)
    finish(session)
    return redirect(request, f"/events/{event_id}/participants?done=person-maximum")


# ---------------------------------------------------------------- requests and preferences


@router.get("/{event_id}/requests")
def requests_page(
    request: Request, session: SessionDep, user: ManagerUser, event: EventDep
) -> Response:
    people = {p.id: p for p in people_of(session, event, user)}
    requests = service.list_requests(session, event=event, person_id=None, status=None)
    now = utcnow()
    # "expired": still pending past the event's expiry time, and so no wish any more
    status_of = {r.id: service.request_status(event, r, now=now) for r in requests}
    counts = Counter(status_of.values())
    participants = {
        p.id: attendee_name(p.organization) for p in service.list_participants(session, event=event)
    }
    marks = []
    for participant in service.list_participants(session, event=event):
        for pref in service.list_preferences(session, participant=participant):
            marks.append(
                {
                    "from": participants.get(pref.participant_id, "?"),
                    "to": participants.get(pref.target_participant_id, "?"),
                    "kind": pref.kind,
                }
            )
    mark_counts = Counter(m["kind"] for m in marks)
    # people's own marks toward people of other organisations, as the caller may see them
    person_marks = [
        {"from": people[pref.person_id], "to": people[pref.target_person_id], "kind": pref.kind}
        for pref in service.list_event_person_preferences(session, event=event)
        if pref.person_id in people and pref.target_person_id in people
    ]
    person_mark_counts = Counter(m["kind"] for m in person_marks)
    booked: set[int] = set()
    for r in requests:
        if r.status == "accepted":
            booked.update((r.from_person_id, r.to_person_id))
    row = event_repository.schedule(session, event.id)
    if row is not None:
        for m in service.schedule_out(session, event=event, row=row).meetings:
            booked.update((m.person_a_id, m.person_b_id))
    waiting = [p for p in people.values() if p.id not in booked and not p.no_show]
    per_person: dict[int, Counter[str]] = defaultdict(Counter)
    for r in requests:
        per_person[r.from_person_id]["sent"] += 1
        per_person[r.to_person_id]["received"] += 1
        if status_of[r.id] == "accepted":
            per_person[r.from_person_id]["accepted"] += 1
            per_person[r.to_person_id]["accepted"] += 1
        elif status_of[r.id] == "requested":
            per_person[r.to_person_id]["pending"] += 1
    per_organization: dict[str, Counter[str]] = defaultdict(Counter)
    for person_id, sums in per_person.items():
        person = people.get(person_id)
        if person is not None:
            per_organization[person.organization].update(sums)
    return _page(
        request,
        "requests.html",
        user,
        event,
        "requests",
        {
            "requests": requests,
            "status_of": status_of,
            "people": people,
            "counts": counts,
            "marks": marks,
            "mark_counts": mark_counts,
            "person_marks": person_marks,
            "person_mark_counts": person_mark_counts,
            "waiting": waiting,
            "mailing": "\n".join(f"{p.name} <{p.email}>" if p.email else p.name for p in waiting),
            "has_schedule": row is not None,
            "per_person": per_person,
            "per_organization": per_organization,
            "organizations": sorted(participants.values()),
        },
    )


# ---------------------------------------------------------------- schedule


def _grid(
    session: Session, event: Event, row: EventSchedule, people: dict[int, PersonView]
) -> dict[str, Any]:
    """The schedule as slots by tables, and each person's meetings."""
    out = service.schedule_out(session, event=event, row=row)
    tables = service.list_tables(session, event=event)
    cells: dict[tuple[int, int], Any] = {(m.slot_id, m.table_id): m for m in out.meetings}
    per_person: dict[int, list[Any]] = defaultdict(list)
    for m in out.meetings:
        per_person[m.person_a_id].append(m)
        per_person[m.person_b_id].append(m)
    return {
        "schedule": out,
        "tables": tables,
        "cells": cells,
        "per_person": per_person,
    }


def _schedule_context(session: Session, event: Event, user: User, **extra: Any) -> dict[str, Any]:
    people = {p.id: p for p in people_of(session, event, user)}
    slots = slot_views(session, event)
    row = event_repository.schedule(session, event.id)
    run = jobs.latest_run(session, event=event)
    context: dict[str, Any] = {
        "people": people,
        "slots": slots,
        "slot_by_id": {s.id: s for s in slots},
        "row": row,
        "run": run,
        "progress": jobs.progress(run) if run is not None else None,
        "time_limit": DEFAULT_TIME_LIMIT,
        "errors": {},
        **extra,
    }
    if row is not None:
        context.update(_grid(session, event, row, people))
    return context


@router.get("/{event_id}/schedule")
def schedule_page(
    request: Request, session: SessionDep, user: ManagerUser, event: EventDep
) -> Response:
    return _page(
        request, "schedule.html", user, event, "schedule", _schedule_context(session, event, user)
    )


def _start(
    request: Request,
    session: Session,
    user: User,
    event: Event,
    kind: str,
    options: dict[str, Any],
    back: str,
) -> Response:
    event_id = event.id
    try:
        model = RescheduleRequest if kind == "reschedule" else ScheduleRequest
        run = jobs.start_run(
            session, event=event, kind=kind, options=model.model_validate(options), user=user
        )
    except (ValidationError, AppError) as exc:
        session.rollback()
        event = service.get_event(session, event_id=event_id)
        template, tab = ("day.html", "day") if back == "day" else ("schedule.html", "schedule")
        context = (
            _day_context(session, event, user, errors=_errors(request, exc))
            if back == "day"
            else _schedule_context(session, event, user, errors=_errors(request, exc))
        )
        return _page(
            request,
            template,
            user,
            event,
            tab,
            context,
            status_code=409 if isinstance(exc, Conflict) else 422,
        )
    run_id = run.id
    finish(session)
    runner(request).start(run_id)
    return redirect(request, f"/events/{event_id}/{back}#run")


@router.post("/{event_id}/schedule/compute", dependencies=[SignedInForm])
def compute(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    time_limit: Annotated[str, Form(max_length=10)] = "",
    recommendations: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Start computing the draft schedule in the background."""
    options: dict[str, Any] = {"time_limit": time_limit or DEFAULT_TIME_LIMIT}
    if recommendations.strip():
        options["recommendations_per_participant"] = recommendations
    return _start(request, session, user, event, "schedule", options, "schedule")


@router.get("/{event_id}/runs/{run_id}")
def run_status(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    run_id: PathId,
    polling: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    """A run's progress (HTMX polls it); once it ends, the page loads again."""
    run = jobs.get_run(session, event=event, run_id=run_id)
    progress = jobs.progress(run)
    response = _page(request, "run.html", user, event, None, {"run": run, "progress": progress})
    if polling is not None and not progress.active:
        response.headers["HX-Refresh"] = "true"
    return response


@router.post("/{event_id}/meetings/{meeting_id}/lock", dependencies=[SignedInForm])
def lock_meeting(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    meeting_id: PathId,
    locked: Annotated[str, Form(max_length=5)] = "",
    back: Annotated[str, Form(max_length=10)] = "schedule",
) -> Response:
    event_id = event.id
    service.set_meeting_lock(session, event=event, meeting_id=meeting_id, locked=locked == "yes")
    finish(session)
    target = "day" if back == "day" else "schedule"
    return redirect(request, f"/events/{event_id}/{target}#meeting-{meeting_id}")


@router.post("/{event_id}/schedule/publish", dependencies=[SignedInForm])
def publish(request: Request, session: SessionDep, user: ManagerUser, event: EventDep) -> Response:
    event_id = event.id
    service.publish_schedule(session, event=event)
    finish(session)
    return redirect(request, f"/events/{event_id}/schedule?published=1")


# ---------------------------------------------------------------- on the day


def _changes(
    result: dict[str, Any] | None,
    people: dict[int, PersonView],
    slots: dict[int, SlotView],
    tables: dict[int, str],
) -> dict[str, Any] | None:
    if not result or "changes" not in result:
        return None
    found = result["changes"]

    def where(place: dict[str, int] | None) -> str:
        if place is None:
            return ""
        slot = slots.get(place["slot"])
        table = tables.get(place["table"], "?")
        return f"{slot.start:%d.%m. %H:%M}" + f" · {table}" if slot else table

    def name(person_id: int) -> str:
        p = people.get(person_id)
        return f"{p.name} ({p.organization})" if p else f"#{person_id}"

    def rows(items: list[dict[str, Any]]) -> list[dict[str, str]]:
        return [
            {"a": name(i["a"]), "b": name(i["b"]), "from": where(i["from"]), "to": where(i["to"])}
            for i in items
        ]

    return {
        "kept": found["kept"],
        "moved": rows(found["moved"]),
        "cancelled": rows(found["cancelled"]),
        "added": rows(found["added"]),
        "agendas": [name(p) for p in found["agendas_changed"]],
    }


def _day_context(session: Session, event: Event, user: User, **extra: Any) -> dict[str, Any]:
    people = {p.id: p for p in people_of(session, event, user)}
    slots = slot_views(session, event)
    now = dt.datetime.now(dt.UTC)
    upcoming = next((s for s in slots if s.start > now), slots[0] if slots else None)
    run = jobs.latest_run(session, event=event)
    last = jobs.latest_run(session, event=event, kind="reschedule")
    tables = {t.id: t.name for t in service.list_tables(session, event=event)}
    row = event_repository.schedule(session, event.id)
    return {
        "people": people,
        "slots": slots,
        "upcoming": upcoming.id if upcoming else None,
        "row": row,
        "run": run,
        "progress": jobs.progress(run) if run is not None else None,
        "changes": _changes(
            last.result if last is not None and last.state == "done" else None,
            people,
            {s.id: s for s in slots},
            tables,
        ),
        "time_limit": DEFAULT_TIME_LIMIT,
        "errors": {},
        **extra,
    }


@router.get("/{event_id}/day")
def day_page(request: Request, session: SessionDep, user: ManagerUser, event: EventDep) -> Response:
    return _page(request, "day.html", user, event, "day", _day_context(session, event, user))


@router.post("/{event_id}/people/{person_id}/no-show", dependencies=[SignedInForm])
def mark_no_show(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    person_id: PathId,
    no_show: Annotated[str, Form(max_length=5)] = "yes",
) -> Response:
    """One click: the person did not come (or did, after all)."""
    event_id = event.id
    person = service.get_person(session, event=event, person_id=person_id)
    service.update_person(session, person=person, data=PersonPatch(no_show=no_show == "yes"))
    finish(session)
    return redirect(request, f"/events/{event_id}/day#person-{person_id}")


@router.post("/{event_id}/reschedule", dependencies=[SignedInForm])
def reschedule(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    event: EventDep,
    from_slot_id: Annotated[str, Form(max_length=12)] = "",
    time_limit: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Re-schedule the rest of the event after no-shows; held and locked meetings stay."""
    options = {"from_slot_id": from_slot_id, "time_limit": time_limit or DEFAULT_TIME_LIMIT}
    return _start(request, session, user, event, "reschedule", options, "day")


# ---------------------------------------------------------------- exports


@router.get("/{event_id}/exports")
def exports_page(
    request: Request, session: SessionDep, user: ManagerUser, event: EventDep
) -> Response:
    row = event_repository.schedule(session, event.id)
    return _page(
        request,
        "exports.html",
        user,
        event,
        "exports",
        {"row": row, "people": people_of(session, event, user)},
    )


def _download(body: str | bytes, media_type: str, name: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{event_id}/exports/table-plan.csv")
def table_plan(session: SessionDep, user: ManagerUser, event: EventDep) -> Response:
    loaded = service.load_agendas(session, event=event, published_only=False)
    body = exports.table_plan_csv(loaded.event, loaded.plan)
    return _download(body, "text/csv; charset=utf-8", f"event-{event.id}-tables.csv")


@router.get("/{event_id}/exports/agendas.html")
def all_agendas(
    request: Request, session: SessionDep, user: ManagerUser, event: EventDep
) -> Response:
    """Every agenda on one printable page: the page in the organiser's language, each person's
    section in that person's."""
    loaded = service.load_agendas(session, event=event, published_only=False)
    page_lang: exports.Lang = "de" if i18n.request_locale(request) == "de" else "en"
    body = exports.agenda_html(loaded.event, loaded.agendas, lang=page_lang)
    return _download(body, "text/html; charset=utf-8", f"event-{event.id}-agendas.html")


@router.get("/{event_id}/exports/people/{person_id}.{fmt}")
def person_agenda(
    session: SessionDep, user: ManagerUser, event: EventDep, person_id: PathId, fmt: str
) -> Response:
    """One person's published agenda as .ics, CSV, JSON or printable HTML."""
    if fmt not in {"ics", "csv", "json", "html"}:
        raise Invalid(N_("No such format."))
    loaded = service.load_agendas(session, event=event, person_id=person_id, published_only=True)
    agenda = loaded.agendas[0]
    name = f"event-{event.id}-person-{person_id}.{fmt}"
    if fmt == "ics":
        stamp = loaded.row.published_at or loaded.row.solved_at
        body: str | bytes = exports.agenda_ics(loaded.event, agenda, stamp=stamp)
        return _download(body, "text/calendar; charset=utf-8", name)
    if fmt == "csv":
        return _download(exports.agenda_csv(loaded.event, agenda), "text/csv; charset=utf-8", name)
    if fmt == "json":
        out = service.agenda_out(loaded)
        return _download(out.model_dump_json(indent=2), "application/json", name)
    body = exports.agenda_html(loaded.event, loaded.agendas, lang=agenda.lang)
    return _download(body, "text/html; charset=utf-8", name)


# ---------------------------------------------------------------- after the event


@router.get("/{event_id}/figures")
def figures_page(
    request: Request, session: SessionDep, user: ManagerUser, event: EventDep
) -> Response:
    people = {p.id: p for p in people_of(session, event, user)}
    row = event_repository.schedule(session, event.id)
    meetings = service.schedule_out(session, event=event, row=row).meetings if row else []
    no_shows = {p.id for p in people.values() if p.no_show}
    missed = [m for m in meetings if m.person_a_id in no_shows or m.person_b_id in no_shows]
    held = len(meetings) - len(missed)
    requests = service.list_requests(session, event=event, person_id=None, status=None)
    now = utcnow()
    by_status = Counter(service.request_status(event, r, now=now) for r in requests)
    by_kind = Counter(m.kind for m in meetings)
    outcomes = follow_up_outcomes(session, event)
    figures = {
        "meetings": charts.bars([("held", held), ("missed", len(missed))], title_id="fig-meetings"),
        "people": charts.bars(
            [("attended", len(people) - len(no_shows)), ("no_show", len(no_shows))],
            title_id="fig-people",
        ),
        "requests": charts.bars(
            [
                (s, by_status.get(s, 0))
                for s in ("requested", "expired", "accepted", "declined", "withdrawn")
            ],
            title_id="fig-requests",
        ),
        "kinds": charts.bars(
            [
                (k, by_kind.get(k, 0))
                for k in ("accepted_request", "must_meet", "would_like", "recommended", "manual")
            ],
            title_id="fig-kinds",
        ),
        "outcomes": charts.bars(
            [
                (k, outcomes.get(k, 0))
                for k in ("talks_started", "agreement_reached", "no_fit", "open")
            ],
            title_id="fig-outcomes",
        ),
    }
    return _page(
        request,
        "figures.html",
        user,
        event,
        "figures",
        {
            "figures": figures,
            "held": held,
            "missed": len(missed),
            "no_shows": len(no_shows),
            "accepted": by_status.get("accepted", 0),
            "outcomes": outcomes,
            "has_schedule": row is not None,
        },
    )


def follow_up_outcomes(session: Session, event: Event) -> Counter[str]:
    """Cooperation requests between organisations that met at the event, by outcome."""
    participants = service.list_participants(session, event=event)
    org_of = {person.id: p.organization_id for p in participants for person in p.people}
    row = event_repository.schedule(session, event.id)
    pairs: set[frozenset[int]] = set()
    if row is not None:
        for m in service.schedule_out(session, event=event, row=row).meetings:
            pairs.add(frozenset((org_of[m.person_a_id], org_of[m.person_b_id])))
    if not pairs:
        return Counter()
    orgs = sorted({o for pair in pairs for o in pair})
    found = session.execute(
        select(
            CooperationRequest.from_organization_id,
            CooperationRequest.to_organization_id,
            CooperationRequest.outcome,
        ).where(
            CooperationRequest.from_organization_id.in_(orgs),
            CooperationRequest.to_organization_id.in_(orgs),
            CooperationRequest.created_at >= event.created_at,
        )
    ).all()
    out: Counter[str] = Counter()
    for a, b, outcome in found:
        if frozenset((a, b)) in pairs:
            out[outcome or "open"] += 1
    return out
