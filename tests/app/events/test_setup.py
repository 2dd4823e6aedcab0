"""Events, slots, tables, registration, requests and preferences through the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.app.events import (
    EVENTS,
    SLOT_STARTS_UTC,
    SLOTS,
    build_event,
    create_organisations,
    event_body,
    ok,
)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


def test_create_read_update_delete_event(client: TestClient) -> None:
    created = ok(client.post(EVENTS, json=event_body(dates=["2026-03-11", "2026-03-10"])), 201)
    assert created["dates"] == ["2026-03-10", "2026-03-11"]
    assert (created["timezone"], created["max_meetings"], created["min_meetings"]) == (
        "Europe/Berlin",
        3,
        1,
    )
    assert created["allow_competitors"] is True
    assert created["registration_open"] is True
    url = f"{EVENTS}/{created['id']}"
    assert ok(client.get(url)) == created
    listed = ok(client.get(EVENTS))
    assert [e["id"] for e in listed["items"]] == [created["id"]]
    assert listed["total"] == 1

    patched = ok(client.patch(url, json={"registration_open": False, "dates": ["2026-03-10"]}))
    assert patched["registration_open"] is False
    assert patched["dates"] == ["2026-03-10"]
    assert client.delete(url).status_code == 204
    problem(client.get(url), 404)


def test_slots_are_generated_around_the_break(client: TestClient) -> None:
    event = ok(client.post(EVENTS, json=event_body()), 201)
    url = f"{EVENTS}/{event['id']}/slots"
    slots = ok(client.post(url, json=SLOTS))
    assert [s["starts_at"] for s in slots] == SLOT_STARTS_UTC
    assert [s["local_start"] for s in slots] == [
        "2026-03-10T09:00:00+01:00",
        "2026-03-10T09:20:00+01:00",
        "2026-03-10T09:40:00+01:00",
        "2026-03-10T10:20:00+01:00",
        "2026-03-10T10:40:00+01:00",
    ]
    assert slots[-1]["local_end"] == "2026-03-10T11:00:00+01:00"
    assert [s["position"] for s in slots] == [0, 1, 2, 3, 4]

    # a slot that would overlap a break starts when it ends; the last one must end by `end`
    uneven = dict(SLOTS, slot_minutes=25, breaks=[{"start": "10:00", "end": "10:15"}])
    slots = ok(client.post(url, json=uneven))
    assert [(s["local_start"][11:16], s["local_end"][11:16]) for s in slots] == [
        ("09:00", "09:25"),
        ("09:25", "09:50"),
        ("10:15", "10:40"),
    ]
    assert ok(client.get(url)) == slots


def test_summer_time_date_converts_to_utc_plus_two(client: TestClient) -> None:
    event = ok(client.post(EVENTS, json=event_body(dates=["2026-06-02"])), 201)
    body = dict(SLOTS, date="2026-06-02", end="09:40", breaks=[])
    slots = ok(client.post(f"{EVENTS}/{event['id']}/slots", json=body))
    assert [s["starts_at"] for s in slots] == ["2026-06-02T07:00:00Z", "2026-06-02T07:20:00Z"]


def test_tables_by_count_or_names(client: TestClient) -> None:
    event = ok(client.post(EVENTS, json=event_body()), 201)
    url = f"{EVENTS}/{event['id']}/tables"
    assert [t["name"] for t in ok(client.put(url, json={"count": 3}))] == ["1", "2", "3"]
    named = ok(client.put(url, json={"names": ["Rhein", "Neckar"]}))
    assert [(t["name"], t["position"]) for t in named] == [("Rhein", 0), ("Neckar", 1)]
    assert ok(client.get(url)) == named


def test_register_participants_people_and_availability(client: TestClient) -> None:
    s = build_event(client)
    participants = ok(client.get(s.url("/participants")))
    assert [p["organization_id"] for p in participants] == [s.orgs[k] for k in "ABCD"]
    assert [p["organization_name"] for p in participants][:2] == [
        "Alpha <Sensorik> & Co",
        "Beta Kunststofftechnik GmbH",
    ]
    alpha = participants[0]
    assert [p["email"] for p in alpha["people"]] == ["anna@alpha.example", "arne@alpha.example"]

    added = ok(
        client.post(
            s.url(f"/participants/{s.participants['B']}/people"),
            json={"name": "Bernd Bauer", "email": "Bernd@Beta.example"},
        ),
        201,
    )
    assert added["email"] == "bernd@beta.example"
    person = ok(
        client.put(
            s.url(f"/people/{added['id']}/unavailable"),
            json={"unavailable_slot_ids": [s.slots[3], s.slots[1]]},
        )
    )
    assert person["unavailable_slot_ids"] == sorted([s.slots[1], s.slots[3]])
    assert ok(client.get(s.url(f"/people/{added['id']}")))["unavailable_slot_ids"] == sorted(
        [s.slots[1], s.slots[3]]
    )
    patched = ok(client.patch(s.url(f"/people/{added['id']}"), json={"role": "Sales"}))
    assert patched["role"] == "Sales"
    assert client.delete(s.url(f"/people/{added['id']}")).status_code == 204
    problem(client.get(s.url(f"/people/{added['id']}")), 404)


def test_requests_accept_decline_withdraw_and_conflicts(client: TestClient) -> None:
    s = build_event(client)
    p = s.people
    sent = ok(
        client.post(
            s.url("/requests"),
            json={"from_person_id": p["a1"], "to_person_id": p["b1"], "message": "Hallo"},
        ),
        201,
    )
    assert (sent["status"], sent["message"], sent["answered_at"]) == ("requested", "Hallo", None)
    # the same pair may not ask twice while a request is open, in either direction
    again = problem(
        client.post(s.url("/requests"), json={"from_person_id": p["b1"], "to_person_id": p["a1"]}),
        409,
    )
    assert again["request_id"] == sent["id"]

    accepted = ok(client.post(s.url(f"/requests/{sent['id']}/accept")))
    assert accepted["status"] == "accepted"
    assert accepted["answered_at"] is not None
    problem(client.post(s.url(f"/requests/{sent['id']}/decline")), 409)
    problem(client.post(s.url(f"/requests/{sent['id']}/accept")), 409)

    other = ok(
        client.post(s.url("/requests"), json={"from_person_id": p["c1"], "to_person_id": p["d1"]}),
        201,
    )
    assert ok(client.post(s.url(f"/requests/{other['id']}/decline")))["status"] == "declined"
    problem(client.post(s.url(f"/requests/{other['id']}/withdraw")), 409)
    assert ok(client.post(s.url(f"/requests/{sent['id']}/withdraw")))["status"] == "withdrawn"

    listed = ok(client.get(s.url("/requests"), params={"person_id": p["a1"]}))
    assert [(r["id"], r["status"]) for r in listed] == [(sent["id"], "withdrawn")]
    declined = ok(client.get(s.url("/requests"), params={"status": "declined"}))
    assert [r["id"] for r in declined] == [other["id"]]
    problem(client.post(s.url("/requests/999999/accept")), 404)


def test_preferences_set_replace_delete(client: TestClient) -> None:
    s = build_event(client)
    a, b, c = s.participants["A"], s.participants["B"], s.participants["C"]
    url = s.url(f"/participants/{a}/preferences")
    ok(client.put(f"{url}/{b}", json={"kind": "would_like"}))
    ok(client.put(f"{url}/{c}", json={"kind": "not_interested"}))
    ok(client.put(f"{url}/{b}", json={"kind": "must_meet"}))
    assert ok(client.get(url)) == [
        {"participant_id": a, "target_participant_id": b, "kind": "must_meet"},
        {"participant_id": a, "target_participant_id": c, "kind": "not_interested"},
    ]
    assert client.delete(f"{url}/{c}").status_code == 204
    assert [x["target_participant_id"] for x in ok(client.get(url))] == [b]
    problem(client.delete(f"{url}/{c}"), 404)
    problem(client.put(f"{url}/999999", json={"kind": "must_meet"}), 404)
    body = problem(client.put(f"{url}/{a}", json={"kind": "must_meet"}), 422)
    assert fields(body) == ["target_participant_id"]
    body = problem(client.put(f"{url}/{b}", json={"kind": "maybe"}), 422)
    assert fields(body) == ["kind"]


def test_closed_registration_is_a_conflict(client: TestClient) -> None:
    orgs = create_organisations(client)
    event = ok(client.post(EVENTS, json=event_body(registration_open=False)), 201)
    url = f"{EVENTS}/{event['id']}"

    def register(key: str) -> Any:
        person = {"name": key, "email": f"{key.lower()}@x.example"}
        return client.post(
            f"{url}/participants", json={"organization_id": orgs[key], "people": [person]}
        )

    body = problem(register("A"), 409)
    assert body["detail"] == f"Registration for event {event['id']} is closed."
    ok(client.patch(url, json={"registration_open": True}))
    a = ok(register("A"), 201)
    b = ok(register("B"), 201)
    ok(client.patch(url, json={"registration_open": False}))
    problem(register("C"), 409)
    problem(
        client.post(
            f"{url}/participants/{a['id']}/people", json={"name": "Zoe", "email": "zoe@x.example"}
        ),
        409,
    )
    problem(
        client.post(
            f"{url}/requests",
            json={
                "from_person_id": a["people"][0]["id"],
                "to_person_id": b["people"][0]["id"],
            },
        ),
        409,
    )
    assert [p["id"] for p in ok(client.get(f"{url}/participants"))] == [a["id"], b["id"]]


def test_bad_input_answers_problem_json_naming_the_field(client: TestClient) -> None:
    orgs = create_organisations(client)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        (event_body(timezone="Mars/Olympus_Mons"), ["timezone"]),
        (event_body(timezone="../../etc/passwd"), ["timezone"]),
        (event_body(min_meetings=5, max_meetings=2), ["min_meetings"]),
        (event_body(dates=[]), ["dates"]),
        (event_body(dates=["2026-03-10", "2026-03-10"]), ["dates"]),
        (event_body(name=""), ["name"]),
        (event_body(max_meetings=-1), ["max_meetings"]),
    ]
    for body, expected in cases:
        answer = problem(client.post(EVENTS, json=body), 422)
        assert fields(answer) == expected, body

    event = ok(client.post(EVENTS, json=event_body()), 201)
    url = f"{EVENTS}/{event['id']}"
    slot_cases: list[tuple[dict[str, Any], list[str]]] = [
        (dict(SLOTS, end="08:00"), ["end"]),
        (dict(SLOTS, date="2026-03-12"), ["date"]),
        (dict(SLOTS, slot_minutes=3), ["slot_minutes"]),
        (dict(SLOTS, slot_minutes=180), ["slot_minutes"]),
        (dict(SLOTS, start="25:00"), ["start"]),
        (dict(SLOTS, breaks=[{"start": "10:00", "end": "09:00"}]), ["breaks[0]"]),
    ]
    for body, expected in slot_cases:
        answer = problem(client.post(f"{url}/slots", json=body), 422)
        assert fields(answer) == expected, body

    assert fields(problem(client.put(f"{url}/tables", json={}), 422)) == ["count", "names"]
    assert fields(problem(client.put(f"{url}/tables", json={"names": ["x", "x"]}), 422)) == [
        "names[1]"
    ]
    assert fields(problem(client.put(f"{url}/tables", json={"count": 0}), 422)) == ["count"]

    answer = problem(
        client.post(
            f"{url}/participants",
            json={"organization_id": 999999, "people": [{"name": "X", "email": "x@x.example"}]},
        ),
        422,
    )
    assert fields(answer) == ["organization_id"]
    answer = problem(
        client.post(
            f"{url}/participants",
            json={"organization_id": orgs["A"], "people": [{"name": "X", "email": "not-an-email"}]},
        ),
        422,
    )
    assert fields(answer) == ["people[0].email"]
    answer = problem(
        client.post(
            f"{url}/participants",
            json={
                "organization_id": orgs["A"],
                "people": [
                    {"name": "X", "email": "x@a.example"},
                    {"name": "Y", "email": "X@a.example"},
                ],
            },
        ),
        422,
    )
    assert fields(answer) == ["people[1].email"]
    problem(
        client.post(f"{url}/participants", json={"organization_id": orgs["A"], "people": []}), 422
    )

    body = {"organization_id": orgs["A"], "people": [{"name": "X", "email": "x@a.example"}]}
    ok(client.post(f"{url}/participants", json=body), 201)
    problem(client.post(f"{url}/participants", json=body), 409)
    problem(client.get(f"{EVENTS}/0"), 422)
    problem(client.get(f"{EVENTS}/999999"), 404)


def test_request_and_availability_input_errors(client: TestClient) -> None:
    s = build_event(client)
    p = s.people
    cases = [
        ({"from_person_id": p["a1"], "to_person_id": p["a2"]}, ["to_person_id"]),  # one org
        ({"from_person_id": p["a1"], "to_person_id": p["a1"]}, ["to_person_id"]),
        ({"from_person_id": 999999, "to_person_id": p["a1"]}, ["from_person_id"]),
        ({"from_person_id": p["a1"], "to_person_id": 999999}, ["to_person_id"]),
        ({"from_person_id": p["a1"], "to_person_id": "b1"}, ["to_person_id"]),
        ({"from_person_id": p["a1"], "to_person_id": p["b1"], "message": "x" * 2001}, ["message"]),
    ]
    for body, expected in cases:
        assert fields(problem(client.post(s.url("/requests"), json=body), 422)) == expected, body
    answer = problem(
        client.put(
            s.url(f"/people/{p['a1']}/unavailable"),
            json={"unavailable_slot_ids": [s.slots[0], 999999]},
        ),
        422,
    )
    assert fields(answer) == ["unavailable_slot_ids[1]"]
    answer = problem(client.patch(s.url(f"/people/{p['a1']}"), json={"email": None}), 422)
    assert fields(answer) == ["email"]
    answer = problem(
        client.patch(s.url(f"/people/{p['a1']}"), json={"email": "arne@alpha.example"}), 409
    )
    assert fields(answer) == ["email"]


def test_slots_across_a_daylight_saving_change_are_refused(client: TestClient) -> None:
    event = ok(client.post(EVENTS, json=event_body(dates=["2026-03-29"])), 201)
    url = f"{EVENTS}/{event['id']}/slots"
    # clocks jump from 02:00 to 03:00 on 29 March 2026 in Berlin
    body = {"date": "2026-03-29", "start": "01:00", "end": "04:00", "slot_minutes": 30}
    answer = problem(client.post(url, json=body), 422)
    assert fields(answer) == ["start"]
    body["breaks"] = [{"start": "02:30", "end": "03:00"}]
    assert fields(problem(client.post(url, json=body), 422)) == ["start"]
    assert ok(client.get(url)) == []


def test_two_dates_keep_one_order_and_regenerate_separately(client: TestClient) -> None:
    event = ok(client.post(EVENTS, json=event_body(dates=["2026-03-10", "2026-03-11"])), 201)
    url = f"{EVENTS}/{event['id']}/slots"
    day2 = {"date": "2026-03-11", "start": "14:00", "end": "15:00", "slot_minutes": 30}
    ok(client.post(url, json=day2))
    slots = ok(client.post(url, json=dict(SLOTS, end="10:00", breaks=[])))
    assert [(s["date"], s["local_start"][11:16], s["position"]) for s in slots] == [
        ("2026-03-10", "09:00", 0),
        ("2026-03-10", "09:20", 1),
        ("2026-03-10", "09:40", 2),
        ("2026-03-11", "14:00", 3),
        ("2026-03-11", "14:30", 4),
    ]
    # the second date again, now with one longer slot: the first date is untouched
    slots = ok(client.post(url, json=dict(day2, slot_minutes=60)))
    assert [(s["local_start"][11:16], s["local_end"][11:16]) for s in slots] == [
        ("09:00", "09:20"),
        ("09:20", "09:40"),
        ("09:40", "10:00"),
        ("14:00", "15:00"),
    ]
    assert [s["position"] for s in slots] == [0, 1, 2, 3]
    # a date with slots cannot be dropped from the event
    answer = problem(client.patch(f"{EVENTS}/{event['id']}", json={"dates": ["2026-03-10"]}), 409)
    assert fields(answer) == ["dates"]
    answer = problem(
        client.patch(f"{EVENTS}/{event['id']}", json={"timezone": "Europe/London"}), 409
    )
    assert fields(answer) == ["timezone"]
