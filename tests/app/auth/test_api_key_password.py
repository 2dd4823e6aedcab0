"""An API key lives long: minting one takes the account's password again, not just a token."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.security import password_hasher
from app.models.user import ApiToken, Role, TokenKind, User
from tests.app.conftest import AccountFactory, ClientFactory

TOKEN = "/api/v1/auth/token"
KEYS = "/api/v1/auth/api-keys"
PASSWORD = "Kiefer-Laterne-73"
PROBLEM = "application/problem+json"


def _with_password(session: Session, email: str = "keys@example.de") -> User:
    user = User(
        email=email,
        name="Key Holder",
        role=Role.curator.value,
        password_hash=password_hasher().hash(PASSWORD),
        is_active=True,
    )
    session.add(user)
    session.commit()
    return user


def _login_token(client: TestClient, email: str) -> dict[str, str]:
    response = client.post(TOKEN, json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _keys(session: Session, user: User) -> list[str | None]:
    session.expire_all()
    return list(
        session.scalars(
            select(ApiToken.name).where(
                ApiToken.user_id == user.id, ApiToken.kind == TokenKind.api_key.value
            )
        )
    )


def test_a_login_token_alone_cannot_mint_a_key(
    anon_client: TestClient, db_session: Session
) -> None:
    user = _with_password(db_session)
    headers = _login_token(anon_client, user.email)
    missing = anon_client.post(KEYS, json={"name": "ERP"}, headers=headers)
    assert missing.status_code == 422
    assert missing.headers["content-type"] == PROBLEM
    assert [e["field"] for e in missing.json()["errors"]] == ["current_password"]
    wrong = anon_client.post(
        KEYS, json={"name": "ERP", "current_password": "Kiefer-Laterne-74"}, headers=headers
    )
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == PROBLEM
    assert wrong.json()["errors"] == [{"field": "current_password", "message": "wrong password"}]
    assert _keys(db_session, user) == []
    created = anon_client.post(
        KEYS, json={"name": "ERP", "current_password": PASSWORD}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["secret"].startswith("kmk_")
    assert _keys(db_session, user) == ["ERP"]


def test_an_api_key_needs_the_password_too(anon_client: TestClient, db_session: Session) -> None:
    user = _with_password(db_session)
    first = anon_client.post(
        KEYS,
        json={"name": "first", "current_password": PASSWORD},
        headers=_login_token(anon_client, user.email),
    ).json()["secret"]
    with_key = {"Authorization": f"Bearer {first}"}
    refused = anon_client.post(
        KEYS, json={"name": "second", "current_password": "guessed wrong"}, headers=with_key
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "current_password", "message": "wrong password"}]
    assert _keys(db_session, user) == ["first"]


def test_an_account_without_a_password_gets_its_keys_on_the_command_line(
    client_for: ClientFactory, make_account: AccountFactory, db_session: Session
) -> None:
    account = make_account(Role.organizer)
    response = client_for(account).post(
        KEYS, json={"name": "sync", "current_password": "anything at all"}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "current_password", "message": "the account has no password"}
    ]
    assert _keys(db_session, account.user) == []


def test_guessing_the_password_through_a_stolen_token_is_limited(
    anon_client: TestClient, db_session: Session
) -> None:
    user = _with_password(db_session)
    headers = _login_token(anon_client, user.email)
    statuses = [
        anon_client.post(
            KEYS, json={"name": "x", "current_password": f"guess number {n}"}, headers=headers
        ).status_code
        for n in range(6)
    ]
    # the login limit (five failures per e-mail and address within a minute) counts here too
    assert statuses == [422, 422, 422, 422, 422, 429]
    blocked = anon_client.post(
        KEYS, json={"name": "x", "current_password": PASSWORD}, headers=headers
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    assert _keys(db_session, user) == []
