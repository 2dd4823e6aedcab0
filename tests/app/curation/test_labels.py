from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.curation.labels import canonical_labels
from app.embeddings import competence_text, from_bytes, profile_text
from app.matches.index import IndexCache
from app.models import Competence, Organization
from app.models.user import Role
from matching.encoders import Encoder
from tests.app.conftest import Account, AccountFactory, ClientFactory

ORGS = "/api/v1/organizations"
LABELS = "/api/v1/curation/labels"
SUGGESTIONS = LABELS + "/suggestions"
MERGE = LABELS + "/merge"
SYNONYMS = LABELS + "/synonyms"
MOULDING = "Für Automobilzulieferer"


def _create(client: TestClient, name: str, competences: list[tuple[str, str, str | None]]) -> int:
    body = {
        "name": name,
        "competences": [
            {"kind": kind, "label": label, "description": description}
            for kind, label, description in competences
        ],
    }
    response = client.post(ORGS, json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def seeded(client: TestClient) -> dict[str, int]:
    """Spritzguss x3, Kunststoff-Spritzguss x1, Spritzgießen x1, Lasertechnik x2."""
    return {
        "a": _create(
            client,
            "Alpha Kunststoff GmbH",
            [
                ("core", "Spritzguss", None),
                ("core", "Kunststoff-Spritzguss", MOULDING),
                ("complementary", "Lasertechnik", None),
            ],
        ),
        "b": _create(
            client,
            "Beta Formenbau KG",
            [("core", "Spritzguss", None), ("peripheral", "Spritzgießen", None)],
        ),
        "c": _create(
            client,
            "Gamma Laser AG",
            [("complementary", "Spritzguss", None), ("core", "Lasertechnik", None)],
        ),
    }


def _competences(client: TestClient, org_id: int) -> list[tuple[str, str, str | None]]:
    body = client.get(f"{ORGS}/{org_id}").json()
    return [(c["kind"], c["label"], c["description"]) for c in body["competences"]]


def _label_rows(body: dict[str, Any]) -> list[tuple[str, int, int, int, int, str | None]]:
    return [
        (
            i["label"],
            i["total"],
            i["counts"]["core"],
            i["counts"]["complementary"],
            i["counts"]["peripheral"],
            i["canonical"],
        )
        for i in body["items"]
    ]


def test_labels_are_listed_with_counts_per_kind(client: TestClient, seeded: dict[str, int]) -> None:
    body = client.get(LABELS).json()
    assert body["total"] == 4
    assert _label_rows(body) == [
        ("Spritzguss", 3, 2, 1, 0, None),
        ("Lasertechnik", 2, 1, 1, 0, None),
        ("Kunststoff-Spritzguss", 1, 1, 0, 0, None),
        ("Spritzgießen", 1, 0, 0, 1, None),
    ]
    assert body["items"][2]["key"] == "kunststoff spritzguss"
    # q matches the folded label anywhere
    assert [i["label"] for i in client.get(LABELS, params={"q": "GIESS"}).json()["items"]] == [
        "Spritzgießen"
    ]
    spritz = client.get(LABELS, params={"q": "spritz", "limit": 2, "offset": 1}).json()
    assert (spritz["total"], [i["label"] for i in spritz["items"]]) == (
        3,
        ["Kunststoff-Spritzguss", "Spritzgießen"],
    )
    peripheral = client.get(LABELS, params={"kind": "peripheral"}).json()
    assert _label_rows(peripheral) == [("Spritzgießen", 1, 0, 0, 1, None)]
    assert client.get(LABELS, params={"kind": "other"}).status_code == 422


def _cosine(encoder: Encoder, a: str, b: str) -> float:
    va, vb = encoder.encode([a, b])
    return round(float(va @ vb), 4)


def test_suggestion_groups_the_three_spellings(
    client: TestClient, seeded: dict[str, int], encoder: Encoder
) -> None:
    response = client.get(SUGGESTIONS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["labels"], body["embedding_model"]) == (1, 4, encoder.name)
    [group] = body["items"]
    assert (group["canonical"], group["total_count"]) == ("Spritzguss", 5)
    # the stored vector of Kunststoff-Spritzguss encodes its description too
    moulding = competence_text("Kunststoff-Spritzguss", MOULDING)
    expected = [
        ("Spritzguss", 3, 1.0, 1.0),
        ("Spritzgießen", 1, 0.7826, _cosine(encoder, "Spritzguss", "Spritzgießen")),
        ("Kunststoff-Spritzguss", 1, 0.95, _cosine(encoder, "Spritzguss", moulding)),
    ]
    assert [
        (m["label"], m["count"], m["signals"]["string"], m["signals"]["embedding"])
        for m in group["members"]
    ] == expected
    # the spelling is the stronger signal here; similarity is the larger one
    assert [m["similarity"] for m in group["members"]] == [max(s, e) for _, _, s, e in expected]
    assert all(e < s for _, _, s, e in expected[1:])

    assert client.get(SUGGESTIONS, params={"min_group": 4}).json()["items"] == []
    assert client.get(SUGGESTIONS, params={"threshold": 0.9}).json()["items"][0]["canonical"] == (
        "Spritzguss"
    )
    assert [
        m["label"]
        for m in client.get(SUGGESTIONS, params={"threshold": 0.9}).json()["items"][0]["members"]
    ] == ["Spritzguss", "Kunststoff-Spritzguss"]
    assert client.get(SUGGESTIONS, params={"threshold": 0.3}).status_code == 422


def test_suggestions_without_vectors_use_spelling(
    client: TestClient, seeded: dict[str, int], db_session: Session
) -> None:
    for competence in db_session.scalars(select(Competence)):
        competence.embedding = None
        competence.embedding_model = None
    db_session.commit()
    body = client.get(SUGGESTIONS).json()
    assert body["embedding_model"] is None
    assert [
        (m["label"], m["similarity"], m["signals"]["embedding"])
        for m in body["items"][0]["members"]
    ] == [
        ("Spritzguss", 1.0, None),
        ("Spritzgießen", 0.7826, None),
        ("Kunststoff-Spritzguss", 0.95, None),
    ]


def test_merge_renames_deduplicates_and_remembers(
    client: TestClient,
    seeded: dict[str, int],
    db_session: Session,
    encoder: Encoder,
    admin: Account,
) -> None:
    a, b, c = seeded["a"], seeded["b"], seeded["c"]
    versions = {k: client.get(f"{ORGS}/{v}").json()["version"] for k, v in seeded.items()}
    cache = IndexCache()
    before = cache.get(db_session, encoder.name)

    response = client.post(
        MERGE,
        json={"canonical": "Spritzguss", "labels": ["Kunststoff-Spritzguss", "spritzgießen"]},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "canonical": "Spritzguss",
        "renamed": 2,
        "deduplicated": 1,
        "organizations": 2,
        "synonyms": 2,
    }
    # Alpha had Spritzguss twice in core: the one with a description stays
    assert _competences(client, a) == [
        ("core", "Spritzguss", MOULDING),
        ("complementary", "Lasertechnik", None),
    ]
    assert _competences(client, b) == [
        ("core", "Spritzguss", None),
        ("peripheral", "Spritzguss", None),
    ]
    assert _competences(client, c) == [
        ("complementary", "Spritzguss", None),
        ("core", "Lasertechnik", None),
    ]
    after = {k: client.get(f"{ORGS}/{v}").json()["version"] for k, v in seeded.items()}
    assert after == {"a": versions["a"] + 1, "b": versions["b"] + 1, "c": versions["c"]}

    # renamed competences and Alpha's profile carry vectors of their new text
    renamed = db_session.scalars(
        select(Competence)
        .where(Competence.organization_id.in_([a, b]), Competence.label == "Spritzguss")
        .order_by(Competence.id)
    ).all()
    for competence in renamed:
        want = encoder.encode([competence_text(competence.label, competence.description)])[0]
        assert competence.embedding is not None
        assert competence.embedding_model == encoder.name
        np.testing.assert_allclose(from_bytes(competence.embedding), want, atol=1e-6)
    alpha = db_session.scalars(
        select(Organization).where(Organization.id == a).execution_options(populate_existing=True)
    ).one()
    db_session.refresh(alpha, ["competences"])
    assert profile_text(alpha) == "Alpha Kunststoff GmbH. Spritzguss"
    assert alpha.profile_embedding is not None
    np.testing.assert_allclose(
        from_bytes(alpha.profile_embedding), encoder.encode([profile_text(alpha)])[0], atol=1e-6
    )

    # the match index notices the merge and refits
    refit = cache.get(db_session, encoder.name)
    assert refit is not before
    assert sorted(c.label for c in refit.profiles[a].competences) == ["Lasertechnik", "Spritzguss"]

    synonyms = client.get(SYNONYMS).json()
    assert synonyms["total"] == 2
    assert [(s["key"], s["label"], s["canonical"], s["created_by"]) for s in synonyms["items"]] == [
        ("kunststoff spritzguss", "Kunststoff-Spritzguss", "Spritzguss", admin.user.email),
        ("spritzgiessen", "spritzgießen", "Spritzguss", admin.user.email),
    ]
    assert canonical_labels(
        db_session, ["Spritzgießen", "KUNSTSTOFF SPRITZGUSS", "Lasertechnik", "Spritzguss"]
    ) == {"Spritzgießen": "Spritzguss", "KUNSTSTOFF SPRITZGUSS": "Spritzguss"}
    assert _label_rows(client.get(LABELS).json()) == [
        ("Spritzguss", 4, 2, 1, 1, None),
        ("Lasertechnik", 2, 1, 1, 0, None),
    ]
    assert client.get(SUGGESTIONS).json()["items"] == []

    # a second, identical merge changes nothing
    again = client.post(
        MERGE,
        json={"canonical": "Spritzguss", "labels": ["Kunststoff-Spritzguss", "spritzgießen"]},
    )
    assert again.status_code == 200, again.text
    assert again.json() == {
        "canonical": "Spritzguss",
        "renamed": 0,
        "deduplicated": 0,
        "organizations": 0,
        "synonyms": 0,
    }
    assert {k: client.get(f"{ORGS}/{v}").json()["version"] for k, v in seeded.items()} == after
    assert cache.get(db_session, encoder.name) is refit
    assert client.get(SYNONYMS).json()["total"] == 2


def test_merge_without_remember_stores_no_synonym(
    client: TestClient, seeded: dict[str, int]
) -> None:
    response = client.post(
        MERGE, json={"canonical": "Laser", "labels": ["Lasertechnik"], "remember": False}
    )
    assert response.json() == {
        "canonical": "Laser",
        "renamed": 2,
        "deduplicated": 0,
        "organizations": 2,
        "synonyms": 0,
    }
    assert client.get(SYNONYMS).json() == {"items": [], "total": 0}
    assert _competences(client, seeded["c"])[1] == ("core", "Laser", None)


def test_synonym_chains_point_to_the_last_canonical_label(
    client: TestClient, seeded: dict[str, int], db_session: Session
) -> None:
    first = client.post(MERGE, json={"canonical": "Spritzguss", "labels": ["Spritzgießen"]})
    assert first.json()["synonyms"] == 1
    second = client.post(MERGE, json={"canonical": "Injection moulding", "labels": ["Spritzguss"]})
    # spritzguss is new; spritzgiessen now points to the new canonical label
    assert second.json() == {
        "canonical": "Injection moulding",
        "renamed": 4,
        "deduplicated": 0,
        "organizations": 3,
        "synonyms": 2,
    }
    assert [(s["key"], s["canonical"]) for s in client.get(SYNONYMS).json()["items"]] == [
        ("spritzgiessen", "Injection moulding"),
        ("spritzguss", "Injection moulding"),
    ]
    # and back: the canonical label's own key stops pointing elsewhere
    third = client.post(MERGE, json={"canonical": "Spritzguss", "labels": ["Injection moulding"]})
    assert third.json()["synonyms"] == 3
    assert [(s["key"], s["canonical"]) for s in client.get(SYNONYMS).json()["items"]] == [
        ("injection moulding", "Spritzguss"),
        ("spritzgiessen", "Spritzguss"),
    ]
    assert canonical_labels(db_session, ["spritzguss", "Spritzgiessen"]) == {
        "Spritzgiessen": "Spritzguss"
    }


def test_deleting_a_synonym(client: TestClient, seeded: dict[str, int]) -> None:
    client.post(MERGE, json={"canonical": "Spritzguss", "labels": ["Spritzgießen"]})
    [synonym] = client.get(SYNONYMS).json()["items"]
    assert client.delete(f"{SYNONYMS}/{synonym['id']}").status_code == 204
    assert client.get(SYNONYMS).json() == {"items": [], "total": 0}
    missing = client.delete(f"{SYNONYMS}/{synonym['id']}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    # the renamed competence keeps its label
    assert _competences(client, seeded["b"])[1] == ("peripheral", "Spritzguss", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"canonical": "Spritzguss", "labels": []}, "labels"),
        ({"canonical": "Spritzguss", "labels": ["Spritzguss"]}, "labels"),
        ({"canonical": "Spritzguss", "labels": [f"Label {i}" for i in range(501)]}, "labels"),
        ({"canonical": "---", "labels": ["Spritzgießen"]}, "canonical"),
        ({"canonical": "Spritzguss", "labels": ["Spritzgießen", "–"]}, "labels"),
        ({"canonical": "", "labels": ["Spritzgießen"]}, "canonical"),
        ({"canonical": "Spritzguss", "labels": ["Spritzgießen"], "extra": 1}, "extra"),
    ],
)
def test_invalid_merges_are_422(
    client: TestClient, seeded: dict[str, int], body: dict[str, Any], field: str
) -> None:
    response = client.post(MERGE, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"].split(".")[-1] for e in response.json()["errors"]} | {
        e["field"].split(".")[0] for e in response.json()["errors"]
    }
    assert _competences(client, seeded["b"]) == [
        ("core", "Spritzguss", None),
        ("peripheral", "Spritzgießen", None),
    ]


def test_only_hub_staff_curate_labels(
    client: TestClient,
    seeded: dict[str, int],
    make_account: AccountFactory,
    client_for: ClientFactory,
) -> None:
    body = {"canonical": "Spritzguss", "labels": ["Spritzgießen"]}
    member = client_for(make_account(Role.member, seeded["b"]))
    organizer = client_for(make_account(Role.organizer))
    anonymous = client_for(None)
    for caller, status in ((anonymous, 401), (member, 403), (organizer, 403)):
        assert caller.post(MERGE, json=body).status_code == status
        assert caller.get(LABELS).status_code == status
        assert caller.get(SUGGESTIONS).status_code == status
        assert caller.get(SYNONYMS).status_code == status
    assert _competences(client, seeded["b"])[1] == ("peripheral", "Spritzgießen", None)
    curator = client_for(make_account(Role.curator))
    assert curator.post(MERGE, json=body).json()["renamed"] == 1


def test_profiles_written_later_get_the_canonical_label(client: TestClient) -> None:
    first = _create(client, "Erste GmbH", [("core", "Spritzguss", None)])
    response = client.post(
        MERGE, json={"canonical": "Spritzguss", "labels": ["Spritzgießen"], "remember": True}
    )
    assert response.status_code == 200, response.text
    # create: the synonym becomes the canonical label, a repeat of the same kind goes
    created = _create(
        client,
        "Zweite GmbH",
        [
            ("core", "Spritzgießen", "Zweikomponenten"),
            ("core", "spritzguss", None),
            ("complementary", "SPRITZGIESSEN", None),
        ],
    )
    assert _competences(client, created) == [
        ("core", "Spritzguss", "Zweikomponenten"),
        ("complementary", "Spritzguss", None),
    ]
    # update
    version = client.get(f"{ORGS}/{first}").json()["version"]
    patched = client.patch(
        f"{ORGS}/{first}",
        json={
            "version": version,
            "competences": [{"kind": "peripheral", "label": "Spritzgiessen"}],
        },
    )
    assert patched.status_code == 200, patched.text
    assert _competences(client, first) == [("peripheral", "Spritzguss", None)]
    # import
    record = {
        "external_id": "LBL-1",
        "name": "Dritte KG",
        "competences": [{"kind": "core", "label": "Spritzgießen"}],
    }
    imported = client.post(f"{ORGS}/import", json=[record])
    assert imported.status_code == 200, imported.text
    found = client.get(ORGS, params={"external_id": "LBL-1"}).json()["items"]
    assert _competences(client, found[0]["id"]) == [("core", "Spritzguss", None)]
