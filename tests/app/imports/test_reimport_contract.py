"""Re-imports keep what the file does not state; replace=true makes the file the whole truth;
merged duplicates' external_ids update the survivor; rows naming a rejected row say so."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.audit import AuditEntry

URL = "/api/v1/organizations/import"
API = "/api/v1/organizations"


def post_csv(client: TestClient, text: str, **params: Any) -> Any:
    return client.post(
        URL, params=params, content=text.encode(), headers={"content-type": "text/csv"}
    )


def post_json(client: TestClient, records: list[dict[str, Any]], **params: Any) -> Any:
    text = "[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]"
    return client.post(
        URL, params=params, content=text.encode(), headers={"content-type": "application/json"}
    )


def profile(client: TestClient, external_id: str) -> dict[str, Any]:
    found = client.get(API, params={"external_id": external_id}).json()["items"]
    assert len(found) == 1
    return dict(client.get(f"{API}/{found[0]['id']}").json())


FULL = (
    "external_id,name,city,latitude,longitude,core,peripheral,customers,suppliers\n"
    "B-1,Beta,Ulm,48.4,9.99,,,,\n"
    "A-1,Alpha,Dresden,51.05,13.74,Sensorik,Lackieren,B-1,Zulieferer Meyer\n"
)


def test_absent_columns_keep_stored_values_and_empty_cells_clear(client: TestClient) -> None:
    assert post_csv(client, FULL).status_code == 200
    # no coordinates, no suppliers, no peripheral column: those stay
    update = "external_id,name,city,core,customers\nA-1,Alpha GmbH,,Drucksensoren,\n"
    response = post_csv(client, update)
    assert response.status_code == 200, response.text
    assert (response.json()["updated"], response.json()["created"]) == (1, 0)
    alpha = profile(client, "A-1")
    assert (alpha["name"], alpha["city"], alpha["latitude"], alpha["longitude"]) == (
        "Alpha GmbH",
        None,  # an explicitly empty cell clears
        51.05,
        13.74,
    )
    assert sorted((c["kind"], c["label"]) for c in alpha["competences"]) == [
        ("core", "Drucksensoren"),
        ("peripheral", "Lackieren"),
    ]
    # the empty customers cell cleared the customers; the suppliers column was absent
    assert [(r["type"], r["name"]) for r in alpha["relationships"]] == [
        ("supplier", "Zulieferer Meyer")
    ]


def test_json_absent_key_keeps_and_null_or_empty_list_clears(client: TestClient) -> None:
    first = {
        "external_id": "A-1",
        "name": "Alpha",
        "city": "Dresden",
        "employees": 40,
        "competences": [{"kind": "core", "label": "Sensorik"}],
        "cooperation_interests": ["training"],
    }
    assert post_json(client, [first]).status_code == 200
    second = {"external_id": "A-1", "name": "Alpha", "city": None, "competences": []}
    assert post_json(client, [second]).status_code == 200
    alpha = profile(client, "A-1")
    assert (alpha["city"], alpha["employees"], alpha["competences"]) == (None, 40, [])
    assert alpha["cooperation_interests"] == ["training"]


def test_replace_makes_the_file_the_whole_truth(client: TestClient) -> None:
    assert post_csv(client, FULL).status_code == 200
    response = post_csv(client, "external_id,name,core\nA-1,Alpha,Sensorik\n", replace="true")
    assert response.status_code == 200, response.text
    assert response.json()["replace"] is True
    alpha = profile(client, "A-1")
    assert (alpha["city"], alpha["latitude"], alpha["relationships"]) == (None, None, [])
    assert [(c["kind"], c["label"]) for c in alpha["competences"]] == [("core", "Sensorik")]


def test_deleted_competences_and_relationships_get_audit_rows(
    client: TestClient, db_session: Session
) -> None:
    assert post_csv(client, FULL).status_code == 200
    alpha = profile(client, "A-1")
    gone_competence = next(c["id"] for c in alpha["competences"] if c["label"] == "Lackieren")
    gone_relationships = sorted(r["id"] for r in alpha["relationships"])
    response = post_csv(client, "external_id,name,core\nA-1,Alpha,Sensorik\n", replace="true")
    assert response.status_code == 200
    deletes = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "delete",
            AuditEntry.entity.in_(["competences", "relationships"]),
        )
    ).all()
    assert sorted((e.entity, e.entity_id, e.organization_id) for e in deletes) == sorted(
        [("competences", gone_competence, alpha["id"])]
        + [("relationships", rid, alpha["id"]) for rid in gone_relationships]
    )


def test_reimporting_a_merged_duplicate_updates_the_survivor(client: TestClient) -> None:
    records = [
        {"external_id": "KEEP", "name": "Alpha GmbH"},
        {"external_id": "DUP", "name": "Alpha"},
    ]
    assert post_json(client, records).status_code == 200
    keep, dup = profile(client, "KEEP"), profile(client, "DUP")
    merged = client.post(
        "/api/v1/curation/merge", json={"keep_id": keep["id"], "merge_id": dup["id"]}
    )
    assert merged.status_code == 200, merged.text
    again = post_json(client, [{"external_id": "DUP", "name": "Alpha GmbH", "city": "Ulm"}])
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"]) == (0, 1)
    assert client.get(API).json()["total"] == 1
    survivor = profile(client, "KEEP")
    assert (survivor["id"], survivor["city"]) == (keep["id"], "Ulm")


def test_rows_naming_a_rejected_row_quote_its_line_and_reason(client: TestClient) -> None:
    records = [
        {"external_id": "X-9", "name": "Xi", "visibility": "secret"},
        {
            "external_id": "A-1",
            "name": "Alpha",
            "relationships": [{"type": "partner", "external_id": "X-9"}],
        },
        {
            "external_id": "B-2",
            "name": "Beta",
            "relationships": [{"type": "customer", "name": "A-1"}],
        },
        {
            "external_id": "C-3",
            "name": "Gamma",
            "relationships": [{"type": "partner", "external_id": "Q"}],
        },
    ]
    response = post_json(client, records, partial="true")
    assert response.status_code == 200, response.text
    errors = [(e["line"], e["field"], e["reason"]) for e in response.json()["errors"]]
    assert errors == [
        (
            2,
            "visibility",
            "'secret' is not allowed; allowed values: public, members, private",
        ),
        (
            3,
            "relationships[0].external_id",
            "partner X-9: its row, line 2, was rejected: visibility: 'secret' is not allowed; "
            "allowed values: public, members, private",
        ),
        (
            4,
            "relationships[0].name",
            "customer A-1: its row, line 3, was rejected: relationships[0].external_id: partner "
            "X-9: its row, line 2, was rejected: visibility: 'secret' is not allowed; allowed "
            "values: public, members, private",
        ),
        (
            5,
            "relationships[0].external_id",
            "no organisation with external_id 'Q' in the file or the database",
        ),
    ]


def test_five_thousand_relationships_fit(client: TestClient) -> None:
    partners = [{"type": "partner", "name": f"Projektpartner {i}"} for i in range(5_000)]
    response = post_json(
        client, [{"external_id": "F-1", "name": "Institut", "relationships": partners}]
    )
    assert response.status_code == 200, response.text
    assert len(profile(client, "F-1")["relationships"]) == 5_000
    too_many = [*partners, {"type": "partner", "name": "one more"}]
    rejected = post_json(
        client, [{"external_id": "F-2", "name": "Institut 2", "relationships": too_many}]
    )
    assert rejected.status_code == 422
    assert [e["reason"] for e in rejected.json()["errors"]] == [
        "has too many entries: 5001, at most 5000"
    ]
