from __future__ import annotations

import datetime as dt
from difflib import SequenceMatcher

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.curation.schemas import CurationStatus
from app.curation.service import (
    Profile,
    duplicate_pairs,
    normalise_name,
    similar_name_pairs,
    website_domain,
)
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


# the candidate search without the database

NAMES = [
    "Sensotec GmbH", "SensoTec AG", "Sensotek GmbH", "Vibronix Messtechnik GmbH",
    "Vibronix Meßtechnik", "SenseAlp AG", "Kunststofftechnik Oberland GmbH & Co. KG",
    "Kunststofftechnik Oberland KG", "PolyForm Präzisionsteile GmbH", "Polyform Praezisionsteile",
    "Moldline Plastics B.V.", "Moldline Plastic BV", "Platinenwerk Erzgebirge GmbH",
    "Rheintal Elektronikfertigung GmbH", "Rheintal Elektronikfertigungen", "Nordwind Embedded GmbH",
    "IoTrix GmbH", "Datenhafen Cloud GmbH", "Weserbergland Pumpenbau GmbH",
    "Weserbergland Pumenbau GmbH", "Aquadyn Pumps S.r.l.", "Servicetechnik Rhein-Main GmbH",
    "Servicetechnik RheinMain", "Prodexa Software GmbH", "Rhenania Antriebstechnik AG",
    "Rhenania Antriebstechnik SE", "Lindmatt Werkzeugmaschinen AG", "Brenner Präzisionsteile GmbH",
    "CNC-Technik Hohenlohe GmbH", "CNC Technik Hohenlohe", "Precimet s.r.o.",
    "Härtetechnik Main GmbH", "Haertetechnik Main", "Bergmolkerei Allgäu eG",
    "Bergmolkerei Allgaeu", "Käserei Oberemmental AG", "Kaeserei Oberemmental",
    "Landbäckerei Hofmeister GmbH", "Landbäckerei Hoffmeister", "Fleischwerk Eifel GmbH",
    "Schweißtechnik Ost GmbH", "Schweisstechnik Lausitz GmbH", "Lasertechnik Altmark OHG",
    "Elektrotechnik Altmark SE", "Maier Oberflächentechnik SE", "Meier Oberflächentechnik mbH",
    "Spurwerk Software GmbH", "Farmtrail ApS", "---", "Sensotec GmbH",
]  # fmt: skip
# the planted variants, by position in NAMES, and look-alikes that are not variants
EXPECTED_AT_085 = {
    (0, 1), (0, 2), (0, 49), (1, 2), (1, 49), (2, 49),  # Sensotec: legal forms, a typo, again
    (3, 4),  # Messtechnik / Meßtechnik
    (6, 7), (8, 9), (10, 11), (13, 14), (18, 19), (21, 22), (24, 25), (28, 29), (31, 32),
    (33, 34), (35, 36), (37, 38),
    (40, 41),  # "schweisstechnikost" / "schweisstechniklausitz": exactly 0.85
    (42, 43),  # Lasertechnik / Elektrotechnik Altmark: 0.85, a look-alike
    (44, 45),  # Maier / Meier: 0.9583
}  # fmt: skip


def _all_pairs(names: list[str], threshold: float) -> set[tuple[int, int]]:
    """The oracle: difflib on every pair, the shorter name (then the smaller index) first."""
    compact = [n.replace(" ", "") for n in names]
    found = set()
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if not compact[i] or not compact[j]:
                continue
            a, b = sorted((i, j), key=lambda k: (len(compact[k]), k))
            if SequenceMatcher(None, compact[a], compact[b]).ratio() >= threshold:
                found.add((i, j))
    return found


def test_similar_name_pairs_finds_the_planted_variants() -> None:
    names = [normalise_name(n) for n in NAMES]

    assert similar_name_pairs(names, 0.85) == EXPECTED_AT_085


@pytest.mark.parametrize("threshold", [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0])
def test_similar_name_pairs_equal_the_all_pairs_search(threshold: float) -> None:
    names = [normalise_name(n) for n in NAMES]

    assert similar_name_pairs(names, threshold) == _all_pairs(names, threshold)


def test_a_ratio_of_exactly_the_threshold_is_kept() -> None:
    names = ["schweisstechnik ost", "schweisstechnik lausitz"]
    assert SequenceMatcher(None, "schweisstechnikost", "schweisstechniklausitz").ratio() == 0.85

    assert similar_name_pairs(names, 0.85) == {(0, 1)}
    assert similar_name_pairs(names, 0.8501) == set()


def test_of_two_equally_long_names_the_first_one_goes_first() -> None:
    # difflib's ratio depends on the order: 6/7 one way, 5/7 the other
    assert SequenceMatcher(None, "acabaab", "abcaaab").ratio() == pytest.approx(6 / 7)
    assert SequenceMatcher(None, "abcaaab", "acabaab").ratio() == pytest.approx(5 / 7)

    assert similar_name_pairs(["acabaab", "abcaaab"], 0.85) == {(0, 1)}
    assert similar_name_pairs(["abcaaab", "acabaab"], 0.85) == set()
    # repeated names: each pair is ordered by its own indices
    assert similar_name_pairs(["abcaaab", "acabaab", "abcaaab"], 0.85) == {(0, 2), (1, 2)}


def test_similar_name_pairs_of_empty_and_repeated_names() -> None:
    assert similar_name_pairs([], 0.85) == set()
    assert similar_name_pairs(["", "sensotec", ""], 0.5) == set()
    assert similar_name_pairs(["nordlicht"] * 3 + [""], 0.85) == {(0, 1), (0, 2), (1, 2)}
    assert similar_name_pairs(["ab", "cd", "abc"], 0.0) == {(0, 1), (0, 2), (1, 2)}


def _profile(id_: int, name: str, vector: np.ndarray | None, model: str | None) -> Profile:
    status = CurationStatus(
        id=id_,
        external_id=None,
        name=name,
        modified_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        verified_at=None,
        verified_by=None,
    )
    return Profile(
        status=status, name=normalise_name(name), domain=None, location=None, vector=vector,
        model=model,
    )  # fmt: skip


def test_vector_candidates_equal_the_all_pairs_search() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((1100, 8))  # more rows than one block
    # near copies, some of them just above or below the threshold
    for k, target in enumerate([0.99, 0.9301, 0.9299, 0.95, 0.91, 0.97]):
        base, other = vectors[k], rng.standard_normal(8)
        other -= (other @ base) / (base @ base) * base  # orthogonal to base
        unit, side = base / np.linalg.norm(base), other / np.linalg.norm(other)
        vectors[1000 + k] = target * unit + np.sqrt(1 - target**2) * side
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    models = ["m"] * 1099 + ["other"]  # the last one is not comparable
    profiles = [_profile(i + 1, f"Org {i}", vectors[i], models[i]) for i in range(len(vectors))]
    sims = vectors[:1099] @ vectors[:1099].T
    expected = {
        (i + 1, j + 1) for i in range(1099) for j in range(i + 1, 1099) if sims[i, j] >= 0.93
    }

    result = duplicate_pairs(
        profiles, name_threshold=1.0, embedding_threshold=0.93, min_score=0, limit=1000
    )

    found = {(p.first.id, p.second.id) for p in result.items}
    assert result.total == len(expected)
    assert found == expected
    assert {(1, 1001), (2, 1002), (4, 1004), (6, 1006)} <= found
    assert (3, 1003) not in found and (5, 1005) not in found
