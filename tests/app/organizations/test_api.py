from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

API = "/api/v1/organizations"


def org(external_id: str, name: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"external_id": external_id, "name": name}
    body.update(extra)
    return body


SENSOR = org(
    "S-1",
    "Sensotec GmbH",
    description="Wir entwickeln kapazitive Füllstandsensoren für den Maschinenbau.",
    nace_code="26.51",
    country="de",
    city="Stuttgart",
    postal_code="70173",
    latitude=48.7758,
    longitude=9.1829,
    employees=85,
    website="www.sensotec.example",
    founded=1998,
    competences=[
        {"kind": "core", "label": "Füllstandsensorik"},
        {"kind": "core", "label": "kapazitive Messtechnik", "description": "bis 200 °C"},
        {"kind": "complementary", "label": "IoT-Plattform"},
        {"kind": "peripheral", "label": "Kunststoffspritzguss"},
    ],
    cooperation_interests=["product_development", "data_sharing"],
    visibility="members",
)


def create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(API, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_and_read_round_trip(client: TestClient) -> None:
    created = create(client, SENSOR)
    response = client.get(f"{API}/{created['id']}")
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert body["name"] == "Sensotec GmbH"
    assert body["country"] == "DE"
    assert body["website"] == "https://www.sensotec.example"
    assert body["nace_code"] == "26.51"
    assert body["visibility"] == "members"
    assert body["version"] == 1
    assert [(c["kind"], c["label"]) for c in body["competences"]] == [
        ("core", "Füllstandsensorik"),
        ("core", "kapazitive Messtechnik"),
        ("complementary", "IoT-Plattform"),
        ("peripheral", "Kunststoffspritzguss"),
    ]
    assert body["competences"][1]["description"] == "bis 200 °C"
    assert body["cooperation_interests"] == ["product_development", "data_sharing"]
    assert body["created_at"].endswith(("Z", "+00:00"))


def test_create_links_relationships_by_external_id_and_keeps_names(client: TestClient) -> None:
    customer = create(client, org("C-1", "Pumpenwerk AG"))
    body = org(
        "S-2",
        "Zulieferer GmbH",
        relationships=[
            {"type": "customer", "external_id": "C-1", "revenue_share": 0.6},
            {"type": "supplier", "name": "Großhandel Nord"},
        ],
    )
    created = create(client, body)
    rels = created["relationships"]
    assert [
        (r["type"], r["related_organization_id"], r["external_id"], r["name"], r["revenue_share"])
        for r in rels
    ] == [
        ("customer", customer["id"], "C-1", "C-1", 0.6),
        ("supplier", None, None, "Großhandel Nord", None),
    ]


def test_unknown_relationship_target_names_the_field(client: TestClient) -> None:
    response = client.post(
        API, json=org("X-1", "X", relationships=[{"type": "partner", "external_id": "nope"}])
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {
            "field": "relationships[0].external_id",
            "message": "no organisation with external_id 'nope'",
        }
    ]
    assert client.get(API, params={"external_id": "X-1"}).json()["total"] == 0


def test_duplicate_external_id_conflicts(client: TestClient) -> None:
    create(client, org("D-1", "Erste"))
    response = client.post(API, json=org("D-1", "Zweite"))
    assert response.status_code == 409
    assert response.json()["errors"] == [{"field": "external_id", "message": "already in use"}]


def test_invalid_fields_are_named(client: TestClient) -> None:
    response = client.post(
        API,
        json={
            "name": "",
            "country": "XX",
            "nace_code": "00.00",
            "employees": -3,
            "latitude": 100,
            "longitude": 0,
            "visibility": "secret",
            "competences": [{"kind": "core", "label": "x" * 201}],
            "unknown_field": 1,
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert sorted({e["field"] for e in body["errors"]}) == [
        "competences[0].label",
        "country",
        "employees",
        "latitude",
        "nace_code",
        "name",
        "unknown_field",
        "visibility",
    ]


def test_wrong_json_types_and_broken_json_are_422(client: TestClient) -> None:
    assert client.post(API, json=[1, 2]).status_code == 422
    response = client.post(API, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert client.post(API, json={"name": 5, "employees": "many"}).status_code == 422


def test_patch_with_version_and_if_match(client: TestClient) -> None:
    created = create(client, SENSOR)
    url = f"{API}/{created['id']}"
    response = client.patch(url, json={"version": 1, "employees": 90, "city": None})
    assert response.status_code == 200
    assert response.json()["employees"] == 90
    assert response.json()["city"] is None
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'
    stale = client.patch(url, json={"version": 1, "employees": 1})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    mismatch = client.patch(url, json={"employees": 1}, headers={"If-Match": '"1"'})
    assert mismatch.status_code == 412
    ok = client.patch(url, json={"employees": 91}, headers={"If-Match": '"2"'})
    assert ok.status_code == 200
    assert ok.json()["version"] == 3
    assert client.get(url).json()["employees"] == 91


def test_patch_replaces_competences_and_keeps_unchanged_rows(client: TestClient) -> None:
    created = create(client, SENSOR)
    url = f"{API}/{created['id']}"
    first_id = created["competences"][0]["id"]
    response = client.patch(
        url,
        json={
            "competences": [
                {"kind": "core", "label": "Füllstandsensorik"},
                {"kind": "complementary", "label": "Cloud-Anbindung"},
            ]
        },
    )
    assert response.status_code == 200
    comps = response.json()["competences"]
    assert [(c["kind"], c["label"]) for c in comps] == [
        ("core", "Füllstandsensorik"),
        ("complementary", "Cloud-Anbindung"),
    ]
    assert comps[0]["id"] == first_id


def test_patch_rejects_null_name_and_half_coordinates(client: TestClient) -> None:
    created = create(client, SENSOR)
    url = f"{API}/{created['id']}"
    assert client.patch(url, json={"name": None}).status_code == 422
    response = client.patch(url, json={"latitude": None})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "latitude", "message": "missing"}]
    assert client.get(url).json()["latitude"] == 48.7758


def test_delete_and_404(client: TestClient) -> None:
    created = create(client, SENSOR)
    url = f"{API}/{created['id']}"
    assert client.delete(url, headers={"If-Match": '"7"'}).status_code == 412
    assert client.delete(url).status_code == 204
    missing = client.get(url)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.delete(url).status_code == 404
    assert client.get(f"{API}/abc").status_code == 422


def test_deleting_a_related_organisation_keeps_the_name(client: TestClient) -> None:
    customer = create(client, org("C-9", "Großkunde AG"))
    supplier = create(
        client, org("S-9", "Zulieferer", relationships=[{"type": "customer", "external_id": "C-9"}])
    )
    assert client.delete(f"{API}/{customer['id']}").status_code == 204
    rel = client.get(f"{API}/{supplier['id']}").json()["relationships"][0]
    assert (rel["related_organization_id"], rel["name"]) == (None, "C-9")


def test_list_filters_and_pagination(client: TestClient) -> None:
    create(client, SENSOR)
    create(
        client,
        org(
            "M-1",
            "Alpen Maschinenbau GmbH",
            country="AT",
            nace_code="28.29",
            competences=[
                {"kind": "core", "label": "Sondermaschinenbau"},
                {"kind": "complementary", "label": "Sensorik"},
            ],
            cooperation_interests=["training"],
        ),
    )
    create(
        client,
        org(
            "K-1",
            "Kunststoff Meier",
            country="DE",
            nace_code="22.29",
            cooperation_interests=["training", "purchasing_sales"],
        ),
    )

    def names(**params: Any) -> list[str]:
        response = client.get(API, params=params)
        assert response.status_code == 200, response.text
        return [i["name"] for i in response.json()["items"]]

    assert names() == ["Alpen Maschinenbau GmbH", "Kunststoff Meier", "Sensotec GmbH"]
    assert names(country="de") == ["Kunststoff Meier", "Sensotec GmbH"]
    assert client.get(API, params={"nace": "2"}).status_code == 422
    assert names(nace="28") == ["Alpen Maschinenbau GmbH"]
    assert names(nace=["22", "26.5"]) == ["Kunststoff Meier", "Sensotec GmbH"]
    assert names(q="füllstand") == ["Sensotec GmbH"]
    assert names(q="sensor") == ["Alpen Maschinenbau GmbH", "Sensotec GmbH"]
    assert names(competence="sensor", competence_kind="core") == ["Sensotec GmbH"]
    assert names(competence_kind="peripheral") == ["Sensotec GmbH"]
    assert names(cooperation_interest="training") == ["Alpen Maschinenbau GmbH", "Kunststoff Meier"]
    assert names(cooperation_interest=["training", "purchasing_sales"]) == ["Kunststoff Meier"]
    assert names(external_id="M-1") == ["Alpen Maschinenbau GmbH"]
    page = client.get(API, params={"limit": 2, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert [i["name"] for i in page["items"]] == ["Kunststoff Meier", "Sensotec GmbH"]
    assert client.get(API, params={"limit": 0}).status_code == 422
    assert client.get(API, params={"cooperation_interest": "golf"}).status_code == 422
    assert client.get(API, params={"q": "100%_"}).json()["total"] == 0


def test_competences_are_embedded_on_write(client: TestClient, db_session, encoder) -> None:  # type: ignore[no-untyped-def]
    from app.models import Competence, Organization

    created = create(client, SENSOR)
    org_row = db_session.get(Organization, created["id"])
    assert org_row.embedding_model == encoder.name
    assert len(org_row.profile_embedding) == 4 * encoder.dim
    comps = db_session.query(Competence).filter_by(organization_id=created["id"]).all()
    assert [c.embedding_model for c in comps] == [encoder.name] * 4
    assert all(len(c.embedding) == 4 * encoder.dim for c in comps)


def test_explicit_nulls_are_accepted_everywhere(client: TestClient) -> None:
    body = org(
        "N-1",
        "Nullwerte GmbH",
        description=None,
        nace_code=None,
        country=None,
        latitude=None,
        longitude=None,
        employees=None,
        website=None,
        founded=None,
        competences=[{"kind": "core", "label": "Fräsen", "description": None}],
        relationships=[
            {"type": "partner", "name": "Irgendwer", "external_id": None, "revenue_share": None}
        ],
    )
    created = create(client, body)
    assert (created["employees"], created["latitude"], created["relationships"][0]["name"]) == (
        None,
        None,
        "Irgendwer",
    )


def test_country_names_and_alpha3_codes_become_alpha2(client: TestClient) -> None:
    given = ["Deutschland", "Austria", "CHE", "uk", " it "]
    countries = [
        create(client, org(f"L-{i}", f"Land {i}", country=c))["country"]
        for i, c in enumerate(given)
    ]
    assert countries == ["DE", "AT", "CH", "GB", "IT"]
    response = client.post(API, json=org("L-9", "Nirgendwo", country="Germania"))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["country"]
