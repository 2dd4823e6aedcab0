from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.db import finish, get_session
from app.main import create_app
from app.models.user import Role, TokenKind, User
from matching.encoders import load_encoder


@pytest.fixture(scope="session")
def encoder():  # type: ignore[no-untyped-def]
    return load_encoder("hashing")


@dataclass(frozen=True)
class Account:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


AccountFactory = Callable[..., Account]
ClientFactory = Callable[["Account | None"], TestClient]


@pytest.fixture
def make_account(db_session: Session) -> AccountFactory:
    """Create a user (no password) with a login token: make_account(Role.member, org_id)."""
    counter = iter(range(1, 1_000_000))

    def make(
        role: Role, organization_id: int | None = None, *, email: str | None = None
    ) -> Account:
        user = User(
            email=email or f"{role.value}{next(counter)}@test.example",
            name=f"Test {role.value}",
            role=role.value,
            organization_id=organization_id,
            is_active=True,
        )
        db_session.add(user)
        db_session.flush()
        _, secret = auth_service.issue_token(
            db_session, user=user, kind=TokenKind.login, lifetime=dt.timedelta(hours=1)
        )
        # commit releases the savepoint: a request that rolls back keeps the account
        db_session.commit()
        return Account(user=user, token=secret)

    return make


@pytest.fixture
def app(db_session: Session, encoder) -> FastAPI:  # type: ignore[no-untyped-def]
    app = create_app(encoder=encoder)

    def _session() -> Iterator[Session]:
        try:
            yield db_session
            # the request's commit and its deferred bookkeeping (a token's last use)
            finish(db_session)
        except Exception:
            db_session.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    return app


@pytest.fixture
def client_for(app: FastAPI) -> Iterator[ClientFactory]:
    """TestClients on one app: client_for(account) sends its token, client_for(None) none."""
    with ExitStack() as stack:

        def make(account: Account | None) -> TestClient:
            headers = account.headers if account is not None else {}
            return stack.enter_context(
                TestClient(app, raise_server_exceptions=False, headers=headers)
            )

        yield make


@pytest.fixture
def admin(make_account: AccountFactory) -> Account:
    return make_account(Role.admin)


@pytest.fixture
def client(client_for: ClientFactory, admin: Account) -> TestClient:
    """The default client logs in as an admin."""
    return client_for(admin)


@pytest.fixture
def anon_client(client_for: ClientFactory) -> TestClient:
    return client_for(None)
