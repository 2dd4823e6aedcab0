"""Deleting or erasing an organisation ends its colleagues' accounts: organisation admins only,
with the organisation's name typed again."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app.cli import alembic_config
from app.db import make_engine
from app.models import Organization
from app.models.user import Role, User
from tests.app.conftest import Account, AccountFactory, ClientFactory
from tests.conftest import _fresh_postgres_database

ORGS = "/api/v1/organizations"
USERS = "/api/v1/users"
NAME = "Kollegen Werk GmbH"
PROBLEM = "application/problem+json"


def _organization(session: Session, name: str = NAME) -> int:
    org = Organization(name=name, cooperation_interests=[], competences=[])
    session.add(org)
    session.commit()
    return org.id


def _members(session: Session, organization_id: int) -> list[tuple[str, bool]]:
    session.expire_all()
    return [
        (u.email, u.organization_admin)
        for u in session.scalars(
            select(User).where(User.organization_id == organization_id).order_by(User.id)
        )
    ]


@pytest.fixture
def team(
    client: TestClient, make_account: AccountFactory, db_session: Session
) -> tuple[int, Account, Account]:
    """An organisation with two member accounts made by an admin: the first is its
    organisation admin, the second is not."""
    org = _organization(db_session)
    for email in ("first@werk.example", "second@werk.example"):
        created = client.post(
            USERS,
            json={"email": email, "name": email[:5], "role": "member", "organization_id": org},
        )
        assert created.status_code == 201, created.text
    first_id, second_id = db_session.scalars(
        select(User.id).where(User.organization_id == org).order_by(User.id)
    ).all()
    first = db_session.get(User, first_id)
    second = db_session.get(User, second_id)
    assert first is not None and second is not None
    from app.auth import service as auth_service
    from app.models.user import TokenKind

    tokens = [
        auth_service.issue_token(
            db_session, user=u, kind=TokenKind.login, lifetime=auth_service.login_lifetime()
        )[1]
        for u in (first, second)
    ]
    db_session.commit()
    return org, Account(user=first, token=tokens[0]), Account(user=second, token=tokens[1])


def test_the_first_member_account_becomes_the_organisation_admin(
    client: TestClient, team: tuple[int, Account, Account], db_session: Session
) -> None:
    org, first, _second = team
    assert _members(db_session, org) == [
        ("first@werk.example", True),
        ("second@werk.example", False),
    ]
    shown = client.get(f"{USERS}/{first.user.id}").json()
    assert shown["organization_admin"] is True
    # an admin may say otherwise when creating or changing an account
    third = client.post(
        USERS,
        json={
            "email": "third@werk.example",
            "name": "Third",
            "role": "member",
            "organization_id": org,
            "organization_admin": True,
        },
    )
    assert third.status_code == 201 and third.json()["organization_admin"] is True
    staff = client.post(USERS, json={"email": "c@hub.example", "name": "C", "role": "curator"})
    assert staff.json()["organization_admin"] is False


def test_a_colleague_who_is_no_organisation_admin_cannot_delete_or_erase(
    client_for: ClientFactory, team: tuple[int, Account, Account], db_session: Session
) -> None:
    org, _first, second = team
    colleague = client_for(second)
    deleted = colleague.delete(f"{ORGS}/{org}", params={"confirm": NAME})
    erased = colleague.post(f"{ORGS}/{org}/erase-personal-data", json={"confirm": NAME})
    for response in (deleted, erased):
        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM
        assert "organisation admins" in response.json()["detail"]
    assert db_session.get(Organization, org) is not None
    assert len(_members(db_session, org)) == 2


def test_an_organisation_admin_deletes_only_with_the_name_typed_again(
    client_for: ClientFactory, team: tuple[int, Account, Account], db_session: Session
) -> None:
    org, first, _second = team
    admin_of_org = client_for(first)
    missing = admin_of_org.delete(f"{ORGS}/{org}")
    assert missing.status_code == 422
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["errors"] == [{"field": "confirm", "message": "missing"}]
    wrong = admin_of_org.delete(f"{ORGS}/{org}", params={"confirm": "Kollegen Werk AG"})
    assert wrong.json()["errors"] == [{"field": "confirm", "message": "does not match the name"}]
    assert db_session.get(Organization, org) is not None
    # spacing and case do not matter
    done = admin_of_org.delete(f"{ORGS}/{org}", params={"confirm": "  kollegen  werk gmbh"})
    assert done.status_code == 204, done.text
    db_session.expire_all()
    assert db_session.get(Organization, org) is None
    assert _members(db_session, org) == []


def test_an_organisation_admin_erases_with_the_name_in_the_body(
    client_for: ClientFactory, team: tuple[int, Account, Account], db_session: Session
) -> None:
    org, first, _second = team
    url = f"{ORGS}/{org}/erase-personal-data"
    missing = client_for(first).post(url)
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"field": "confirm", "message": "missing"}]
    empty = client_for(first).post(url, json={"confirm": ""})
    assert empty.status_code == 422
    assert [e["field"] for e in empty.json()["errors"]] == ["confirm"]
    assert len(_members(db_session, org)) == 2
    erased = client_for(first).post(url, json={"confirm": NAME})
    assert erased.status_code == 200, erased.text
    assert erased.json()["counts"]["users"] == 2
    assert _members(db_session, org) == []


def test_the_only_member_may_without_being_named(
    client_for: ClientFactory, make_account: AccountFactory, db_session: Session
) -> None:
    org = _organization(db_session)
    alone = make_account(Role.member, org)
    assert _members(db_session, org) == [(alone.user.email, False)]
    response = client_for(alone).delete(f"{ORGS}/{org}", params={"confirm": NAME})
    assert response.status_code == 204, response.text


def test_staff_may_confirm_but_need_not(
    client: TestClient, team: tuple[int, Account, Account], db_session: Session
) -> None:
    org, _first, _second = team
    wrong = client.delete(f"{ORGS}/{org}", params={"confirm": "another name"})
    assert wrong.status_code == 422
    assert client.delete(f"{ORGS}/{org}").status_code == 204


def test_organisation_admins_name_their_colleagues(
    client_for: ClientFactory,
    make_account: AccountFactory,
    team: tuple[int, Account, Account],
    db_session: Session,
) -> None:
    org, first, second = team
    members_url = f"{ORGS}/{org}/members"
    listed = client_for(second).get(members_url)
    assert listed.status_code == 200
    assert [(m["email"], m["organization_admin"]) for m in listed.json()] == [
        ("first@werk.example", True),
        ("second@werk.example", False),
    ]
    # a colleague who is none may not name itself
    refused = client_for(second).patch(
        f"{members_url}/{second.user.id}", json={"organization_admin": True}
    )
    assert refused.status_code == 403
    # the last organisation admin stays
    last = client_for(first).patch(
        f"{members_url}/{first.user.id}", json={"organization_admin": False}
    )
    assert last.status_code == 409
    assert last.json()["errors"] == [{"field": "organization_admin", "message": "the last one"}]
    named = client_for(first).patch(
        f"{members_url}/{second.user.id}", json={"organization_admin": True}
    )
    assert named.status_code == 200
    assert named.json()["organization_admin"] is True
    stepped_back = client_for(first).patch(
        f"{members_url}/{first.user.id}", json={"organization_admin": False}
    )
    assert stepped_back.status_code == 200
    assert _members(db_session, org) == [
        ("first@werk.example", False),
        ("second@werk.example", True),
    ]
    # an account of another organisation is not found here
    other = make_account(Role.member, _organization(db_session, "Fremd KG"))
    missing = client_for(second).patch(
        f"{members_url}/{other.user.id}", json={"organization_admin": True}
    )
    assert missing.status_code == 404
    # now the second account erases, the first may not
    url = f"{ORGS}/{org}/erase-personal-data"
    assert client_for(first).post(url, json={"confirm": NAME}).status_code == 403
    assert client_for(second).post(url, json={"confirm": NAME}).status_code == 200


@pytest.fixture
def fresh_url(engine: Engine, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the same backend as `engine`."""
    if engine.dialect.name == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.db'}"
    return _fresh_postgres_database(request.getfixturevalue("_pg_server_url"))


def test_the_migration_names_each_organisations_first_active_member(fresh_url: str) -> None:
    config = alembic_config(fresh_url)
    command.upgrade(config, "0009")
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as connection:
            orgs = [
                connection.execute(
                    text(
                        "INSERT INTO organizations (name, visibility, cooperation_interests, "
                        "disclosure, hide_from_competitors, version, created_at, modified_at) "
                        "VALUES (:name, 'public', '[]', '{}', :hide, 1, CURRENT_TIMESTAMP, "
                        "CURRENT_TIMESTAMP) RETURNING id"
                    ),
                    {"name": name, "hide": False},
                ).scalar_one()
                for name in ("Eins GmbH", "Zwei AG")
            ]
            rows = [
                ("off@eins.example", orgs[0], False),
                ("on@eins.example", orgs[0], True),
                ("later@eins.example", orgs[0], True),
                ("only@zwei.example", orgs[1], True),
            ]
            for email, org, active in rows:
                connection.execute(
                    text(
                        "INSERT INTO users (email, name, role, organization_id, is_active, "
                        "created_at, modified_at) VALUES (:email, :email, 'member', :org, "
                        ":active, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"email": email, "org": org, "active": active},
                )
        command.upgrade(config, "0014")
        with engine.connect() as connection:
            flags = connection.execute(
                text("SELECT email, organization_admin FROM users ORDER BY id")
            ).all()
        assert [(e, bool(f)) for e, f in flags] == [
            ("off@eins.example", False),
            ("on@eins.example", True),
            ("later@eins.example", False),
            ("only@zwei.example", True),
        ]
        command.downgrade(config, "0009")
        with engine.connect() as connection:
            columns = connection.execute(text("SELECT * FROM users")).keys()
        assert "organization_admin" not in columns
    finally:
        engine.dispose()
