"""`koopmatch create-user` and `koopmatch create-token`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth import repository, service
from app.auth.schemas import UserCreate
from app.auth.security import normalize_email
from app.errors import AppError
from app.models.user import Role, TokenKind

PASSWORD_ENV = "KOOPMATCH_PASSWORD"


def _session() -> Session:
    from app.db import get_sessionmaker

    return get_sessionmaker()()


def _password(args: argparse.Namespace) -> str | None:
    """--password, else $KOOPMATCH_PASSWORD, else a prompt on a terminal; None for none."""
    if args.no_password:
        return None
    if args.password is not None:
        return str(args.password)
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise SystemExit(f"no password: give --password, set {PASSWORD_ENV}, or use --no-password")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("the passwords differ")
    return first


def cmd_create_user(args: argparse.Namespace) -> int:
    password = _password(args)
    with _session() as session, session.begin():
        organization_id = None
        if args.organization is not None:
            organization_id = repository.organization_id_by_reference(session, args.organization)
            if organization_id is None:
                print(f"no organisation {args.organization!r}", file=sys.stderr)
                return 2
        try:
            data = UserCreate(
                email=args.email,
                name=args.name or args.email.split("@")[0],
                role=Role(args.role),
                organization_id=organization_id,
                password=password,
            )
            user = service.create_user(session, data=data)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "input"
                print(f"{where}: {err['msg']}", file=sys.stderr)
            return 2
        except AppError as exc:
            print(exc.detail, file=sys.stderr)
            return 1
        print(f"created {user.role} {user.email} (id {user.id})")
    return 0


def cmd_create_token(args: argparse.Namespace) -> int:
    """One API key per --email, their secrets one a line in the order given (a hub that
    provisions many accounts at once starts the command once); none when one is missing."""
    with _session() as session, session.begin():
        users = []
        for email in args.email:
            user = repository.get_user_by_email(session, normalize_email(email))
            if user is None or not user.is_active:
                print(f"no active account {email}", file=sys.stderr)
                return 2
            users.append(user)
        try:
            lifetime = service.api_key_lifetime(args.expires_days)
        except AppError as exc:
            print(exc.detail, file=sys.stderr)
            return 2
        secrets = []
        for user in users:
            token, secret = service.issue_token(
                session, user=user, kind=TokenKind.api_key, name=args.name, lifetime=lifetime
            )
            secrets.append(secret)
            print(
                f"API key {token.id} for {user.email}, valid until "
                f"{token.expires_at:%Y-%m-%d %H:%M} UTC; it is shown only now:",
                file=sys.stderr,
            )
    print("\n".join(secrets))
    return 0


def register(subparsers: Any) -> None:
    """Add the account commands to the `koopmatch` parser."""
    user = subparsers.add_parser("create-user", help="create an account")
    user.add_argument("--email", required=True)
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    user.add_argument("--name", help="display name (default: the part before @)")
    user.add_argument(
        "--organization", help="members: the organisation's external_id or numeric id"
    )
    secret = user.add_mutually_exclusive_group()
    secret.add_argument(
        "--password", help=f"visible to other local users; prefer ${PASSWORD_ENV} or the prompt"
    )
    secret.add_argument(
        "--no-password", action="store_true", help="an account that uses API keys only"
    )
    user.set_defaults(func=cmd_create_user)

    token = subparsers.add_parser(
        "create-token", help="create an API key and print its secret (one per --email)"
    )
    token.add_argument("--email", required=True, action="append", help="repeat for several")
    token.add_argument("--name", default="command line")
    token.add_argument(
        "--expires-days", type=int, default=None, help="lifetime (default KOOPMATCH_API_KEY_DAYS)"
    )
    token.set_defaults(func=cmd_create_token)
