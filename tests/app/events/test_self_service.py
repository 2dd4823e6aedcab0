"""Members register their own organisation, manage its people and withdraw, until the
schedule is published; event managers keep full control."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory
from tests.app.events import ORGS, Scenario, build_event, ok

NO_ENGINE = {"recommendations_per_participant": 0, "time_limit": 5}
EVA = {"name": "Eva Engel", "email": "eva@epsilon.example", "role": "CTO"}


@pytest.fixture
def scenario(client: TestClient) -> Scenario:
    return build_event(client)


@pytest.fixture
def members(
    scenario: Scenario, make_account: AccountFactory, client_for: ClientFactory
) -> dict[str, TestClient]:
    out = {key: client_for(make_account(Role.member, scenario.orgs[key])) for key in "ABE"}
    out["curator"] = client_for(make_account(Role.curator))
    out["organizer"] = client_for(make_account(Role.organizer))
    return out


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def registration(s: Scenario, org: str, person: dict[str, str] = EVA) -> dict[str, Any]:
    return {"organization_id": s.orgs[org], "people": [person]}


def test_a_member_registers_its_own_organisation_only(
    client: TestClient, scenario: Scenario, members: dict[str, TestClient]
) -> None:
    s = scenario
    member_e = members["E"]
    body = problem(member_e.post(s.url("/participants"), json=registration(s, "B")), 403)
    assert body["detail"] == "Members register their own organisation only."
    problem(members["curator"].post(s.url("/participants"), json=registration(s, "E")), 403)

    created = ok(member_e.post(s.url("/participants"), json=registration(s, "E")), 201)
    assert created["organization_id"] == s.orgs["E"]
    assert created["organization_name"] == "Epsilon Kunststoff GmbH"
    assert [(p["name"], p["email"], p["role"]) for p in created["people"]] == [
        ("Eva Engel", "eva@epsilon.example", "CTO")
    ]
    listed = ok(client.get(s.url("/participants")))
    assert [p["organization_id"] for p in listed] == [s.orgs[k] for k in "ABCDE"]
    # registered once: the second try is a conflict, for the member as for the organiser
    problem(member_e.post(s.url("/participants"), json=registration(s, "E")), 409)
    problem(members["A"].post(s.url("/participants"), json=registration(s, "A")), 409)


def test_closed_registration_and_a_published_schedule_stop_members(
    client: TestClient, scenario: Scenario, members: dict[str, TestClient]
) -> None:
    s = scenario
    ok(client.patch(s.url(), json={"registration_open": False}))
    body = problem(members["E"].post(s.url("/participants"), json=registration(s, "E")), 409)
    assert body["detail"] == f"Registration for event {s.event_id} is closed."
    ok(client.patch(s.url(), json={"registration_open": True}))

    ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    # a draft does not stop anyone
    ok(members["E"].post(s.url("/participants"), json=registration(s, "E")), 201)
    ok(members["E"].delete(s.url(f"/participants/{_participant(client, s, 'E')}")), 204)
    ok(client.post(s.url("/schedule/publish")))
    body = problem(members["E"].post(s.url("/participants"), json=registration(s, "E")), 409)
    assert body["detail"] == (
        f"The schedule of event {s.event_id} is published; "
        "ask the organiser to change the registration."
    )
    # the event managers keep full control (of a profile that shows its name to the organiser:
    # one that hides it is invited, test_disclosure)
    ok(client.patch(f"{ORGS}/{s.orgs['E']}", json={"disclosure": {"name": "members"}}))
    ok(members["organizer"].post(s.url("/participants"), json=registration(s, "E")), 201)


def _participant(client: TestClient, s: Scenario, org: str) -> int:
    listed = ok(client.get(s.url("/participants")))
    return int(next(p["id"] for p in listed if p["organization_id"] == s.orgs[org]))


def test_a_member_manages_its_own_people(
    client: TestClient, scenario: Scenario, members: dict[str, TestClient]
) -> None:
    s = scenario
    member_a = members["A"]
    own, other = s.participants["A"], s.participants["B"]
    person = {"name": "Alma Arndt", "email": "alma@alpha.example"}
    problem(member_a.post(s.url(f"/participants/{other}/people"), json=person), 403)
    added = ok(member_a.post(s.url(f"/participants/{own}/people"), json=person), 201)
    assert (added["participant_id"], added["email"], added["hidden_fields"]) == (
        own,
        "alma@alpha.example",
        [],
    )
    url = s.url(f"/people/{added['id']}")
    patched = ok(member_a.patch(url, json={"role": "Einkauf", "email": "Alma.Arndt@alpha.example"}))
    assert (patched["role"], patched["email"]) == ("Einkauf", "alma.arndt@alpha.example")
    body = problem(member_a.patch(url, json={"no_show": True}), 403)
    assert [e["field"] for e in body["errors"]] == ["no_show"]
    away = ok(member_a.put(f"{url}/unavailable", json={"unavailable_slot_ids": [s.slots[2]]}))
    assert away["unavailable_slot_ids"] == [s.slots[2]]
    # another organisation's person and a curator are refused
    b1 = s.url(f"/people/{s.people['b1']}")
    problem(member_a.patch(b1, json={"role": "x"}), 403)
    problem(member_a.delete(b1), 403)
    problem(member_a.put(f"{b1}/unavailable", json={"unavailable_slot_ids": []}), 403)
    problem(members["curator"].patch(url, json={"role": "x"}), 403)
    problem(members["B"].delete(url), 403)
    assert member_a.delete(url).status_code == 204
    problem(client.get(url), 404)
    # the organiser still marks no-shows
    assert ok(client.patch(b1, json={"no_show": True}))["no_show"] is True


def test_after_publication_members_change_nothing_and_managers_still_do(
    client: TestClient, scenario: Scenario, members: dict[str, TestClient]
) -> None:
    s = scenario
    member_a = members["A"]
    own = s.participants["A"]
    ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    ok(client.post(s.url("/schedule/publish")))
    # without requests or preferences nobody meets: nothing ties A's people to the schedule
    assert ok(client.get(s.url("/schedule")))["meetings"] == []
    a2 = s.url(f"/people/{s.people['a2']}")
    person = {"name": "Alma Arndt", "email": "alma@alpha.example"}
    for answer in (
        member_a.post(s.url(f"/participants/{own}/people"), json=person),
        member_a.patch(a2, json={"role": "Vertrieb"}),
        member_a.put(f"{a2}/unavailable", json={"unavailable_slot_ids": []}),
        member_a.delete(a2),
        member_a.delete(s.url(f"/participants/{own}")),
    ):
        problem(answer, 409)
    assert ok(client.patch(a2, json={"role": "Vertrieb"}))["role"] == "Vertrieb"
    ok(client.post(s.url(f"/participants/{own}/people"), json=person), 201)
    assert client.delete(s.url(f"/participants/{own}")).status_code == 204


def test_a_member_withdraws_its_registration_before_publication(
    client: TestClient, scenario: Scenario, members: dict[str, TestClient]
) -> None:
    s = scenario
    problem(members["B"].delete(s.url(f"/participants/{s.participants['A']}")), 403)
    problem(members["curator"].delete(s.url(f"/participants/{s.participants['A']}")), 403)
    # closed registration does not keep a participant from withdrawing
    ok(client.patch(s.url(), json={"registration_open": False}))
    assert members["A"].delete(s.url(f"/participants/{s.participants['A']}")).status_code == 204
    listed = ok(client.get(s.url("/participants")))
    assert [p["id"] for p in listed] == [s.participants[k] for k in "BCD"]
    problem(members["A"].delete(s.url(f"/participants/{s.participants['A']}")), 404)
