"""The whole path of staged disclosure, across domains, as two members walk it.

Alpha (sensors) needs an IoT platform; Beta (IoT platform) needs sensors. Alpha's member finds Beta
as an anonymous teaser, asks for a cooperation, Beta accepts, contacts are revealed both ways, the
outcome is recorded, every step is in the audit log, and Beta's erasure removes its people's data
from everything Alpha and the export can see.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.app.conftest import AccountFactory, ClientFactory

ORGS = "/api/v1/organizations"
REQUESTS = "/api/v1/cooperation-requests"


def _create(client: TestClient, body: dict[str, Any]) -> int:
    response = client.post(ORGS, json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_teaser_request_accept_reveal_outcome_audit_and_erasure(
    client: TestClient, make_account: AccountFactory, client_for: ClientFactory
) -> None:
    alpha = _create(
        client,
        {
            "name": "Alpha Sensorik GmbH",
            "nace_code": "26.51",
            "country": "DE",
            "postal_code": "76131",
            "employees": 40,
            "visibility": "members",
            "contact_name": "Anna Alpha",
            "contact_email": "anna@alpha.example",
            "competences": [
                {"kind": "core", "label": "Füllstandsensorik"},
                {"kind": "complementary", "label": "IoT-Plattform für Sensordaten"},
            ],
        },
    )
    beta = _create(
        client,
        {
            "name": "Beta Cloud AG",
            "nace_code": "62.01",
            "country": "DE",
            "postal_code": "80331",
            "employees": 120,
            "visibility": "members",
            "website": "https://beta.example",
            "contact_name": "Bernd Beta",
            "contact_email": "bernd@beta.example",
            "contact_phone": "+49 89 555 0101",
            "competences": [
                {"kind": "core", "label": "IoT-Plattform für Sensordaten"},
                {"kind": "complementary", "label": "Füllstandsensorik"},
            ],
        },
    )
    anna = client_for(make_account(Role.member, alpha, email="anna.user@alpha.example"))
    bernd_account = make_account(Role.member, beta, email="bernd.user@beta.example")
    bernd = client_for(bernd_account)

    # 1. Alpha's member sees Beta among its matches as an anonymous teaser
    matches = anna.get(f"{ORGS}/{alpha}/matches").json()["items"]
    [match] = [m for m in matches if m["organization"]["id"] == beta]
    teaser = match["organization"]
    assert (teaser["name"], teaser["size_class"], teaser["region"]) == (None, "medium", "DE-8")
    assert teaser["disclosure_level"] == "member"
    assert anna.get(f"{ORGS}/{beta}").json()["contact_email"] is None

    # 2. it asks for a product development; Beta's member sees who asks, not the contacts
    sent = anna.post(
        REQUESTS,
        json={"to_organization_id": beta, "type": "product_development", "message": "Pilot?"},
    )
    assert sent.status_code == 201, sent.text
    request_id = sent.json()["id"]
    seen_by_beta = bernd.get(f"{ORGS}/{alpha}").json()
    assert (seen_by_beta["name"], seen_by_beta["contact_email"]) == ("Alpha Sensorik GmbH", None)

    # 3. Beta accepts: both see each other's partner fields
    assert bernd.post(f"{REQUESTS}/{request_id}/accept").status_code == 200
    beta_for_alpha = anna.get(f"{ORGS}/{beta}").json()
    assert (
        beta_for_alpha["name"],
        beta_for_alpha["website"],
        beta_for_alpha["contact_email"],
        beta_for_alpha["employees"],
        beta_for_alpha["hidden_fields"],
        beta_for_alpha["disclosure_level"],
    ) == ("Beta Cloud AG", "https://beta.example", "bernd@beta.example", 120, [], "partner")
    assert bernd.get(f"{ORGS}/{alpha}").json()["contact_email"] == "anna@alpha.example"
    matches = anna.get(f"{ORGS}/{alpha}/matches").json()["items"]
    assert [m["organization"]["name"] for m in matches if m["organization"]["id"] == beta] == [
        "Beta Cloud AG"
    ]

    # 4. the outcome is recorded and lands in the feedback feed
    outcome = anna.post(f"{REQUESTS}/{request_id}/outcome", json={"outcome": "agreement_reached"})
    assert outcome.status_code == 200, outcome.text
    feed = client.get(f"{REQUESTS}/outcomes").json()
    [row] = [r for r in feed["items"] if r["request_id"] == request_id]
    assert (row["from_organization_id"], row["to_organization_id"], row["outcome"]) == (
        alpha,
        beta,
        "agreement_reached",
    )
    # the engine's view of the pair when asked: what the ranking learns from
    assert row["match_score"] == pytest.approx(match["score"], abs=1e-6)

    # 5. the audit log names who did each step, never the message
    audit = client.get("/api/v1/audit", params={"entity": "cooperation_requests"}).json()
    steps = [
        (e["action"], e["actor_user_id"]) for e in audit["items"] if e["entity_id"] == request_id
    ]
    assert steps == [
        ("update", _user_id(anna)),
        ("update", bernd_account.user.id),
        ("insert", _user_id(anna)),
    ]
    assert "Pilot?" not in json.dumps(audit)

    # 6. Beta erases its personal data: Alpha no longer sees Bernd, the export has no trace
    erased = bernd.post(f"{ORGS}/{beta}/erase-personal-data", json={"confirm": "Beta Cloud AG"})
    assert erased.status_code == 200, erased.text
    after = anna.get(f"{ORGS}/{beta}").json()
    assert (after["name"], after["contact_name"], after["contact_email"]) == (
        "Beta Cloud AG",
        None,
        None,
    )
    export = client.get(f"{ORGS}/{beta}/export")
    assert export.status_code == 200
    for trace in ("Bernd", "bernd@beta.example", "bernd.user@beta.example", "555 0101"):
        assert trace not in export.text
    assert anna.get(f"{REQUESTS}/{request_id}").json()["outcome"] == "agreement_reached"


def _user_id(client: TestClient) -> int:
    return int(client.get("/api/v1/auth/me").json()["id"])
