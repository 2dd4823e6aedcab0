"""Sentences stored now and read later (a failed schedule run, a failed import) and the
engine's and parsers' sentences read in the page's language; the API keeps its English."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
import re
from html import unescape
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.events import reasons
from app.i18n import N_, Message
from app.imports.parsing import ImportFileError, RowError, parse_file
from app.models import Organization
from app.models.schedule_run import ScheduleRun
from app.models.user import Role
from app.models.web_import import WebImport
from app.web.curator_imports import ImportJobs
from app.web.i18n import Formatter
from app.web.messages import translate
from matching.scheduling import InvalidInstance
from tests.app.conftest import AccountFactory
from tests.web.pages import ENGLISH, GERMAN, alerts, csrf_token, page_client

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- a message as stored


def test_a_message_with_a_message_among_its_values_survives_json() -> None:
    message = Message(
        N_("The event cannot be scheduled as it stands: %(reason)s"),
        reason=Message(N_("pair %(pair)s locked twice"), pair=(3, 4)),
    )
    dumped = message.dump()
    assert dumped == {
        "template": "The event cannot be scheduled as it stands: %(reason)s",
        # a value JSON has no type for is kept as its text
        "values": {
            "reason": {"template": "pair %(pair)s locked twice", "values": {"pair": "(3, 4)"}}
        },
    }
    loaded = Message.load(dumped)
    assert (
        str(loaded)
        == str(message)
        == ("The event cannot be scheduled as it stands: pair (3, 4) locked twice")
    )
    assert translate(loaded, Formatter("de")) == (
        "Für die Veranstaltung lässt sich so, wie sie ist, kein Terminplan berechnen: "
        "das Paar (3, 4) ist zweimal festgehalten"
    )


# ---------------------------------------------------------------- the engine's reasons


def _engine_sentences() -> list[str]:
    """Every sentence `matching.scheduling` raises InvalidInstance with, its values filled with
    7 (read from the engine's source, so a new sentence fails the test below)."""
    sentences = []
    for path in sorted((ROOT / "matching" / "scheduling").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "InvalidInstance"
                and node.args
            ):
                continue
            argument = node.args[0]
            if isinstance(argument, ast.Constant):
                sentences.append(str(argument.value))
            elif isinstance(argument, ast.JoinedStr):
                sentences.append(
                    "".join(
                        str(part.value) if isinstance(part, ast.Constant) else "7"
                        for part in argument.values
                    )
                )
    return sentences


def test_every_reason_of_the_scheduling_engine_reads_in_german() -> None:
    sentences = _engine_sentences()
    assert len(sentences) == 13
    german = Formatter("de")
    for sentence in sentences:
        message = reasons.reason(InvalidInstance(sentence))
        assert isinstance(message, Message), sentence
        # the API's text is exactly the engine's
        assert str(message) == sentence
        assert translate(message, german) != sentence
    assert translate(reasons.reason(InvalidInstance("person 7 registered twice")), german) == (
        "Person 7 ist doppelt angemeldet"
    )


def test_a_sentence_the_engine_words_anew_stays_as_it_is() -> None:
    assert reasons.reason(InvalidInstance("something new")) == "something new"


# ---------------------------------------------------------------- a failed run, read later


def _failed_run(session: Session, event_id: int, problem: Message | str) -> int:
    run = ScheduleRun(
        event_id=event_id,
        kind="schedule",
        state="failed",
        phase="failed",
        time_limit=5.0,
        options={"time_limit": 5.0},
        problem=str(problem),
        problem_message=problem.dump() if isinstance(problem, Message) else None,
        finished_at=dt.datetime(2031, 5, 1, 9, 0, tzinfo=dt.UTC),
    )
    session.add(run)
    session.commit()
    return run.id


def test_a_failed_run_reads_in_the_language_of_whoever_opens_it(
    app: FastAPI, db_session: Session, make_account: AccountFactory, event_id: int
) -> None:
    engine = Conflict(
        N_("The event cannot be scheduled as it stands: %(reason)s"),
        values={"reason": reasons.reason(InvalidInstance("table 4 locked twice at slot 9"))},
    )
    with_values = _failed_run(db_session, event_id, engine.message)
    # runs stored before the template was kept: their English text, translated when it is a
    # fixed sentence of the catalogue, as it is otherwise
    fixed = _failed_run(db_session, event_id, "The event has no slots; generate them first.")
    filled = _failed_run(db_session, event_id, "Run 12 is done.")
    stored = db_session.get(ScheduleRun, with_values)
    assert stored is not None
    assert stored.problem == (
        "The event cannot be scheduled as it stands: table 4 locked twice at slot 9"
    )
    organizer = make_account(Role.organizer)
    with page_client(app, organizer) as client:

        def alerts_on(run_id: int, headers: dict[str, str]) -> list[str]:
            page = client.get(f"/events/{event_id}/runs/{run_id}", headers=headers)
            assert page.status_code == 200
            return alerts(page.text)

        assert alerts_on(with_values, GERMAN) == [
            "Nicht gespeichert: Für die Veranstaltung lässt sich so, wie sie ist, kein "
            "Terminplan berechnen: Tisch 4 ist zum Termin 9 zweimal festgehalten"
        ]
        assert alerts_on(with_values, ENGLISH) == [
            "Not stored: The event cannot be scheduled as it stands: table 4 locked twice at slot 9"
        ]
        assert alerts_on(fixed, GERMAN) == [
            "Nicht gespeichert: Die Veranstaltung hat keine Termine; erzeugen Sie zuerst welche."
        ]
        assert alerts_on(filled, GERMAN) == ["Nicht gespeichert: Run 12 is done."]


# ---------------------------------------------------------------- a failed import, read later


def test_a_failed_import_stores_its_reason_as_text_and_as_template(
    db_session: Session, make_account: AccountFactory
) -> None:
    curator = make_account(Role.curator)
    jobs = ImportJobs(background=False, write_session=lambda: db_session, read_session=None)
    upload = jobs.keep_upload(
        db_session,
        owner_id=curator.user.id,
        filename="firmen.json",
        content_type="application/json",
        data=b'{"firmen": []}',
        valid_rows=1,
    )
    db_session.commit()
    job = jobs.start(db_session, upload.id, curator.user.id, partial=False, encoder=None)
    assert job is not None
    row = db_session.get(WebImport, upload.id, populate_existing=True)
    assert row is not None
    assert (row.state, row.message) == (
        "failed",
        "the JSON file holds an object, not an array; an object is accepted only when it has "
        'an "items" or "organizations" array of organisations (its keys: firmen)',
    )
    assert row.failure_message == {
        "template": "the JSON file holds an object, not an array; an object is accepted only "
        'when it has an "items" or "organizations" array of organisations (its keys: %(keys)s)',
        "values": {"keys": "firmen"},
    }


def _failed_import(session: Session, owner_id: int, job_id: str, reason: Message | str) -> None:
    session.add(
        WebImport(
            id=job_id,
            owner_id=owner_id,
            valid_rows=2,
            state="failed",
            done=2,
            message=str(reason),
            failure_message=reason.dump() if isinstance(reason, Message) else None,
        )
    )
    session.commit()


def test_a_failed_import_reads_in_the_language_of_whoever_opens_it(
    app: FastAPI, db_session: Session, make_account: AccountFactory
) -> None:
    curator = make_account(Role.curator)
    with pytest.raises(ImportFileError) as refused:
        parse_file(b'{"firmen": []}', filename="firmen.json")
    _failed_import(db_session, curator.user.id, "with-values", refused.value.message)
    _failed_import(db_session, curator.user.id, "fixed", "the file is empty")
    app.state.curator_imports = ImportJobs(
        background=False, write_session=lambda: db_session, read_session=None
    )
    with page_client(app, curator) as client:

        def alerts_on(job_id: str, headers: dict[str, str]) -> list[str]:
            page = client.get(f"/curator/import/jobs/{job_id}", headers=headers)
            assert page.status_code == 200
            return alerts(page.text)

        assert alerts_on("with-values", GERMAN) == [
            "Der Import ist fehlgeschlagen; nichts wurde gespeichert: die JSON-Datei enthält ein "
            'Objekt, keine Liste; ein Objekt wird nur angenommen, wenn es eine Liste "items" oder '
            '"organizations" von Unternehmen enthält (seine Schlüssel: firmen)'
        ]
        assert alerts_on("with-values", ENGLISH) == [
            "The import failed; nothing was written: the JSON file holds an object, not an "
            'array; an object is accepted only when it has an "items" or "organizations" array '
            "of organisations (its keys: firmen)"
        ]
        assert alerts_on("fixed", GERMAN) == [
            "Der Import ist fehlgeschlagen; nichts wurde gespeichert: die Datei ist leer"
        ]
        assert alerts_on("fixed", ENGLISH) == [
            "The import failed; nothing was written: the file is empty"
        ]


# ---------------------------------------------------------------- the parsers' sentences


def test_a_file_error_with_values_reads_in_german_on_the_page_and_in_english_in_the_api(
    app: FastAPI, make_account: AccountFactory
) -> None:
    curator = make_account(Role.curator)
    body = b'{"firmen": [], "stand": 1}'
    with page_client(app, curator) as client:
        token = csrf_token(client, "/curator/import")

        def page(headers: dict[str, str]) -> list[str]:
            answer = client.post(
                "/curator/import",
                data={"csrf_token": token},
                files={"file": ("firmen.json", body, "application/json")},
                headers=headers,
            )
            assert answer.status_code == 422
            return alerts(answer.text)

        german, english = page(GERMAN), page(ENGLISH)
        api = client.post(
            "/api/v1/organizations/import",
            content=body,
            headers={
                **curator.headers,
                "content-type": "application/json",
                "accept-language": "de",
            },
        )
    english_reason = (
        "the JSON file holds an object, not an array; an object is accepted only when it has an "
        '"items" or "organizations" array of organisations (its keys: firmen, stand)'
    )
    assert german == [
        "Die Datei kann nicht gelesen werden: die JSON-Datei enthält ein Objekt, keine Liste; "
        'ein Objekt wird nur angenommen, wenn es eine Liste "items" oder "organizations" von '
        "Unternehmen enthält (seine Schlüssel: firmen, stand)"
    ]
    assert english == [f"The file cannot be read: {english_reason}"]
    assert api.status_code == 400
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json() == {
        "type": "about:blank",
        "title": "Bad request",
        "status": 400,
        "detail": f"The file cannot be imported: {english_reason}",
        "errors": [{"field": "file", "message": english_reason}],
    }


# ---------------------------------------------------------------- plain strings of the API


def test_an_organisation_that_is_not_there_is_named_in_the_pages_language(
    app: FastAPI, db_session: Session, make_account: AccountFactory
) -> None:
    own = Organization(name="Eigene GmbH", country="DE", cooperation_interests=[], competences=[])
    db_session.add(own)
    db_session.commit()
    member = make_account(Role.member, own.id)
    with page_client(app, member) as client:
        german = client.get("/requests/new?to=987654", headers=GERMAN)
        english = client.get("/requests/new?to=987654", headers=ENGLISH)
        api = client.get(
            "/api/v1/organizations/987654/members",
            headers={**member.headers, "accept-language": "de"},
        )
    assert (german.status_code, english.status_code, api.status_code) == (404, 404, 404)
    assert alerts(german.text) == ["Kein Unternehmen mit der ID 987654."]
    assert alerts(english.text) == ["No organisation with id 987654."]
    assert api.json()["detail"] == "No organisation with id 987654."


def test_a_row_the_parser_rejects_reads_in_the_pages_language_and_in_english_in_the_api(
    app: FastAPI, make_account: AccountFactory
) -> None:
    curator = make_account(Role.curator)
    body = b"external_id,name\nA-1,Alpha GmbH\nA-2,Beta GmbH,zu viel\n"
    with page_client(app, curator) as client:
        token = csrf_token(client, "/curator/import")

        def reasons_on_page(headers: dict[str, str]) -> list[str]:
            answer = client.post(
                "/curator/import",
                data={"csrf_token": token},
                files={"file": ("firmen.csv", body, "text/csv")},
                headers=headers,
            )
            assert answer.status_code == 200
            found = re.findall(
                r"<tr><td>3</td><td>A-2</td><td></td><td>([^<]*)</td></tr>", answer.text
            )
            return [unescape(reason) for reason in found]

        german, english = reasons_on_page(GERMAN), reasons_on_page(ENGLISH)
        api = client.post(
            "/api/v1/organizations/import",
            params={"dry_run": "true"},
            content=body,
            headers={**curator.headers, "content-type": "text/csv", "accept-language": "de"},
        )
    english_reason = (
        "line 3 has 3 cells but the header has 2 columns; is there a stray ',' or an unquoted "
        "delimiter inside a value?"
    )
    assert german == [
        "Zeile 3 hat 3 Zellen, die Kopfzeile aber 2 Spalten; steht irgendwo ein überzähliges "
        "',' oder ein Trennzeichen ohne Anführungszeichen in einem Wert?"
    ]
    assert english == [english_reason]
    # an atomic import with a rejected row is refused; the rows' errors are the problem's
    assert api.status_code == 422
    assert api.json()["errors"] == [
        {"line": 3, "field": None, "reason": english_reason, "external_id": "A-2"}
    ]


def test_a_row_reason_survives_the_stored_report() -> None:
    parsed = parse_file(b'[{"external_id": "A-1", "name": "Alpha GmbH"}, 7]', filename="f.json")
    (error,) = parsed.errors
    stored = json.loads(json.dumps(dataclasses.asdict(error)))
    again = RowError(**stored)
    assert again == error
    assert again.reason == "element 2 of the array is a number, not an organisation object {...}"
    assert translate(again.message, Formatter("de")) == (
        "Element 2 der Liste ist eine Zahl, kein Unternehmensobjekt {...}"
    )
    # a report stored before templates were kept: its text as it is
    old = RowError(**{k: v for k, v in stored.items() if k not in ("template", "values")})
    assert old.message == old.reason
