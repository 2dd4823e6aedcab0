"""A cluster manager runs a small matchmaking event in Chromium, against a real server.

The organiser creates an event, generates its slots and tables, registers four demo
organisations found by name, computes the schedule in the background (the page polls its
progress), publishes it, marks a no-show on the day and re-schedules the rest, and downloads
the agendas. axe-core checks every page on the way; the main pages are saved as screenshots.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.auth.schemas import UserCreate
from app.events import service as event_service
from app.events.schemas import PreferenceKind, RequestCreate
from app.models import Organization
from app.models.event import Event, EventPerson, EventSchedule, Participant, ScheduledMeeting
from app.models.schedule_run import ScheduleRun
from app.models.user import Role
from app.organizations import service as organization_service
from tests.web.conftest import LiveServer, axe_violations, save_screenshot

PASSWORD = "koopmatch-demo-organiser"
# public profiles whose names members (and so organisers) see in the demo data
ORGANISATIONS = (
    "Sensotec GmbH",
    "Kunststofftechnik Oberland GmbH & Co. KG",
    "Platinenwerk Erzgebirge GmbH",
    "Rheintal Elektronikfertigung GmbH",
)

TEXT = {
    "de": {
        "sign_in": "Anmelden",
        "email": "E-Mail-Adresse",
        "password": "Passwort",
        "events": "Veranstaltungen",
        "event_nav": "Veranstaltung",
        "name": "Name der Veranstaltung",
        "venue": "Veranstaltungsort",
        "timezone": "Zeitzone",
        "days": "Tage",
        "create": "Veranstaltung anlegen",
        "setup": "Einrichtung",
        "fill": "Empfehlungen dürfen freie Termine füllen, um die niemand gebeten hat",
        "save_event": "Veranstaltung speichern",
        "saved": "Gespeichert.",
        "start": "Erster Termin beginnt",
        "end": "Letzter Termin endet bis",
        "minutes": "Minuten je Termin",
        "breaks": "Pausen",
        "generate": "Termine erzeugen",
        "tables": "Anzahl der Tische",
        "set_tables": "Tische festlegen",
        "participants": "Teilnehmende",
        "org_name": "Name des Unternehmens",
        "find": "Suchen",
        "attendee": "Teilnehmende Person",
        "mail": "E-Mail",
        "register": "{name} anmelden",
        "check_only": "Datei nur prüfen",
        "import": "Import",
        "requests": "Anfragen und Wünsche",
        "no_meeting": "Noch kein Treffen vereinbart",
        "schedule": "Terminplan",
        "limit": "Zeitlimit in Sekunden",
        "compute": "Terminplan berechnen",
        "report": "Qualitätsbericht",
        "publish": "Terminplan veröffentlichen",
        "published": "Der Terminplan ist veröffentlicht",
        "lock": "{a} und {b} festhalten",
        "unlock": "{a} und {b} freigeben",
        "day": "Am Veranstaltungstag",
        "no_show": "{name} als nicht erschienen markieren",
        "from_slot": "Ab Termin",
        "reschedule": "Neu planen",
        "changed": "Was die letzte Neuplanung geändert hat",
        "exports": "Exporte",
        "all_agendas": "Alle Agenden herunterladen (druckbares HTML)",
        "table_plan": "Tischplan herunterladen (CSV)",
        "ics": "Kalender (.ics)-Agenda von {name}",
        "figures": "Kennzahlen",
        "held": "Gehaltene Treffen",
    },
    "en": {
        "sign_in": "Sign in",
        "email": "E-mail address",
        "password": "Password",
        "events": "Events",
        "event_nav": "Event",
        "name": "Name of the event",
        "venue": "Venue",
        "timezone": "Time zone",
        "days": "Days",
        "create": "Create the event",
        "setup": "Setup",
        "fill": "Recommendations may fill free slots nobody asked for",
        "save_event": "Save the event",
        "saved": "Saved.",
        "start": "First slot starts",
        "end": "Last slot ends by",
        "minutes": "Minutes per slot",
        "breaks": "Breaks",
        "generate": "Generate the slots",
        "tables": "Number of tables",
        "set_tables": "Set the tables",
        "participants": "Participants",
        "org_name": "Organisation name",
        "find": "Find",
        "attendee": "Attendee",
        "mail": "E-mail",
        "register": "Register {name}",
        "check_only": "Only check the file",
        "import": "Import",
        "requests": "Requests and preferences",
        "no_meeting": "No meeting booked yet",
        "schedule": "Schedule",
        "limit": "Time limit in seconds",
        "compute": "Compute the schedule",
        "report": "Quality report",
        "publish": "Publish the schedule",
        "published": "The schedule is published",
        "lock": "Lock {a} and {b}",
        "unlock": "Unlock {a} and {b}",
        "day": "On the day",
        "no_show": "Mark {name} as no-show",
        "from_slot": "From slot",
        "reschedule": "Re-schedule",
        "changed": "What the last re-schedule changed",
        "exports": "Exports",
        "all_agendas": "Download every agenda (printable HTML)",
        "table_plan": "Download the table plan (CSV)",
        "ics": "Calendar (.ics) agenda of {name}",
        "figures": "Figures",
        "held": "Meetings held",
    },
}


def _organiser(server: LiveServer, lang: str) -> str:
    email = f"organiser-{lang}@journey.example"
    with Session(server.engine) as session, session.begin():
        if auth_service.repository.get_user_by_email(session, email) is None:
            auth_service.create_user(
                session,
                data=UserCreate(
                    email=email, name=f"Organiser {lang}", role=Role.organizer, password=PASSWORD
                ),
            )
    return email


def _check(
    page: Any, lang: str, name: str | None = None, shots: Path | None = None, at: str | None = None
) -> None:
    """axe-core on the page; optionally a screenshot for the README (SQLite run only), from
    the top or from the element ``at``."""
    assert axe_violations(page) == [], page.url
    if name is not None and shots is not None:
        if at is None:
            page.evaluate("window.scrollTo(0, 0)")
        else:
            page.locator(at).evaluate("e => e.scrollIntoView()")
        save_screenshot(page, shots, f"{lang}-organizer-{name}")


def _tab(page: Any, t: dict[str, str], name: str) -> None:
    """Open one of the event's pages from its tabs."""
    tabs = page.get_by_role("navigation", name=t["event_nav"], exact=True)
    tabs.get_by_role("link", name=t[name], exact=True).click()


def _participants_ask(server: LiveServer, event_id: int) -> tuple[int, int]:
    """What participants do themselves: the first person asks the second for a meeting and is
    accepted; the third organisation must meet the fourth. Returns the two people's ids."""
    with Session(server.engine) as session, session.begin():
        event = event_service.get_event(session, event_id=event_id)
        participants = event_service.list_participants(session, event=event)
        first, second = participants[0].people[0], participants[1].people[0]
        request = event_service.create_request(
            session,
            event=event,
            data=RequestCreate(from_person_id=first.id, to_person_id=second.id),
        )
        event_service.answer_request(session, request=request, action="accept")
        event_service.set_preference(
            session,
            event=event,
            participant=participants[2],
            target_id=participants[3].id,
            kind=PreferenceKind.must_meet.value,
        )
        return first.id, second.id


@pytest.mark.parametrize("lang", ["de", "en"])
def test_organiser_journey(
    live_server: LiveServer, browser: Any, lang: str, tmp_path: Path, screenshot_dir: Path
) -> None:
    t = TEXT[lang]
    email = _organiser(live_server, lang)
    shots = screenshot_dir if live_server.backend == "sqlite" else None
    csp_errors: list[str] = []
    context = browser.new_context(
        locale=lang, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    page.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(live_server.url + "/login?next=/events")
    page.get_by_label(t["email"]).fill(email)
    page.get_by_label(t["password"]).fill(PASSWORD)
    page.get_by_label(t["password"]).press("Enter")
    page.wait_for_url(re.compile(r"/events$"))
    _check(page, lang)

    # --- create the event, its slots and tables
    name = f"Kooperationsbörse {lang} ({live_server.backend})"
    page.get_by_label(t["name"]).fill(name)
    page.get_by_label(t["venue"], exact=True).fill("IHK Haus, Saal 2")
    page.get_by_label(t["timezone"]).fill("Europe/Berlin")
    page.get_by_label(t["days"]).fill("2031-03-12")
    page.get_by_role("button", name=t["create"]).click()
    page.wait_for_url(re.compile(r"/events/\d+$"))
    event_id = int(page.url.rsplit("/", 1)[1])
    # with requests from one pair only, recommendations give the 30 organisations their schedule
    page.get_by_label(t["fill"]).check()
    page.get_by_role("button", name=t["save_event"]).click()
    page.wait_for_url(re.compile(r"saved=settings"))
    assert page.get_by_role("status").inner_text() == t["saved"]
    assert page.get_by_label(t["fill"]).is_checked()
    page.get_by_label(t["start"]).fill("09:00")
    page.get_by_label(t["end"]).fill("11:00")
    page.get_by_label(t["minutes"]).fill("30")
    page.get_by_label(t["breaks"]).fill("10:00-10:30")
    page.get_by_role("button", name=t["generate"]).click()
    page.locator("figure.timeline rect.slot").nth(2).wait_for()
    assert page.locator("figure.timeline rect.slot").count() == 3
    assert page.locator("figure.timeline figcaption").inner_text() == (
        "09:00–09:30 · 09:30–10:00 · 10:30–11:00"
    )
    page.get_by_label(t["tables"]).fill("15")
    page.get_by_role("button", name=t["set_tables"]).click()
    page.wait_for_url(re.compile(r"saved=tables"))
    _check(page, lang, "setup", shots, at="#slots-h")
    with Session(live_server.engine) as session:
        event = session.get(Event, event_id)
        assert event is not None
        assert (
            event.name,
            event.venue,
            event.timezone,
            event.fill_with_recommendations,
            event.person_level_meetings,
            event.request_expiry_hours,
        ) == (name, "IHK Haus, Saal 2", "Europe/Berlin", True, False, None)
        slots = event_service.list_slots(session, event=event)
        assert [s.starts_at.strftime("%H:%M") for s in slots] == ["08:00", "08:30", "09:30"]
        assert [t_.name for t_ in event_service.list_tables(session, event=event)] == [
            str(n) for n in range(1, 16)
        ]

    # --- register four organisations found by name, one attendee each
    _tab(page, t, "participants")
    for i, org in enumerate(ORGANISATIONS):
        page.get_by_label(t["org_name"]).fill(org)
        page.get_by_role("search").get_by_role("button", name=t["find"]).click()
        result = page.locator("ul.found li", has=page.get_by_role("heading", name=org))
        result.get_by_label(t["attendee"]).fill(f"Person {i + 1} {lang}")
        result.get_by_label(t["mail"]).fill(f"person{i + 1}-{lang}@journey.example")
        result.get_by_role("button", name=t["register"].format(name=org)).click()
        page.get_by_role("heading", name=org, level=3).wait_for()
    assert page.locator("article.participant").count() == 4
    # --- and 26 more from a participant list, as a chamber's registration export
    guests = _list_of_guests(live_server, lang, email, tmp_path)
    page.locator("#imp-file").set_input_files(str(guests))
    page.get_by_label(t["check_only"]).uncheck()
    page.get_by_role("button", name=t["import"], exact=True).click()
    page.locator("article.participant").nth(GUESTS + 3).wait_for()
    assert page.locator("article.participant").count() == 4 + GUESTS
    _check(page, lang, "participants", shots)
    with Session(live_server.engine) as session:
        registered = session.scalars(
            select(Organization.name)
            .join(Participant, Participant.organization_id == Organization.id)
            .where(Participant.event_id == event_id)
            .order_by(Participant.id)
        ).all()
        assert registered[:4] == list(ORGANISATIONS) and len(registered) == 4 + GUESTS
    asker, asked = _participants_ask(live_server, event_id)

    # --- requests and preferences; nobody but the accepted pair has a meeting yet
    _tab(page, t, "requests")
    assert page.get_by_role("heading", name=t["no_meeting"]).is_visible()
    # per organisation: sent, received, waiting for an answer, accepted
    first_org = page.locator("#perorg-h ~ table tbody tr").filter(
        has=page.get_by_role("rowheader", name=ORGANISATIONS[0], exact=True)
    )
    assert first_org.locator("td").all_inner_texts() == ["1", "0", "0", "1"]
    waiting = page.locator("#mailing").input_value().splitlines()
    assert waiting[:2] == [
        f"Person 3 {lang} <person3-{lang}@journey.example>",
        f"Person 4 {lang} <person4-{lang}@journey.example>",
    ]
    assert len(waiting) == 2 + GUESTS
    _check(page, lang)

    # --- compute in the background, watch it finish, publish
    _tab(page, t, "schedule")
    page.get_by_label(t["limit"]).fill("2")
    page.get_by_role("button", name=t["compute"]).click()
    page.locator("#run-status progress").wait_for()
    _check(page, lang)
    page.get_by_role("heading", name=t["report"]).wait_for(timeout=90_000)
    _check(page, lang, "schedule", shots)
    with Session(live_server.engine) as session:
        runs = session.scalars(select(ScheduleRun).where(ScheduleRun.event_id == event_id)).all()
        assert [(r.kind, r.state, r.problem) for r in runs] == [("schedule", "done", None)]
        row = session.scalars(select(EventSchedule).where(EventSchedule.event_id == event_id)).one()
        meetings = session.scalars(
            select(ScheduledMeeting).where(ScheduledMeeting.event_id == event_id)
        ).all()
        assert row.status == "draft"
        assert row.report["meetings"] == len(meetings)
        pairs = {(m.person_a_id, m.person_b_id): m for m in meetings}
        assert pairs[tuple(sorted((asker, asked)))].kind == "accepted_request"
    cells = page.locator("td.meeting")
    assert cells.count() == len(meetings)
    # lock the accepted request's meeting, then publish
    names = [f"Person 1 {lang}", f"Person 2 {lang}"]
    page.get_by_role("button", name=t["lock"].format(a=names[0], b=names[1])).click()
    page.get_by_role("button", name=t["unlock"].format(a=names[0], b=names[1])).wait_for()
    page.get_by_role("button", name=t["publish"]).click()
    page.get_by_role("status").filter(has_text=t["published"]).wait_for()
    with Session(live_server.engine) as session:
        locked = pairs[tuple(sorted((asker, asked)))]
        stored = session.get(ScheduledMeeting, locked.id)
        assert stored is not None and stored.locked is True
        row = session.scalars(select(EventSchedule).where(EventSchedule.event_id == event_id)).one()
        assert row.status == "published"

    # --- on the day: two people did not come; re-schedule from the second slot
    _tab(page, t, "day")
    for missing in (f"Person 3 {lang}", f"Gast 1 {lang}"):
        page.get_by_role("button", name=t["no_show"].format(name=missing)).click()
        page.locator("#person-" + str(_person_id(live_server, event_id, missing))).locator(
            ".badge"
        ).wait_for()
    page.get_by_label(t["from_slot"]).select_option(index=1)
    page.get_by_label(t["limit"]).fill("2")
    page.get_by_role("button", name=t["reschedule"], exact=True).click()
    page.get_by_role("heading", name=t["changed"]).wait_for(timeout=90_000)
    _check(page, lang, "day", shots)
    with Session(live_server.engine) as session:
        absent = _person_id(live_server, event_id, f"Person 3 {lang}")
        also_absent = _person_id(live_server, event_id, f"Gast 1 {lang}")
        for person_id in (absent, also_absent):
            person = session.get(EventPerson, person_id)
            assert person is not None and person.no_show is True
        runs = session.scalars(
            select(ScheduleRun).where(ScheduleRun.event_id == event_id).order_by(ScheduleRun.id)
        ).all()
        assert [(r.kind, r.state) for r in runs] == [("schedule", "done"), ("reschedule", "done")]
        later = [s.id for s in slots[1:]]
        theirs = session.scalar(
            select(func.count())
            .select_from(ScheduledMeeting)
            .where(
                ScheduledMeeting.event_id == event_id,
                ScheduledMeeting.slot_id.in_(later),
                ScheduledMeeting.person_a_id.in_((absent, also_absent))
                | ScheduledMeeting.person_b_id.in_((absent, also_absent)),
            )
        )
        assert theirs == 0
        changes = runs[1].result["changes"] if runs[1].result else {}
        # the locked meeting of the accepted request stays where it was
        assert session.get(ScheduledMeeting, locked.id) is not None
        before = {(m.person_a_id, m.person_b_id) for m in meetings}
        cancelled = {(c["a"], c["b"]) for c in changes["cancelled"]}
        assert cancelled <= before
        # minimal change: only the absent people's meetings are cancelled, and every later
        # meeting of people who came keeps its slot and table
        assert all(absent in pair or also_absent in pair for pair in cancelled)
        assert changes["moved"] == []
    assert page.locator("dl.figures dd").first.inner_text() == str(changes["kept"])

    # --- exports: every agenda, the table plan, one person's calendar
    _tab(page, t, "exports")
    _check(page, lang)
    with page.expect_download() as download:
        page.get_by_role("link", name=t["all_agendas"]).click()
    agendas = Path(download.value.path()).read_text(encoding="utf-8")
    assert agendas.count("<section") == 4 + GUESTS  # a section per person, in its language
    assert f'<html lang="{lang}">' in agendas  # the page itself in the organiser's language
    assert f"Person 1 {lang}" in agendas and name in agendas
    with page.expect_download() as download:
        page.get_by_role("link", name=t["table_plan"]).click()
    plan = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    with Session(live_server.engine) as session:
        count = session.scalar(
            select(func.count())
            .select_from(ScheduledMeeting)
            .where(ScheduledMeeting.event_id == event_id)
        )
    assert len(plan) == 1 + (count or 0)
    with page.expect_download() as download:
        page.get_by_role("link", name=t["ics"].format(name=f"Person 1 {lang}")).click()
    calendar = Path(download.value.path()).read_text(encoding="utf-8")
    assert calendar.startswith("BEGIN:VCALENDAR")
    assert calendar.count("BEGIN:VEVENT") == _meetings_of(live_server, event_id, asker)

    # --- after the event: the figures
    _tab(page, t, "figures")
    held = page.locator("dl.figures div", has_text=t["held"]).locator("dd")
    # a no-show's meetings count as missed, the earlier ones too (the mark is per person)
    missed = _meetings_of(live_server, event_id, absent, also_absent)
    assert held.inner_text() == str((count or 0) - missed)
    assert page.locator("figure.chart svg").count() == 5
    _check(page, lang, "figures", shots)
    assert csp_errors == []
    context.close()


def _person_id(server: LiveServer, event_id: int, name: str) -> int:
    with Session(server.engine) as session:
        return session.scalars(
            select(EventPerson.id)
            .join(Participant, EventPerson.participant_id == Participant.id)
            .where(Participant.event_id == event_id, EventPerson.name == name)
        ).one()


def _meetings_of(server: LiveServer, event_id: int, *person_ids: int) -> int:
    """The meetings in which any of `person_ids` takes part."""
    with Session(server.engine) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(ScheduledMeeting)
                .where(
                    ScheduledMeeting.event_id == event_id,
                    ScheduledMeeting.person_a_id.in_(person_ids)
                    | ScheduledMeeting.person_b_id.in_(person_ids),
                )
            )
            or 0
        )


# the participant list adds this many public demo organisations, one attendee each
GUESTS = 26


def _list_of_guests(server: LiveServer, lang: str, organiser: str, directory: Path) -> Path:
    """A participant list (CSV, `;` as German spreadsheets write it) of public demo
    organisations whose names the organiser may see (the disclosure policy decides) and that
    no other organisation bears, one attendee each ("Gast 1", "Gast 2", ...)."""
    with Session(server.engine) as session:
        user = auth_service.repository.get_user_by_email(session, organiser)
        public = session.scalars(
            select(Organization)
            .where(Organization.visibility == "public", Organization.name.not_in(ORGANISATIONS))
            .order_by(Organization.id)
        ).all()
        shown = organization_service.organization_summaries(
            session, user=user, organizations=list(public)
        )
        seen = Counter(o.name for o in public)
        names = [
            o.name
            for s, o in zip(shown, public, strict=True)
            if s.name == o.name and seen[o.name] == 1
        ][:GUESTS]
    assert len(names) == GUESTS
    path = directory / f"participants-{lang}.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["organisation", "name", "email"])
        for i, org in enumerate(names, start=1):
            writer.writerow([org, f"Gast {i} {lang}", f"gast{i}-{lang}@journey.example"])
    return path
