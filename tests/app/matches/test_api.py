"""Match endpoints on a small hand-built network (hashing encoder: identical labels match)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/api/v1/organizations"


def comp(kind: str, label: str) -> dict[str, str]:
    return {"kind": kind, "label": label}


NETWORK = [
    {
        "external_id": "A",
        "name": "Alpha Sensorik GmbH",
        "nace_code": "26.51",
        "country": "DE",
        "latitude": 48.78,
        "longitude": 9.18,
        "employees": 80,
        "competences": [
            comp("core", "Drucksensoren"),
            comp("complementary", "Kunststoffspritzguss"),
            comp("peripheral", "Kontraktlogistik"),
        ],
        "cooperation_interests": ["product_development", "training"],
        "relationships": [{"type": "partner", "external_id": "D"}],
    },
    {
        "external_id": "B",
        "name": "Beta Kunststofftechnik GmbH",
        "nace_code": "22.26",
        "country": "DE",
        "latitude": 49.45,
        "longitude": 11.08,
        "employees": 120,
        "competences": [
            comp("core", "Kunststoffspritzguss"),
            comp("complementary", "Drucksensoren"),
        ],
        "cooperation_interests": ["product_development", "purchasing_sales"],
    },
    {
        "external_id": "C",
        "name": "Gamma Spritzguss AG",
        "nace_code": "22.26",
        "country": "CH",
        "latitude": 47.37,
        "longitude": 8.54,
        "employees": 300,
        "competences": [comp("core", "Kunststoffspritzguss")],
        "cooperation_interests": ["purchasing_sales"],
    },
    {
        "external_id": "D",
        "name": "Delta Logistik GmbH",
        "nace_code": "49.41",
        "country": "AT",
        "latitude": 48.21,
        "longitude": 16.37,
        "employees": 40,
        "competences": [comp("core", "Kontraktlogistik")],
    },
    {
        "external_id": "E",
        "name": "Epsilon Geheim GmbH",
        "nace_code": "22.26",
        "country": "DE",
        "visibility": "private",
        "competences": [
            comp("core", "Kunststoffspritzguss"),
            comp("complementary", "Drucksensoren"),
        ],
    },
]


@pytest.fixture
def ids(client: TestClient) -> dict[str, int]:
    out = {}
    # A names D as a partner, so D must exist first
    for body in sorted(NETWORK, key=lambda b: b["external_id"] == "A"):
        response = client.post(API, json=body)
        assert response.status_code == 201, response.text
        out[body["external_id"]] = response.json()["id"]
    return out


def matches(client: TestClient, org_id: int, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/{org_id}/matches", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def names(items: list[dict[str, Any]]) -> list[str]:
    return [m["organization"]["external_id"] for m in items]


def test_two_sided_partner_first_private_never_known_left_out(
    client: TestClient, ids: dict[str, int]
) -> None:
    items = matches(client, ids["A"])
    assert names(items) == ["B", "C"]
    assert items[0]["relation"] == "complementary"
    assert items[0]["score"] > items[1]["score"]
    # hub staff see everything
    assert items[0]["organization"] == {
        "id": ids["B"],
        "external_id": "B",
        "name": "Beta Kunststofftechnik GmbH",
        "nace_code": "22.26",
        "country": "DE",
        "region": "DE",
        "city": None,
        "size_class": "medium",
        "hidden_fields": [],
        "disclosure_level": "owner",
    }
    assert items[0]["shared_interests"] == ["product_development"]
    assert set(items[0]["components"]) >= {
        "need_coverage",
        "reciprocal_coverage",
        "profile_similarity",
    }


def test_known_partners_come_back_on_request(client: TestClient, ids: dict[str, int]) -> None:
    items = matches(client, ids["A"], exclude_known="false")
    again = names(items)
    # A states needs, so what it needs comes first; the known partner comes back after them
    assert again == ["B", "C", "D"]
    assert items[2]["components"]["known_partner"] == 1.0
    assert items[2]["components"]["proximity"] == 1.0
    assert items[0]["components"]["known_partner"] == 0.0
    # the partner relation is symmetric: D does not get A either
    assert "A" not in names(matches(client, ids["D"]))
    assert "A" in names(matches(client, ids["D"], exclude_known="false"))


def test_reasons_refer_to_real_competences_of_both_sides(
    client: TestClient, ids: dict[str, int]
) -> None:
    a = client.get(f"{API}/{ids['A']}").json()
    b = client.get(f"{API}/{ids['B']}").json()
    mine = {c["id"]: c["label"] for c in a["competences"]}
    theirs = {c["id"]: c["label"] for c in b["competences"]}
    top = matches(client, ids["A"])[0]
    directions = {r["direction"] for r in top["reasons"]}
    assert {"they_cover_my_need", "i_cover_their_need"} <= directions
    for reason in top["reasons"]:
        if reason["direction"] == "similar_profile":
            continue
        assert mine[reason["mine"]["id"]] == reason["mine"]["label"]
        assert theirs[reason["theirs"]["id"]] == reason["theirs"]["label"]
    cover = next(r for r in top["reasons"] if r["direction"] == "they_cover_my_need")
    assert (cover["mine"]["label"], cover["theirs"]["label"]) == (
        "Kunststoffspritzguss",
        "Kunststoffspritzguss",
    )
    assert cover["text"].startswith(
        "Their core competence “Kunststoffspritzguss” covers your strategic need"
    )


def test_competitors_labelled_and_excludable(client: TestClient, ids: dict[str, int]) -> None:
    items = matches(client, ids["B"])
    relation = {m["organization"]["external_id"]: m["relation"] for m in items}
    assert relation["C"] == "competitor"
    assert relation["A"] == "complementary"
    assert "C" not in names(matches(client, ids["B"], include_competitors="false"))


def test_filters(client: TestClient, ids: dict[str, int]) -> None:
    a = ids["A"]
    assert names(matches(client, a, country="CH")) == ["C"]
    assert names(matches(client, a, exclude=ids["B"])) == ["C"]
    assert names(matches(client, a, nace="22.26", min_employees=200)) == ["C"]
    assert names(matches(client, a, max_employees=200)) == ["B"]
    assert names(matches(client, a, exclude_nace="22")) == []
    # Stuttgart to Nuremberg 157 km, to Zurich 164 km
    assert names(matches(client, a, max_distance_km=160)) == ["B"]
    assert names(matches(client, a, max_distance_km=150)) == []
    assert names(matches(client, a, cooperation_interest="product_development")) == ["B"]
    assert names(matches(client, a, limit=1)) == ["B"]


def test_bad_parameters_are_problem_json(client: TestClient, ids: dict[str, int]) -> None:
    for params in (
        {"limit": 0},
        {"country": "Deutschland"},
        {"max_distance_km": -5},
        {"nace": "abc"},
    ):
        response = client.get(f"{API}/{ids['A']}/matches", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
    no_coords = client.post(
        API,
        json={
            "external_id": "F",
            "name": "Ohne Ort",
            "competences": [comp("core", "Drucksensoren")],
        },
    ).json()
    response = client.get(f"{API}/{no_coords['id']}/matches", params={"max_distance_km": 10})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "max_distance_km", "message": "organisation has no coordinates"}
    ]
    assert client.get(f"{API}/999999/matches").status_code == 404


def test_index_follows_writes(client: TestClient, ids: dict[str, int]) -> None:
    assert names(matches(client, ids["A"])) == ["B", "C"]
    assert client.delete(f"{API}/{ids['B']}").status_code == 204
    assert names(matches(client, ids["A"])) == ["C"]
    response = client.patch(f"{API}/{ids['C']}", json={"visibility": "private"})
    assert response.status_code == 200
    assert names(matches(client, ids["A"])) == []


def test_free_text_search_with_place_names(client: TestClient, ids: dict[str, int]) -> None:
    response = client.post(
        "/api/v1/matches/search", json={"text": "Kunststoffspritzguss in der Schweiz"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["need"] == "Kunststoffspritzguss"
    assert body["applied_filters"] == {"country": ["CH"]}
    assert names(body["items"]) == ["C"]
    plain = client.post(
        "/api/v1/matches/search", json={"text": "Kunststoffspritzguss", "limit": 5}
    ).json()
    assert names(plain["items"])[:2] in (["B", "C"], ["C", "B"])
    assert "E" not in names(plain["items"])
    listed = client.post(
        "/api/v1/matches/search", json={"text": "Drucksensoren; Kontraktlogistik"}
    ).json()
    assert listed["need"] == "Drucksensoren; Kontraktlogistik"
    assert set(names(listed["items"])[:2]) == {"A", "D"}


def test_search_validation(client: TestClient, ids: dict[str, int]) -> None:
    url = "/api/v1/matches/search"
    assert client.post(url, json={}).status_code == 422
    assert client.post(url, json={"text": "x"}).status_code == 422
    assert client.post(url, json={"text": "Sensoren", "limit": 1000}).status_code == 422
    response = client.post(
        url, json={"text": "Sensoren", "max_distance_km": 50, "use_place_names": False}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "origin", "message": "required with max_distance_km"}
    ]


def test_profiles_without_vectors_give_empty_answers_not_errors(
    client: TestClient, db_session
) -> None:  # type: ignore[no-untyped-def]
    from app.models import Competence, Organization

    for name in ("Ohne Vektor GmbH", "Auch ohne AG"):
        db_session.add(
            Organization(
                name=name,
                visibility="public",
                cooperation_interests=[],
                competences=[Competence(kind="core", label="Drucksensoren")],
            )
        )
    db_session.commit()
    response = client.post("/api/v1/matches/search", json={"text": "Drucksensoren"})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    first = client.get(API, params={"limit": 1}).json()["items"][0]["id"]
    assert client.get(f"{API}/{first}/matches").json()["items"] == []


# The only OPC UA firm besides "OPC" is in Vienna; the others near Ulm describe themselves with
# the word "Anbindung" but offer something else (hashing encoder, floor 0.15 in
# matching.relevance).
OPC_NETWORK = [
    {
        "external_id": "OPC",
        "name": "Südwest Automatisierung GmbH",
        "country": "DE",
        "latitude": 48.14,
        "longitude": 11.58,
        "competences": [comp("core", "OPC UA Schnittstellen")],
    },
    {
        "external_id": "WIEN",
        "name": "Donau Industrial IT GmbH",
        "country": "AT",
        "latitude": 48.21,
        "longitude": 16.37,
        "competences": [comp("core", "OPC UA Schnittstellen")],
    },
    {
        "external_id": "BAHN",
        "name": "Bahnanbindung Süd GmbH",
        "description": "Anbindung an Bahn und Hafen",
        "country": "DE",
        "latitude": 48.40,
        "longitude": 9.99,
        "competences": [comp("core", "Gleisbau")],
    },
    {
        "external_id": "CLOUD",
        "name": "Cloud-Anbindung GmbH",
        "description": "Anbindung von Büros an die Cloud",
        "country": "DE",
        "latitude": 48.39,
        "longitude": 10.01,
        "competences": [comp("core", "Cloud-Hosting")],
    },
]
OPC_QUERY = "wir suchen jemanden für OPC-UA-Anbindung in Süddeutschland"


def test_weak_search_results_are_flagged_and_can_be_hidden(client: TestClient) -> None:
    for body in OPC_NETWORK:
        assert client.post(API, json=body).status_code == 201
    url = "/api/v1/matches/search"
    response = client.post(url, json={"text": OPC_QUERY})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["need"] == "OPC-UA-Anbindung"
    # Vienna is outside Süddeutschland; the two "Anbindung" firms come only through their
    # descriptions, no core label is near the need or shares a word with it
    assert [(m["organization"]["external_id"], m["weak"]) for m in body["items"]] == [
        ("OPC", False),
        ("CLOUD", True),
        ("BAHN", True),
    ]
    assert body["weak_count"] == 2
    assert body["relevance_floor"] == 0.15
    hidden = client.post(url, json={"text": OPC_QUERY, "hide_weak": True}).json()
    assert names(hidden["items"]) == ["OPC"]
    assert hidden["weak_count"] == 2
    assert client.post(url, json={"text": OPC_QUERY, "hide_weak": "x"}).status_code == 422


def test_organisation_matches_are_never_weak(client: TestClient, ids: dict[str, int]) -> None:
    items = matches(client, ids["A"])
    assert [(m["organization"]["external_id"], m["weak"]) for m in items] == [
        ("B", False),
        ("C", False),
    ]
