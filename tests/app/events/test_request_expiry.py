"""Meeting requests expire after the time the organiser sets: shown as expired, no wish."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.events import repository as repo
from app.models.base import utcnow
from app.models.event import MeetingRequest
from tests.app.events import build_event, ok


def age(db_session: Session, request_id: int, hours: float) -> dt.datetime:
    """Pretend the request was sent ``hours`` ago; returns its new creation time."""
    request = db_session.get(MeetingRequest, request_id)
    assert request is not None
    request.created_at = utcnow() - dt.timedelta(hours=hours)
    db_session.flush()
    return request.created_at


def test_pending_requests_expire_after_the_set_hours(
    client: TestClient, db_session: Session
) -> None:
    s = build_event(client, request_expiry_hours=48)
    p = s.people
    assert ok(client.get(s.url()))["request_expiry_hours"] == 48

    def send(frm: str, to: str) -> int:
        body = {"from_person_id": p[frm], "to_person_id": p[to]}
        return int(ok(client.post(s.url("/requests"), json=body), 201)["id"])

    old, fresh, answered = send("a1", "b1"), send("c1", "d1"), send("d1", "a2")
    ok(client.post(s.url(f"/requests/{answered}/accept")))
    sent = age(db_session, old, 49)
    age(db_session, fresh, 47)
    age(db_session, answered, 100)

    expired = ok(client.get(s.url(f"/requests/{old}")))
    assert expired["status"] == "expired"
    assert dt.datetime.fromisoformat(expired["expires_at"].replace("Z", "+00:00")) == sent + (
        dt.timedelta(hours=48)
    )
    assert ok(client.get(s.url(f"/requests/{fresh}")))["status"] == "requested"
    accepted = ok(client.get(s.url(f"/requests/{answered}")))
    assert (accepted["status"], accepted["expires_at"]) == ("accepted", None)

    def listed(status: str) -> list[int]:
        return [r["id"] for r in ok(client.get(s.url("/requests"), params={"status": status}))]

    assert listed("requested") == [fresh]
    assert listed("expired") == [old]
    assert listed("accepted") == [answered]
    # what the scheduler reads as pending wishes leaves the expired request out
    assert [r.id for r in repo.requests(db_session, s.event_id, status="requested")] == [fresh]

    late = client.post(s.url(f"/requests/{old}/accept"))
    assert late.status_code == 409
    assert late.headers["content-type"] == "application/problem+json"
    assert late.json()["status_now"] == "expired"
    # an expired request gives way to a new one between the same people
    again = send("a1", "b1")
    assert ok(client.get(s.url(f"/requests/{old}")))["status"] == "withdrawn"
    assert ok(client.get(s.url(f"/requests/{again}")))["status"] == "requested"

    # lifting the expiry makes no pending request expired any more
    ok(client.patch(s.url(), json={"request_expiry_hours": None}))
    assert listed("expired") == []
    assert listed("requested") == [fresh, again]


def test_expiry_must_be_positive_hours(client: TestClient) -> None:
    s = build_event(client)
    assert ok(client.get(s.url()))["request_expiry_hours"] is None
    bad = client.patch(s.url(), json={"request_expiry_hours": 0})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["request_expiry_hours"]
