"""Who reads an attendee's e-mail: event managers, the own organisation, and organisations
with an accepted request or a published meeting with the attendee; nobody else."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory
from tests.app.events import PEOPLE, Scenario, add_wishes, build_event, ok

NO_ENGINE = {"recommendations_per_participant": 0, "time_limit": 5}
EMAIL = {
    "a1": PEOPLE["A"][0]["email"],
    "a2": PEOPLE["A"][1]["email"],
    "b1": PEOPLE["B"][0]["email"],
    "c1": PEOPLE["C"][0]["email"],
    "d1": PEOPLE["D"][0]["email"],
}
ORG_OF = {"a1": "A", "a2": "A", "b1": "B", "c1": "C", "d1": "D"}
ORG_NAMES = [
    "Alpha <Sensorik> & Co",
    "Beta Kunststofftechnik GmbH",
    "Gamma Spritzguss AG",
    "Delta Logistik GmbH",
]


@pytest.fixture
def scenario(client: TestClient) -> Scenario:
    return build_event(client)


@pytest.fixture
def readers(
    scenario: Scenario, make_account: AccountFactory, client_for: ClientFactory
) -> dict[str, TestClient]:
    """A member of each organisation (E is not registered), an organizer and a curator."""
    out = {key: client_for(make_account(Role.member, scenario.orgs[key])) for key in "ABCDE"}
    out["organizer"] = client_for(make_account(Role.organizer))
    out["curator"] = client_for(make_account(Role.curator))
    return out


def shown(client: TestClient, s: Scenario) -> set[str]:
    """The people (a1, b1...) whose e-mail the caller reads in the participant list.

    Checks on the way that a hidden e-mail is null and named in hidden_fields, a shown one is
    the registered address, and names, roles and organisation names are always there.
    """
    key_of = {pid: key for key, pid in s.people.items()}
    participants = ok(client.get(s.url("/participants")))
    assert [p["organization_name"] for p in participants] == ORG_NAMES
    out: set[str] = set()
    for participant in participants:
        for person in participant["people"]:
            key = key_of[person["id"]]
            assert person["name"] == next(
                p["name"] for p in PEOPLE[ORG_OF[key]] if p["email"] == EMAIL[key]
            )
            if person["email"] is None:
                assert person["hidden_fields"] == ["email"]
            else:
                assert person["email"] == EMAIL[key]
                assert person["hidden_fields"] == []
                out.add(key)
    return out


def everyone(readers: dict[str, TestClient], s: Scenario) -> dict[str, set[str] | None]:
    """`shown` for every reader; None for those who may not read the attendees at all (403:
    the unregistered organisation E and the curator)."""
    out: dict[str, set[str] | None] = {}
    for who, client in readers.items():
        if client.get(s.url("/participants")).status_code == 403:
            out[who] = None
        else:
            out[who] = shown(client, s)
    return out


ALL = {"a1", "a2", "b1", "c1", "d1"}


def test_without_requests_members_read_only_their_own_people(
    client: TestClient, scenario: Scenario, readers: dict[str, TestClient]
) -> None:
    assert everyone(readers, scenario) == {
        "A": {"a1", "a2"},
        "B": {"b1"},
        "C": {"c1"},
        "D": {"d1"},
        "E": None,
        "organizer": ALL,
        "curator": None,
    }
    assert shown(client, scenario) == ALL  # admin


def test_accepted_requests_and_published_meetings_reveal_contacts(
    client: TestClient, scenario: Scenario, readers: dict[str, TestClient]
) -> None:
    s = scenario
    # a1 -> b1 accepted, c1 -> a1 declined, d1 -> b1 pending; preferences for the schedule
    add_wishes(client, s)
    assert everyone(readers, s) == {
        "A": {"a1", "a2", "b1"},
        "B": {"b1", "a1"},
        "C": {"c1"},
        "D": {"d1"},
        "E": None,
        "organizer": ALL,
        "curator": None,
    }
    # a draft schedule (a1-b1, c1-d1, a1-d1, a2-d1) reveals nothing yet
    ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    draft = everyone(readers, s)
    assert draft["C"] == {"c1"}
    assert draft["D"] == {"d1"}
    ok(client.post(s.url("/schedule/publish")))
    assert everyone(readers, s) == {
        "A": {"a1", "a2", "b1", "d1"},
        "B": {"b1", "a1"},
        "C": {"c1", "d1"},
        "D": {"d1", "c1", "a1", "a2"},
        "E": None,
        "organizer": ALL,
        "curator": None,
    }


def test_one_participant_and_one_person_follow_the_same_rule(
    client: TestClient, scenario: Scenario, readers: dict[str, TestClient]
) -> None:
    s = scenario
    add_wishes(client, s)
    member_b = readers["B"]
    alpha = ok(member_b.get(s.url(f"/participants/{s.participants['A']}")))
    assert [(p["id"], p["email"], p["hidden_fields"]) for p in alpha["people"]] == [
        (s.people["a1"], EMAIL["a1"], []),
        (s.people["a2"], None, ["email"]),
    ]
    assert alpha["organization_name"] == ORG_NAMES[0]
    person = ok(member_b.get(s.url(f"/people/{s.people['a2']}")))
    assert (person["name"], person["email"], person["hidden_fields"]) == (
        PEOPLE["A"][1]["name"],
        None,
        ["email"],
    )
    assert ok(member_b.get(s.url(f"/people/{s.people['a1']}")))["email"] == EMAIL["a1"]
    # neither the curator nor unregistered E reads the attendees
    assert readers["curator"].get(s.url(f"/people/{s.people['a1']}")).status_code == 403
    assert readers["E"].get(s.url(f"/people/{s.people['b1']}")).status_code == 403


def test_withdrawing_an_accepted_request_hides_the_contact_again(
    client: TestClient, scenario: Scenario, readers: dict[str, TestClient]
) -> None:
    s = scenario
    body = {"from_person_id": s.people["c1"], "to_person_id": s.people["d1"]}
    request_id = ok(client.post(s.url("/requests"), json=body), 201)["id"]
    assert shown(readers["D"], s) == {"d1"}  # requested, not accepted
    ok(readers["D"].post(s.url(f"/requests/{request_id}/accept")))
    assert shown(readers["D"], s) == {"d1", "c1"}
    assert shown(readers["C"], s) == {"c1", "d1"}
    ok(readers["C"].post(s.url(f"/requests/{request_id}/withdraw")))
    assert shown(readers["D"], s) == {"d1"}
    assert shown(readers["C"], s) == {"c1"}


def exports_of(client: TestClient, s: Scenario, person: str) -> dict[str, str]:
    out = {}
    for suffix in ("ics", "csv", "json", "html"):
        answer = client.get(s.url(f"/people/{s.people[person]}/agenda.{suffix}"))
        assert answer.status_code == 200, answer.text
        out[suffix] = answer.text
    return out


def test_requests_schedules_and_plans_carry_no_email_agendas_only_after_acceptance(
    client: TestClient, scenario: Scenario, readers: dict[str, TestClient]
) -> None:
    s = scenario
    add_wishes(client, s)
    ok(client.post(s.url("/schedule"), json=NO_ENGINE))
    ok(client.post(s.url("/schedule/publish")))
    texts: dict[str, Any] = {
        "requests": client.get(s.url("/requests")).text,
        "schedule": client.get(s.url("/schedule")).text,
        "table plan": client.get(s.url("/schedule/table-plan.csv")).text,
        "agenda.html": client.get(s.url("/agenda.html")).text,
    }
    for key in ("a1", "d1"):
        for suffix, text in exports_of(readers[ORG_OF[key]], s, key).items():
            texts[f"{key} agenda.{suffix}"] = text
    assert len(texts) == 12
    # a1 -> b1 is the one accepted request: a1's agenda names b1's e-mail, and so does the
    # organiser's printout (a1's and b1's pages); nothing else carries an e-mail
    accepted = {f"a1 agenda.{suffix}": [EMAIL["b1"]] for suffix in ("ics", "csv", "json", "html")}
    accepted["agenda.html"] = [EMAIL["a1"], EMAIL["b1"]]
    for name, text in texts.items():
        found = sorted(address for address in EMAIL.values() if address in text)
        assert found == accepted.get(name, []), name
    # the partner's name and organisation are in the agenda, as the participant list shows them
    assert "Dora Dietz" in texts["a1 agenda.csv"]
    assert "Delta Logistik GmbH" in texts["a1 agenda.csv"]
