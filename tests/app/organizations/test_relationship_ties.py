"""Tie strength and recency of known relationships (joint_projects, last_year): validated,
stored, shown only to callers who may see the relationships group, kept by imports, exported."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models.cooperation import CooperationRequest
from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory

API = "/api/v1/organizations"
IMPORT = "/api/v1/organizations/import"
TIES = [
    {"type": "partner", "external_id": "T-1", "joint_projects": 4, "last_year": 2021},
    {"type": "supplier", "name": "Zulieferer GmbH"},
]


@pytest.fixture
def ids(client: TestClient) -> dict[str, int]:
    """O states two relationships (a partner T with ties, a supplier by name); V views."""
    out = {}
    for body in (
        {"external_id": "T-1", "name": "Tertia KG", "country": "AT"},
        {"external_id": "V-1", "name": "Viewer AG", "country": "CH"},
        {"external_id": "O-1", "name": "Sensotec GmbH", "country": "DE", "relationships": TIES},
    ):
        response = client.post(API, json=body)
        assert response.status_code == 201, response.text
        out[body["external_id"][0]] = response.json()["id"]
    return out


def ties(body: dict[str, Any]) -> list[tuple[str, str | None, int | None, int | None]]:
    return [
        (r["type"], r["name"], r["joint_projects"], r["last_year"]) for r in body["relationships"]
    ]


def test_ties_reach_who_may_see_relationships_and_no_one_else(
    db_session: Session,
    client_for: ClientFactory,
    make_account: AccountFactory,
    ids: dict[str, int],
) -> None:
    owner = client_for(make_account(Role.member, ids["O"]))
    viewer = client_for(make_account(Role.member, ids["V"]))
    url = f"{API}/{ids['O']}"
    assert ties(owner.get(url).json()) == [
        ("partner", "T-1", 4, 2021),
        ("supplier", "Zulieferer GmbH", None, None),
    ]
    # relationships are hidden from other members by default: neither list nor ties
    seen = viewer.get(url)
    assert seen.status_code == 200, seen.text
    assert seen.json()["relationships"] == []
    assert "relationships" in seen.json()["hidden_fields"]
    assert "joint_projects" not in seen.text and "2021" not in seen.text
    # nor in the list of organisations
    listed = viewer.get(API, params={"external_id": "O-1"})
    assert listed.status_code == 200
    assert "joint_projects" not in listed.text and "2021" not in listed.text
    # an accepted cooperation request makes V a partner: the partner level sees the group
    db_session.add(
        CooperationRequest(
            from_organization_id=ids["V"],
            to_organization_id=ids["O"],
            type="product_development",
            status="accepted",
        )
    )
    db_session.commit()
    assert ties(viewer.get(url).json()) == [
        ("partner", None, 4, 2021),  # T stays anonymous to V; the ties are O's statement
        ("supplier", "Zulieferer GmbH", None, None),
    ]


@pytest.mark.parametrize(
    ("tie", "field", "message"),
    [
        ({"joint_projects": 0}, "joint_projects", "greater than or equal to 1"),
        ({"joint_projects": "viele"}, "joint_projects", "integer"),
        ({"last_year": 1850}, "last_year", "must be a year between 1900 and"),
        ({"last_year": dt.date.today().year + 1}, "last_year", "must be a year between 1900"),
    ],
)
def test_bad_ties_are_problems_naming_the_field(
    client: TestClient, tie: dict[str, Any], field: str, message: str
) -> None:
    body = {
        "external_id": "B-1",
        "name": "Beta GmbH",
        "relationships": [{"type": "partner", "name": "Gamma AG", **tie}],
    }
    response = client.post(API, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == f"relationships[0].{field}"
    assert message in error["message"]
    assert client.get(API, params={"external_id": "B-1"}).json()["total"] == 0


def _import(client: TestClient, records: list[dict[str, Any]]) -> dict[str, Any]:
    text = "[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]"
    response = client.post(
        IMPORT, content=text.encode(), headers={"content-type": "application/json"}
    )
    return {"status": response.status_code, **response.json()}


def test_import_writes_keeps_and_exports_the_ties(client: TestClient) -> None:
    base = {"external_id": "A-1", "name": "Alpha GmbH"}
    first = _import(
        client,
        [
            {"external_id": "B-2", "name": "Beta AG"},
            {**base, "relationships": [{**TIES[0], "external_id": "B-2"}]},
        ],
    )
    assert (first["status"], first["created"]) == (200, 2)
    alpha = client.get(API, params={"external_id": "A-1"}).json()["items"][0]["id"]
    assert ties(client.get(f"{API}/{alpha}").json()) == [("partner", "B-2", 4, 2021)]
    # a record that does not mention relationships leaves them (and their ties) alone
    again = _import(client, [{**base, "description": "Sensoren"}])
    assert (again["status"], again["updated"]) == (200, 1)
    assert ties(client.get(f"{API}/{alpha}").json()) == [("partner", "B-2", 4, 2021)]
    # one that states them anew replaces what it mentions (joint_projects left out: kept)
    changed = _import(
        client,
        [{**base, "relationships": [{"type": "partner", "external_id": "B-2", "last_year": 2024}]}],
    )
    assert changed["status"] == 200
    assert ties(client.get(f"{API}/{alpha}").json()) == [("partner", "B-2", 4, 2024)]
    blank = _import(
        client,
        [
            {
                **base,
                "relationships": [
                    {"type": "partner", "external_id": "B-2", "joint_projects": None}
                ],
            }
        ],
    )
    # in an import file an empty value is not mentioned (as an empty cell): kept
    assert blank["status"] == 200
    assert ties(client.get(f"{API}/{alpha}").json()) == [("partner", "B-2", 4, 2024)]
    renewed = _import(
        client,
        [
            {
                **base,
                "relationships": [{"type": "partner", "external_id": "B-2", "joint_projects": 1}],
            }
        ],
    )
    assert renewed["status"] == 200
    assert ties(client.get(f"{API}/{alpha}").json()) == [("partner", "B-2", 1, 2024)]
    export = client.get(f"{API}/{alpha}/export")
    assert export.status_code == 200, export.text
    assert [
        (r["type"], r["name"], r["joint_projects"], r["last_year"])
        for r in export.json()["relationships"]["outgoing"]
    ] == [("partner", "B-2", 1, 2024)]
    # a bad tie in an import file is a row error naming the field
    bad = _import(client, [{**base, "relationships": [{**TIES[1], "joint_projects": -2}]}])
    assert bad["status"] == 422
    assert [(e["line"], e["field"]) for e in bad["errors"]] == [
        (2, "relationships[0].joint_projects")
    ]


def test_an_entry_that_does_not_mention_the_ties_keeps_them(
    client: TestClient, ids: dict[str, int]
) -> None:
    """A form or CSV column cannot carry the ties: saving the list without them keeps the
    stored ones of the same relationship; an explicit null clears them."""
    url = f"{API}/{ids['O']}"
    kept = client.patch(
        url,
        json={
            "relationships": [
                {"type": "partner", "external_id": "T-1", "revenue_share": None},
                {"type": "supplier", "name": "Zulieferer GmbH", "last_year": 2019},
            ]
        },
    )
    assert kept.status_code == 200, kept.text
    assert ties(client.get(url).json()) == [
        ("partner", "T-1", 4, 2021),
        ("supplier", "Zulieferer GmbH", None, 2019),
    ]
    # the same reference under another type is another relationship
    moved = client.patch(url, json={"relationships": [{"type": "customer", "external_id": "T-1"}]})
    assert moved.status_code == 200, moved.text
    assert ties(client.get(url).json()) == [("customer", "T-1", None, None)]
    client.patch(url, json={"relationships": TIES})
    cleared = client.patch(
        url,
        json={"relationships": [{"type": "partner", "external_id": "T-1", "joint_projects": None}]},
    )
    assert cleared.status_code == 200, cleared.text
    assert ties(client.get(url).json()) == [("partner", "T-1", None, 2021)]
