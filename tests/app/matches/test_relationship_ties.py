"""Tie strength through the API: the index reads joint_projects and last_year from the
database, and known_partner grades the asking organisation's known partners by them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from matching import Weights

API = "/api/v1/organizations"


def test_known_partners_are_graded_by_their_ties(client: TestClient) -> None:
    ids = {}
    for ext in ("P-1", "P-2", "P-3"):
        body = {"external_id": ext, "name": f"Partner {ext}", "country": "DE"}
        response = client.post(API, json=body)
        assert response.status_code == 201, response.text
        ids[ext] = response.json()["id"]
    asking = client.post(
        API,
        json={
            "external_id": "A-1",
            "name": "Alpha GmbH",
            "country": "DE",
            "competences": [{"kind": "core", "label": "Drucksensoren"}],
            "relationships": [
                {"type": "partner", "external_id": "P-1", "joint_projects": 4, "last_year": 2024},
                {"type": "partner", "external_id": "P-2", "joint_projects": 1, "last_year": 2024},
                {"type": "customer", "external_id": "P-3"},
            ],
        },
    )
    assert asking.status_code == 201, asking.text
    response = client.get(f"{API}/{asking.json()['id']}/matches", params={"exclude_known": "false"})
    assert response.status_code == 200, response.text
    known = {
        m["organization"]["external_id"]: m["components"]["known_partner"]
        for m in response.json()["items"]
    }
    # weights 4, 1 and 1 (not stated) with the default exponent; no decay by default
    w = Weights()
    assert w.tie_half_life == 0.0
    strongest = 4.0**w.tie_strength
    assert known == pytest.approx({"P-1": 1.0, "P-2": 1.0 / strongest, "P-3": 1.0 / strongest})
