"""The competence-gap map: open needs and crowded cores, by the service and the API."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app.curation import gaps
from app.models.user import Role
from app.organizations import service as organization_service
from app.organizations.schemas import OrganizationCreate
from tests.app.conftest import AccountFactory, ClientFactory

PROFILES = {
    "A": [
        ("core", "Laserschweißen"),
        ("complementary", "Pulverbeschichtung"),
        ("peripheral", "Gefahrguttransport"),
    ],
    "B": [
        ("core", "Pulverbeschichtung von Stahlteilen"),
        ("complementary", "Quantenkryptografie-Audit"),
    ],
    "C": [
        ("core", "Laserschweissen"),
        ("complementary", "Quantenkryptografie-Audit"),
        ("peripheral", "Laserschweißen"),
    ],
    "D": [("core", "laserschweissen"), ("complementary", "Gefahrguttransport")],
    # its own core does not cover its own need
    "E": [("core", "Bienenwachs-Kerzen"), ("peripheral", "Bienenwachs-Kerzen")],
}


@pytest.fixture
def cluster(db_session: Session, encoder) -> dict[str, int]:  # type: ignore[no-untyped-def]
    ids = {}
    for name, competences in PROFILES.items():
        org = organization_service.create_organization(
            db_session,
            data=OrganizationCreate.model_validate(
                {
                    "name": f"Firma {name}",
                    "country": "DE",
                    "competences": [{"kind": k, "label": label} for k, label in competences],
                }
            ),
            encoder=encoder,
        )
        ids[name] = org.id
    db_session.commit()
    return ids


def test_open_needs_and_crowded_cores(db_session: Session, encoder, cluster) -> None:  # type: ignore[no-untyped-def]
    found = gaps.gap_map(db_session, encoder=encoder)
    assert (found.organizations, found.needs, found.cores) == (5, 5, 3)
    assert found.embedding_model == encoder.name
    open_needs = {g.label: (g.kinds, g.needed_by, g.providers, g.open_for) for g in found.gaps}
    assert open_needs == {
        "Gefahrguttransport": (["complementary", "peripheral"], 2, 0, 2),
        "Quantenkryptografie-Audit": (["complementary"], 2, 0, 2),
        "Bienenwachs-Kerzen": (["peripheral"], 1, 1, 1),
    }
    assert found.open_needs == 3
    # Pulverbeschichtung: B's core names it; Laserschweißen: A and D offer what C needs
    assert [g.label for g in found.gaps] == [
        "Gefahrguttransport",
        "Quantenkryptografie-Audit",
        "Bienenwachs-Kerzen",
    ]
    kerzen = found.gaps[2]
    assert (kerzen.nearest_core, kerzen.nearest_similarity) == ("Bienenwachs-Kerzen", 1.0)
    assert [(c.label, c.offered_by, c.demanded_by) for c in found.crowded] == [
        ("Laserschweißen", 3, 0)
    ]


def test_limit_cuts_the_lists_not_the_counts(db_session: Session, encoder, cluster) -> None:  # type: ignore[no-untyped-def]
    found = gaps.gap_map(db_session, encoder=encoder, limit=1)
    assert [g.label for g in found.gaps] == ["Gefahrguttransport"]
    assert found.open_needs == 3


def test_without_vectors_labels_still_count(db_session: Session, cluster) -> None:  # type: ignore[no-untyped-def]
    found = gaps.gap_map(db_session, encoder=None)
    assert found.open_needs == 3


def test_gap_api_is_for_staff(
    client_for: ClientFactory, make_account: AccountFactory, cluster: dict[str, int]
) -> None:
    curator = client_for(make_account(Role.curator))
    response = curator.get("/api/v1/curation/gaps", params={"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert [g["label"] for g in body["gaps"]] == ["Gefahrguttransport", "Quantenkryptografie-Audit"]
    assert body["open_needs"] == 3
    assert body["threshold"] == gaps.DEFAULT_THRESHOLD
    member = client_for(make_account(Role.member, cluster["A"]))
    assert member.get("/api/v1/curation/gaps").status_code == 403
    assert client_for(None).get("/api/v1/curation/gaps").status_code == 401
    assert curator.get("/api/v1/curation/gaps", params={"threshold": 0.2}).status_code == 422


def test_vectors_make_a_cover_without_a_shared_word(
    db_session: Session,
    encoder,  # type: ignore[no-untyped-def]
) -> None:
    """ "Pulverlackierungen" and "Pulverlackierung" share no word: only the vectors join them."""
    for name, kind, label in (
        ("X", "core", "Pulverlackierungen"),
        ("Y", "complementary", "Pulverlackierung"),
    ):
        organization_service.create_organization(
            db_session,
            data=OrganizationCreate.model_validate(
                {"name": name, "country": "DE", "competences": [{"kind": kind, "label": label}]}
            ),
            encoder=encoder,
        )
    db_session.commit()
    # the hashing encoder's cosine of the two is 0.6137
    covered = gaps.gap_map(db_session, encoder=encoder, threshold=0.6)
    assert covered.open_needs == 0
    strict = gaps.gap_map(db_session, encoder=encoder, threshold=0.7)
    assert [(g.label, g.open_for, g.nearest_core) for g in strict.gaps] == [
        ("Pulverlackierung", 1, "Pulverlackierungen")
    ]
    assert strict.gaps[0].nearest_similarity == 0.6137
