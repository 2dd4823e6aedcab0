"""Every route x role, with the exact status, generated from the app's route table.

A route that is not in ROUTES fails `test_route_has_an_entry`, so a new endpoint needs its
row here. Roles: anonymous, a member of the target organisation, a member of another one,
organizer, curator, admin. Routes on an organisation are run against a `members` profile and,
where the answer differs, a `private` and a `public` one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from app.auth.security import password_hasher
from app.auth.service import issue_token, login_lifetime
from app.embeddings import Encoder, embed_organizations
from app.main import create_app
from app.models import Competence, Organization
from app.models.user import ApiToken, Role, TokenKind, User
from tests.app.conftest import Account, AccountFactory, ClientFactory

ROLES = ("anonymous", "member_own", "member_other", "organizer", "curator", "admin")
LOGIN_EMAIL = "login@test.example"
LOGIN_PASSWORD = "matrix password 1"

# routes whose access rules come in a later step; each is expected to lack an entry
# (strict xfail): give the routes their entries, then drop the prefix from here
PENDING_PREFIXES = ("/api/v1/events",)


@dataclass(frozen=True)
class Case:
    """Expected statuses, one per role in ROLES order, against a `members` profile."""

    expect: str
    private: str | None = None  # the same against a private profile, where it differs
    public: str | None = None  # and a public one
    json: Any = None
    data: dict[str, str] | None = None
    params: dict[str, str] = field(default_factory=dict)

    def statuses(self, visibility: str) -> tuple[int, ...]:
        text = {"members": self.expect, "private": self.private, "public": self.public}[visibility]
        assert text is not None
        codes = tuple(int(c) for c in text.split())
        assert len(codes) == len(ROLES)
        return codes


ALL_200 = "200 200 200 200 200 200"
TOKEN_ONLY = "401 200 200 200 200 200"
ADMIN_ONLY = "401 403 403 403 403 200"
STAFF_ONLY = "401 403 403 403 200 200"

ROUTES: dict[tuple[str, str], Case] = {
    ("GET", "/health"): Case(ALL_200),
    ("GET", "/openapi.json"): Case(ALL_200),
    ("GET", "/docs"): Case(ALL_200),
    ("GET", "/docs/oauth2-redirect"): Case(ALL_200),
    ("GET", "/redoc"): Case(ALL_200),
    # accounts and credentials
    ("POST", "/api/v1/auth/token"): Case(
        ALL_200, data={"username": LOGIN_EMAIL, "password": LOGIN_PASSWORD}
    ),
    ("POST", "/api/v1/auth/logout"): Case("401 204 204 204 204 204"),
    ("GET", "/api/v1/auth/me"): Case(TOKEN_ONLY),
    ("POST", "/api/v1/auth/api-keys"): Case("401 201 201 201 201 201", json={"name": "matrix"}),
    ("GET", "/api/v1/auth/api-keys"): Case(TOKEN_ONLY),
    # the key belongs to member_own; admins may revoke anyone's
    ("DELETE", "/api/v1/auth/api-keys/{key_id}"): Case("401 204 404 404 404 204"),
    ("POST", "/api/v1/users"): Case(
        "401 403 403 403 403 201",
        json={"email": "new@test.example", "name": "New", "role": "organizer"},
    ),
    ("GET", "/api/v1/users"): Case(ADMIN_ONLY),
    ("GET", "/api/v1/users/{user_id}"): Case(ADMIN_ONLY),
    ("PATCH", "/api/v1/users/{user_id}"): Case(ADMIN_ONLY, json={"name": "Renamed"}),
    ("DELETE", "/api/v1/users/{user_id}"): Case("401 403 403 403 403 204"),
    # organisations
    ("POST", "/api/v1/organizations/import"): Case(
        STAFF_ONLY, json=[{"external_id": "IMP-1", "name": "Imported GmbH"}]
    ),
    ("GET", "/api/v1/organizations"): Case(ALL_200),
    ("POST", "/api/v1/organizations"): Case("401 403 403 403 201 201", json={"name": "New GmbH"}),
    ("GET", "/api/v1/organizations/{organization_id}"): Case(
        TOKEN_ONLY, private="404 200 404 404 200 200", public=ALL_200
    ),
    ("PATCH", "/api/v1/organizations/{organization_id}"): Case(
        "401 200 403 403 200 200",
        private="401 200 404 404 200 200",
        public="401 200 403 403 200 200",
        json={"city": "Ulm"},
    ),
    ("DELETE", "/api/v1/organizations/{organization_id}"): Case(
        "401 204 403 403 204 204",
        private="401 204 404 404 204 204",
        public="401 204 403 403 204 204",
    ),
    ("GET", "/api/v1/organizations/{organization_id}/matches"): Case(
        TOKEN_ONLY, private="401 200 404 404 200 200", public=TOKEN_ONLY
    ),
    ("POST", "/api/v1/matches/search"): Case(TOKEN_ONLY, json={"text": "Füllstandsensorik"}),
    # the taxonomy is public
    ("GET", "/api/v1/taxonomy/nace"): Case(ALL_200),
    ("GET", "/api/v1/taxonomy/nace/{code}"): Case(ALL_200),
}


def _app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route, including those of included routers; HEAD left out."""
    try:
        from fastapi.routing import iter_route_contexts

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # FastAPI versions that keep a flat route list
        routes = list(app.routes)
    found = {
        (method, route.path)
        for route in routes
        for method in (getattr(route, "methods", None) or ())
        if method != "HEAD"
    }
    return sorted(found, key=lambda r: (r[1], r[0]))


APP_ROUTES = _app_routes(create_app(load_encoder=False))


def _pending(path: str) -> bool:
    return path.startswith(PENDING_PREFIXES)


def test_route_table_is_complete_and_current() -> None:
    app = create_app(load_encoder=False)
    documented = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    # the enumeration sees every documented operation, and the table names no stale route
    assert documented <= set(APP_ROUTES)
    assert set(ROUTES) - set(APP_ROUTES) == set()


@pytest.mark.parametrize(
    "route",
    [
        pytest.param(
            r,
            marks=pytest.mark.xfail(
                _pending(r[1]) and r not in ROUTES, reason="access rules pending", strict=True
            ),
        )
        for r in APP_ROUTES
    ],
    ids=[f"{m} {p}" for m, p in APP_ROUTES],
)
def test_route_has_an_entry(route: tuple[str, str]) -> None:
    assert route in ROUTES, f"{route} has no row in the authorization matrix"


@dataclass
class World:
    accounts: dict[str, Account | None]
    path_values: dict[str, str]


@cache
def _login_hash() -> str:
    # argon2 is slow on purpose: hash once per run, not once per cell
    return password_hasher().hash(LOGIN_PASSWORD)


def _organization(
    session: Session, encoder: Encoder, name: str, visibility: str, labels: list[str]
) -> int:
    org = Organization(
        name=name,
        visibility=visibility,
        country="DE",
        nace_code="26.51",
        cooperation_interests=[],
        competences=[Competence(kind="core", label=label) for label in labels],
    )
    embed_organizations([org], encoder)
    session.add(org)
    session.flush()
    return org.id


@pytest.fixture
def world(
    db_session: Session,
    make_account: AccountFactory,
    encoder: Encoder,
    request: pytest.FixtureRequest,
) -> Iterator[World]:
    visibility = getattr(request, "param", "members")
    target = _organization(db_session, encoder, "Target GmbH", visibility, ["Füllstandsensorik"])
    other = _organization(db_session, encoder, "Other AG", "public", ["IoT-Plattform"])
    _organization(db_session, encoder, "Third KG", "members", ["Kunststoffspritzguss"])
    login_user = User(
        email=LOGIN_EMAIL,
        name="Login",
        role=Role.curator.value,
        password_hash=_login_hash(),
        is_active=True,
    )
    db_session.add(login_user)
    db_session.commit()
    accounts: dict[str, Account | None] = {
        "anonymous": None,
        "member_own": make_account(Role.member, target),
        "member_other": make_account(Role.member, other),
        "organizer": make_account(Role.organizer),
        "curator": make_account(Role.curator),
        "admin": make_account(Role.admin),
    }
    own = accounts["member_own"]
    assert own is not None
    key: ApiToken
    key, _ = issue_token(
        db_session, user=own.user, kind=TokenKind.api_key, name="k", lifetime=login_lifetime()
    )
    db_session.commit()
    yield World(
        accounts=accounts,
        path_values={
            "organization_id": str(target),
            "key_id": str(key.id),
            "user_id": str(own.user.id),
            "code": "26",
        },
    )


def _cells() -> Iterator[Any]:
    for method, path in APP_ROUTES:
        case = ROUTES.get((method, path))
        if case is None:
            continue
        for visibility in ("members", "private", "public"):
            if visibility != "members" and getattr(case, visibility) is None:
                continue
            for role in ROLES:
                yield pytest.param(
                    method,
                    path,
                    visibility,
                    role,
                    id=f"{method} {path} [{visibility}] {role}",
                )


@pytest.mark.parametrize(("method", "path", "visibility", "role"), list(_cells()))
def test_status(
    method: str,
    path: str,
    visibility: str,
    role: str,
    world: World,
    client_for: ClientFactory,
    db_session: Session,
) -> None:
    case = ROUTES[(method, path)]
    if visibility != "members":
        org = db_session.get(Organization, int(world.path_values["organization_id"]))
        assert org is not None
        org.visibility = visibility
        db_session.commit()
    expected = case.statuses(visibility)[ROLES.index(role)]
    url = re.sub(r"\{(\w+)\}", lambda m: world.path_values[m.group(1)], path)
    client = client_for(world.accounts[role])
    response = client.request(method, url, json=case.json, data=case.data, params=case.params)
    assert response.status_code == expected, response.text
    if expected in (401, 403, 404):
        assert response.headers["content-type"] == "application/problem+json"
    if expected == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_new_route_without_a_row_is_caught() -> None:
    app = create_app(load_encoder=False)

    @app.get("/api/v1/something-new")
    def something_new() -> dict[str, str]:
        return {}

    missing = [r for r in _app_routes(app) if r not in ROUTES and not _pending(r[1])]
    assert missing == [("GET", "/api/v1/something-new")]
