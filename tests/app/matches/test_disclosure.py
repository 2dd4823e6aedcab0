"""Matches and searches as members see them: anonymous teasers, staged disclosure, opt-out."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.matches.index import IndexCache
from app.matches.service import fitted_index, opted_out_competitors, shown, to_out
from app.models.cooperation import CooperationRequest
from app.models.organization import Organization
from app.models.user import Role
from app.organizations import repository as organization_repository
from app.organizations.access import views_by_disclosure, views_of
from matching.encoders import Encoder
from matching.types import Filters
from tests.app.conftest import AccountFactory, ClientFactory
from tests.app.matches.test_api import API, NETWORK, ids, matches, names

__all__ = ["ids"]  # the fixture, shared with test_api

SEARCH = "/api/v1/matches/search"
HIDDEN_BY_DEFAULT = ["contacts", "employees", "name", "relationships", "website"]


@pytest.fixture
def member_of(client_for: ClientFactory, make_account: AccountFactory, ids: dict[str, int]) -> Any:
    def make(key: str) -> TestClient:
        return client_for(make_account(Role.member, ids[key]))

    return make


def found(client: TestClient, text: str, **extra: Any) -> list[dict[str, Any]]:
    response = client.post(SEARCH, json={"text": text, **extra})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def ids_of(items: list[dict[str, Any]]) -> list[int]:
    return [m["organization"]["id"] for m in items]


def test_members_see_anonymous_teasers_of_their_matches(
    member_of: Any, ids: dict[str, int]
) -> None:
    items = matches(member_of("A"), ids["A"])
    assert ids_of(items) == [ids["B"], ids["C"]]
    assert [m["organization"] for m in items] == [
        {
            "id": ids["B"],
            "external_id": None,
            "name": None,
            "nace_code": "22.26",
            "country": "DE",
            "region": "DE",
            "city": None,
            "size_class": "medium",
            "hidden_fields": HIDDEN_BY_DEFAULT,
            "disclosure_level": "member",
        },
        {
            "id": ids["C"],
            "external_id": None,
            "name": None,
            "nace_code": "22.26",
            "country": "CH",
            "region": "CH",
            "city": None,
            "size_class": "large",
            "hidden_fields": HIDDEN_BY_DEFAULT,
            "disclosure_level": "member",
        },
    ]


def test_reasons_mention_competences_only(member_of: Any, ids: dict[str, int]) -> None:
    labels = {c["label"] for body in NETWORK for c in body["competences"]}
    for items in (
        matches(member_of("A"), ids["A"], exclude_known="false"),
        found(member_of("D"), "Kunststoffspritzguss; Drucksensoren"),
    ):
        assert items
        for item in items:
            for reason in item["reasons"]:
                quoted = set(re.findall(r"“([^”]*)”", reason["text"]))
                assert quoted <= labels, reason["text"]
                rest = re.sub(r"“[^”]*”", "", reason["text"])
                for body in NETWORK:
                    assert body["name"] not in rest
                    assert body["name"].split()[0] not in rest


def test_an_accepted_request_discloses_the_partner_in_matches_and_search(
    db_session: Session, member_of: Any, ids: dict[str, int]
) -> None:
    db_session.add(
        CooperationRequest(
            from_organization_id=ids["B"],
            to_organization_id=ids["A"],
            type="product_development",
            status="accepted",
        )
    )
    db_session.commit()
    member = member_of("A")
    items = matches(member, ids["A"])
    shown = {m["organization"]["id"]: m["organization"] for m in items}
    assert (shown[ids["B"]]["name"], shown[ids["B"]]["disclosure_level"]) == (
        "Beta Kunststofftechnik GmbH",
        "partner",
    )
    assert (shown[ids["C"]]["name"], shown[ids["C"]]["disclosure_level"]) == (None, "member")
    searched = {
        m["organization"]["id"]: m["organization"]["name"]
        for m in found(member, "Kunststoffspritzguss", use_place_names=False)
    }
    assert searched == {ids["B"]: "Beta Kunststofftechnik GmbH", ids["C"]: None}


def test_search_results_are_teasers_for_members_full_for_staff(
    client: TestClient, member_of: Any, ids: dict[str, int]
) -> None:
    items = found(member_of("D"), "Kunststoffspritzguss in der Schweiz")
    assert [m["organization"] for m in items] == [
        {
            "id": ids["C"],
            "external_id": None,
            "name": None,
            "nace_code": "22.26",
            "country": "CH",
            "region": "CH",
            "city": None,
            "size_class": "large",
            "hidden_fields": HIDDEN_BY_DEFAULT,
            "disclosure_level": "member",
        }
    ]
    staff = found(client, "Kunststoffspritzguss in der Schweiz")
    assert [m["organization"]["name"] for m in staff] == ["Gamma Spritzguss AG"]


def test_opted_out_competitor_is_never_shown_to_its_competitor(
    client: TestClient, member_of: Any, ids: dict[str, int]
) -> None:
    # B and C share their core in NACE 22.26: competitors; A is B's complementary partner
    before = {m["organization"]["id"]: m["relation"] for m in matches(client, ids["B"])}
    assert before == {ids["A"]: "complementary", ids["C"]: "competitor"}
    for key in ("C", "A"):  # A opts out too, but it is nobody's competitor here
        response = client.patch(f"{API}/{ids[key]}", json={"hide_from_competitors": True})
        assert response.status_code == 200, response.text
    # B's matches, whoever asks, even with include_competitors=true
    for caller in (client, member_of("B"), member_of("D")):
        assert ids_of(matches(caller, ids["B"], include_competitors="true")) == [ids["A"]]
    # a typed search by B's members
    b_member = member_of("B")
    text = "Kunststoffspritzguss"
    assert ids["C"] not in ids_of(found(b_member, text, use_place_names=False))
    assert ids_of(found(b_member, "Kunststoffspritzguss in der Schweiz")) == []
    # C's own match list is not found for B's members, as C's profile is not
    hidden = b_member.get(f"{API}/{ids['C']}/matches")
    assert (hidden.status_code, hidden.json()["detail"]) == (
        404,
        f"No organisation with id {ids['C']}.",
    )
    assert member_of("D").get(f"{API}/{ids['C']}/matches").status_code == 200
    # A's match list, when B's members look at it: without C, and with A's partner D, since
    # leaving out A's known partners would show B's members A's partners-only relationships
    assert ids_of(matches(b_member, ids["A"])) == [ids["B"], ids["D"]]
    # non-competitors still see C
    assert ids_of(matches(client, ids["A"])) == [ids["B"], ids["C"]]
    assert ids_of(matches(member_of("A"), ids["A"])) == [ids["B"], ids["C"]]
    assert ids_of(found(member_of("A"), "Kunststoffspritzguss in der Schweiz")) == [ids["C"]]
    assert ids_of(found(member_of("D"), "Kunststoffspritzguss in der Schweiz")) == [ids["C"]]
    assert ids_of(found(client, "Kunststoffspritzguss in der Schweiz")) == [ids["C"]]
    # opting back in
    assert (
        client.patch(f"{API}/{ids['C']}", json={"hide_from_competitors": False}).status_code == 200
    )
    assert names(matches(client, ids["B"])) == ["A", "C"]
    assert ids_of(found(b_member, "Kunststoffspritzguss in der Schweiz")) == [ids["C"]]


def test_opted_out_competitor_is_out_of_its_competitors_list_and_profile_reads(
    client: TestClient, member_of: Any, ids: dict[str, int]
) -> None:
    response = client.patch(f"{API}/{ids['C']}", json={"hide_from_competitors": True})
    assert response.status_code == 200, response.text
    everyone = {ids[k] for k in ("A", "B", "C", "D", "E")}

    def listed(caller: TestClient) -> set[int]:
        body = caller.get(API, params={"limit": 500}).json()
        return {item["id"] for item in body["items"]} & everyone

    b_member, a_member = member_of("B"), member_of("A")
    private = ids["E"]
    # B is C's competitor: C is not listed and reads as if it did not exist
    assert listed(b_member) == everyone - {ids["C"], private}
    response = b_member.get(f"{API}/{ids['C']}")
    assert (response.status_code, response.json()["detail"]) == (
        404,
        f"No organisation with id {ids['C']}.",
    )
    # everyone else, hub staff included, still finds C
    assert listed(a_member) == everyone - {private}
    assert listed(client) == everyone
    assert a_member.get(f"{API}/{ids['C']}").status_code == 200
    assert client.get(f"{API}/{ids['C']}").status_code == 200


def test_the_services_competitor_rule_agrees_with_the_engine(
    client: TestClient, db_session: Session, ids: dict[str, int], app: Any, encoder: Any
) -> None:
    for key in ("A", "B", "C", "D"):
        assert (
            client.patch(f"{API}/{ids[key]}", json={"hide_from_competitors": True}).status_code
            == 200
        )
    index = fitted_index(db_session, app.state.match_index, encoder)
    assert opted_out_competitors(db_session, index, ids["B"]) == {ids["C"]}
    assert opted_out_competitors(db_session, index, ids["C"]) == {ids["B"]}
    assert opted_out_competitors(db_session, index, ids["A"]) == set()
    assert opted_out_competitors(db_session, index, ids["D"]) == set()
    # E is private: never a candidate, but it may ask; B and C share its core and division
    assert opted_out_competitors(db_session, index, ids["E"]) == {ids["B"], ids["C"]}


def test_employee_filters_work_on_whole_size_classes_for_members(
    client: TestClient, member_of: Any, ids: dict[str, int]
) -> None:
    # B has 120 employees (medium), C 300 (large)
    member = member_of("D")
    assert ids_of(matches(member, ids["A"], min_employees=121, max_employees=130)) == [ids["B"]]
    assert ids_of(matches(client, ids["A"], min_employees=121, max_employees=130)) == []
    assert ids_of(matches(member, ids["A"], min_employees=251)) == [ids["C"]]
    # D is A's known partner: kept in A's list for D's members, who may not see A's
    # relationships (leaving known partners out would disclose them)
    assert ids_of(matches(member, ids["A"], max_employees=249)) == [ids["B"], ids["D"]]
    response = member.post(
        SEARCH, json={"text": "Kunststoffspritzguss", "min_employees": 119, "max_employees": 120}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["applied_filters"] == {"min_employees": 50, "max_employees": 249}
    assert ids_of(body["items"]) == [ids["B"]]
    staff = client.post(
        SEARCH, json={"text": "Kunststoffspritzguss", "min_employees": 121, "max_employees": 130}
    ).json()
    assert (staff["applied_filters"], staff["items"]) == (
        {"min_employees": 121, "max_employees": 130},
        [],
    )


def test_a_match_list_reveals_no_relationships_the_caller_may_not_see(
    client: TestClient, member_of: Any, ids: dict[str, int]
) -> None:
    # A names D as its partner; A shows its relationships to partners only (the default)
    def listed(caller: TestClient, exclude_known: str) -> list[dict[str, Any]]:
        return matches(caller, ids["A"], exclude_known=exclude_known)

    b_member = member_of("B")
    with_known, without = listed(b_member, "false"), listed(b_member, "true")
    assert ids_of(with_known) == ids_of(without) == [ids["B"], ids["C"], ids["D"]]
    assert all(set(m["components"]).isdisjoint({"network", "activity"}) for m in with_known)
    # A's own members and hub staff: the known partner is left out
    for caller in (member_of("A"), client):
        assert ids["D"] in ids_of(listed(caller, "false"))
        assert ids["D"] not in ids_of(listed(caller, "true"))
    # the graph components: for staff; A's members do not see B's and C's relationships
    assert all({"network", "activity"} <= set(m["components"]) for m in listed(client, "true"))
    assert all(
        set(m["components"]).isdisjoint({"network", "activity"})
        for m in listed(member_of("A"), "true")
    )


def test_an_opted_out_organisation_the_index_has_not_fitted_is_judged_from_its_rows(
    client: TestClient,
    member_of: Any,
    db_session: Session,
    ids: dict[str, int],
    app: Any,
    encoder: Any,
) -> None:
    # the index is fitted while E is private (never a candidate) and nobody has opted out
    before = fitted_index(db_session, app.state.match_index, encoder)
    assert ids["E"] not in before.matcher.row_of_id_
    # E opts out while private: it is nobody's candidate, and nobody's 500 either
    response = client.patch(f"{API}/{ids['E']}", json={"hide_from_competitors": True})
    assert response.status_code == 200, response.text
    assert ids_of(matches(member_of("B"), ids["B"], include_competitors="true")) == [
        ids["A"],
        ids["C"],
    ]
    # then E goes public; the index fitted before does not hold it, the index brought up to
    # date does, and E shares B's core and division: a competitor of B, whose members must
    # not see it
    response = client.patch(f"{API}/{ids['E']}", json={"visibility": "public"})
    assert response.status_code == 200, response.text
    current = fitted_index(db_session, app.state.match_index, encoder)
    assert ids["E"] in current.matcher.row_of_id_
    assert opted_out_competitors(db_session, current, ids["B"]) == {ids["E"]}
    assert opted_out_competitors(db_session, current, ids["A"]) == set()
    assert ids["E"] not in ids_of(matches(member_of("B"), ids["B"], include_competitors="true"))
    assert ids["E"] in ids_of(matches(member_of("A"), ids["A"], include_competitors="true"))


def test_a_match_lists_views_from_two_columns_are_the_views_of_the_whole_rows(
    db_session: Session, make_account: AccountFactory, ids: dict[str, int]
) -> None:
    """`shown` decides each result's view from its id and stored disclosure alone; for every
    kind of caller that is the view the loaded organisation gives (`views_of`)."""
    beta = db_session.get(Organization, ids["B"])
    assert beta is not None
    beta.disclosure = {"name": "public", "address": "partners", "founded": "members"}
    db_session.add(
        CooperationRequest(
            from_organization_id=ids["C"],
            to_organization_id=ids["A"],
            type="product_development",
            status="accepted",
        )
    )
    db_session.commit()
    rows = organization_repository.organizations_by_id(db_session, ids.values())
    stored = organization_repository.disclosures_by_id(db_session, [*ids.values(), 10**9])
    assert stored == {org_id: o.disclosure for org_id, o in rows.items()}
    callers = [
        None,
        make_account(Role.member, ids["A"]).user,
        make_account(Role.member, ids["D"]).user,
        make_account(Role.admin).user,
    ]
    seen: set[tuple[str, frozenset[str]]] = set()
    for user in callers:
        by_rows = views_of(db_session, user, list(rows.values()))
        assert views_by_disclosure(db_session, user, stored) == by_rows
        seen |= {(v.level, v.hidden) for v in by_rows.values()}
    # the callers above meet each organisation at different levels with different hidden
    # fields: anonymous, member, partner (C of A), owner and staff
    assert {level for level, _ in seen} == {"anonymous", "member", "partner", "owner"}
    assert (
        "member",
        frozenset(
            {"contact_name", "contact_email", "contact_phone", "employees", "website"}
            | {"relationships", "city", "postal_code", "latitude", "longitude"}
        ),
    ) in seen


def test_a_match_list_shown_to_a_member_is_the_one_the_loaded_rows_views_give(
    db_session: Session, make_account: AccountFactory, ids: dict[str, int], encoder: Encoder
) -> None:
    """`shown` against the same matches shown through views of the loaded organisations:
    the same ids, scores, relations, components, reasons and fields."""
    member = make_account(Role.member, ids["A"]).user
    index = fitted_index(db_session, IndexCache(), encoder)
    found = index.matcher.match(
        index.profiles[ids["A"]], filters=Filters(exclude_known=False), limit=10
    )
    got = shown(
        db_session,
        user=member,
        index=index,
        matches=found,
        relationships_shown=False,
        asking_id=ids["A"],
    )
    assert [m.organization.id for m in got] == [ids["B"], ids["C"], ids["D"]]
    rows = organization_repository.organizations_by_id(db_session, [m.target_id for m in found])
    views = views_of(db_session, member, list(rows.values()))
    expected = [
        to_out(m, index, view=views[m.target_id], relationships_shown=False, asking_id=ids["A"])
        for m in found
    ]
    assert [m.model_dump() for m in got] == [m.model_dump() for m in expected]
    assert [m.organization.name for m in got] == [None, None, None]
