"""A competitor in a member's match list says which kinds of coopetition fit, in the page's
language, as the API does."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models.user import Role
from app.organizations import service as organization_service
from app.organizations.schemas import OrganizationCreate
from app.web.session import SESSION_COOKIE
from tests.app.conftest import AccountFactory


def _organization(session: Session, encoder, **fields) -> int:  # type: ignore[no-untyped-def]
    org = organization_service.create_organization(
        session, data=OrganizationCreate.model_validate(fields), encoder=encoder
    )
    session.commit()
    return org.id


def test_a_competitor_card_names_its_coopetition_kinds_in_german_and_english(
    app: FastAPI,
    make_account: AccountFactory,
    db_session: Session,
    encoder,  # type: ignore[no-untyped-def]
) -> None:
    common = {
        "country": "DE",
        "nace_code": "22.29",
        "competences": [{"kind": "core", "label": "Kunststoffspritzguss"}],
        "cooperation_interests": ["purchasing_sales"],
    }
    own = _organization(db_session, encoder, name="Formteil Nord GmbH", **common)
    rival = _organization(db_session, encoder, name="Formteil Süd GmbH", **common)
    account = make_account(Role.member, own)
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set(SESSION_COOKIE, account.token)
    with client:
        api = client.get(
            f"/api/v1/organizations/{own}/matches",
            params={"include_competitors": "true"},
            headers={"Authorization": f"Bearer {account.token}"},
        )
        assert api.status_code == 200
        items = api.json()["items"]
        assert [(m["organization"]["id"], m["relation"]) for m in items] == [(rival, "competitor")]
        assert items[0]["cooperation_kinds"] == [
            "joint_purchasing_sales",
            "capacity_sharing",
            "joint_bids",
        ]
        english = client.get("/partners", headers={"accept-language": "en"})
        assert english.status_code == 200
        assert (
            "Cooperation as competitors: Joint purchasing and sales, Capacity sharing, "
            "Joint bids</p>" in english.text
        )
        german = client.get("/partners", headers={"accept-language": "de"})
        assert (
            "Zusammenarbeit unter Wettbewerbern: Gemeinsamer Einkauf und Vertrieb, "
            "Kapazitäten teilen, Gemeinsame Angebote und Ausschreibungen</p>" in german.text
        )
        left_out = client.get(
            "/partners", params={"filtered": "1"}, headers={"accept-language": "en"}
        )
        assert "Cooperation as competitors:" not in left_out.text
