"""Two solves of one event at the same time: one schedule is stored, the other gets 409.

The race is played out without threads: the first solve, while its solver runs, lets the
second one run to its end. Once with two real sessions on a database of their own (what the
database does: PostgreSQL's row lock refuses the second at once; SQLite lets it finish and the
first one's writes come too late), once through the API with the second solve's meetings
written under the first one's feet (the unique constraint on slot and table).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.db import make_engine
from app.errors import Conflict
from app.events import service
from app.events.schemas import (
    EventCreate,
    ParticipantCreate,
    RequestCreate,
    ScheduleRequest,
    SlotGeneration,
    TablesSet,
)
from app.matches.index import IndexCache
from app.models import Organization
from app.models.event import Event, EventSchedule, ScheduledMeeting
from matching.scheduling import Instance, Schedule
from tests.app.events import Scenario, add_wishes, build_event, ok
from tests.conftest import migrated_url

NO_ENGINE = ScheduleRequest(recommendations_per_participant=0, time_limit=5)


@pytest.fixture
def own_engine(engine: Engine, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated database of the test's backend, for sessions that really commit."""
    backend = engine.dialect.name
    url = migrated_url(backend, request, tmp_path)
    mine = make_engine(url)
    yield mine
    mine.dispose()
    if backend == "postgresql":
        server = make_engine(
            request.getfixturevalue("_pg_server_url"), isolation_level="AUTOCOMMIT"
        )
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{mine.url.database}"'))
        server.dispose()


def _seed(engine: Engine) -> int:
    """A small committed event: three organisations, one accepted request; its id."""
    with Session(engine) as session:
        event = service.create_event(
            session,
            data=EventCreate.model_validate(
                {"name": "Wettlauf", "timezone": "Europe/Berlin", "dates": ["2026-03-10"]}
            ),
        )
        service.generate_slots(
            session,
            event=event,
            data=SlotGeneration.model_validate(
                {"date": "2026-03-10", "start": "09:00", "end": "10:00", "slot_minutes": 20}
            ),
        )
        service.set_tables(session, event=event, data=TablesSet(count=2))
        people = []
        for name in ("Eins", "Zwei", "Drei"):
            org = Organization(name=f"{name} GmbH", cooperation_interests=[])
            session.add(org)
            session.flush()
            body = {
                "organization_id": org.id,
                "people": [{"name": name, "email": f"{name.lower()}@race.example"}],
            }
            participant = service.register_participant(
                session, event=event, data=ParticipantCreate.model_validate(body)
            )
            people.append(participant.people[0].id)
        request = service.create_request(
            session,
            event=event,
            data=RequestCreate(from_person_id=people[0], to_person_id=people[1]),
        )
        service.answer_request(session, request=request, action="accept")
        session.commit()
        return event.id


def _solve(session: Session, event_id: int) -> EventSchedule:
    event = service.get_event(session, event_id=event_id)
    return service.run_schedule(
        session, event=event, options=NO_ENGINE, cache=IndexCache(), encoder=None
    )


def test_the_second_of_two_simultaneous_solves_gets_409(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = _seed(own_engine)
    real_solve = service.solve
    outcome: dict[str, Any] = {}

    def solve_while_another_request_solves(instance: Instance) -> Schedule:
        monkeypatch.setattr(service, "solve", real_solve)
        with Session(own_engine) as second:
            try:
                _solve(second, event_id)
                second.commit()
                outcome["second"] = "stored"
            except Conflict as exc:
                second.rollback()
                outcome["second"] = exc
        return real_solve(instance)

    monkeypatch.setattr(service, "solve", solve_while_another_request_solves)
    with Session(own_engine) as first:
        try:
            _solve(first, event_id)
            first.commit()
            outcome["first"] = "stored"
        except Conflict as exc:
            first.rollback()
            outcome["first"] = exc

    # PostgreSQL refuses the second solve at the row lock; on SQLite the second one finishes
    # first, and the first one's writes fail: either way one schedule, one 409, no 500
    loser = "second" if own_engine.dialect.name == "postgresql" else "first"
    winner = "first" if loser == "second" else "second"
    assert outcome[winner] == "stored"
    conflict = outcome[loser]
    assert isinstance(conflict, Conflict)
    assert conflict.status == 409
    assert conflict.detail == (
        f"The schedule of event {event_id} is being changed by another request; "
        "load it again and retry."
    )
    with Session(own_engine) as check:
        schedules = check.scalar(
            select(func.count())
            .select_from(EventSchedule)
            .where(EventSchedule.event_id == event_id)
        )
        meetings = check.scalars(
            select(ScheduledMeeting.kind).where(ScheduledMeeting.event_id == event_id)
        ).all()
        assert schedules == 1
        assert meetings == ["accepted_request"]
        # the event stays usable: a later solve replaces the draft
        _solve(check, event_id)
        check.commit()
        assert check.scalar(select(func.count()).select_from(ScheduledMeeting)) == 1


def test_a_solve_that_loses_the_race_answers_409_problem_json(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, db_session: Session
) -> None:
    s: Scenario = build_event(client)
    add_wishes(client, s)
    real_solve = service.solve

    def solve_and_let_another_store_first(instance: Instance) -> Schedule:
        schedule = real_solve(instance)
        # another request's solve stored its meetings meanwhile, in the same slots and tables
        for m in schedule.meetings:
            db_session.add(
                ScheduledMeeting(
                    event_id=s.event_id,
                    slot_id=m.slot,
                    table_id=m.table,
                    person_a_id=m.a,
                    person_b_id=m.b,
                    kind="manual",
                    value=None,
                    locked=False,
                )
            )
        db_session.flush()
        return schedule

    monkeypatch.setattr(service, "solve", solve_and_let_another_store_first)
    answer = client.post(s.url("/schedule"), json={"recommendations_per_participant": 0})
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": f"The schedule of event {s.event_id} is being changed by another request; "
        "load it again and retry.",
    }
    # the request was rolled back as a whole
    assert client.get(s.url("/schedule")).status_code == 404
    assert db_session.scalar(select(func.count()).select_from(ScheduledMeeting)) == 0
    monkeypatch.setattr(service, "solve", real_solve)
    again = ok(client.post(s.url("/schedule"), json={"recommendations_per_participant": 0}))
    assert len(again["meetings"]) == 4
    assert db_session.get(Event, s.event_id) is not None


def test_a_registration_that_loses_the_race_answers_409(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    s: Scenario = build_event(client)
    # the check ran before the other request's registration of the same organisation landed
    monkeypatch.setattr(service.repo, "participant_of_organization", lambda *args: None)
    body = {"organization_id": s.orgs["B"], "people": [{"name": "B2", "email": "b2@b.example"}]}
    answer = client.post(s.url("/participants"), json=body)
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"] == [
        {"field": "organization_id", "message": "already registered"}
    ]
    listed = ok(client.get(s.url("/participants")))
    assert [p["id"] for p in listed] == [s.participants[k] for k in "ABCD"]
    assert [len(p["people"]) for p in listed] == [2, 1, 1, 1]
