"""Agendas in the participant's language, with the partner's e-mail once a request between the
two was accepted (and only to whom contact_access shows it)."""

from __future__ import annotations

import csv
import io
from typing import Any

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.events.exports import AGENDA_CSV_HEADER_DE, TABLE_PLAN_HEADER_DE
from app.models import Organization
from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory
from tests.app.events import Scenario, add_wishes, build_event, ok

GERMAN_PROFILE = (
    "Wir sind ein Logistikunternehmen aus Wien und suchen Partner für die Entwicklung von "
    "neuen Lösungen in der Kontraktlogistik."
)


@pytest.fixture
def published(client: TestClient) -> Scenario:
    s = build_event(client)
    add_wishes(client, s)
    ok(client.post(s.url("/schedule"), json={"recommendations_per_participant": 0}))
    ok(client.post(s.url("/schedule/publish")))
    return s


def partners(agenda: dict[str, Any]) -> dict[int, str | None]:
    return {m["partner"]["person_id"]: m["partner"]["email"] for m in agenda["meetings"]}


def test_partner_email_only_after_an_accepted_request(
    client: TestClient,
    published: Scenario,
    make_account: AccountFactory,
    client_for: ClientFactory,
) -> None:
    s, p = published, published.people
    # a1 -> b1 accepted; a1 also meets d1 (would like), which nobody accepted
    assert partners(ok(client.get(s.url(f"/people/{p['a1']}/agenda.json")))) == {
        p["b1"]: "berta@beta.example",
        p["d1"]: None,
    }
    member_b = client_for(make_account(Role.member, s.orgs["B"]))
    assert partners(ok(member_b.get(s.url(f"/people/{p['b1']}/agenda.json")))) == {
        p["a1"]: "anna@alpha.example"
    }
    # d1's request to b1 is still pending: d1's agenda carries no e-mail at all
    member_d = client_for(make_account(Role.member, s.orgs["D"]))
    agenda = ok(member_d.get(s.url(f"/people/{p['d1']}/agenda.json")))
    assert set(partners(agenda).values()) == {None}
    assert len(agenda["meetings"]) == 3
    text = member_d.get(s.url(f"/people/{p['d1']}/agenda.csv")).text
    assert "@" not in text
    ics = member_b.get(s.url(f"/people/{p['b1']}/agenda.ics")).content
    [item] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert "E-mail: anna@alpha.example" in str(item["description"])
    assert str(item["contact"]) == "Anna Albers, anna@alpha.example"
    html = member_b.get(s.url(f"/people/{p['b1']}/agenda.html")).text
    assert '<a href="mailto:anna@alpha.example">anna@alpha.example</a>' in html
    # the table plan never carries an e-mail
    assert "@" not in client.get(s.url("/schedule/table-plan.csv")).text


def test_lang_and_accept_language_choose_german(client: TestClient, published: Scenario) -> None:
    s, p = published, published.people
    url = s.url(f"/people/{p['a1']}/agenda")
    agenda = ok(client.get(url + ".json", params={"lang": "de"}))
    assert agenda["lang"] == "de"
    assert {m["partner"]["name"]: m["kind_text"] for m in agenda["meetings"]} == {
        "Berta Braun": "angenommene Anfrage",
        "Dora Dietz": "Wunschtermin",
    }
    rows = list(csv.reader(io.StringIO(client.get(url + ".csv", params={"lang": "de"}).text)))
    assert rows[0] == list(AGENDA_CSV_HEADER_DE)
    assert sorted(r[7] for r in rows[1:]) == ["Wunschtermin", "angenommene Anfrage"]
    german = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    cal = icalendar.Calendar.from_ical(client.get(url + ".ics", headers=german).content)
    assert sorted(str(e["summary"]) for e in cal.walk("VEVENT")) == [
        "Gespräch mit Berta Braun (Beta Kunststofftechnik GmbH)",
        "Gespräch mit Dora Dietz (Delta Logistik GmbH)",
    ]
    assert all(str(e["location"]).startswith("IHK Stuttgart, Tisch ") for e in cal.walk("VEVENT"))
    page = client.get(url + ".html", headers=german).text
    assert '<html lang="de">' in page
    assert "<th>Gesprächspartner</th>" in page
    assert "Di. 10.03.2026" in page
    # an explicit lang wins over Accept-Language
    assert ok(client.get(url + ".json", params={"lang": "en"}, headers=german))["lang"] == "en"
    plan = client.get(s.url("/schedule/table-plan.csv"), headers=german).text
    assert plan.splitlines()[0] == ",".join(TABLE_PLAN_HEADER_DE)
    assert ',"nein"' in plan


def test_without_a_choice_the_organisation_language_counts(
    client: TestClient, published: Scenario, db_session: Session
) -> None:
    s, p = published, published.people
    org = db_session.get(Organization, s.orgs["D"])
    assert org is not None
    org.description = GERMAN_PROFILE
    db_session.flush()
    assert ok(client.get(s.url(f"/people/{p['d1']}/agenda.json")))["lang"] == "de"
    assert ok(client.get(s.url(f"/people/{p['a1']}/agenda.json")))["lang"] == "en"
    # the organiser's printout: each person's page in their language, the frame in English
    whole = client.get(s.url("/agenda.html")).text
    assert whole.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert whole.count('<section lang="de">') == 1
    assert whole.count("<section>") == 4
