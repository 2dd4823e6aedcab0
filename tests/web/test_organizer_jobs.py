"""Schedule runs in the background (app.events.jobs), on SQLite and PostgreSQL.

The runner opens its own sessions, as it does in the server, so these tests use a database of
their own (committed data, not the rolled-back test transaction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import WRITE_OPTION, make_engine
from app.errors import Conflict
from app.events import jobs
from app.events import service as event_service
from app.events.schemas import (
    EventCreate,
    ParticipantCreate,
    PersonIn,
    PersonPatch,
    RequestCreate,
    RescheduleRequest,
    ScheduleRequest,
    SlotGeneration,
    TablesSet,
)
from app.i18n import Message
from app.matches.index import IndexCache
from app.models import Organization
from app.models.base import utcnow
from app.models.event import EventSchedule, ScheduledMeeting
from app.models.schedule_run import ScheduleRun
from app.web.i18n import Formatter
from app.web.messages import translate
from matching.scheduling import Instance, InvalidInstance, Schedule, solve
from tests.conftest import BACKENDS, migrated_url


@dataclass
class World:
    engine: Engine
    reader: sessionmaker[Session]
    writer: sessionmaker[Session]


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    url = migrated_url(request.param, request, tmp_path_factory.mktemp(f"jobs-{request.param}"))
    engine = make_engine(url)
    yield World(
        engine,
        sessionmaker(bind=engine, expire_on_commit=False),
        sessionmaker(bind=engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False),
    )
    engine.dispose()


def _event(world: World, name: str) -> tuple[int, list[int], list[int]]:
    """An event of four organisations with one person each, three slots and two tables, and
    one accepted request (person 0 -> person 1). Returns (event, people, slots)."""
    with world.writer() as session, session.begin():
        event = event_service.create_event(
            session,
            data=EventCreate(
                name=name, timezone="Europe/Berlin", dates=[dt.date(2031, 3, 12)], min_meetings=2
            ),
        )
        event_service.generate_slots(
            session,
            event=event,
            data=SlotGeneration(
                date=dt.date(2031, 3, 12), start=dt.time(9), end=dt.time(10, 30), slot_minutes=30
            ),
        )
        event_service.set_tables(session, event=event, data=TablesSet(count=2))
        people = []
        for i in range(4):
            org = Organization(
                name=f"{name} Org {i}",
                visibility="public",
                country="DE",
                cooperation_interests=[],
                competences=[],
            )
            session.add(org)
            session.flush()
            participant = event_service.register_participant(
                session,
                event=event,
                data=ParticipantCreate(
                    organization_id=org.id,
                    people=[PersonIn(name=f"P{i}", email=f"p{i}@{name.lower()}.example")],
                ),
            )
            people.append(participant.people[0].id)
        asked = event_service.create_request(
            session,
            event=event,
            data=RequestCreate(from_person_id=people[0], to_person_id=people[1]),
        )
        event_service.answer_request(session, request=asked, action="accept")
        slots = [s.id for s in event_service.list_slots(session, event=event)]
        return event.id, people, slots


def _runner(world: World, solver: object = solve) -> jobs.ScheduleRunner:
    return jobs.ScheduleRunner(
        reader=world.reader,
        writer=world.writer,
        cache=IndexCache(),
        encoder=None,
        solver=solver,  # type: ignore[arg-type]
    )


def _start(world: World, event_id: int, kind: str = "schedule", **options: object) -> int:
    with world.writer() as session, session.begin():
        event = event_service.get_event(session, event_id=event_id)
        model = RescheduleRequest if kind == "reschedule" else ScheduleRequest
        run = jobs.start_run(
            session,
            event=event,
            kind=kind,
            options=model.model_validate({"time_limit": 1, **options}),
            user=None,
        )
        return run.id


def _run(world: World, run_id: int) -> ScheduleRun:
    with world.reader() as session:
        run = session.get(ScheduleRun, run_id)
        assert run is not None
        return run


def _meetings(world: World, event_id: int) -> list[tuple[int, int, int, int]]:
    with world.reader() as session:
        rows = session.scalars(
            select(ScheduledMeeting).where(ScheduledMeeting.event_id == event_id)
        ).all()
        return sorted((m.person_a_id, m.person_b_id, m.slot_id, m.table_id) for m in rows)


def test_a_run_computes_in_a_worker_thread_and_stores_the_schedule(world: World) -> None:
    event_id, people, _ = _event(world, "Alpha")
    run_id = _start(world, event_id)
    queued = _run(world, run_id)
    assert (queued.state, queued.phase, queued.time_limit) == ("queued", "queued", 1.0)
    assert jobs.progress(queued).fraction == 0.0
    runner = _runner(world)
    try:
        runner.start(run_id).result(timeout=60)
    finally:
        runner.shutdown()
    done = _run(world, run_id)
    assert (done.state, done.phase, done.problem) == ("done", "done", None)
    assert done.started_at is not None and done.finished_at is not None
    meetings = _meetings(world, event_id)
    assert done.result is not None
    assert done.result["report"]["meetings"] == len(meetings)
    # the first computation adds every meeting; nothing was there before
    changes = done.result["changes"]
    assert (changes["kept"], changes["moved"], changes["cancelled"]) == (0, [], [])
    assert len(changes["added"]) == len(meetings)
    assert (min(people[:2]), max(people[:2])) in {(a, b) for a, b, _, _ in meetings}
    with world.reader() as session:
        row = session.scalars(select(EventSchedule).where(EventSchedule.event_id == event_id)).one()
        assert row.status == "draft"
    assert jobs.progress(done) == jobs.Progress("done", "done", 1.0, 0.0, 1.0, None)


def test_one_run_per_event_at_a_time(world: World) -> None:
    event_id, _, _ = _event(world, "Beta")
    first = _start(world, event_id)
    with pytest.raises(Conflict, match="being computed"):
        _start(world, event_id)
    _runner(world).run(first)
    second = _start(world, event_id)
    assert second != first
    with world.writer() as session, session.begin():
        active = session.scalar(
            select(func.count())
            .select_from(ScheduleRun)
            .where(ScheduleRun.event_id == event_id, ScheduleRun.state.in_(jobs.ACTIVE))
        )
    assert active == 1


def test_a_change_during_the_solve_fails_the_run_and_stores_nothing(world: World) -> None:
    event_id, _, _ = _event(world, "Gamma")
    run_id = _start(world, event_id)

    def solve_while_someone_marks_a_pair(instance: Instance) -> Schedule:
        # a page request commits meanwhile: one organisation does not want to meet another
        with world.writer() as session, session.begin():
            event = event_service.get_event(session, event_id=event_id)
            first, _, third = event_service.list_participants(session, event=event)[:3]
            event_service.set_preference(
                session, event=event, participant=first, target_id=third.id, kind="not_interested"
            )
        return solve(instance)

    _runner(world, solve_while_someone_marks_a_pair).run(run_id)
    failed = _run(world, run_id)
    assert failed.state == "failed"
    assert failed.problem is not None
    assert failed.problem.startswith("The event changed while its schedule was computed")
    assert _meetings(world, event_id) == []
    with world.reader() as session:
        assert (
            session.scalar(select(EventSchedule).where(EventSchedule.event_id == event_id)) is None
        )


def test_an_unexpected_error_is_stored_as_the_runs_problem(world: World) -> None:
    event_id, _, _ = _event(world, "Delta")
    run_id = _start(world, event_id)

    def broken(instance: Instance) -> Schedule:
        raise RuntimeError("solver crashed")

    _runner(world, broken).run(run_id)
    failed = _run(world, run_id)
    assert (failed.state, failed.problem) == ("failed", "internal error; it has been logged")
    assert failed.problem_message == {
        "template": "internal error; it has been logged",
        "values": {},
    }
    assert _meetings(world, event_id) == []


def test_the_engines_refusal_is_stored_as_english_text_and_as_a_message(world: World) -> None:
    event_id, _, _ = _event(world, "Theta")
    run_id = _start(world, event_id)

    def refusing(instance: Instance) -> Schedule:
        raise InvalidInstance("pair (3, 4) locked twice")

    _runner(world, refusing).run(run_id)
    failed = _run(world, run_id)
    assert (failed.state, failed.problem) == (
        "failed",
        "The event cannot be scheduled as it stands: pair (3, 4) locked twice",
    )
    assert failed.problem_message == {
        "template": "The event cannot be scheduled as it stands: %(reason)s",
        "values": {
            "reason": {"template": "pair %(pair)s locked twice", "values": {"pair": "(3, 4)"}}
        },
    }
    problem = jobs.progress(failed).problem
    assert isinstance(problem, Message)
    assert translate(problem, Formatter("de")) == (
        "Für die Veranstaltung lässt sich so, wie sie ist, kein Terminplan berechnen: "
        "das Paar (3, 4) ist zweimal festgehalten"
    )


def test_a_reschedule_keeps_the_past_and_lists_what_changed(world: World) -> None:
    event_id, people, slots = _event(world, "Epsilon")
    runner = _runner(world)
    runner.run(_start(world, event_id))
    before = _meetings(world, event_id)
    absent = people[2]
    with world.writer() as session, session.begin():
        event = event_service.get_event(session, event_id=event_id)
        event_service.publish_schedule(session, event=event)
        person = event_service.get_person(session, event=event, person_id=absent)
        event_service.update_person(session, person=person, data=PersonPatch(no_show=True))
    with pytest.raises(Conflict, match="published"):
        _start(world, event_id)
    run_id = _start(world, event_id, "reschedule", from_slot_id=slots[1])
    runner.run(run_id)
    done = _run(world, run_id)
    assert (done.kind, done.state) == ("reschedule", "done")
    after = _meetings(world, event_id)
    # the first slot is past: its meetings stay as they were
    assert [m for m in after if m[2] == slots[0]] == [m for m in before if m[2] == slots[0]]
    assert [m for m in after if absent in m[:2] and m[2] != slots[0]] == []
    assert done.result is not None
    changes = done.result["changes"]
    cancelled = {(c["a"], c["b"]) for c in changes["cancelled"]}
    expected = {(a, b) for a, b, slot, _ in before if absent in (a, b) and slot != slots[0]}
    assert expected <= cancelled
    kept = {(a, b, s, t) for a, b, s, t in before} & set(after)
    assert changes["kept"] == len(kept)
    touched = {
        x
        for c in changes["cancelled"] + changes["moved"] + changes["added"]
        for x in (c["a"], c["b"])
    }
    assert changes["agendas_changed"] == sorted(touched)
    with world.reader() as session:
        row = session.scalars(select(EventSchedule).where(EventSchedule.event_id == event_id)).one()
        assert row.status == "published"


def test_a_reschedule_lists_every_colleague_of_a_changed_meeting_of_whole_organisations(
    world: World,
) -> None:
    event_id, people, slots = _event(world, "Zeta")
    with world.writer() as session, session.begin():
        event = event_service.get_event(session, event_id=event_id)
        # a colleague for every organisation: meetings are of whole organisations (the default)
        colleague = {}
        for participant in event_service.list_participants(session, event=event):
            first = participant.people[0].id
            added = event_service.add_person(
                session,
                event=event,
                participant=participant,
                data=PersonIn(name=f"Colleague of {first}", email=f"c{first}@zeta.example"),
            )
            colleague[first] = added.id
    runner = _runner(world)
    runner.run(_start(world, event_id))
    before = _meetings(world, event_id)
    # someone with a meeting after the first slot does not come, nor does their colleague
    absent = next(p for p in people if any(p in m[:2] and m[2] != slots[0] for m in before))
    with world.writer() as session, session.begin():
        event = event_service.get_event(session, event_id=event_id)
        event_service.publish_schedule(session, event=event)
        for person_id in (absent, colleague[absent]):
            person = event_service.get_person(session, event=event, person_id=person_id)
            event_service.update_person(session, person=person, data=PersonPatch(no_show=True))
    run_id = _start(world, event_id, "reschedule", from_slot_id=slots[1])
    runner.run(run_id)
    done = _run(world, run_id)
    assert done.result is not None
    changes = done.result["changes"]
    touched = {
        x
        for c in changes["cancelled"] + changes["moved"] + changes["added"]
        for x in (c["a"], c["b"])
    }
    assert touched
    # each meeting names the organisations' first people; their colleagues' agendas change too
    assert changes["agendas_changed"] == sorted(touched | {colleague[p] for p in touched})


def test_progress_while_solving_and_a_lost_run() -> None:
    now = utcnow()
    run = ScheduleRun(
        event_id=1,
        kind="schedule",
        state="running",
        phase="solving",
        time_limit=10.0,
        options={},
        created_at=now - dt.timedelta(seconds=4),
        started_at=now - dt.timedelta(seconds=4),
        solving_since=now - dt.timedelta(seconds=3),
    )
    shown = jobs.progress(run, now)
    assert (shown.state, shown.phase, shown.fraction, shown.elapsed) == (
        "running",
        "solving",
        0.3,
        3.0,
    )
    assert shown.active
    later = now + dt.timedelta(seconds=10) + jobs.LOST_AFTER
    assert jobs.progress(run, later) == jobs.Progress(
        "failed", "failed", 1.0, 0.0, 10.0, "interrupted"
    )
