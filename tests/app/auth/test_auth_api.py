from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.ratelimit import LoginLimiter
from app.auth.security import password_hasher
from app.models.user import ApiToken, Role, User
from tests.app.conftest import Account, AccountFactory, ClientFactory

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"
KEYS = "/api/v1/auth/api-keys"
USERS = "/api/v1/users"
PASSWORD = "correct horse battery"


@pytest.fixture
def alice(db_session: Session) -> User:
    user = User(
        email="alice@example.de",
        name="Alice",
        role=Role.curator.value,
        password_hash=password_hasher().hash(PASSWORD),
        is_active=True,
    )
    db_session.add(user)
    db_session.commit()
    return user


def form_login(client: TestClient, email: str, password: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(TOKEN, data={"username": email, "password": password})
    return response.status_code, response.json()


def test_form_and_json_login_issue_working_tokens(anon_client: TestClient, alice: User) -> None:
    status, body = form_login(anon_client, "Alice@Example.DE", PASSWORD)
    assert status == 200
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith("kmt_")
    assert body["expires_in"] == 12 * 3600
    response = anon_client.post(TOKEN, json={"email": "alice@example.de", "password": PASSWORD})
    assert response.status_code == 200
    for token in (body["access_token"], response.json()["access_token"]):
        me = anon_client.get(ME, headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["email"] == "alice@example.de"
        assert me.json()["role"] == "curator"
        assert me.json()["has_password"] is True
    assert alice.last_login_at is not None


def test_wrong_password_and_unknown_account_are_401_with_challenge(
    anon_client: TestClient, alice: User
) -> None:
    for email, password in [("alice@example.de", "wrong password"), ("bob@example.de", PASSWORD)]:
        response = anon_client.post(TOKEN, data={"username": email, "password": password})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "Wrong e-mail or password."


def test_login_form_without_password_is_422(anon_client: TestClient) -> None:
    response = anon_client.post(TOKEN, data={"username": "alice@example.de"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "password", "in": "body", "message": "Field required"}
    ]
    response = anon_client.post(TOKEN, content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_inactive_account_cannot_log_in(
    anon_client: TestClient, alice: User, db_session: Session
) -> None:
    alice.is_active = False
    db_session.commit()
    assert form_login(anon_client, "alice@example.de", PASSWORD)[0] == 401


def test_five_failures_per_email_and_ip_then_429_with_retry_after(
    app: FastAPI, anon_client: TestClient, alice: User
) -> None:
    now = [1000.0]
    app.state.login_limiter = LoginLimiter(
        scope="account", max_failures=5, window=60, clock=lambda: now[0]
    )
    for _ in range(5):
        assert form_login(anon_client, "alice@example.de", "wrong password")[0] == 401
        now[0] += 1  # failures at 1000, 1001, 1002, 1003, 1004
    now[0] = 1010.0
    response = anon_client.post(TOKEN, data={"username": "ALICE@example.de", "password": PASSWORD})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "50"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 429
    # another address from the same client is not affected
    assert form_login(anon_client, "bob@example.de", "wrong password")[0] == 401
    # at 1059 the window begun at 1000 still holds
    now[0] = 1059.0
    response = anon_client.post(TOKEN, data={"username": "alice@example.de", "password": PASSWORD})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    # at 1060 it has ended: a new window of five begins
    now[0] = 1060.0
    for _ in range(5):
        assert form_login(anon_client, "alice@example.de", "wrong password")[0] == 401
    response = anon_client.post(TOKEN, data={"username": "alice@example.de", "password": PASSWORD})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
    now[0] = 1120.0
    assert form_login(anon_client, "alice@example.de", PASSWORD)[0] == 200
    # success clears the record
    for _ in range(4):
        assert form_login(anon_client, "alice@example.de", "wrong password")[0] == 401
    assert form_login(anon_client, "alice@example.de", PASSWORD)[0] == 200


def test_outdated_hash_is_upgraded_at_login(
    anon_client: TestClient, alice: User, db_session: Session
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    alice.password_hash = weak.hash(PASSWORD)
    db_session.commit()
    assert password_hasher().check_needs_rehash(alice.password_hash) is True
    assert form_login(anon_client, "alice@example.de", PASSWORD)[0] == 200
    db_session.refresh(alice)
    assert alice.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert password_hasher().check_needs_rehash(alice.password_hash) is False
    assert form_login(anon_client, "alice@example.de", PASSWORD)[0] == 200


def test_missing_and_bad_tokens_are_401(anon_client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer kmt_not-a-token"}):
        response = anon_client.get(ME, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"


def test_logout_revokes_the_token(client_for: ClientFactory, make_account: AccountFactory) -> None:
    account = make_account(Role.organizer)
    client = client_for(account)
    assert client.get(ME).status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["detail"] == "The token is invalid, expired or revoked."


def test_expired_token_is_401(
    client_for: ClientFactory, make_account: AccountFactory, db_session: Session
) -> None:
    account = make_account(Role.organizer)
    token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == account.user.id)).one()
    token.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.commit()
    assert client_for(account).get(ME).status_code == 401


def test_api_keys_secret_shown_once_stored_as_hash_and_revocable(
    client_for: ClientFactory, make_account: AccountFactory, db_session: Session
) -> None:
    member_org = _org(db_session)
    account = make_account(Role.member, member_org)
    account.user.password_hash = password_hasher().hash(PASSWORD)
    db_session.commit()
    client = client_for(account)
    response = client.post(
        KEYS, json={"name": "ERP sync", "expires_in_days": 30, "current_password": PASSWORD}
    )
    assert response.status_code == 201
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("kmk_")
    assert len(secret) == 4 + 43
    assert created["prefix"] == secret[:12]
    assert created["kind"] == "api_key"
    lifetime = dt.datetime.fromisoformat(created["expires_at"]) - dt.datetime.fromisoformat(
        created["created_at"]
    )
    assert lifetime == dt.timedelta(days=30)
    row = db_session.get(ApiToken, created["id"])
    assert row is not None
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    listed = client.get(KEYS).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "secret" not in listed[0]
    key_client = client_for(Account(user=account.user, token=secret))
    assert key_client.get(ME).json()["id"] == account.user.id
    # someone else's key is not found; the owner can revoke it
    other = client_for(make_account(Role.organizer))
    assert other.delete(f"{KEYS}/{created['id']}").status_code == 404
    assert client.delete(f"{KEYS}/{created['id']}").status_code == 204
    assert key_client.get(ME).status_code == 401
    assert client.get(KEYS).json()[0]["revoked_at"] is not None


def test_api_key_lifetime_is_capped(client: TestClient) -> None:
    response = client.post(
        KEYS,
        json={"name": "too long", "expires_in_days": 3 * 365 + 1, "current_password": PASSWORD},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "expires_in_days", "message": "too long"}]


def _org(session: Session, name: str = "Own GmbH", visibility: str = "members") -> int:
    from app.models import Organization

    org = Organization(name=name, cooperation_interests=[], visibility=visibility)
    session.add(org)
    session.commit()
    return org.id


def test_admin_creates_lists_updates_and_deactivates_users(
    client: TestClient,
    admin: Account,
    client_for: ClientFactory,
    db_session: Session,
) -> None:
    org_id = _org(db_session)
    response = client.post(
        USERS,
        json={
            "email": "Member@Example.de",
            "name": "Max Muster",
            "role": "member",
            "organization_id": org_id,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    member = response.json()
    assert response.headers["location"] == f"/api/v1/users/{member['id']}"
    assert member["email"] == "member@example.de"
    assert member["organization_id"] == org_id
    assert member["has_password"] is True
    # e-mail addresses are unique regardless of case
    again = client.post(
        USERS, json={"email": "MEMBER@example.de", "name": "X", "role": "organizer"}
    )
    assert again.status_code == 409
    assert again.json()["errors"] == [{"field": "email", "message": "already in use"}]
    # members need an organisation, staff take none; passwords have 10 to 256 characters
    for body in (
        {"email": "m2@example.de", "name": "M", "role": "member"},
        {"email": "c2@example.de", "name": "C", "role": "curator", "organization_id": org_id},
        {"email": "p@example.de", "name": "P", "role": "curator", "password": "x" * 9},
        {"email": "p@example.de", "name": "P", "role": "curator", "password": "x" * 257},
        {"email": "not-an-address", "name": "P", "role": "curator"},
    ):
        assert client.post(USERS, json=body).status_code == 422, body
    unknown_org = client.post(
        USERS,
        json={"email": "m3@example.de", "name": "M", "role": "member", "organization_id": 999999},
    )
    assert unknown_org.status_code == 422
    assert unknown_org.json()["errors"] == [
        {"field": "organization_id", "message": "no such organisation"}
    ]

    listed = client.get(USERS, params={"role": "member"}).json()
    assert [u["email"] for u in listed["items"]] == ["member@example.de"]
    assert listed["total"] == 1

    login = client_for(None).post(
        TOKEN, data={"username": "member@example.de", "password": PASSWORD}
    )
    member_client = client_for(Account(user=admin.user, token=login.json()["access_token"]))
    assert member_client.get(ME).json()["role"] == "member"

    patched = client.patch(f"{USERS}/{member['id']}", json={"role": "curator", "name": "Max M."})
    assert patched.status_code == 200
    assert patched.json()["role"] == "curator"
    assert patched.json()["organization_id"] is None
    # a change of role ends the sessions granted under the old one
    assert member_client.get(ME).status_code == 401

    assert client.delete(f"{USERS}/{member['id']}").status_code == 204
    assert client.get(f"{USERS}/{member['id']}").json()["is_active"] is False
    relogin = client_for(None).post(
        TOKEN, data={"username": "member@example.de", "password": PASSWORD}
    )
    assert relogin.status_code == 401
    assert client.get(f"{USERS}/999999").status_code == 404


def test_the_last_admin_cannot_be_removed(client: TestClient, admin: Account) -> None:
    response = client.delete(f"{USERS}/{admin.user.id}")
    assert response.status_code == 409
    assert response.json()["detail"] == "This is the last active admin; make another admin first."
    demote = client.patch(f"{USERS}/{admin.user.id}", json={"role": "curator"})
    assert demote.status_code == 409
    second = client.post(USERS, json={"email": "a2@example.de", "name": "A2", "role": "admin"})
    assert second.status_code == 201
    assert client.patch(f"{USERS}/{admin.user.id}", json={"role": "curator"}).status_code == 200
    # that ended the admin's own session
    assert client.get(ME).status_code == 401


def test_deleting_an_organisation_removes_its_member_accounts(
    client: TestClient, make_account: AccountFactory, db_session: Session
) -> None:
    org_id = _org(db_session)
    make_account(Role.member, org_id)
    assert client.delete(f"/api/v1/organizations/{org_id}").status_code == 204
    remaining = db_session.scalars(select(User.id).where(User.role == Role.member.value)).all()
    assert remaining == []


def test_token_use_is_recorded_and_the_scheme_documented(
    client: TestClient, admin: Account, db_session: Session
) -> None:
    token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == admin.user.id)).one()
    assert token.last_used_at is None
    assert client.get(ME).status_code == 200
    db_session.refresh(token)
    assert token.last_used_at is not None
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes == {
        "OAuth2PasswordBearer": {
            "type": "oauth2",
            "description": "A login token from POST /api/v1/auth/token, or an API key",
            "flows": {"password": {"scopes": {}, "tokenUrl": "/api/v1/auth/token"}},
        }
    }


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        # no credentials for a route that needs them: who calls comes before what is sent
        ("/api/v1/organizations", {}, 401),
        ("/api/v1/cooperation-requests", {}, 401),
        # the login itself needs no token: the broken body is the problem
        ("/api/v1/auth/token", {}, 422),
    ],
)
def test_a_malformed_body_without_credentials(
    anon_client: TestClient, path: str, headers: dict[str, str], expected: int
) -> None:
    response = anon_client.post(
        path, content=b'{"name": ', headers={"content-type": "application/json", **headers}
    )
    assert response.status_code == expected, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_malformed_body_with_a_token_is_422_naming_the_body(client: TestClient) -> None:
    response = client.post(
        "/api/v1/organizations", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "body", "in": "body", "message": "Expecting value at character 9"}
    ]
