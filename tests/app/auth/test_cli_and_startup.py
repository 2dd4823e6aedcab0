from __future__ import annotations

import argparse
import datetime as dt
import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import cli, service
from app.auth.security import verify_password
from app.config import Settings
from app.main import create_app
from app.models import Organization
from app.models.user import ApiToken, Role, User

PG_DEFAULT = "postgresql+psycopg://koopmatch:koopmatch@db:5432/koopmatch"
PG_STRONG = "postgresql+psycopg://koopmatch:Vq7-rT9x-0pLm@db:5432/koopmatch"


@pytest.fixture
def run(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    """Run `koopmatch <args>` for the account commands inside the test transaction."""
    monkeypatch.setattr(
        cli,
        "_session",
        lambda: Session(bind=db_session.connection(), join_transaction_mode="create_savepoint"),
    )
    parser = argparse.ArgumentParser(prog="koopmatch")
    cli.register(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> int:
        args = parser.parse_args(argv)
        return int(args.func(args))

    return run


def _user(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).one_or_none()


def test_create_user_member_by_external_id_with_password_from_env(
    run: Callable[..., int],
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    org = Organization(external_id="ACME-1", name="Acme", cooperation_interests=[])
    db_session.add(org)
    db_session.commit()
    monkeypatch.setenv("KOOPMATCH_PASSWORD", "a long enough secret")
    code = run(
        "create-user", "--email", "Ina@Acme.example", "--role", "member", "--organization", "ACME-1"
    )
    assert code == 0
    user = _user(db_session, "ina@acme.example")
    assert user is not None
    assert capsys.readouterr().out == f"created member ina@acme.example (id {user.id})\n"
    assert (user.role, user.organization_id, user.name) == ("member", org.id, "Ina")
    assert user.password_hash is not None
    assert verify_password(user.password_hash, "a long enough secret") is True
    # the numeric id works as a reference too; duplicates are refused
    assert (
        run(
            "create-user",
            "--email",
            "x@acme.example",
            "--role",
            "member",
            "--organization",
            str(org.id),
            "--no-password",
        )
        == 0
    )
    assert (
        run("create-user", "--email", "INA@acme.example", "--role", "curator", "--no-password") == 1
    )


def test_create_user_refuses_bad_input(
    run: Callable[..., int], db_session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            "create-user",
            "--email",
            "a@b.example",
            "--role",
            "member",
            "--organization",
            "NOPE",
            "--no-password",
        )
        == 2
    )
    assert capsys.readouterr().err == "no organisation 'NOPE'\n"
    assert (
        run("create-user", "--email", "a@b.example", "--role", "admin", "--password", "short") == 2
    )
    assert "password" in capsys.readouterr().err
    assert run("create-user", "--email", "a@b.example", "--role", "member", "--no-password") == 2
    assert _user(db_session, "a@b.example") is None


def test_create_token_prints_a_working_api_key(
    run: Callable[..., int], db_session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("create-user", "--email", "ops@hub.example", "--role", "admin", "--no-password") == 0
    capsys.readouterr()
    assert (
        run("create-token", "--email", "OPS@hub.example", "--name", "ci", "--expires-days", "7")
        == 0
    )
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("kmk_")
    token = service.token_for_secret(db_session, secret=secret)
    assert token is not None
    assert (token.name, token.kind, token.user.email) == ("ci", "api_key", "ops@hub.example")
    assert token.expires_at - token.created_at == dt.timedelta(days=7)
    assert run("create-token", "--email", "nobody@hub.example") == 2
    assert run("create-token", "--email", "ops@hub.example", "--expires-days", "5000") == 2
    assert len(db_session.scalars(select(ApiToken)).all()) == 1


def test_create_token_for_several_accounts_prints_one_key_each_in_order(
    run: Callable[..., int], db_session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    for email in ("b@hub.example", "a@hub.example"):
        assert run("create-user", "--email", email, "--role", "curator", "--no-password") == 0
    capsys.readouterr()
    assert run("create-token", "--email", "b@hub.example", "--email", "A@hub.example") == 0
    secrets = capsys.readouterr().out.splitlines()
    assert len(secrets) == 2
    owners = []
    for secret in secrets:
        token = service.token_for_secret(db_session, secret=secret)
        assert token is not None
        owners.append(token.user.email)
    assert owners == ["b@hub.example", "a@hub.example"]
    # one unknown account: no key for any of them
    assert run("create-token", "--email", "a@hub.example", "--email", "nobody@hub.example") == 2
    assert capsys.readouterr() == ("", "no active account nobody@hub.example\n")
    assert len(db_session.scalars(select(ApiToken)).all()) == 2


def test_demo_admin_only_in_development(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "get_settings", lambda: Settings(environment="production"))
    assert service.ensure_demo_admin(db_session) is None
    assert _user(db_session, service.DEMO_ADMIN_EMAIL) is None
    monkeypatch.setattr(service, "get_settings", lambda: Settings(environment="development"))
    assert service.ensure_demo_admin(db_session) == ("admin@koopmatch.example", "koopmatch-demo")
    assert service.ensure_demo_admin(db_session) is None
    demo = _user(db_session, service.DEMO_ADMIN_EMAIL)
    assert demo is not None
    assert demo.role == Role.admin.value
    assert (
        service.authenticate(db_session, email="admin@koopmatch.example", password="koopmatch-demo")
        is demo
    )


def test_startup_refuses_default_secrets_outside_development(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    development = Settings(environment="development", database_url=PG_DEFAULT)
    production = Settings(environment="production", database_url=PG_DEFAULT)
    assert service.startup_problems(db_session, development) == []
    assert service.startup_problems(db_session, production) == [
        "the database password is a well-known default; set a strong one in KOOPMATCH_DATABASE_URL"
    ]
    strong = Settings(environment="production", database_url=PG_STRONG)
    monkeypatch.setattr(service, "get_settings", lambda: Settings(environment="development"))
    service.ensure_demo_admin(db_session)
    assert service.startup_problems(db_session, strong) == [
        "the demo admin admin@koopmatch.example (published password) is active; "
        "deactivate or delete it"
    ]
    with pytest.raises(RuntimeError, match=r"^refusing to start in 'production': the demo"):
        service.check_startup(db_session, strong)
    demo = _user(db_session, service.DEMO_ADMIN_EMAIL)
    assert demo is not None
    demo.is_active = False
    db_session.flush()
    # no admin left: a warning, not a refusal (the service is locked, not unsafe)
    with caplog.at_level(logging.WARNING, logger="koopmatch.auth"):
        service.check_startup(db_session, strong)
    assert [r.getMessage() for r in caplog.records] == [
        "no active admin account: create one with `koopmatch create-user --email ... --role admin`"
    ]


def test_app_does_not_start_with_default_secrets(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, encoder: object
) -> None:
    import app.db
    import app.main

    production = Settings(environment="production", database_url=PG_DEFAULT)
    monkeypatch.setattr(app.main, "get_settings", lambda: production)
    monkeypatch.setattr(
        app.db,
        "get_sessionmaker",
        lambda: (
            lambda: Session(bind=db_session.connection(), join_transaction_mode="create_savepoint")
        ),
    )
    with (
        pytest.raises(RuntimeError, match="database password is a well-known default"),
        TestClient(create_app(encoder=encoder)),  # type: ignore[arg-type]
    ):
        pass
