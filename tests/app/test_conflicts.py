"""A constraint that fails despite the services' checks (a race) is a 409, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.organizations import service

ORGS = "/api/v1/organizations"


def test_a_unique_constraint_lost_to_another_writer_is_409(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = client.post(ORGS, json={"name": "Erste GmbH", "external_id": "RACE-1"})
    assert first.status_code == 201, first.text
    # as if the other request had written its row after this one checked
    monkeypatch.setattr(service, "_check_external_id_free", lambda *_a, **_k: None)
    second = client.post(ORGS, json={"name": "Zweite GmbH", "external_id": "RACE-1"})
    assert second.status_code == 409, second.text
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["title"] == "Conflict"
    # nothing of the losing request was stored, the winner is intact
    found = client.get(ORGS, params={"external_id": "RACE-1"}).json()
    assert [(o["id"], o["name"]) for o in found["items"]] == [(first.json()["id"], "Erste GmbH")]
