from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory

API = "/api/v1/organizations"


def _body(external_id: str, name: str, visibility: str, **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": name, "visibility": visibility, **extra}


@pytest.fixture
def orgs(client: TestClient) -> dict[str, int]:
    """Three profiles created by the admin client: public, members-only and private."""
    bodies = [
        _body(
            "P-1",
            "Sensotec GmbH",
            "public",
            description="Füllstandsensoren",
            nace_code="26.51",
            country="DE",
            city="Stuttgart",
            postal_code="70173",
            employees=85,
            website="https://sensotec.example",
            competences=[
                {"kind": "core", "label": "Füllstandsensorik", "description": "bis 200 °C"},
                {"kind": "complementary", "label": "IoT-Plattform"},
            ],
            cooperation_interests=["product_development"],
        ),
        _body("M-1", "Members AG", "members", nace_code="C", employees=9),
        _body("X-1", "Hidden KG", "private", employees=250),
    ]
    ids = {}
    for body in bodies:
        response = client.post(API, json=body)
        assert response.status_code == 201, response.text
        ids[body["visibility"]] = response.json()["id"]
    return ids


def test_anonymous_list_shows_only_public_teasers(
    anon_client: TestClient, orgs: dict[str, int]
) -> None:
    response = anon_client.get(API)
    assert response.status_code == 200
    # only the always-shown attributes and "founded" (public by default): no name, no city
    assert response.json() == {
        "items": [
            {
                "id": orgs["public"],
                "industry": "26",
                "country": "DE",
                "region": "DE-7",
                "city": None,
                "size_class": "medium",
                "competences": [
                    {"kind": "core", "label": "Füllstandsensorik"},
                    {"kind": "complementary", "label": "IoT-Plattform"},
                ],
                "cooperation_interests": ["product_development"],
                "name": None,
                "external_id": None,
                "website": None,
                "contact_name": None,
                "contact_email": None,
                "contact_phone": None,
                "employees": None,
                "postal_code": None,
                "latitude": None,
                "longitude": None,
                "description": None,
                "founded": None,
                "relationships": [],
                "verified": False,
                "hidden_fields": [
                    "address",
                    "contacts",
                    "description",
                    "employees",
                    "name",
                    "relationships",
                    "website",
                ],
                "disclosure_level": "anonymous",
            }
        ],
        "total": 1,
        "limit": 50,
        "offset": 0,
    }
    assert anon_client.get(API, params={"competence": "IoT"}).json()["total"] == 1
    assert anon_client.get(API, params={"competence": "Spritzguss"}).json()["total"] == 0


def test_anonymous_text_search_needs_a_token(anon_client: TestClient, orgs: dict[str, int]) -> None:
    for params in ({"q": "Sensotec"}, {"external_id": "P-1"}):
        response = anon_client.get(API, params=params)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_anonymous_read_public_teaser_members_401_private_404(
    anon_client: TestClient, orgs: dict[str, int]
) -> None:
    teaser = anon_client.get(f"{API}/{orgs['public']}")
    assert teaser.status_code == 200
    shown = {k for k, v in teaser.json().items() if v not in (None, [], False)}
    assert shown == {
        "id",
        "industry",
        "country",
        "region",
        "size_class",
        "competences",
        "cooperation_interests",
        "hidden_fields",
        "disclosure_level",
    }
    assert "etag" not in teaser.headers
    assert anon_client.get(f"{API}/{orgs['members']}").status_code == 401
    private = anon_client.get(f"{API}/{orgs['private']}")
    assert private.status_code == 404
    assert private.json()["detail"] == f"No organisation with id {orgs['private']}."
    assert anon_client.get(f"{API}/999999").status_code == 404


def test_members_see_public_and_members_profiles_staff_see_all(
    client: TestClient,
    client_for: ClientFactory,
    make_account: AccountFactory,
    orgs: dict[str, int],
) -> None:
    member = client_for(make_account(Role.member, orgs["public"]))
    listed = member.get(API).json()
    # ordered by id; another organisation's name and head count are for its partners
    assert [(i["id"], i["name"]) for i in listed["items"]] == [
        (orgs["public"], "Sensotec GmbH"),
        (orgs["members"], None),
    ]
    assert listed["items"][0]["employees"] == 85
    assert (listed["items"][1]["employees"], listed["items"][1]["size_class"]) == (None, "micro")
    full = member.get(f"{API}/{orgs['members']}")
    assert full.status_code == 200
    assert (full.json()["name"], full.json()["nace_code"]) == (None, "C")
    # another organisation's private profile does not exist for a member
    hidden = member.get(f"{API}/{orgs['private']}")
    assert hidden.status_code == 404
    assert hidden.json()["detail"] == f"No organisation with id {orgs['private']}."
    assert member.patch(f"{API}/{orgs['private']}", json={"city": "Ulm"}).status_code == 404
    assert member.get(f"{API}/{orgs['private']}/matches").status_code == 404
    # its own private profile does
    insider = client_for(make_account(Role.member, orgs["private"]))
    assert insider.get(f"{API}/{orgs['private']}").json()["name"] == "Hidden KG"
    staff = client_for(make_account(Role.curator))
    assert [i["name"] for i in staff.get(API).json()["items"]] == [
        "Hidden KG",
        "Members AG",
        "Sensotec GmbH",
    ]
    assert client.get(API).json()["total"] == 3


def test_member_edits_only_its_own_profile_and_not_its_external_id(
    client_for: ClientFactory, make_account: AccountFactory, orgs: dict[str, int]
) -> None:
    member = client_for(make_account(Role.member, orgs["members"]))
    own = member.patch(f"{API}/{orgs['members']}", json={"city": "Ulm", "visibility": "private"})
    assert own.status_code == 200
    assert own.json()["city"] == "Ulm"
    assert own.json()["visibility"] == "private"
    other = member.patch(f"{API}/{orgs['public']}", json={"city": "Ulm"})
    assert other.status_code == 403
    assert other.json()["detail"] == (
        "Only hub staff and the organisation's own members may change it."
    )
    rekey = member.patch(f"{API}/{orgs['members']}", json={"external_id": "NEW"})
    assert rekey.status_code == 403
    assert rekey.json()["detail"] == "Only hub staff may change the external_id."
    # sending the unchanged external_id is fine
    same = member.patch(f"{API}/{orgs['members']}", json={"external_id": "M-1"})
    assert same.status_code == 200
    assert member.post(API, json={"name": "New GmbH"}).status_code == 403
    assert member.delete(f"{API}/{orgs['public']}").status_code == 403


def test_size_class_boundaries() -> None:
    from app.auth.schemas import industry_of, size_class

    assert [size_class(n) for n in (None, 0, 9, 10, 49, 50, 249, 250)] == [
        None,
        "micro",
        "micro",
        "small",
        "small",
        "medium",
        "medium",
        "large",
    ]
    assert [industry_of(c) for c in (None, "C", "26", "26.5", "26.51")] == [
        None,
        "C",
        "26",
        "26",
        "26",
    ]
