"""Organisations and accounts for the cooperation-request tests.

Alpha (sensors, members-only profile) and Beta (software, public) complement each other;
Gamma (plastics, Austria) is a third party; Delta is private.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.embeddings import Encoder, embed_organizations
from app.models import Competence, Organization
from app.models.user import Role
from tests.app.conftest import Account, AccountFactory, ClientFactory

BASE = "/api/v1/cooperation-requests"


def make_organization(
    session: Session,
    encoder: Encoder,
    *,
    name: str,
    visibility: str = "members",
    nace_code: str | None = None,
    core: tuple[str, ...] = (),
    needs: tuple[str, ...] = (),
    **fields: Any,
) -> Organization:
    org = Organization(
        name=name,
        visibility=visibility,
        nace_code=nace_code,
        cooperation_interests=[],
        competences=[Competence(kind="core", label=label) for label in core]
        + [Competence(kind="complementary", label=label) for label in needs],
        **fields,
    )
    embed_organizations([org], encoder)
    session.add(org)
    session.flush()
    return org


@dataclass
class Scene:
    alpha: Organization
    beta: Organization
    gamma: Organization
    delta: Organization
    member_a: Account
    member_b: Account
    member_g: Account
    member_d: Account
    curator: Account
    organizer: Account
    admin: Account
    client_for: ClientFactory

    def client(self, account: Account | None) -> TestClient:
        return self.client_for(account)

    def send(self, account: Account, to: Organization, type_: str, **body: Any) -> int:
        """Send a request (asserting 201) and return its id."""
        response = self.client(account).post(
            BASE, json={"to_organization_id": to.id, "type": type_, **body}
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def step(self, account: Account, request_id: int, action: str, **body: Any) -> Any:
        response = self.client(account).post(f"{BASE}/{request_id}/{action}", json=body or None)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def scene(
    db_session: Session,
    encoder: Encoder,
    make_account: AccountFactory,
    admin: Account,
    client_for: ClientFactory,
) -> Scene:
    alpha = make_organization(
        db_session,
        encoder,
        name="Alpha Sensorik GmbH",
        visibility="members",
        nace_code="26.51",
        core=("Füllstandsensorik", "Drucksensoren"),
        needs=("IoT-Plattform",),
        country="DE",
        postal_code="70173",
        city="Stuttgart",
        employees=42,
        website="https://alpha.example",
        contact_name="Anna Alpha",
        contact_email="anna@alpha.example",
        contact_phone="+49 711 1",
    )
    beta = make_organization(
        db_session,
        encoder,
        name="Beta Software AG",
        visibility="public",
        nace_code="62.01",
        core=("IoT-Plattform", "Cloud-Software"),
        needs=("Füllstandsensorik",),
        country="DE",
        postal_code="80331",
        city="München",
        employees=120,
        website="https://beta.example",
        contact_name="Bernd Beta",
        contact_email="bernd@beta.example",
    )
    gamma = make_organization(
        db_session,
        encoder,
        name="Gamma Kunststoff KG",
        visibility="members",
        nace_code="22.29",
        core=("Kunststoffspritzguss",),
        country="AT",
        postal_code="4020",
        employees=8,
    )
    delta = make_organization(
        db_session, encoder, name="Delta Geheim GmbH", visibility="private", nace_code="28.99"
    )
    db_session.commit()
    accounts = {
        "member_a": make_account(Role.member, alpha.id),
        "member_b": make_account(Role.member, beta.id),
        "member_g": make_account(Role.member, gamma.id),
        "member_d": make_account(Role.member, delta.id),
        "curator": make_account(Role.curator),
        "organizer": make_account(Role.organizer),
    }
    # names that tell the actors apart in histories
    for key, name in (("member_a", "Anna Alpha"), ("member_b", "Bernd Beta")):
        accounts[key].user.name = name
    admin.user.name = "Ada Admin"
    db_session.commit()
    return Scene(
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        delta=delta,
        admin=admin,
        client_for=client_for,
        **accounts,
    )
