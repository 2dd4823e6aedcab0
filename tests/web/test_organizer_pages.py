"""The organiser's pages in-process: who may open them, what the search shows, what is stored."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.events import service as event_service
from app.events.schemas import EventCreate
from app.models import Organization
from app.models.event import Event, EventInvitation, Participant
from app.models.user import Role
from tests.app.conftest import AccountFactory
from tests.web.pages import ENGLISH, GERMAN, csrf_token, page_client

ROLES = ("anonymous", "member", "curator", "organizer", "admin")
# status per role; 303 sends anonymous callers to sign in
PAGES = {
    "/events": "303 403 403 200 200",
    "/events/{event}": "303 403 403 200 200",
    "/events/{event}/participants": "303 403 403 200 200",
    "/events/{event}/requests": "303 403 403 200 200",
    "/events/{event}/schedule": "303 403 403 200 200",
    "/events/{event}/day": "303 403 403 200 200",
    "/events/{event}/exports": "303 403 403 200 200",
    "/events/{event}/figures": "303 403 403 200 200",
    "/events/{event}/exports/table-plan.csv": "303 403 403 404 404",
    "/events/999999": "303 403 403 404 404",
}


def _organization(session: Session, name: str, visibility: str, name_level: str | None) -> int:
    org = Organization(
        name=name,
        visibility=visibility,
        country="DE",
        cooperation_interests=[],
        competences=[],
        disclosure={"name": name_level} if name_level else {},
    )
    session.add(org)
    session.flush()
    return org.id


@pytest.fixture
def world(db_session: Session, make_account: AccountFactory) -> dict[str, object]:
    event = event_service.create_event(
        db_session,
        data=EventCreate(name="Börse", timezone="Europe/Berlin", dates=[dt.date(2031, 5, 6)]),
    )
    member_org = _organization(db_session, "Mitglied GmbH", "public", "members")
    orgs = {
        "shown": _organization(db_session, "Zeigwerk Sichtbar GmbH", "public", "members"),
        "hidden": _organization(db_session, "Zeigwerk Verborgen GmbH", "public", None),
        "members": _organization(db_session, "Zeigwerk Mitglieder GmbH", "members", "members"),
    }
    db_session.commit()
    return {
        "event": event.id,
        "orgs": orgs,
        "accounts": {
            "anonymous": None,
            "member": make_account(Role.member, member_org),
            "curator": make_account(Role.curator),
            "organizer": make_account(Role.organizer),
            "admin": make_account(Role.admin),
        },
    }


@pytest.mark.parametrize("page", list(PAGES))
def test_only_event_managers_open_the_organisers_pages(
    app: FastAPI, world: dict, page: str
) -> None:  # type: ignore[type-arg]
    url = page.format(event=world["event"])
    seen = []
    for role in ROLES:
        with page_client(app, world["accounts"][role]) as client:
            seen.append(client.get(url, headers={"accept": "text/html"}).status_code)
    assert seen == [int(s) for s in PAGES[page].split()]


def test_the_search_shows_only_names_the_organiser_may_see(app: FastAPI, world: dict) -> None:  # type: ignore[type-arg]
    with page_client(app, world["accounts"]["organizer"]) as client:
        page = client.get(f"/events/{world['event']}/participants", params={"q": "Zeigwerk"})
    assert page.status_code == 200
    html = page.text
    assert "Zeigwerk Sichtbar GmbH" in html
    # its name is kept for partners: the organiser's page never receives it
    assert "Zeigwerk Verborgen GmbH" not in html
    assert f'value="{world["orgs"]["hidden"]}"' not in html
    # a profile shown to members only is invited, not registered
    assert "Invite Zeigwerk Mitglieder GmbH" in html
    assert "Register Zeigwerk Sichtbar GmbH" in html


def test_registering_and_inviting_from_the_search(
    app: FastAPI, world: dict, db_session: Session
) -> None:  # type: ignore[type-arg]
    event_id, orgs = world["event"], world["orgs"]
    with page_client(app, world["accounts"]["organizer"]) as client:
        token = csrf_token(client)
        bad = client.post(
            f"/events/{event_id}/participants",
            data={
                "csrf_token": token,
                "organization_id": orgs["shown"],
                "person_name": "Bert",
                "person_email": "not-an-address",
            },
        )
        assert bad.status_code == 422
        assert "people.0.email" in bad.text
        done = client.post(
            f"/events/{event_id}/participants",
            data={
                "csrf_token": token,
                "organization_id": orgs["shown"],
                "person_name": "Ada Sichtbar",
                "person_email": "ada@sichtbar.example",
            },
        )
        assert (done.status_code, done.headers["location"]) == (
            303,
            f"/events/{event_id}/participants?done=registered",
        )
        invited = client.post(
            f"/events/{event_id}/participants",
            data={"csrf_token": token, "organization_id": orgs["members"]},
        )
        assert invited.headers["location"] == f"/events/{event_id}/participants?done=invited"
        # a public profile whose name the organiser may not see (the search does not offer
        # it) is invited too, whatever the form says
        hidden = client.post(
            f"/events/{event_id}/participants",
            data={
                "csrf_token": token,
                "organization_id": orgs["hidden"],
                "person_name": "Bert",
                "person_email": "bert@verborgen.example",
            },
        )
        assert hidden.headers["location"] == f"/events/{event_id}/participants?done=invited"
        without = client.post(
            f"/events/{event_id}/participants",
            data={"csrf_token": "f" * 64, "organization_id": orgs["shown"]},
        )
        assert without.status_code == 403
    db_session.expire_all()
    registered = db_session.scalars(
        select(Participant.organization_id).where(Participant.event_id == event_id)
    ).all()
    assert registered == [orgs["shown"]]
    invitations = db_session.scalars(
        select(EventInvitation.organization_id).where(EventInvitation.event_id == event_id)
    ).all()
    assert sorted(invitations) == sorted([orgs["members"], orgs["hidden"]])


def test_an_event_form_refused_reads_in_the_pages_language(app: FastAPI, world: dict) -> None:  # type: ignore[type-arg]
    event_id = world["event"]
    form = {
        "name": "Börse 2031",
        "timezone": "Mars/Olympus",
        "dates": "1999-05-06",
        "max_meetings": "6",
        "min_meetings": "2",
    }
    summary = re.compile(r'<div class="error-summary" role="alert">.*?<ul>(.*?)</ul>', re.S)

    def refused(headers: dict[str, str]) -> list[str]:
        answer = client.post(
            f"/events/{event_id}/settings", data={"csrf_token": token, **form}, headers=headers
        )
        assert answer.status_code == 422
        found = summary.search(answer.text)
        assert found is not None
        return [unescape(item) for item in re.findall(r"<li>(.*?)</li>", found.group(1))]

    with page_client(app, world["accounts"]["organizer"]) as client:
        token = csrf_token(client)
        german, english = refused(GERMAN), refused(ENGLISH)
    assert german == [
        "timezone: ist kein Zeitzonenname nach IANA (etwa Europe/Berlin)",
        "dates.0: muss ein Datum zwischen 2000-01-01 und 2100-12-31 sein",
    ]
    assert english == [
        "timezone: not an IANA time zone name (e.g. Europe/Berlin)",
        "dates.0: must be a date between 2000-01-01 and 2100-12-31",
    ]


def test_event_setup_forms_store_and_refuse(app: FastAPI, world: dict, db_session: Session) -> None:  # type: ignore[type-arg]
    event_id = world["event"]
    with page_client(app, world["accounts"]["organizer"]) as client:
        token = csrf_token(client)
        saved = client.post(
            f"/events/{event_id}/settings",
            data={
                "csrf_token": token,
                "name": "Börse 2031",
                "venue": "Messe Süd",
                "timezone": "Europe/Vienna",
                "dates": "2031-05-06, 2031-05-07",
                "max_meetings": "6",
                "min_meetings": "2",
                "registration_open": "yes",
            },
        )
        assert saved.status_code == 303
        wrong = client.post(
            f"/events/{event_id}/settings",
            data={
                "csrf_token": token,
                "name": "Börse 2031",
                "timezone": "Mars/Olympus",
                "dates": "2031-05-06",
                "max_meetings": "6",
                "min_meetings": "2",
            },
        )
        assert wrong.status_code == 422
        assert "not an IANA time zone name" in wrong.text
        no_slots = client.post(
            f"/events/{event_id}/schedule/compute", data={"csrf_token": token, "time_limit": "1"}
        )
        assert no_slots.status_code == 409
        assert "The event has no slots; generate them first." in no_slots.text
    db_session.expire_all()
    event = db_session.get(Event, event_id)
    assert event is not None
    assert (
        event.name,
        event.venue,
        event.timezone,
        event.max_meetings,
        event.min_meetings,
        event.allow_competitors,
        event.registration_open,
    ) == ("Börse 2031", "Messe Süd", "Europe/Vienna", 6, 2, False, True)


def test_a_participant_list_is_checked_row_by_row_and_stored_whole(
    app: FastAPI, world: dict, db_session: Session
) -> None:  # type: ignore[type-arg]
    event_id, orgs = world["event"], world["orgs"]
    url = f"/events/{event_id}/participants/import"
    bad = (
        "Organisation;Name;E-Mail;Rolle\r\n"
        "Zeigwerk Sichtbar GmbH;Ada Sichtbar;ada@sichtbar.example;CEO\r\n"
        "Zeigwerk Verborgen GmbH;Bert;bert@verborgen.example;\r\n"
        "Zeigwerk Mitglieder GmbH;Cleo;cleo@mitglieder.example;\r\n"
        "Zeigwerk Sichtbar GmbH;Dora;not-an-address;\r\n"
        "Zeigwerk Sichtbar GmbH;Ada again;ada@sichtbar.example;\r\n"
    )
    good = (
        "Organisation;Name;E-Mail;Rolle\r\n"
        "Zeigwerk Sichtbar GmbH;Ada Sichtbar;ada@sichtbar.example;CEO\r\n"
        "zeigwerk sichtbar gmbh;Emil Sichtbar;emil@sichtbar.example;\r\n"
    )
    with page_client(app, world["accounts"]["organizer"]) as client:
        token = csrf_token(client)

        def send(body: str, check_only: bool) -> tuple[int, list[tuple[str, str, str]]]:
            data = {"csrf_token": token, **({"check_only": "yes"} if check_only else {})}
            answer = client.post(
                url, data=data, files={"file": ("list.csv", body.encode(), "text/csv")}
            )
            rows = re.findall(
                r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", answer.text
            )
            return answer.status_code, rows

        # the hidden name is not found: the organiser may not see it
        status, rows = send(bad, check_only=False)
        assert status == 422
        assert [(line, field) for line, field, _ in rows] == [
            ("3", "organisation"),
            ("4", "organisation"),
            ("5", "email"),
            ("6", "email"),
        ]
        assert [reason for _, _, reason in rows][:2] == [
            "no organisation with this name",
            "not public: invite it instead",
        ]
        assert rows[3][2] == "already registered"
        assert send(good, check_only=True) == (200, [])
        db_session.expire_all()
        assert (
            db_session.scalars(select(Participant).where(Participant.event_id == event_id)).all()
            == []
        )
        assert send(good, check_only=False) == (200, [])
    db_session.expire_all()
    participant = db_session.scalars(
        select(Participant).where(Participant.event_id == event_id)
    ).one()
    assert participant.organization_id == orgs["shown"]
    event = event_service.get_event(db_session, event_id=event_id)
    stored = event_service.get_participant(db_session, event=event, participant_id=participant.id)
    assert [(p.name, p.email, p.role) for p in stored.people] == [
        ("Ada Sichtbar", "ada@sichtbar.example", "CEO"),
        ("Emil Sichtbar", "emil@sichtbar.example", None),
    ]


def test_the_timeline_and_bars_are_drawn_to_scale() -> None:
    from app.web import charts
    from app.web.organizer import SlotView

    day = dt.date(2031, 3, 12)

    def at(hour: int, minute: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute))

    slots = [
        SlotView(1, day, at(9, 0), at(9, 30), 0),
        SlotView(2, day, at(9, 30), at(10, 0), 1),
        SlotView(3, day, at(10, 30), at(11, 0), 2),
    ]
    line = charts.timeline(slots)
    assert line is not None
    # 09:00 to 11:00 over 640 units with 30 on either side: 290 units an hour
    assert line.ticks == [(30.0, "09:00"), (320.0, "10:00"), (610.0, "11:00")]
    assert [(b.x, b.width, b.label) for b in line.blocks] == [
        (30.0, 143.0, "09:00–09:30"),
        (175.0, 143.0, "09:30–10:00"),
        (465.0, 143.0, "10:30–11:00"),
    ]
    assert charts.timeline([]) is None
    chart = charts.bars([("held", 6), ("missed", 3), ("none", 0)], title_id="f")
    assert [(b.key, b.value, b.y, b.width) for b in chart.bars] == [
        ("held", 6, 0, 330),
        ("missed", 3, 36, 165),
        ("none", 0, 72, 0),
    ]
    assert (chart.total, chart.height) == (9, 108)


def test_people_and_their_unavailable_slots(app: FastAPI, world: dict, db_session: Session) -> None:  # type: ignore[type-arg]
    from app.events.schemas import ParticipantCreate, PersonIn, SlotGeneration

    event = event_service.get_event(db_session, event_id=world["event"])
    event_service.generate_slots(
        db_session,
        event=event,
        data=SlotGeneration(
            date=dt.date(2031, 5, 6), start=dt.time(9), end=dt.time(10, 30), slot_minutes=30
        ),
    )
    participant = event_service.register_participant(
        db_session,
        event=event,
        data=ParticipantCreate(
            organization_id=world["orgs"]["shown"],
            people=[PersonIn(name="Ada", email="ada@sichtbar.example")],
        ),
    )
    db_session.commit()
    slots = [s.id for s in event_service.list_slots(db_session, event=event)]
    person_id, participant_id, event_id = participant.people[0].id, participant.id, event.id
    with page_client(app, world["accounts"]["organizer"]) as client:
        token = csrf_token(client)
        saved = client.post(
            f"/events/{event_id}/people/{person_id}/unavailable",
            data={"csrf_token": token, "slot": [str(slots[0]), str(slots[2])]},
        )
        assert saved.headers["location"] == f"/events/{event_id}/participants?done=availability"
        added = client.post(
            f"/events/{event_id}/participants/{participant_id}/people",
            data={"csrf_token": token, "name": "Emil", "email": "emil@sichtbar.example"},
        )
        assert added.status_code == 303
        again = client.post(
            f"/events/{event_id}/participants/{participant_id}/people",
            data={"csrf_token": token, "name": "Emil 2", "email": "emil@sichtbar.example"},
        )
        assert again.status_code == 409
        limited = client.post(
            f"/events/{event_id}/people/{person_id}/max-meetings",
            data={"csrf_token": token, "max_meetings": "4"},
        )
        assert limited.headers["location"] == f"/events/{event_id}/participants?done=person-maximum"
        too_many = client.post(
            f"/events/{event_id}/people/{person_id}/max-meetings",
            data={"csrf_token": token, "max_meetings": "500"},
        )
        assert too_many.status_code == 422
        assert "max_meetings" in too_many.text
        page = client.get(f"/events/{event_id}/participants")
        assert "2 slots unavailable" in page.text
        assert (
            f'id="max-{person_id}" name="max_meetings" type="number" min="0" max="200" value="4"'
            in (page.text)
        )
    db_session.expire_all()
    person = event_service.get_person(db_session, event=event, person_id=person_id)
    assert event_service.unavailable_of(db_session, person=person) == {slots[0], slots[2]}
    assert person.max_meetings == 4
    stored = event_service.get_participant(db_session, event=event, participant_id=participant_id)
    assert [p.email for p in stored.people] == ["ada@sichtbar.example", "emil@sichtbar.example"]


def _stored_schedule(session: Session, event_id: int, **report: object) -> None:
    """A draft schedule without meetings, its report as the solver stores it."""
    from app.models.event import EventSchedule

    body: dict[str, object] = {
        "meetings": 0,
        "requests_satisfied": {},
        "requested": {},
        "overridden": [],
        "wanted_both": 0,
        "wanted_one": 0,
        "filled_in": 0,
        "below_minimum": [],
        "without_meeting": [],
        "idle_gaps_total": 0,
        "idle_gaps_mean": 0.0,
        "total_value": 0.0,
        "upper_bound": None,
        "gap": None,
        "fair_upper_bound": None,
        "fair_gap": None,
        "solve_seconds": 0.5,
        "solver_status": "optimal",
        "dropped_pairs": 0,
        **report,
    }
    session.add(
        EventSchedule(event_id=event_id, status="draft", solver_status="optimal", report=body)
    )
    session.commit()


def test_the_setup_stores_meeting_level_recommendations_and_expiry(
    app: FastAPI, world: dict, db_session: Session
) -> None:  # type: ignore[type-arg]
    event_id = world["event"]
    form = {
        "name": "Börse",
        "timezone": "Europe/Berlin",
        "dates": "2031-05-06",
        "max_meetings": "8",
        "min_meetings": "3",
    }
    with page_client(app, world["accounts"]["organizer"]) as client:
        token = csrf_token(client)
        saved = client.post(
            f"/events/{event_id}/settings",
            data={
                "csrf_token": token,
                **form,
                "person_level_meetings": "yes",
                "fill_with_recommendations": "yes",
                "request_expiry_hours": "48",
            },
        )
        assert (saved.status_code, saved.headers["location"]) == (
            303,
            f"/events/{event_id}?saved=settings",
        )
        page = client.get(f"/events/{event_id}").text
        assert re.search(r'name="person_level_meetings" value="yes" checked', page)
        assert re.search(r'name="fill_with_recommendations" value="yes" checked', page)
        assert 'name="request_expiry_hours" type="number" min="1" max="8760" value="48"' in page
        too_long = client.post(
            f"/events/{event_id}/settings",
            data={"csrf_token": token, **form, "request_expiry_hours": "9000"},
        )
        assert too_long.status_code == 422
        assert 'id="request_expiry_hours-error"' in too_long.text
        _stored_schedule(db_session, event_id)
        # meetings of organisations or of people: not while a schedule exists
        conflict = client.post(
            f"/events/{event_id}/settings",
            data={"csrf_token": token, **form, "fill_with_recommendations": "yes"},
        )
        assert conflict.status_code == 409
        assert 'id="person_level_meetings-error"' in conflict.text
        assert (
            "This cannot change while the event has a schedule: delete the schedule first."
            in conflict.text
        )
        # empty: requests never expire
        kept = client.post(
            f"/events/{event_id}/settings",
            data={"csrf_token": token, **form, "person_level_meetings": "yes"},
        )
        assert kept.status_code == 303
    db_session.expire_all()
    event = db_session.get(Event, event_id)
    assert event is not None
    assert (
        event.person_level_meetings,
        event.fill_with_recommendations,
        event.request_expiry_hours,
    ) == (True, False, None)


def test_the_quality_report_shows_who_asked_and_the_fair_bound(
    app: FastAPI, world: dict, db_session: Session
) -> None:  # type: ignore[type-arg]
    event_id = world["event"]
    _stored_schedule(
        db_session,
        event_id,
        meetings=9,
        wanted_both=2,
        wanted_one=3,
        filled_in=4,
        overridden=[[11, 12], [13, 14]],
        total_value=8.0,
        fair_upper_bound=10.0,
        fair_gap=0.2,
    )
    with page_client(app, world["accounts"]["organizer"]) as client:
        html = client.get(f"/events/{event_id}/schedule").text
        german = client.get(f"/events/{event_id}/schedule", headers={"accept-language": "de"})
    figures = dict(re.findall(r"<div><dt>([^<]+)</dt><dd>([^<]+)</dd></div>", html))
    german_figures = dict(re.findall(r"<div><dt>([^<]+)</dt><dd>([^<]+)</dd></div>", german.text))
    # the solver's status word in the page's language
    assert figures["Solver status"] == "optimal (proven)"
    assert german_figures["Status des Lösers"] == "optimal (bewiesen)"
    assert figures["Meetings both sides asked for"] == "2"
    assert figures["Meetings one side asked for"] == "3"
    assert figures["Meetings nobody asked for (recommendations)"] == "4"
    assert figures["Accepted requests overridden by a not-interested mark: unmet"] == "2"
    assert figures["Bound for schedules as fair as this one"] == "10"
    assert figures["Gap to the fair bound"] == "20%"
    # the event lets no recommendation fill a slot: the input is not offered
    assert 'name="recommendations"' not in html
    assert "recommendations fill free slots once the setup allows it" in html


def test_a_request_past_the_expiry_time_counts_as_expired(
    app: FastAPI, world: dict, db_session: Session
) -> None:  # type: ignore[type-arg]
    from app.events.schemas import EventPatch, ParticipantCreate, PersonIn, RequestCreate

    event = event_service.get_event(db_session, event_id=world["event"])
    event_service.update_event(db_session, event=event, data=EventPatch(request_expiry_hours=2))
    people = []
    for key, name in (("shown", "Ada"), ("hidden", "Bert"), ("members", "Cleo")):
        participant = event_service.register_participant(
            db_session,
            event=event,
            data=ParticipantCreate(
                organization_id=world["orgs"][key],
                people=[PersonIn(name=name, email=f"{name.lower()}@zeigwerk.example")],
            ),
        )
        people.append(participant.people[0].id)
    old = event_service.create_request(
        db_session,
        event=event,
        data=RequestCreate(from_person_id=people[0], to_person_id=people[1]),
    )
    event_service.create_request(
        db_session,
        event=event,
        data=RequestCreate(from_person_id=people[0], to_person_id=people[2]),
    )
    old.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    db_session.commit()
    with page_client(app, world["accounts"]["organizer"]) as client:
        html = client.get(f"/events/{world['event']}/requests").text
    figures = dict(re.findall(r"<div><dt>([^<]+)</dt><dd>([^<]+)</dd></div>", html))
    assert (figures["pending"], figures["expired"], figures["accepted"]) == ("1", "1", "0")
    statuses = re.findall(r"\)</td><td>([a-z]+)</td></tr>", html)
    assert sorted(statuses) == ["expired", "pending"]
    # the figures after the event count the expired one apart from the pending one
    with page_client(app, world["accounts"]["organizer"]) as client:
        html = client.get(f"/events/{world['event']}/figures").text
    chart = re.search(r'<title id="fig-requests">([^<]*)</title>', html)
    assert chart is not None
    assert chart.group(1).split(": ", 1)[1] == (
        "pending 1, expired 1, accepted 0, declined 0, withdrawn 0"
    )


def test_the_requests_page_shows_marks_per_organisation_and_per_person(
    app: FastAPI, world: dict, db_session: Session
) -> None:  # type: ignore[type-arg]
    from app.events.schemas import ParticipantCreate, PersonIn

    event = event_service.get_event(db_session, event_id=world["event"])
    participants = []
    for key, names in (("shown", ("Ada", "Anton")), ("members", ("Cleo",))):
        participants.append(
            event_service.register_participant(
                db_session,
                event=event,
                data=ParticipantCreate(
                    organization_id=world["orgs"][key],
                    people=[PersonIn(name=n, email=f"{n.lower()}@zeigwerk.example") for n in names],
                ),
            )
        )
    (ada, anton), (cleo,) = (p.people for p in participants)
    event_service.set_preference(
        db_session,
        event=event,
        participant=participants[1],
        target_id=participants[0].id,
        kind="would_like",
    )
    event_service.set_person_preference(
        db_session, event=event, person=ada, target_id=cleo.id, kind="must_meet"
    )
    event_service.set_person_preference(
        db_session, event=event, person=cleo, target_id=anton.id, kind="not_interested"
    )
    db_session.commit()
    with page_client(app, world["accounts"]["organizer"]) as client:
        html = client.get(f"/events/{world['event']}/requests", headers={"Accept-Language": "en"})
    assert html.status_code == 200
    sections = html.text.split('aria-labelledby="pmarks-h"')
    assert len(sections) == 2
    org_part, person_part = sections[0].split('aria-labelledby="marks-h"')[1], sections[1]
    org_rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", org_part)
    assert org_rows == [
        ("Zeigwerk Mitglieder GmbH", "Zeigwerk Sichtbar GmbH", "would like to meet")
    ]
    person_part = person_part.split("</section>", 1)[0]
    figures = dict(re.findall(r"<div><dt>([^<]+)</dt><dd>([^<]+)</dd></div>", person_part))
    assert figures == {"must meet": "1", "would like to meet": "0", "not interested": "1"}
    person_rows = re.findall(
        r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", person_part
    )
    assert person_rows == [
        ("Ada (Zeigwerk Sichtbar GmbH)", "Cleo (Zeigwerk Mitglieder GmbH)", "must meet"),
        ("Cleo (Zeigwerk Mitglieder GmbH)", "Anton (Zeigwerk Sichtbar GmbH)", "not interested"),
    ]


def test_a_participant_list_from_a_spreadsheet_names_its_bad_rows(
    app: FastAPI, world: dict, db_session: Session
) -> None:  # type: ignore[type-arg]
    import io

    import openpyxl

    def workbook(rows: list[tuple[object, ...]]) -> bytes:
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in rows:
            sheet.append(list(row))
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    header = ("Organisation", "Name", "E-Mail", "Rolle")
    bad = workbook(
        [
            header,
            ("Zeigwerk Sichtbar GmbH", "Ada Sichtbar", "ada@sichtbar.example", "CEO"),
            ("Zeigwerk Sichtbar GmbH", "Dora", "not-an-address", None),
            ("Niemand GmbH", "Nina", "nina@niemand.example", None),
        ]
    )
    good = workbook([header, ("Zeigwerk Sichtbar GmbH", "Ada Sichtbar", "ada@sichtbar.example")])
    url = f"/events/{world['event']}/participants/import"
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    with page_client(app, world["accounts"]["organizer"]) as client:
        token = csrf_token(client)
        answer = client.post(
            url, data={"csrf_token": token}, files={"file": ("liste.xlsx", bad, kind)}
        )
        assert answer.status_code == 422
        rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", answer.text)
        assert rows == [
            ("3", "email", rows[0][2]),
            ("4", "organisation", "no organisation with this name"),
        ]
        db_session.expire_all()
        stored = select(Participant).where(Participant.event_id == world["event"])
        assert db_session.scalars(stored).all() == []
        answer = client.post(
            url, data={"csrf_token": token}, files={"file": ("liste.xlsx", good, kind)}
        )
        assert answer.status_code == 200
    db_session.expire_all()
    participant = db_session.scalars(stored).one()
    assert participant.organization_id == world["orgs"]["shown"]


def test_tables_by_count_or_by_name(app: FastAPI, world: dict, db_session: Session) -> None:  # type: ignore[type-arg]
    url = f"/events/{world['event']}/tables"
    event = event_service.get_event(db_session, event_id=world["event"])
    with page_client(app, world["accounts"]["organizer"]) as client:
        token = csrf_token(client)
        answer = client.post(url, data={"csrf_token": token, "count": "3"})
        assert answer.status_code == 303
        db_session.expire_all()
        assert [t.name for t in event_service.list_tables(db_session, event=event)] == [
            "1",
            "2",
            "3",
        ]
        named = {"csrf_token": token, "count": "3", "names": "Tisch Nord\r\n\r\n Tisch Süd \r\n"}
        assert client.post(url, data=named).status_code == 303
        db_session.expire_all()
        assert [t.name for t in event_service.list_tables(db_session, event=event)] == [
            "Tisch Nord",
            "Tisch Süd",
        ]
        refused = client.post(url, data={"csrf_token": token, "count": "0"})
        assert refused.status_code == 422
    db_session.expire_all()
    assert len(event_service.list_tables(db_session, event=event)) == 2
