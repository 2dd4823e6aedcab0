from __future__ import annotations

from difflib import SequenceMatcher

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.curation.service import normalise_name, website_domain
from app.embeddings import to_bytes
from app.models import Organization

API = "/api/v1/curation/duplicates"


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("Sensotec GmbH", "sensotec"),
        ("SensoTec", "sensotec"),
        ("Müller Präzisionstechnik GmbH & Co. KG", "mueller praezisionstechnik"),
        ("Förderverein Sensorik e.V.", "foerderverein sensorik"),
        ("Meccanica Rossi S.r.l.", "meccanica rossi"),
        ("Acme Widgets Ltd.", "acme widgets"),
        ("Data-Fabrik AG", "data fabrik"),
        ("AG & Co. KG", "ag co kg"),  # only legal forms: kept as they are
    ],
)
def test_normalise_name(name: str, normalised: str) -> None:
    assert normalise_name(name) == normalised


@pytest.mark.parametrize(
    ("website", "domain"),
    [
        ("https://www.Sensotec.example/en/", "sensotec.example"),
        ("www.sensotec.example", "sensotec.example"),
        ("sensotec.example/kontakt", "sensotec.example"),
        ("http://shop.sensotec.example", "shop.sensotec.example"),
        ("", None),
        (None, None),
    ],
)
def test_website_domain(website: str | None, domain: str | None) -> None:
    assert website_domain(website) == domain


def _org(session: Session, name: str, **values: object) -> Organization:
    org = Organization(name=name, cooperation_interests=[], competences=[], **values)
    session.add(org)
    session.flush()
    return org


def _status(org: Organization) -> dict[str, object]:
    return {
        "id": org.id,
        "external_id": org.external_id,
        "name": org.name,
        "modified_at": org.modified_at.isoformat().replace("+00:00", "Z"),
        "verified_at": None,
        "verified_by": None,
    }


def test_planted_pair_is_found_and_unrelated_ones_are_not(
    client: TestClient, db_session: Session
) -> None:
    first = _org(
        db_session,
        "Sensotec GmbH",
        external_id="S-1",
        website="https://www.sensotec.example",
        postal_code="70173",
        city="Stuttgart",
    )
    _org(db_session, "Kunststoffwerk Meier KG", website="https://meier.example", city="Ulm")
    second = _org(
        db_session,
        "SensoTec",
        website="sensotec.example/kontakt",
        postal_code="70173",
        city="stuttgart ",
    )
    _org(db_session, "Datenfabrik AG", postal_code="70173", city="Stuttgart")
    db_session.commit()

    response = client.get(API)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1
    [pair] = body["items"]
    assert pair["first"]["id"] == first.id
    assert pair["second"]["id"] == second.id
    assert pair["first"]["name"] == "Sensotec GmbH"
    assert pair["first"]["external_id"] == "S-1"
    assert pair["signals"] == {
        "name_similarity": 1.0,
        "same_domain": "sensotec.example",
        "embedding_similarity": None,
        "same_location": True,
    }
    assert pair["score"] == pytest.approx(0.45 + 0.25 + 0.10)


def test_name_threshold_and_min_score(client: TestClient, db_session: Session) -> None:
    a = _org(db_session, "Sensotec GmbH")
    b = _org(db_session, "Sensotek AG")
    _org(db_session, "Hydraulik Nord GmbH")
    db_session.commit()
    ratio = round(SequenceMatcher(None, "sensotec", "sensotek").ratio(), 4)
    assert ratio == 0.875

    found = client.get(API, params={"name_threshold": 0.85}).json()
    assert [(p["first"]["id"], p["second"]["id"]) for p in found["items"]] == [(a.id, b.id)]
    assert found["items"][0]["signals"]["name_similarity"] == ratio
    assert found["items"][0]["score"] == pytest.approx(round(0.45 * ratio, 4))

    assert client.get(API, params={"name_threshold": 0.9}).json() == {"items": [], "total": 0}
    assert client.get(API, params={"min_score": 0.5}).json() == {"items": [], "total": 0}


def test_profile_vectors_of_one_model_make_a_candidate(
    client: TestClient, db_session: Session
) -> None:
    base = np.array([1.0, 0.0, 0.0, 0.0])
    close = np.array([0.96, 0.28, 0.0, 0.0])  # cosine 0.96 with base
    a = _org(db_session, "Alpha Messtechnik", profile_embedding=to_bytes(base))
    a.embedding_model = "model-a"
    b = _org(db_session, "Beta Sensorsysteme", profile_embedding=to_bytes(close))
    b.embedding_model = "model-a"
    # the same vector from another model is not comparable
    c = _org(db_session, "Gamma Robotik", profile_embedding=to_bytes(base))
    c.embedding_model = "model-b"
    db_session.commit()

    body = client.get(API, params={"embedding_threshold": 0.95}).json()

    assert body["total"] == 1
    [pair] = body["items"]
    assert (pair["first"]["id"], pair["second"]["id"]) == (a.id, b.id)
    names = round(SequenceMatcher(None, "alphamesstechnik", "betasensorsysteme").ratio(), 4)
    assert pair["signals"] == {
        "name_similarity": names,
        "same_domain": None,
        "embedding_similarity": pytest.approx(0.96, abs=1e-4),
        "same_location": False,
    }
    assert pair["score"] == pytest.approx(0.45 * names + 0.20 * 0.96, abs=1e-4)
    assert client.get(API, params={"embedding_threshold": 0.97}).json()["total"] == 0


def test_pairs_are_sorted_by_score_then_ids_and_limited(
    client: TestClient, db_session: Session
) -> None:
    # three names equal after normalisation: three pairs of equal score
    ids = [_org(db_session, name).id for name in ("Nordlicht GmbH", "Nordlicht AG", "NordLicht")]
    best = [
        _org(db_session, name, website="https://kraft.example").id
        for name in ("Kraftwerk Süd", "Kraftwerk Sued GmbH")
    ]
    db_session.commit()

    body = client.get(API, params={"limit": 3}).json()

    assert body["total"] == 4
    assert [(p["first"]["id"], p["second"]["id"], p["score"]) for p in body["items"]] == [
        (best[0], best[1], pytest.approx(0.70)),
        (ids[0], ids[1], pytest.approx(0.45)),
        (ids[0], ids[2], pytest.approx(0.45)),
    ]


def test_curation_responses_do_not_leak_into_public_schemas(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "verified_at" not in schema["OrganizationOut"]["properties"]
    assert "verified_at" in schema["CurationStatus"]["properties"]
