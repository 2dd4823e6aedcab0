"""Agendas as iCalendar, CSV, JSON and HTML; the organiser's table plan."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from typing import Any

import icalendar
import pytest
from fastapi.testclient import TestClient

from app.events.exports import AGENDA_CSV_HEADER, KIND_TEXT, TABLE_PLAN_HEADER
from tests.app.events import PEOPLE, Scenario, add_wishes, build_event, ok

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def published(client: TestClient) -> tuple[Scenario, dict[str, Any]]:
    s = build_event(client)
    add_wishes(client, s)
    ok(client.post(s.url("/schedule"), json={"recommendations_per_participant": 0}))
    return s, ok(client.post(s.url("/schedule/publish")))


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def meetings_of(schedule: dict[str, Any], person: int) -> list[dict[str, Any]]:
    mine = [m for m in schedule["meetings"] if person in (m["person_a_id"], m["person_b_id"])]
    return sorted(mine, key=lambda m: m["starts_at"])


def test_ics_has_one_vevent_per_meeting_at_the_right_time(
    client: TestClient, published: tuple[Scenario, dict[str, Any]]
) -> None:
    s, schedule = published
    a1 = s.people["a1"]
    answer = client.get(s.url(f"/people/{a1}/agenda.ics"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(answer.content)
    events = list(cal.walk("VEVENT"))
    expected = meetings_of(schedule, a1)
    assert len(expected) == 2  # with b1 (accepted request) and d1 (would like)
    assert len(events) == 2
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    events.sort(key=lambda e: e.decoded("dtstart"))
    names = {s.people["b1"]: "Berta Braun", s.people["d1"]: "Dora Dietz"}
    for event, meeting in zip(events, expected, strict=True):
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert start == utc(meeting["starts_at"])
        assert end == utc(meeting["ends_at"])
        assert start.tzinfo is not None and start.utcoffset() == dt.timedelta(hours=1)
        assert str(event["dtstart"].params["TZID"]) == "Europe/Berlin"
        partner = meeting["person_b_id"] if meeting["person_a_id"] == a1 else meeting["person_a_id"]
        assert names[partner] in str(event["summary"])
        assert str(event["location"]) == f"IHK Stuttgart, Table {meeting['table']}"
        lo, hi = sorted((a1, partner))
        assert str(event["uid"]) == f"koopmatch-event-{s.event_id}-meeting-{lo}-{hi}@koopmatch"

    # the partner's calendar carries the same UID for the shared meeting
    b1_cal = icalendar.Calendar.from_ical(
        client.get(s.url(f"/people/{s.people['b1']}/agenda.ics")).content
    )
    b1_uids = {str(e["uid"]) for e in b1_cal.walk("VEVENT")}
    assert {str(e["uid"]) for e in events} & b1_uids == {
        f"koopmatch-event-{s.event_id}-meeting-{min(a1, s.people['b1'])}-{max(a1, s.people['b1'])}@koopmatch"
    }


def test_agenda_csv_and_json(
    client: TestClient, published: tuple[Scenario, dict[str, Any]]
) -> None:
    s, schedule = published
    d1 = s.people["d1"]
    answer = client.get(s.url(f"/people/{d1}/agenda.csv"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(answer.text)))
    partners = {
        s.people["a1"]: ("Anna Albers", "CEO", "Alpha <Sensorik> & Co"),
        s.people["a2"]: (PEOPLE["A"][1]["name"], "", "Alpha <Sensorik> & Co"),
        s.people["c1"]: ("Carl Clausen", "", "Gamma Spritzguss AG"),
    }
    expected = [list(AGENDA_CSV_HEADER)]
    for m in meetings_of(schedule, d1):
        partner = m["person_b_id"] if m["person_a_id"] == d1 else m["person_a_id"]
        name, role, org = partners[partner]
        expected.append(
            [
                utc(m["starts_at"]).astimezone(BERLIN).isoformat(),
                utc(m["ends_at"]).astimezone(BERLIN).isoformat(),
                m["table"],
                name,
                role,
                org,
                m["kind"],
                KIND_TEXT["en"][m["kind"]],
                "",  # no accepted request between d1 and a partner: no e-mail
            ]
        )
    assert rows == expected
    assert rows[0] == [
        "start",
        "end",
        "table",
        "partner",
        "partner_role",
        "partner_organisation",
        "kind",
        "why",
        "partner_email",
    ]
    assert len(rows) == 4

    agenda = ok(client.get(s.url(f"/people/{d1}/agenda.json")))
    assert (agenda["person_id"], agenda["person"], agenda["organization"]) == (
        d1,
        "Dora Dietz",
        "Delta Logistik GmbH",
    )
    assert [m["starts_at"] for m in agenda["meetings"]] == [r[0] for r in expected[1:]]
    assert [m["partner"]["name"] for m in agenda["meetings"]] == [r[3] for r in expected[1:]]


def test_table_plan_csv(client: TestClient, published: tuple[Scenario, dict[str, Any]]) -> None:
    s, schedule = published
    answer = client.get(s.url("/schedule/table-plan.csv"))
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == [
        "slot",
        "start",
        "end",
        "table",
        "person_a",
        "organisation_a",
        "person_b",
        "organisation_b",
        "kind",
        "locked",
    ]
    assert rows[0] == list(TABLE_PLAN_HEADER)
    names = {
        s.people["a1"]: ("Anna Albers", "Alpha <Sensorik> & Co"),
        s.people["a2"]: (PEOPLE["A"][1]["name"], "Alpha <Sensorik> & Co"),
    }
    names[s.people["b1"]] = ("Berta Braun", "Beta Kunststofftechnik GmbH")
    names[s.people["c1"]] = ("Carl Clausen", "Gamma Spritzguss AG")
    names[s.people["d1"]] = ("Dora Dietz", "Delta Logistik GmbH")
    expected = []
    for m in schedule["meetings"]:  # already by slot, then table
        a, b = names[m["person_a_id"]], names[m["person_b_id"]]
        expected.append(
            [
                str(s.slots.index(m["slot_id"]) + 1),
                utc(m["starts_at"]).astimezone(BERLIN).isoformat(),
                utc(m["ends_at"]).astimezone(BERLIN).isoformat(),
                m["table"],
                a[0],
                a[1],
                b[0],
                b[1],
                m["kind"],
                "no",
            ]
        )
    assert rows[1:] == expected
    assert len(rows) == 5


def test_html_agenda_escapes_names(
    client: TestClient, published: tuple[Scenario, dict[str, Any]]
) -> None:
    s, schedule = published
    page = client.get(s.url(f"/people/{s.people['a2']}/agenda.html"))
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    text = page.text
    assert "<script>" not in text
    assert "Arne &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in text
    assert "Alpha &lt;Sensorik&gt; &amp; Co" in text
    assert "Dora Dietz" in text
    whole = client.get(s.url("/agenda.html")).text
    assert whole.count("<section>") == 5
    assert "<script>" not in whole
    assert "<td><2></td>" not in whole
    uses_second = any(m["table"] == "<2>" for m in schedule["meetings"])
    assert ("<td>&lt;2&gt;</td>" in whole) == uses_second


def test_participant_exports_wait_for_publishing(client: TestClient) -> None:
    s = build_event(client)
    add_wishes(client, s)
    a1 = s.people["a1"]
    assert client.get(s.url(f"/people/{a1}/agenda.ics")).status_code == 404  # no schedule
    ok(client.post(s.url("/schedule"), json={"recommendations_per_participant": 0}))
    for suffix in ("ics", "csv", "json", "html"):
        answer = client.get(s.url(f"/people/{a1}/agenda.{suffix}"))
        assert answer.status_code == 409, suffix
        assert answer.headers["content-type"] == "application/problem+json"
    # the organiser sees the draft
    assert client.get(s.url("/schedule/table-plan.csv")).status_code == 200
    assert client.get(s.url("/people/999999/agenda.ics")).status_code == 404
