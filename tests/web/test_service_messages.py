"""A service's error reads in the page's language; the API keeps its English problem detail."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from app.errors import Conflict, Invalid
from app.i18n import N_, Message
from app.models import Organization
from app.models.cooperation import CooperationRequest
from app.models.user import Role
from app.web.i18n import Formatter
from app.web.messages import page_field_messages, page_message, translate
from tests.app.conftest import Account, AccountFactory
from tests.web.pages import ENGLISH, GERMAN, alerts, csrf_token, page_client


def _organization(session: Session, name: str) -> int:
    org = Organization(name=name, country="DE", cooperation_interests=[], competences=[])
    session.add(org)
    session.flush()
    return org.id


@pytest.fixture
def declined(db_session: Session, make_account: AccountFactory) -> tuple[int, Account]:
    """A declined cooperation request and a member of the organisation it went to."""
    sender = _organization(db_session, "Absender Mess GmbH")
    recipient = _organization(db_session, "Empfänger Funk GmbH")
    request = CooperationRequest(
        from_organization_id=sender,
        to_organization_id=recipient,
        type="product_development",
        status="declined",
        created_at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC),
    )
    db_session.add(request)
    db_session.commit()
    return request.id, make_account(Role.member, recipient)


def test_a_conflict_on_a_cooperation_request_reads_in_the_pages_language(
    app: FastAPI, declined: tuple[int, Account]
) -> None:
    request_id, member = declined
    with page_client(app, member) as client:
        token = csrf_token(client)
        url = f"/requests/{request_id}/accept"
        german = client.post(url, data={"csrf_token": token}, headers=GERMAN)
        english = client.post(url, data={"csrf_token": token}, headers=ENGLISH)
        api = client.post(
            f"/api/v1/cooperation-requests/{request_id}/accept", headers=member.headers
        )
    assert (german.status_code, english.status_code, api.status_code) == (409, 409, 409)
    assert alerts(german.text) == [
        f"Die Kooperationsanfrage {request_id} ist abgelehnt; nur eine offene Anfrage kann "
        "angenommen werden."
    ]
    assert alerts(english.text) == [
        f"Cooperation request {request_id} is declined; only a pending request can be accepted."
    ]
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": (
            f"Cooperation request {request_id} is declined; only a pending request can be accepted."
        ),
        "current_status": "declined",
    }


def test_an_event_that_does_not_exist_is_named_in_the_pages_language(
    app: FastAPI, make_account: AccountFactory
) -> None:
    organizer = make_account(Role.organizer)
    with page_client(app, organizer) as client:
        german = client.get("/events/987654", headers=GERMAN)
        english = client.get("/events/987654", headers=ENGLISH)
        api = client.get("/api/v1/events/987654", headers=organizer.headers)
    assert (german.status_code, english.status_code, api.status_code) == (404, 404, 404)
    assert "<h1>Nicht gefunden</h1>" in german.text
    assert alerts(german.text) == ["Keine Veranstaltung mit der ID 987654."]
    assert alerts(english.text) == ["No event with id 987654."]
    assert api.json()["detail"] == "No event with id 987654."


def test_a_participant_list_with_a_file_problem_is_refused_in_the_pages_language(
    app: FastAPI, make_account: AccountFactory, event_id: int
) -> None:
    organizer = make_account(Role.organizer)
    url = f"/events/{event_id}/participants/import"
    no_email = b"Organisation;Name\r\nNiemand GmbH;Nina\r\n"
    unknown = b"Organisation;Name;E-Mail\r\nNiemand GmbH;Nina;nina@niemand.example\r\n"
    with page_client(app, organizer) as client:
        token = csrf_token(client)

        def send(body: bytes, headers: dict[str, str]) -> tuple[int, list[str], list[str]]:
            answer = client.post(
                url,
                data={"csrf_token": token},
                files={"file": ("liste.csv", body, "text/csv")},
                headers=headers,
            )
            summary = re.findall(r"<li>file: ([^<]*)</li>", answer.text)
            reasons = re.findall(
                r"<tr><td>\d+</td><td>[^<]*</td><td>([^<]*)</td></tr>", answer.text
            )
            return answer.status_code, [unescape(s) for s in summary], reasons

        assert send(no_email, GERMAN) == (422, ["Es fehlen Spalten: email."], [])
        assert send(no_email, ENGLISH) == (422, ["Columns missing: email."], [])
        assert send(unknown, GERMAN) == (422, [], ["kein Unternehmen mit diesem Namen"])
        assert send(unknown, ENGLISH) == (422, [], ["no organisation with this name"])


def test_a_refused_form_field_and_sentence_read_in_the_pages_language(
    app: FastAPI, make_account: AccountFactory, event_id: int
) -> None:
    organizer = make_account(Role.organizer)
    slots = {"date": "2031-05-09", "start": "09:00", "end": "12:00", "slot_minutes": "30"}
    with page_client(app, organizer) as client:
        token = csrf_token(client)
        german = client.post(
            f"/events/{event_id}/slots", data={"csrf_token": token, **slots}, headers=GERMAN
        )
        english = client.post(
            f"/events/{event_id}/slots", data={"csrf_token": token, **slots}, headers=ENGLISH
        )
        compute = client.post(
            f"/events/{event_id}/schedule/compute",
            data={"csrf_token": token, "time_limit": "1"},
            headers=GERMAN,
        )
        api = client.post(
            f"/api/v1/events/{event_id}/slots",
            json={"date": "2031-05-09", "start": "09:00", "end": "12:00", "slot_minutes": 30},
            headers=organizer.headers,
        )
    assert (german.status_code, english.status_code) == (422, 422)
    shown = [re.findall(r"<li>date: ([^<]*)</li>", page.text) for page in (german, english)]
    assert [[unescape(s) for s in found] for found in shown] == [
        ["kein Tag der Veranstaltung"],
        ["not one of the event's dates"],
    ]
    assert compute.status_code == 409
    assert "Die Veranstaltung hat keine Termine; erzeugen Sie zuerst welche." in compute.text
    assert api.status_code == 422
    assert api.json()["detail"] == "date: not one of the event's dates"
    assert api.json()["errors"] == [{"field": "date", "message": "not one of the event's dates"}]


def test_an_error_keeps_english_for_the_api_and_its_template_for_the_pages() -> None:
    error = Conflict(
        N_("Request %(id)s is %(status)s; it cannot be %(target)s now."),
        values={"id": 7, "status": Message(N_("accepted")), "target": Message(N_("declined"))},
        errors=[
            {"field": "slot", "message": Message(N_("no slot %(id)s in this event"), id=12)},
            {"field": "email", "message": N_("already registered")},
        ],
    )
    assert error.detail == "Request 7 is accepted; it cannot be declined now."
    assert error.errors == [
        {"field": "slot", "message": "no slot 12 in this event"},
        {"field": "email", "message": "already registered"},
    ]
    german, english = Formatter("de"), Formatter("en")
    assert page_message(error, german) == (
        "Die Anfrage 7 ist angenommen; sie kann jetzt nicht abgelehnt werden."
    )
    assert page_message(error, english) == error.detail
    assert page_field_messages(error, german) == {
        "slot": "kein Termin 12 in dieser Veranstaltung",
        "email": "bereits angemeldet",
    }
    # a name is user data: inserted as it is, never looked up in the catalogue
    taken = Conflict(N_("An account for %(email)s exists already."), values={"email": "Sign in"})
    assert page_message(taken, german) == "Für Sign in gibt es bereits ein Konto."
    assert page_field_messages(Invalid(N_("Give either count or names.")), german) == {
        "form": "Geben Sie entweder eine Anzahl oder Namen an."
    }
    # a text stored in English (a schedule run's or an import job's problem) is looked up as
    # it is: a fixed sentence translates, one with its values filled in stays English
    assert translate("internal error; it has been logged", german) == (
        "interner Fehler; er wurde protokolliert"
    )
    assert translate("Run 5 is running.", german) == "Run 5 is running."
    assert translate(None, german) == ""


def test_an_import_file_hub_staff_cannot_read_is_refused_in_the_pages_language(
    app: FastAPI, make_account: AccountFactory
) -> None:
    curator = make_account(Role.curator)
    no_name = b"external_id,country\nWEB-9,DE\n"
    with page_client(app, curator) as client:
        token = csrf_token(client)

        def check(headers: dict[str, str]) -> tuple[int, list[str]]:
            answer = client.post(
                "/curator/import",
                data={"csrf_token": token},
                files={"file": ("firms.csv", no_name, "text/csv")},
                headers=headers,
            )
            alerts = re.findall(r'<p class="error" role="alert">([^<]*)</p>', answer.text)
            return answer.status_code, [" ".join(unescape(a).split()) for a in alerts]

        german, english = check(GERMAN), check(ENGLISH)
        api = client.post(
            "/api/v1/organizations/import",
            content=no_name,
            headers={**curator.headers, "content-type": "text/csv"},
        )
    assert german == (
        422,
        [
            "Die Datei kann nicht gelesen werden: die Kopfzeile (Zeile 1) hat keine Spalte name; "
            "jeder Datensatz braucht external_id und name"
        ],
    )
    assert english == (
        422,
        [
            "The file cannot be read: the header row (line 1) has no name column; every record "
            "needs external_id and name"
        ],
    )
    assert api.status_code == 400
    assert api.json()["detail"] == (
        "The file cannot be imported: the header row (line 1) has no name column; every record "
        "needs external_id and name"
    )
