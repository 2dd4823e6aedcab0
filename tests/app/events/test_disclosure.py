"""Who reads an event's attendees and recommendations: event managers and members of a
registered organisation read participants and people; recommendations show their targets
through the caller's disclosure view; the competitor opt-out holds in every event list."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory
from tests.app.events import ORGS, Scenario, build_event, ok


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


def statuses(readers: dict[str, TestClient], url: str) -> dict[str, int]:
    return {who: client.get(url).status_code for who, client in readers.items()}


def test_attendees_are_read_by_managers_and_registered_organisations_only(
    scenario: Scenario, readers: dict[str, TestClient]
) -> None:
    s = scenario
    attendees = {"A": 200, "B": 200, "C": 200, "D": 200, "organizer": 200}
    outsiders = {"E": 403, "curator": 403}
    expected = {**attendees, **outsiders}
    for tail in (
        "/participants",
        f"/participants/{s.participants['B']}",
        f"/people/{s.people['b1']}",
    ):
        assert statuses(readers, s.url(tail)) == expected, tail
    refused = readers["E"].get(s.url("/participants"))
    assert refused.headers["content-type"] == "application/problem+json"
    assert "Beta" not in refused.text and "Berta" not in refused.text
    # registering makes E an attendee
    body = {"organization_id": s.orgs["E"], "people": [{"name": "Emil Ernst", "email": "e@e.de"}]}
    ok(readers["E"].post(s.url("/participants"), json=body), 201)
    assert readers["E"].get(s.url("/participants")).status_code == 200


def test_recommendations_show_targets_through_the_callers_view(
    client: TestClient, scenario: Scenario, readers: dict[str, TestClient]
) -> None:
    s = scenario
    # B shows its address to partners only
    ok(client.patch(f"{ORGS}/{s.orgs['B']}", json={"city": "Nürnberg", "postal_code": "90402"}))
    ok(client.patch(f"{ORGS}/{s.orgs['B']}", json={"disclosure": {"address": "partners"}}))
    url = s.url(f"/participants/{s.participants['A']}/recommendations")
    as_member = {r["participant_id"]: r["organization"] for r in ok(readers["A"].get(url))["items"]}
    beta = as_member[s.participants["B"]]
    assert beta == {
        "id": s.orgs["B"],
        "external_id": None,
        "name": None,
        "nace_code": "22.26",
        "country": "DE",
        "region": "DE-9",
        "city": None,
        "size_class": None,
        "hidden_fields": ["address", "contacts", "employees", "name", "relationships", "website"],
        "disclosure_level": "member",
    }
    assert all(o["name"] is None and o["disclosure_level"] == "member" for o in as_member.values())
    # event managers and hub staff see everything
    as_admin = {r["participant_id"]: r["organization"] for r in ok(client.get(url))["items"]}
    assert as_admin[s.participants["B"]]["name"] == "Beta Kunststofftechnik GmbH"
    assert as_admin[s.participants["B"]]["city"] == "Nürnberg"
    assert as_admin[s.participants["B"]]["disclosure_level"] == "owner"


def test_an_opted_out_competitor_is_left_out_of_its_competitors_event_lists(
    client: TestClient, scenario: Scenario, readers: dict[str, TestClient]
) -> None:
    s = scenario
    b_recommendations = s.url(f"/participants/{s.participants['B']}/recommendations")
    before = ok(readers["B"].get(b_recommendations))["items"]
    assert s.participants["C"] in [r["participant_id"] for r in before]
    # C and B share their core in NACE 22.26: competitors. C opts out.
    ok(client.patch(f"{ORGS}/{s.orgs['C']}", json={"hide_from_competitors": True}))
    listed = [p["organization_id"] for p in ok(readers["B"].get(s.url("/participants")))]
    assert listed == [s.orgs["A"], s.orgs["B"], s.orgs["D"]]
    missing_participant = readers["B"].get(s.url(f"/participants/{s.participants['C']}"))
    assert missing_participant.status_code == 404
    assert missing_participant.json()["detail"] == (
        f"No participant {s.participants['C']} in event {s.event_id}."
    )
    missing_person = readers["B"].get(s.url(f"/people/{s.people['c1']}"))
    assert missing_person.status_code == 404
    assert "Carl" not in missing_person.text and "Gamma" not in missing_person.text
    after = ok(readers["B"].get(b_recommendations))["items"]
    assert s.participants["C"] not in [r["participant_id"] for r in after]
    # the others still see C
    for who in ("A", "D", "organizer"):
        listed = [p["organization_id"] for p in ok(readers[who].get(s.url("/participants")))]
        assert listed == [s.orgs[k] for k in "ABCD"], who
    assert readers["A"].get(s.url(f"/people/{s.people['c1']}")).status_code == 200


def test_an_organiser_invites_a_profile_that_is_not_public_and_its_members_consent(
    client: TestClient, scenario: Scenario, readers: dict[str, TestClient]
) -> None:
    s = scenario
    organiser, epsilon = readers["organizer"], readers["E"]
    url = s.url("/participants")

    def register(caller: TestClient, organization_id: int) -> Any:
        body = {"organization_id": organization_id, "people": [{"name": "Eva", "email": "e@e.de"}]}
        return caller.post(url, json=body)

    ok(client.patch(f"{ORGS}/{s.orgs['E']}", json={"visibility": "members"}))
    invited = register(organiser, s.orgs["E"])
    assert invited.status_code == 202, invited.text
    invitation = invited.json()
    assert set(invitation) == {
        "id",
        "event_id",
        "organization_id",
        "created_at",
        "expires_at",
        "expired",
    }
    assert "Epsilon" not in invited.text
    assert [p["organization_id"] for p in ok(organiser.get(url))] == [s.orgs[k] for k in "ABCD"]
    # a private profile answers like an id that does not exist
    hidden = ok(client.post(ORGS, json={"name": "Geheim GmbH", "visibility": "private"}), 201)
    missing, private = register(organiser, 2_000_000), register(organiser, hidden["id"])
    assert (missing.status_code, private.status_code) == (422, 422)
    assert private.json()["errors"] == [
        {"field": "organization_id", "message": f"no organisation with id {hidden['id']}"}
    ]
    # the invited organisation sees it; others do not; only its members accept
    invitations = s.url("/invitations")
    assert [i["id"] for i in ok(epsilon.get(invitations))] == [invitation["id"]]
    assert ok(readers["A"].get(invitations)) == []
    accept = s.url(f"/invitations/{invitation['id']}/accept")
    people = {"people": [{"name": "Emil Ernst", "email": "emil@epsilon.example"}]}
    assert organiser.post(accept, json=people).status_code == 403
    assert readers["A"].post(accept, json=people).status_code == 403
    participant = ok(epsilon.post(accept, json=people), 201)
    assert participant["organization_name"] == "Epsilon Kunststoff GmbH"
    assert ok(epsilon.get(invitations)) == []
    listed = [p["organization_id"] for p in ok(organiser.get(url))]
    assert listed == [s.orgs[k] for k in "ABCDE"]
    # a public profile needs no consent; a declined invitation registers nothing
    ok(client.patch(f"{ORGS}/{s.orgs['D']}", json={"visibility": "members"}))
    ok(client.delete(s.url(f"/participants/{s.participants['D']}")), 204)
    declined = ok(register(organiser, s.orgs["D"]), 202)
    ok(readers["D"].delete(s.url(f"/invitations/{declined['id']}")), 204)
    assert s.orgs["D"] not in [p["organization_id"] for p in ok(organiser.get(url))]
    # a public profile whose name the organiser may not see is invited too: the 201 and the
    # attendees' list would name it without its consent
    ok(client.patch(f"{ORGS}/{s.orgs['D']}", json={"visibility": "public"}))
    assert ok(organiser.get(f"{ORGS}/{s.orgs['D']}"))["name"] is None
    hidden_name = register(organiser, s.orgs["D"])
    assert hidden_name.status_code == 202, hidden_name.text
    assert "Delta" not in hidden_name.text
    ok(readers["D"].delete(s.url(f"/invitations/{hidden_name.json()['id']}")), 204)
    # a public profile that shows its name to signed-in accounts needs no consent
    ok(client.patch(f"{ORGS}/{s.orgs['D']}", json={"disclosure": {"name": "members"}}))
    registered = register(organiser, s.orgs["D"])
    assert registered.status_code == 201, registered.text
    assert registered.json()["organization_name"] == "Delta Logistik GmbH"


def test_recommendations_rank_by_the_relationships_the_caller_may_see(
    client: TestClient, scenario: Scenario, readers: dict[str, TestClient]
) -> None:
    s = scenario
    url = s.url(f"/participants/{s.participants['A']}/recommendations")

    def scores(reader: TestClient) -> dict[int, float]:
        return {r["participant_id"]: r["score"] for r in ok(reader.get(url))["items"]}

    as_member, as_admin = scores(readers["A"]), scores(client)
    assert as_member == as_admin
    # C and D name each other and D names A, shown to their partners only: A is none of them
    for key, named in (("C", ["ev-D"]), ("D", ["ev-C", "ev-A"])):
        body = {
            "relationships": [{"type": "partner", "external_id": e} for e in named],
            "disclosure": {"relationships": "partners"},
        }
        ok(client.patch(f"{ORGS}/{s.orgs[key]}", json=body))
    # hub staff rank with the whole network; A's member exactly as before
    assert scores(readers["A"]) == as_member
    changed = scores(client)
    assert changed != as_admin
    assert changed[s.participants["D"]] > as_admin[s.participants["D"]]
