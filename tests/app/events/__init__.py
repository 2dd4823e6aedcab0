"""A small brokerage event built through the API, shared by the event tests.

Four organisations take part (A with two people, B, C and D with one each); E exists but is not
registered. With the hashing encoder, identical competence labels match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

EVENTS = "/api/v1/events"
ORGS = "/api/v1/organizations"

ORGANISATIONS: dict[str, dict[str, Any]] = {
    "A": {
        "external_id": "ev-A",
        "name": "Alpha <Sensorik> & Co",
        "nace_code": "26.51",
        "country": "DE",
        "competences": [
            {"kind": "core", "label": "Drucksensoren"},
            {"kind": "complementary", "label": "Kunststoffspritzguss"},
        ],
    },
    "B": {
        "external_id": "ev-B",
        "name": "Beta Kunststofftechnik GmbH",
        "nace_code": "22.26",
        "country": "DE",
        "competences": [
            {"kind": "core", "label": "Kunststoffspritzguss"},
            {"kind": "complementary", "label": "Drucksensoren"},
        ],
    },
    "C": {
        "external_id": "ev-C",
        "name": "Gamma Spritzguss AG",
        "nace_code": "22.26",
        "country": "DE",
        "competences": [{"kind": "core", "label": "Kunststoffspritzguss"}],
    },
    "D": {
        "external_id": "ev-D",
        "name": "Delta Logistik GmbH",
        "nace_code": "49.41",
        "country": "AT",
        "competences": [
            {"kind": "core", "label": "Kontraktlogistik"},
            {"kind": "complementary", "label": "Drucksensoren"},
        ],
    },
    "E": {
        "external_id": "ev-E",
        "name": "Epsilon Kunststoff GmbH",
        "nace_code": "22.29",
        "country": "DE",
        "competences": [
            {"kind": "core", "label": "Kunststoffspritzguss"},
            {"kind": "complementary", "label": "Drucksensoren"},
        ],
    },
}

PEOPLE: dict[str, list[dict[str, str]]] = {
    "A": [
        {"name": "Anna Albers", "email": "anna@alpha.example", "role": "CEO"},
        {"name": 'Arne "<script>alert(1)</script>"', "email": "arne@alpha.example"},
    ],
    "B": [{"name": "Berta Braun", "email": "berta@beta.example", "role": "Head of R&D"}],
    "C": [{"name": "Carl Clausen", "email": "carl@gamma.example"}],
    "D": [{"name": "Dora Dietz", "email": "dora@delta.example"}],
}


def event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Kunststoff trifft Sensorik 2026",
        "venue": "IHK Stuttgart",
        "timezone": "Europe/Berlin",
        "dates": ["2026-03-10"],
        "max_meetings": 3,
        "min_meetings": 1,
        # the shared scenario schedules people one to one and fills free slots with the
        # engine's recommendations; the tests of the event defaults (whole organisations, no
        # filling) override these
        "person_level_meetings": True,
        "fill_with_recommendations": True,
    }
    body.update(overrides)
    return body


# 09:00-11:00 in 20-minute slots around a coffee break from 10:00 to 10:20 (CET = UTC+1)
SLOTS = {
    "date": "2026-03-10",
    "start": "09:00",
    "end": "11:00",
    "slot_minutes": 20,
    "breaks": [{"start": "10:00", "end": "10:20"}],
}
SLOT_STARTS_UTC = [
    "2026-03-10T08:00:00Z",
    "2026-03-10T08:20:00Z",
    "2026-03-10T08:40:00Z",
    "2026-03-10T09:20:00Z",
    "2026-03-10T09:40:00Z",
]


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@dataclass
class Scenario:
    event_id: int
    orgs: dict[str, int]
    participants: dict[str, int]
    people: dict[str, int]  # a1, a2, b1, c1, d1
    slots: list[int]
    tables: list[int]
    requests: dict[str, int] = field(default_factory=dict)

    def url(self, tail: str = "") -> str:
        return f"{EVENTS}/{self.event_id}{tail}"


def create_organisations(client: TestClient) -> dict[str, int]:
    return {key: ok(client.post(ORGS, json=body), 201)["id"] for key, body in ORGANISATIONS.items()}


def build_event(client: TestClient, **settings: Any) -> Scenario:
    """The event with slots, two tables, participants A-D and their people (no requests yet)."""
    orgs = create_organisations(client)
    event = ok(client.post(EVENTS, json=event_body(**settings)), 201)
    url = f"{EVENTS}/{event['id']}"
    slots = [s["id"] for s in ok(client.post(f"{url}/slots", json=SLOTS))]
    tables = [t["id"] for t in ok(client.put(f"{url}/tables", json={"names": ["1", "<2>"]}))]
    participants: dict[str, int] = {}
    people: dict[str, int] = {}
    for key in "ABCD":
        body = {"organization_id": orgs[key], "people": PEOPLE[key]}
        created = ok(client.post(f"{url}/participants", json=body), 201)
        participants[key] = created["id"]
        for i, person in enumerate(created["people"], start=1):
            people[f"{key.lower()}{i}"] = person["id"]
    return Scenario(event["id"], orgs, participants, people, slots, tables)


def add_wishes(client: TestClient, s: Scenario) -> None:
    """Requests, preferences and one unavailability that fix the schedule's candidate pairs.

    a1 -> b1 accepted; c1 -> a1 declined; d1 -> b1 still pending (a wish of D, which B's lack
    of interest in D overrides); A is not interested in C although C would like to meet A; D
    must meet C; A would like to meet D (a wish one meeting of A's people fulfils) and a2 would
    like to meet d1 in person; b1 is away in slot 0.
    """
    p = s.people

    def request(frm: str, to: str) -> int:
        body = {"from_person_id": p[frm], "to_person_id": p[to], "message": "Let's talk"}
        return int(ok(client.post(s.url("/requests"), json=body), 201)["id"])

    s.requests["a1-b1"] = request("a1", "b1")
    s.requests["c1-a1"] = request("c1", "a1")
    s.requests["d1-b1"] = request("d1", "b1")
    ok(client.post(s.url(f"/requests/{s.requests['a1-b1']}/accept")))
    ok(client.post(s.url(f"/requests/{s.requests['c1-a1']}/decline")))

    def prefer(who: str, whom: str, kind: str) -> None:
        pid, target = s.participants[who], s.participants[whom]
        ok(client.put(s.url(f"/participants/{pid}/preferences/{target}"), json={"kind": kind}))

    prefer("A", "C", "not_interested")
    prefer("B", "D", "not_interested")
    prefer("C", "A", "would_like")
    prefer("D", "C", "must_meet")
    prefer("A", "D", "would_like")
    body = {"kind": "would_like"}
    ok(client.put(s.url(f"/people/{p['a2']}/preferences/{p['d1']}"), json=body))
    ok(
        client.put(
            s.url(f"/people/{p['b1']}/unavailable"), json={"unavailable_slot_ids": [s.slots[0]]}
        )
    )


def pairs_of(meetings: list[dict[str, Any]]) -> set[tuple[int, int]]:
    return {(m["person_a_id"], m["person_b_id"]) for m in meetings}


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)
