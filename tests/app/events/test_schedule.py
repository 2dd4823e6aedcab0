"""Recommendations, solving, validating, storing, locking and rescheduling a small event."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.events import service
from matching.scheduling import (
    CandidatePair,
    Instance,
    Meeting,
    Participant,
    Schedule,
    validate,
)
from tests.app.events import Scenario, add_wishes, build_event, ok, pair, pairs_of

NO_ENGINE = {"recommendations_per_participant": 0, "time_limit": 5}


@pytest.fixture
def scenario(client: TestClient) -> Scenario:
    s = build_event(client)
    add_wishes(client, s)
    return s


def expected_pairs(s: Scenario) -> set[tuple[int, int]]:
    p = s.people
    # a1-b1 accepted request, c1-d1 must-meet, a1-d1 and a2-d1 would-like (D takes all three);
    # d1's pending request to b1 is a wish that B's lack of interest overrides
    return {
        pair(p["a1"], p["b1"]),
        pair(p["c1"], p["d1"]),
        pair(p["a1"], p["d1"]),
        pair(p["a2"], p["d1"]),
    }


def independent_instance(s: Scenario) -> Instance:
    """The event's instance rebuilt from what the test set up, not from the service."""
    p = s.people
    org = {"a1": "A", "a2": "A", "b1": "B", "c1": "C", "d1": "D"}
    participants = [
        Participant(
            person=p[key],
            organisation=s.orgs[org[key]],
            unavailable=frozenset({s.slots[0]}) if key == "b1" else frozenset(),
            max_meetings=3,
            min_meetings=1,
        )
        for key in org
    ]
    pairs = [
        CandidatePair(p["a1"], p["b1"], 0.0, "accepted_request"),
        CandidatePair(p["d1"], p["c1"], 0.0, "must_meet"),
        CandidatePair(p["a1"], p["d1"], 0.0, "would_like"),
        CandidatePair(p["a2"], p["d1"], 0.0, "would_like"),
        CandidatePair(p["c1"], p["a1"], 0.0, "would_like"),
        CandidatePair(p["c1"], p["a2"], 0.0, "would_like"),
        CandidatePair(p["d1"], p["b1"], 0.0, "would_like"),  # the pending request
    ]
    return Instance(
        slots=s.slots,
        tables=s.tables,
        participants=participants,
        pairs=pairs,
        forbidden=[(p["a1"], p["c1"]), (p["a2"], p["c1"]), (p["b1"], p["d1"])],
    )


def as_schedule(meetings: list[dict[str, Any]]) -> Schedule:
    return Schedule(
        meetings=tuple(
            Meeting.of(m["person_a_id"], m["person_b_id"], m["slot_id"], m["table_id"])
            for m in meetings
        ),
        status="feasible",
    )


def test_schedule_meets_requests_and_respects_every_rule(
    client: TestClient, scenario: Scenario
) -> None:
    s, p = scenario, scenario.people
    out = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    meetings = out["meetings"]
    assert out["status"] == "draft"
    assert pairs_of(meetings) == expected_pairs(s)
    kinds = {(m["person_a_id"], m["person_b_id"]): m["kind"] for m in meetings}
    assert kinds[pair(p["a1"], p["b1"])] == "accepted_request"
    assert kinds[pair(p["c1"], p["d1"])] == "must_meet"
    # not-interested beats C's wish; one organisation never meets itself
    assert pair(p["a1"], p["c1"]) not in kinds
    assert pair(p["a2"], p["c1"]) not in kinds
    assert pair(p["a1"], p["a2"]) not in kinds
    # b1 is away in the first slot
    assert all(
        m["slot_id"] != s.slots[0]
        for m in meetings
        if p["b1"] in (m["person_a_id"], m["person_b_id"])
    )
    assert validate(independent_instance(s), as_schedule(meetings)) == []

    report = out["report"]
    assert report["meetings"] == 4
    assert report["requests_satisfied"] == {
        "accepted_request": 1,
        "must_meet": 1,
        "would_like": 2,
        "recommended": 0,
    }
    # C's wish toward A (one wish, over the pairs a1-c1 and a2-c1) stays unmet: A is not
    # interested (and a1 declined c1's request); so does d1's pending request to b1: B is not
    # interested in D. A's wish toward D is one wish too, met by a1-d1; a2-d1 is a2's own.
    assert report["requested"] == {
        "accepted_request": 1,
        "must_meet": 1,
        "would_like": 4,
        "recommended": 0,
    }
    assert report["overridden"] == sorted(
        list(pair(p[a], p[b])) for a, b in (("a1", "c1"), ("a2", "c1"), ("b1", "d1"))
    )
    assert (report["wanted_both"], report["wanted_one"], report["filled_in"]) == (1, 3, 0)
    assert report["below_minimum"] == []
    assert report["without_meeting"] == []
    # tier bonuses 3 + 2 + 1 + 1, scores 0 without the engine
    assert report["total_value"] == pytest.approx(7.0)
    assert report["upper_bound"] == pytest.approx(7.0)
    assert report["gap"] == pytest.approx(0.0, abs=1e-9)
    assert report["idle_gaps_total"] == 0
    assert report["solver_status"] == "optimal"

    assert ok(client.get(s.url("/schedule"))) == out


def test_publish_then_solve_again_is_a_conflict(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    published = ok(client.post(s.url("/schedule/publish")))
    assert published["status"] == "published"
    assert published["published_at"] is not None
    answer = client.post(s.url("/schedule"), json=NO_ENGINE)
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    # slots and tables are frozen while a schedule exists
    assert client.put(s.url("/tables"), json={"count": 4}).status_code == 409
    assert client.delete(s.url(f"/people/{s.people['a1']}")).status_code == 409


def test_locked_meeting_survives_a_new_solve(client: TestClient, scenario: Scenario) -> None:
    s, p = scenario, scenario.people
    first = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    target = next(
        m
        for m in first["meetings"]
        if (m["person_a_id"], m["person_b_id"]) == pair(p["a1"], p["b1"])
    )
    locked = ok(client.patch(s.url(f"/meetings/{target['id']}"), json={"locked": True}))
    assert locked == dict(target, locked=True)
    # a new wish changes the candidates; the locked meeting stays where it is
    ok(
        client.put(
            s.url(f"/participants/{s.participants['B']}/preferences/{s.participants['C']}"),
            json={"kind": "must_meet"},
        )
    )
    second = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    kept = next(m for m in second["meetings"] if m["id"] == target["id"])
    assert kept == dict(target, locked=True)
    assert pair(p["b1"], p["c1"]) in pairs_of(second["meetings"])


def test_reschedule_after_no_show_keeps_earlier_meetings(
    client: TestClient, scenario: Scenario
) -> None:
    s, p = scenario, scenario.people
    first = ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    ok(client.post(s.url("/schedule/publish")))
    cut = 2
    past = {m["id"]: m for m in first["meetings"] if s.slots.index(m["slot_id"]) < cut}
    out = ok(
        client.post(
            s.url("/reschedule"),
            json={
                "from_slot_id": s.slots[cut],
                "no_show_person_ids": [p["d1"]],
                "recommendations_per_participant": 0,
            },
        )
    )
    assert out["status"] == "published"
    after = {m["id"]: m for m in out["meetings"]}
    for mid, m in past.items():
        assert after[mid] == m  # held meetings stay, same row, same slot and table
    for m in out["meetings"]:
        if p["d1"] in (m["person_a_id"], m["person_b_id"]):
            assert s.slots.index(m["slot_id"]) < cut
    # the accepted request is still met, held or moved to a remaining slot
    assert pair(p["a1"], p["b1"]) in pairs_of(out["meetings"])
    assert ok(client.get(s.url(f"/people/{p['d1']}")))["no_show"] is True
    rebuilt = independent_instance(s)
    held = tuple(
        Meeting.of(m["person_a_id"], m["person_b_id"], m["slot_id"], m["table_id"])
        for m in past.values()
    )
    from matching.scheduling import rescheduling_instance

    check = rescheduling_instance(
        rebuilt,
        Schedule(meetings=held, status="feasible"),
        from_slot=s.slots[cut],
        no_shows={p["d1"]},
    )
    assert validate(check, as_schedule(out["meetings"])) == []

    bad = client.post(s.url("/reschedule"), json={"from_slot_id": 999999})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["from_slot_id"]


def test_reschedule_without_schedule_is_a_conflict(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    answer = client.post(s.url("/reschedule"), json={"from_slot_id": s.slots[1]})
    assert answer.status_code == 409


def test_schedule_needs_slots_and_tables(client: TestClient) -> None:
    event = ok(
        client.post(
            "/api/v1/events", json={"name": "Leer", "timezone": "UTC", "dates": ["2026-01-05"]}
        ),
        201,
    )
    answer = client.post(f"/api/v1/events/{event['id']}/schedule")
    assert answer.status_code == 409
    assert answer.json()["detail"] == "The event has no slots; generate them first."


def test_a_schedule_failing_validation_is_never_stored(
    client: TestClient, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, p = scenario, scenario.people

    def broken_solver(instance: Instance) -> Schedule:
        # a not-interested pair, and b1 in the slot they are away
        return Schedule(
            meetings=(
                Meeting.of(p["a1"], p["c1"], s.slots[1], s.tables[0]),
                Meeting.of(p["a1"], p["b1"], s.slots[0], s.tables[0]),
            ),
            status="feasible",
        )

    monkeypatch.setattr(service, "solve", broken_solver)
    answer = client.post(s.url("/schedule"), json=NO_ENGINE)
    assert answer.status_code == 500
    body = answer.json()
    assert body["title"] == "Schedule rejected"
    # a1-c1 is a candidate (C's wish) that A's not-interested mark forbids
    assert sorted(e["field"] for e in body["errors"]) == ["forbidden_pair", "unavailable"]
    assert client.get(s.url("/schedule")).status_code == 404


def test_recommendations_stay_inside_the_event(client: TestClient, scenario: Scenario) -> None:
    s = scenario
    page = ok(client.get(s.url(f"/participants/{s.participants['A']}/recommendations")))
    ids = [r["participant_id"] for r in page["items"]]
    assert ids[0] == s.participants["B"]
    assert set(ids) <= {s.participants[k] for k in "BCD"}
    # E offers the same as B but is not registered
    assert s.orgs["E"] not in [r["organization"]["id"] for r in page["items"]]
    best = page["items"][0]
    assert best["organization"]["name"] == "Beta Kunststofftechnik GmbH"
    assert {r["direction"] for r in best["reasons"]} >= {"they_cover_my_need", "i_cover_their_need"}

    # B and C share core and NACE division: competitors, left out when the event says so
    with_c = ok(client.get(s.url(f"/participants/{s.participants['B']}/recommendations")))
    assert s.participants["C"] in [r["participant_id"] for r in with_c["items"]]
    ok(client.patch(s.url(), json={"allow_competitors": False}))
    without = ok(client.get(s.url(f"/participants/{s.participants['B']}/recommendations")))
    assert s.participants["C"] not in [r["participant_id"] for r in without["items"]]
    assert without["items"][0]["participant_id"] == s.participants["A"]


def test_engine_recommendations_become_candidates(client: TestClient, scenario: Scenario) -> None:
    s, p = scenario, scenario.people
    out = ok(
        client.post(
            s.url("/schedule"), json={"recommendations_per_participant": 3, "time_limit": 5}
        )
    )
    kinds = {(m["person_a_id"], m["person_b_id"]): m["kind"] for m in out["meetings"]}
    # the accepted request keeps its kind, and now carries the engine's score too
    assert kinds[pair(p["a1"], p["b1"])] == "accepted_request"
    a1b1 = next(
        m for m in out["meetings"] if (m["person_a_id"], m["person_b_id"]) == pair(p["a1"], p["b1"])
    )
    assert 3.0 < a1b1["value"] < 4.0
    assert out["report"]["requested"]["recommended"] >= 1
    assert pair(p["a1"], p["c1"]) not in kinds
    assert out["report"]["below_minimum"] == []


def test_event_without_participants_gets_an_empty_schedule(client: TestClient) -> None:
    event = ok(
        client.post(
            "/api/v1/events",
            json={"name": "Leer", "timezone": "UTC", "dates": ["2026-01-05"], "min_meetings": 0},
        ),
        201,
    )
    url = f"/api/v1/events/{event['id']}"
    ok(
        client.post(
            f"{url}/slots",
            json={"date": "2026-01-05", "start": "09:00", "end": "10:00", "slot_minutes": 30},
        )
    )
    ok(client.put(f"{url}/tables", json={"count": 1}))
    out = ok(client.post(f"{url}/schedule"))
    assert out["meetings"] == []
    assert out["report"]["meetings"] == 0
    assert out["report"]["solver_status"] == "empty"
    assert client.get(f"{url}/schedule/table-plan.csv").text == (
        "slot,start,end,table,person_a,organisation_a,person_b,organisation_b,kind,locked\r\n"
    )


def test_without_an_embedding_model_requests_alone_are_scheduled(
    client: TestClient, scenario: Scenario
) -> None:
    s, p = scenario, scenario.people
    client.app.state.encoder = None  # type: ignore[attr-defined]
    answer = client.get(s.url(f"/participants/{s.participants['A']}/recommendations"))
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    out = ok(client.post(s.url("/schedule")))  # asks for recommendations; none can be made
    assert pairs_of(out["meetings"]) == expected_pairs(s)
    assert out["report"]["requested"]["recommended"] == 0
    assert pair(p["a1"], p["b1"]) in pairs_of(out["meetings"])
