from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.events import service as events
from app.events.schemas import EventCreate, ParticipantCreate
from app.models.curation import OrganizationMerge
from app.models.event import Participant
from app.models.user import Role, User
from tests.app.conftest import Account, AccountFactory

ORGS = "/api/v1/organizations"
MERGE = "/api/v1/curation/merge"


def _create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(ORGS, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _relationships(client: TestClient, org_id: int, rels: list[dict[str, Any]]) -> None:
    response = client.patch(f"{ORGS}/{org_id}", json={"relationships": rels})
    assert response.status_code == 200, response.text


def _rels(body: dict[str, Any]) -> list[tuple[str, int | None, str | None, str]]:
    return [
        (r["type"], r["related_organization_id"], r["external_id"], r["name"])
        for r in body["relationships"]
    ]


def test_merge_moves_competences_and_relationships(
    client: TestClient, admin: Account, make_account: AccountFactory, db_session: Session
) -> None:
    keep = _create(
        client,
        {
            "external_id": "K-1",
            "name": "Sensotec GmbH",
            "competences": [
                {"kind": "core", "label": "Füllstandsensorik"},
                {"kind": "complementary", "label": "IoT-Plattform"},
            ],
        },
    )
    merged = _create(
        client,
        {
            "external_id": "M-1",
            "name": "SensoTec",
            "description": "Doppelt angelegt",
            "competences": [
                {"kind": "core", "label": "füllstandsensorik"},  # a duplicate, ignoring case
                {"kind": "core", "label": "Drucksensoren"},
                {"kind": "peripheral", "label": "Kunststoffspritzguss"},
            ],
        },
    )
    other = _create(client, {"external_id": "X-1", "name": "Xylo Maschinenbau AG"})
    _relationships(client, keep["id"], [{"type": "partner", "external_id": "M-1"}])
    _relationships(
        client,
        merged["id"],
        [
            {"type": "customer", "external_id": "X-1", "revenue_share": 0.4},
            {"type": "supplier", "external_id": "K-1"},
            {"type": "partner", "name": "Freie Firma"},
        ],
    )
    _relationships(
        client,
        other["id"],
        [
            {"type": "customer", "external_id": "M-1"},
            {"type": "supplier", "external_id": "K-1"},
            {"type": "supplier", "external_id": "M-1"},
        ],
    )
    member = make_account(Role.member, merged["id"])
    other_version = client.get(f"{ORGS}/{other['id']}").json()["version"]

    response = client.post(MERGE, json={"keep_id": keep["id"], "merge_id": merged["id"]})

    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("id", "merged_at")} == {
        "kept_organization_id": keep["id"],
        "merged_organization_id": merged["id"],
        "merged_external_id": "M-1",
        "merged_name": "SensoTec",
        "merged_by": admin.user.email,
        "moved_competences": 2,
        "skipped_competences": 1,
        "moved_relationships": 2,
        "repointed_relationships": 1,
        "dropped_relationships": 3,
    }
    assert client.get(f"{ORGS}/{merged['id']}").status_code == 404

    kept = client.get(f"{ORGS}/{keep['id']}").json()
    assert [(c["kind"], c["label"]) for c in kept["competences"]] == [
        ("core", "Füllstandsensorik"),
        ("complementary", "IoT-Plattform"),
        ("core", "Drucksensoren"),
        ("peripheral", "Kunststoffspritzguss"),
    ]
    # its own partner link to the merged org is gone; the merged org's supplier link to it too
    assert _rels(kept) == [
        ("customer", other["id"], "X-1", "X-1"),
        ("partner", None, None, "Freie Firma"),
    ]
    assert kept["relationships"][0]["revenue_share"] == 0.4
    assert kept["external_id"] == "K-1"

    # others' links now point to the kept org; the one that became a repeat is dropped
    linked = client.get(f"{ORGS}/{other['id']}").json()
    assert _rels(linked) == [
        ("customer", keep["id"], "K-1", "K-1"),
        ("supplier", keep["id"], "K-1", "K-1"),
    ]
    assert linked["version"] == other_version + 1

    db_session.expire_all()
    account = db_session.get(User, member.user.id)
    assert account is not None
    assert account.organization_id == keep["id"]
    [history] = db_session.scalars(select(OrganizationMerge)).all()
    assert history.id == body["id"]
    assert history.kept_organization_id == keep["id"]
    assert history.merged_external_id == "M-1"
    assert history.snapshot["external_id"] == "M-1"
    assert history.snapshot["description"] == "Doppelt angelegt"
    assert [c["label"] for c in history.snapshot["competences"]] == [
        "füllstandsensorik",
        "Drucksensoren",
        "Kunststoffspritzguss",
    ]
    assert [r["external_id"] for r in history.snapshot["relationships"]] == ["X-1", "K-1", None]
    assert history.snapshot["verified_at"] is None


def test_merging_into_itself_is_409(client: TestClient) -> None:
    org = _create(client, {"name": "Einzeln GmbH"})
    response = client.post(MERGE, json={"keep_id": org["id"], "merge_id": org["id"]})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"{ORGS}/{org['id']}").status_code == 200


def test_unknown_ids_are_404(client: TestClient) -> None:
    org = _create(client, {"name": "Einzeln GmbH"})
    missing = 2147483647
    for body in (
        {"keep_id": org["id"], "merge_id": missing},
        {"keep_id": missing, "merge_id": org["id"]},
    ):
        response = client.post(MERGE, json=body)
        assert response.status_code == 404, response.text
    assert client.get(f"{ORGS}/{org['id']}").status_code == 200


def _participant(organization_id: int, person: str) -> ParticipantCreate:
    return ParticipantCreate.model_validate(
        {
            "organization_id": organization_id,
            "people": [{"name": person, "email": f"{person.split()[0].lower()}@test.example"}],
        }
    )


def test_merge_moves_event_registrations_and_refuses_shared_events(
    client: TestClient, db_session: Session
) -> None:
    keep = _create(client, {"name": "Sensotec GmbH"})
    merged = _create(client, {"name": "SensoTec"})
    first = events.create_event(
        db_session,
        data=EventCreate.model_validate(
            {"name": "Brokerage", "timezone": "Europe/Berlin", "dates": ["2026-03-10"]}
        ),
    )
    events.register_participant(
        db_session,
        event=first,
        data=_participant(merged["id"], "Maria Doppel"),
    )
    db_session.commit()

    moved = client.post(MERGE, json={"keep_id": keep["id"], "merge_id": merged["id"]})

    assert moved.status_code == 200, moved.text
    db_session.expire_all()
    assert db_session.scalars(
        select(Participant.organization_id).where(Participant.event_id == first.id)
    ).all() == [keep["id"]]

    twin = _create(client, {"name": "Sensotec Zwilling"})
    events.register_participant(
        db_session,
        event=first,
        data=_participant(twin["id"], "Zora Zwilling"),
    )
    db_session.commit()

    refused = client.post(MERGE, json={"keep_id": keep["id"], "merge_id": twin["id"]})

    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"] == [
        {"field": "merge_id", "message": "registered for the same event"}
    ]
    assert client.get(f"{ORGS}/{twin['id']}").status_code == 200
