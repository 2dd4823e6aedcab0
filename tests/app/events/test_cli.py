"""`koopmatch event schedule` and `koopmatch event report` against the test database."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.events.cli import register
from tests.app.events import add_wishes, build_event, ok


class _SharedSession:
    """Stands in for the sessionmaker: hands out the test's session and leaves it open."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __call__(self) -> _SharedSession:
        return self

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc: Any) -> None:
        return None


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="koopmatch")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_schedule_publish_and_report(
    client: TestClient,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = build_event(client)
    add_wishes(client, s)
    monkeypatch.setattr("app.db.get_sessionmaker", lambda: _SharedSession(db_session))

    code = run(
        ["event", "schedule", str(s.event_id), "--publish", "--no-embeddings", "--time-limit", "5"]
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == f"event {s.event_id}: published schedule, solver status optimal"
    assert out[1:5] == [
        "meetings: 4",
        "pairs met / wished for: accepted_request 1/1, must_meet 1/1, would_like 2/4, recommended 0/0",
        "below the minimum: 0",
        "without any meeting: 0",
    ]
    assert out[6] == "total value: 7.000, bound 7.000, gap 0.00%"
    assert out[8:] == [
        "meetings both sides asked for: 1, one side: 3, filled in by recommendations: 0",
        "wishes overridden by not-interested or a declined request: 3",
        "bound with everybody's minimum: 7.000, gap 0.00%",
    ]
    schedule = ok(client.get(s.url("/schedule")))
    assert schedule["status"] == "published"
    assert len(schedule["meetings"]) == 4

    assert run(["event", "report", str(s.event_id)]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == out[:2]

    # solving a published schedule again is refused, and says why
    assert run(["event", "schedule", str(s.event_id), "--no-embeddings"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"event {s.event_id}: The schedule is published")


def test_unknown_event(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("app.db.get_sessionmaker", lambda: _SharedSession(db_session))
    assert run(["event", "report", "424242"]) == 1
    assert capsys.readouterr().err == "event 424242: No event with id 424242.\n"


def test_one_default_time_limit_for_the_api_the_pages_the_command_line_and_the_library() -> None:
    from app.events.schemas import RescheduleRequest, ScheduleRequest
    from app.web.organizer import DEFAULT_TIME_LIMIT as PAGES
    from matching.scheduling import DEFAULT_TIME_LIMIT, Options

    # the command line builds its options from ScheduleRequest and changes only a given limit
    assert ScheduleRequest().time_limit == DEFAULT_TIME_LIMIT
    assert RescheduleRequest(from_slot_id=1).time_limit == DEFAULT_TIME_LIMIT
    assert Options().time_limit == DEFAULT_TIME_LIMIT
    assert PAGES == DEFAULT_TIME_LIMIT
