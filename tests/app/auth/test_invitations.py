"""Onboarding links: invitations and password resets, through the service and the API."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import invitations
from app.auth import service as auth_service
from app.auth.security import hash_secret, verify_password
from app.errors import Forbidden, Invalid, NotFound
from app.models import Organization
from app.models.invitation import AccountLink, LinkPurpose
from app.models.user import ApiToken, Role, TokenKind
from tests.app.conftest import AccountFactory, ClientFactory

GOOD_PASSWORD = "Kranbahn-Rollen-77"


@pytest.fixture
def organization_id(db_session: Session) -> int:
    org = Organization(name="Rollenwerk Nord GmbH", external_id="INV-1", country="DE")
    db_session.add(org)
    db_session.commit()
    return org.id


def test_invitation_stores_only_the_hash_and_sets_the_password_once(
    db_session: Session, make_account: AccountFactory, organization_id: int
) -> None:
    curator = make_account(Role.curator).user
    user, _link, secret = invitations.invite_member(
        db_session,
        organization_id=organization_id,
        email=" Neu@Rollenwerk.example ",
        name="Nora Neu",
        issuer=curator,
    )
    assert (user.email, user.role, user.organization_id) == (
        "neu@rollenwerk.example",
        "member",
        organization_id,
    )
    assert user.password_hash is None
    assert secret.startswith("kml_") and len(secret) == 4 + 43
    stored = db_session.scalars(select(AccountLink).where(AccountLink.user_id == user.id)).one()
    assert stored.token_hash == hash_secret(secret)
    assert secret not in stored.token_hash
    assert stored.purpose == "invitation"
    assert stored.created_by_user_id == curator.id
    assert stored.expires_at - stored.created_at == dt.timedelta(days=7)
    assert invitations.link_path(secret) == f"/welcome/{secret}"

    invitations.redeem(db_session, secret=secret, password=GOOD_PASSWORD)
    assert user.password_hash is not None and verify_password(user.password_hash, GOOD_PASSWORD)
    assert stored.used_at is not None
    assert auth_service.authenticate(db_session, email=user.email, password=GOOD_PASSWORD) is user
    with pytest.raises(NotFound):
        invitations.redeem(db_session, secret=secret, password="Another-Password-88")


def test_common_passwords_are_refused_and_the_link_stays_usable(
    db_session: Session, make_account: AccountFactory, organization_id: int
) -> None:
    curator = make_account(Role.curator).user
    user, _link, secret = invitations.invite_member(
        db_session, organization_id=organization_id, email="a@r.example", name="A", issuer=curator
    )
    for weak, reason in (("1234567890", "too common"), ("          ", "too simple")):
        with pytest.raises(Invalid) as caught:
            invitations.redeem(db_session, secret=secret, password=weak)
        assert caught.value.errors == [{"field": "password", "message": reason}]
    with pytest.raises(Invalid) as short:
        invitations.redeem(db_session, secret=secret, password="kurz")
    assert short.value.errors == [{"field": "password", "message": "wrong length"}]
    assert invitations.open_link(db_session, secret=secret) is not None
    assert user.password_hash is None


def test_expired_and_superseded_links_do_not_work(
    db_session: Session, make_account: AccountFactory, organization_id: int
) -> None:
    curator = make_account(Role.curator).user
    member = make_account(Role.member, organization_id).user
    first, first_secret = invitations.issue_link(
        db_session, user=member, purpose=LinkPurpose.reset, issuer=curator
    )
    assert first.expires_at - first.created_at == dt.timedelta(hours=24)
    second, second_secret = invitations.issue_link(
        db_session, user=member, purpose=LinkPurpose.reset, issuer=curator
    )
    assert invitations.open_link(db_session, secret=first_secret) is None
    assert invitations.open_link(db_session, secret=second_secret) is second
    second.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.flush()
    assert invitations.open_link(db_session, secret=second_secret) is None
    assert invitations.open_link(db_session, secret="kml_" + "x" * 43) is None
    assert invitations.open_link(db_session, secret="kmt_not-a-link") is None


def test_a_reset_ends_every_session_and_api_key(
    db_session: Session,
    make_account: AccountFactory,
    organization_id: int,
    anon_client: TestClient,
) -> None:
    curator = make_account(Role.curator).user
    member = make_account(Role.member, organization_id)
    # a second session and a long-lived API key, made before the reset
    _, second = auth_service.issue_token(
        db_session, user=member.user, kind=TokenKind.login, lifetime=dt.timedelta(hours=1)
    )
    _, api_key = auth_service.issue_token(
        db_session, user=member.user, kind=TokenKind.api_key, lifetime=dt.timedelta(days=365)
    )
    db_session.commit()
    secrets = (member.token, second, api_key)

    def me(secret: str) -> int:
        headers = {"Authorization": f"Bearer {secret}"}
        return anon_client.get("/api/v1/auth/me", headers=headers).status_code

    assert [me(s) for s in secrets] == [200, 200, 200]
    _link, secret = invitations.issue_link(
        db_session, user=member.user, purpose=LinkPurpose.reset, issuer=curator
    )
    invitations.redeem(db_session, secret=secret, password=GOOD_PASSWORD)
    db_session.commit()
    tokens = db_session.scalars(
        select(ApiToken).where(ApiToken.user_id == member.user.id).order_by(ApiToken.id)
    ).all()
    assert [(t.kind, t.revoked_at is not None) for t in tokens] == [
        ("login", True),
        ("login", True),
        ("api_key", True),
    ]
    assert [me(s) for s in secrets] == [401, 401, 401]


def test_who_may_issue_links(
    db_session: Session, make_account: AccountFactory, organization_id: int
) -> None:
    curator = make_account(Role.curator).user
    other_curator = make_account(Role.curator).user
    admin = make_account(Role.admin).user
    other_admin = make_account(Role.admin).user
    member = make_account(Role.member, organization_id).user
    organizer = make_account(Role.organizer).user
    # curators: member accounts only, so no curator takes over a staff account
    for account in (other_curator, admin, organizer):
        with pytest.raises(Forbidden):
            invitations.issue_link(
                db_session, user=account, purpose=LinkPurpose.reset, issuer=curator
            )
    # admins: any account but their own; members and organizers: none
    invitations.issue_link(db_session, user=other_admin, purpose=LinkPurpose.reset, issuer=admin)
    with pytest.raises(Forbidden):
        invitations.issue_link(db_session, user=admin, purpose=LinkPurpose.reset, issuer=admin)
    for issuer in (member, organizer):
        with pytest.raises(Forbidden):
            invitations.issue_link(
                db_session, user=member, purpose=LinkPurpose.reset, issuer=issuer
            )
    with pytest.raises(Forbidden):
        invitations.invite_member(
            db_session,
            organization_id=organization_id,
            email="x@r.example",
            name="X",
            issuer=organizer,
        )


def test_invitation_api_round_trip(
    client_for: ClientFactory,
    make_account: AccountFactory,
    organization_id: int,
    db_session: Session,
) -> None:
    curator = client_for(make_account(Role.curator))
    response = curator.post(
        "/api/v1/auth/invitations",
        json={"organization_id": organization_id, "email": "ina@r.example", "name": "Ina"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["email"] == "ina@r.example"
    assert body["user"]["has_password"] is False
    assert response.headers["location"] == f"/api/v1/users/{body['user']['id']}"
    token = body["link"]["token"]
    assert body["link"]["path"] == f"/welcome/{token}"
    assert body["link"]["purpose"] == "invitation"

    again = curator.post(
        "/api/v1/auth/invitations",
        json={"organization_id": organization_id, "email": "INA@r.example", "name": "Ina"},
    )
    assert again.status_code == 409
    assert again.json()["errors"] == [{"field": "email", "message": "already in use"}]
    missing = curator.post(
        "/api/v1/auth/invitations",
        json={"organization_id": 999_999, "email": "nobody@r.example", "name": "N"},
    )
    assert missing.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"

    anonymous = client_for(None)
    weak = anonymous.post(
        "/api/v1/auth/links/redeem", json={"token": token, "new_password": "password123"}
    )
    assert weak.status_code == 422
    assert weak.json()["errors"] == [{"field": "password", "message": "too common"}]
    done = anonymous.post(
        "/api/v1/auth/links/redeem", json={"token": token, "new_password": GOOD_PASSWORD}
    )
    assert done.status_code == 204
    used = anonymous.post(
        "/api/v1/auth/links/redeem", json={"token": token, "new_password": GOOD_PASSWORD}
    )
    assert used.status_code == 404
    login = anonymous.post(
        "/api/v1/auth/token", json={"email": "ina@r.example", "password": GOOD_PASSWORD}
    )
    assert login.status_code == 200


def test_reset_api_rules(
    client_for: ClientFactory, make_account: AccountFactory, organization_id: int
) -> None:
    curator_account = make_account(Role.curator)
    member = make_account(Role.member, organization_id)
    admin = make_account(Role.admin)
    curator = client_for(curator_account)
    created = curator.post(f"/api/v1/users/{member.user.id}/password-reset")
    assert created.status_code == 201
    assert created.json()["purpose"] == "reset"
    assert curator.post(f"/api/v1/users/{admin.user.id}/password-reset").status_code == 403
    assert curator.post("/api/v1/users/999999/password-reset").status_code == 404
    as_member = client_for(member)
    assert as_member.post(f"/api/v1/users/{member.user.id}/password-reset").status_code == 403
    assert (
        as_member.post(
            "/api/v1/auth/invitations",
            json={"organization_id": organization_id, "email": "m@r.example", "name": "M"},
        ).status_code
        == 403
    )
    assert (
        client_for(None).post(f"/api/v1/users/{member.user.id}/password-reset").status_code == 401
    )


def test_erasing_the_organisation_takes_its_links_along(
    db_session: Session, make_account: AccountFactory, organization_id: int
) -> None:
    from sqlalchemy import func

    from app.privacy import service as privacy_service

    curator = make_account(Role.curator).user
    invitations.invite_member(
        db_session, organization_id=organization_id, email="e@r.example", name="E", issuer=curator
    )
    db_session.commit()
    organization = db_session.get(Organization, organization_id)
    assert organization is not None
    privacy_service.erase_organization(db_session, organization=organization)
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(AccountLink)) == 0
