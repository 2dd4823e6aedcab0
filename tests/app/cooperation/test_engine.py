"""The engine's part in a request: the pair's match score and the competitor opt-out."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db import get_session
from app.embeddings import Encoder
from app.main import create_app
from app.models.user import Role
from tests.app.conftest import AccountFactory
from tests.app.cooperation.conftest import BASE, Scene, make_organization


def _match_scores(scene: Scene, organization_id: int) -> dict[int, tuple[float, str]]:
    response = scene.client(scene.admin).get(
        f"/api/v1/organizations/{organization_id}/matches", params={"limit": 100}
    )
    assert response.status_code == 200, response.text
    return {m["organization"]["id"]: (m["score"], m["relation"]) for m in response.json()["items"]}


def test_match_score_is_the_engines_score_of_the_pair(scene: Scene) -> None:
    expected, relation = _match_scores(scene, scene.alpha.id)[scene.beta.id]
    assert relation == "complementary"
    response = scene.client(scene.member_a).post(
        BASE, json={"to_organization_id": scene.beta.id, "type": "product_development"}
    )
    assert response.status_code == 201
    assert response.json()["match_score"] == expected
    # the other way round the engine scores from Beta's side
    back, _ = _match_scores(scene, scene.beta.id)[scene.alpha.id]
    sent = scene.client(scene.member_b).post(
        BASE, json={"to_organization_id": scene.alpha.id, "type": "product_development"}
    )
    assert sent.json()["match_score"] == back


def test_no_score_for_a_pair_nothing_links(
    scene: Scene, db_session: Session, encoder: Encoder
) -> None:
    empty = make_organization(db_session, encoder, name="Leer GmbH", visibility="public")
    db_session.commit()
    assert empty.id not in _match_scores(scene, scene.alpha.id)
    response = scene.client(scene.member_a).post(
        BASE, json={"to_organization_id": empty.id, "type": "training"}
    )
    assert response.status_code == 201
    assert response.json()["match_score"] is None


def test_no_score_without_an_embedding_model(
    scene: Scene, db_session: Session, make_account: AccountFactory
) -> None:
    app = create_app(load_encoder=False)

    def _session() -> Iterator[Session]:
        yield db_session
        db_session.commit()

    app.dependency_overrides[get_session] = _session
    member = make_account(Role.member, scene.alpha.id)
    with TestClient(app, raise_server_exceptions=False, headers=member.headers) as client:
        response = client.post(
            BASE, json={"to_organization_id": scene.beta.id, "type": "data_sharing"}
        )
    assert response.status_code == 201, response.text
    assert response.json()["match_score"] is None


def test_a_competitor_that_opted_out_is_not_found(
    scene: Scene, db_session: Session, encoder: Encoder, make_account: AccountFactory
) -> None:
    # the same core in the same NACE division: the engine labels them competitors
    core = ("Füllstandsensorik", "Drucksensoren")
    rival = make_organization(
        db_session,
        encoder,
        name="Rivale Sensorik GmbH",
        visibility="public",
        nace_code="26.51",
        core=core,
    )
    db_session.commit()
    score, relation = _match_scores(scene, scene.alpha.id)[rival.id]
    assert relation == "competitor"

    # before the opt-out a competitor may be asked (coopetition)
    first = scene.client(scene.member_a).post(
        BASE, json={"to_organization_id": rival.id, "type": "purchasing_sales"}
    )
    assert first.status_code == 201
    assert first.json()["match_score"] == score

    rival.hide_from_competitors = True
    db_session.commit()
    for account, body in (
        (scene.member_a, {}),
        (scene.admin, {"from_organization_id": scene.alpha.id}),
    ):
        response = scene.client(account).post(
            BASE, json={"to_organization_id": rival.id, "type": "training", **body}
        )
        assert response.status_code == 404
        # indistinguishable from an organisation that does not exist
        assert response.json()["detail"] == f"No organisation with id {rival.id}."
    # organisations in other industries still reach it
    other = scene.client(scene.member_b).post(
        BASE, json={"to_organization_id": rival.id, "type": "training"}
    )
    assert other.status_code == 201
