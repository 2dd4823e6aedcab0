"""Business rules for accounts, credentials and who may see or change what.

Services flush but never commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from app import db
from app.auth import organization_admins, passwords, repository
from app.auth.roles import STAFF as STAFF
from app.auth.roles import is_staff as is_staff
from app.auth.schemas import UserCreate, UserPatch
from app.auth.security import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    dummy_hash,
    hash_password,
    hash_secret,
    needs_rehash,
    new_secret,
    normalize_email,
    verify_password,
)
from app.config import Settings, get_settings
from app.errors import Conflict, Invalid, NotFound
from app.i18n import N_, Message
from app.models.base import utcnow
from app.models.user import ApiToken, Role, TokenKind, User
from app.organizations.access import is_own_organization as is_own_organization
from app.organizations.access import may_edit as may_edit
from app.organizations.access import may_read_full as may_read_full
from app.organizations.access import may_see as may_see

log = logging.getLogger("koopmatch.auth")

DEMO_ADMIN_EMAIL = "admin@koopmatch.example"
DEMO_ADMIN_PASSWORD = "koopmatch-demo"
# passwords that ship in examples and compose files; refused outside development
DEFAULT_DB_PASSWORDS = frozenset({"koopmatch", "postgres", "password", "secret", "changeme"})
# the weaknesses of a password (app.auth.passwords) as the error message names them
PASSWORD_WEAKNESSES = (N_("too simple"), N_("too common"))
# how often the last-used time of a token is written (not on every request)

LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


# --- accounts --------------------------------------------------------------------------------


def _check_password(password: str, *, field: str = "password") -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise Invalid(
            N_("A password has %(min)s to %(max)s characters."),
            values={"min": PASSWORD_MIN_LENGTH, "max": PASSWORD_MAX_LENGTH},
            errors=[{"field": field, "message": "wrong length"}],
        )
    problem = passwords.weakness(password)
    if problem is not None:
        raise Invalid(
            N_("This password is %(problem)s; choose a longer or less common one."),
            values={"problem": Message(problem)},
            errors=[{"field": field, "message": problem}],
        )


def _check_organization(session: Session, organization_id: int | None) -> None:
    if organization_id is not None and not repository.organization_exists(session, organization_id):
        raise Invalid(
            N_("No organisation with id %(id)s."),
            values={"id": organization_id},
            errors=[{"field": "organization_id", "message": "no such organisation"}],
        )


def get_user(session: Session, *, user_id: int) -> User:
    user = repository.get_user(session, user_id)
    if user is None:
        raise NotFound(N_("No user with id %(id)s."), values={"id": user_id})
    return user


def list_users(
    session: Session,
    *,
    role: Role | None,
    organization_id: int | None,
    active: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[User], int]:
    return repository.list_users(
        session,
        role=role.value if role else None,
        organization_id=organization_id,
        active=active,
        limit=limit,
        offset=offset,
    )


def create_user(session: Session, *, data: UserCreate) -> User:
    email = normalize_email(data.email)
    if repository.get_user_by_email(session, email) is not None:
        raise Conflict(
            N_("An account for %(email)s exists already."),
            values={"email": email},
            errors=[{"field": "email", "message": "already in use"}],
        )
    _check_organization(session, data.organization_id)
    if data.password is not None:
        _check_password(data.password)
    member = data.role is Role.member and data.organization_id is not None
    organization_admin = data.organization_admin
    if organization_admin is None:
        organization_admin = (
            member
            and data.is_active
            and organization_admins.first_member_is_admin(session, data.organization_id or 0)
        )
    user = User(
        email=email,
        name=data.name,
        role=data.role.value,
        organization_id=data.organization_id if data.role is Role.member else None,
        password_hash=hash_password(data.password) if data.password is not None else None,
        is_active=data.is_active,
        organization_admin=member and organization_admin,
    )
    session.add(user)
    session.flush()
    return user


def _revoke_all(session: Session, user: User) -> int:
    now = utcnow()
    tokens = repository.live_tokens(session, user_id=user.id)
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def _keep_an_admin(session: Session, user: User, *, role: str, active: bool) -> None:
    was_admin = user.role == Role.admin.value and user.is_active
    stays_admin = role == Role.admin.value and active
    if was_admin and not stays_admin and repository.count_active_admins(session) <= 1:
        raise Conflict(N_("This is the last active admin; make another admin first."))


def update_user(session: Session, *, user: User, patch: UserPatch) -> User:
    fields = patch.model_fields_set
    role = patch.role.value if patch.role is not None else user.role
    active = patch.is_active if patch.is_active is not None else user.is_active
    organization_id = patch.organization_id if "organization_id" in fields else None
    if role == Role.member.value and organization_id is None:
        organization_id = user.organization_id
    if (role == Role.member.value) != (organization_id is not None):
        raise Invalid(
            N_("Members need an organization_id; other roles take none."),
            errors=[{"field": "organization_id", "message": "does not fit the role"}],
        )
    _check_organization(session, organization_id)
    _keep_an_admin(session, user, role=role, active=active)
    if patch.name is not None:
        user.name = patch.name
    # a change of role or organisation ends the sessions that were granted under the old one
    if role != user.role or organization_id != user.organization_id or not active:
        _revoke_all(session, user)
    if organization_id != user.organization_id:
        user.organization_admin = False
    user.role = role
    user.organization_id = organization_id
    user.is_active = active
    if patch.organization_admin is not None:
        user.organization_admin = patch.organization_admin and role == Role.member.value
    if patch.password is not None:
        _check_password(patch.password)
        user.password_hash = hash_password(patch.password)
        # sessions and API keys made while the old password was valid end with it
        _revoke_all(session, user)
    session.flush()
    return user


def deactivate_user(session: Session, *, user: User) -> User:
    """Switch an account off and revoke its tokens; the row stays for the record."""
    _keep_an_admin(session, user, role=user.role, active=False)
    user.is_active = False
    _revoke_all(session, user)
    session.flush()
    return user


def set_password(session: Session, *, user: User, password: str) -> int:
    """Set a new password and revoke every session and API key of the account; the count."""
    _check_password(password)
    user.password_hash = hash_password(password)
    revoked = _revoke_all(session, user)
    session.flush()
    return revoked


def password_matches(*, user: User, password: str) -> bool:
    """Whether `password` is the account's (False for an account without one)."""
    return user.password_hash is not None and verify_password(user.password_hash, password)


# --- credentials -----------------------------------------------------------------------------


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None; upgrades an outdated hash."""
    user = repository.get_user_by_email(session, normalize_email(email))
    if user is None or user.password_hash is None:
        verify_password(dummy_hash(), password)  # same work as a real check
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def issue_token(
    session: Session,
    *,
    user: User,
    kind: TokenKind,
    lifetime: dt.timedelta,
    name: str | None = None,
) -> tuple[ApiToken, str]:
    """A new bearer credential; the secret is returned once and only its hash is stored."""
    secret = new_secret(kind)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        kind=kind.value,
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[:12],
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(token)
    session.flush()
    return token, secret


def login_lifetime(settings: Settings | None = None) -> dt.timedelta:
    return dt.timedelta(minutes=(settings or get_settings()).access_token_minutes)


def api_key_lifetime(days: int | None, settings: Settings | None = None) -> dt.timedelta:
    settings = settings or get_settings()
    if days is None:
        days = settings.api_key_days
    if days > settings.api_key_max_days:
        raise Invalid(
            N_("API keys live at most %(days)s days."),
            values={"days": settings.api_key_max_days},
            errors=[{"field": "expires_in_days", "message": "too long"}],
        )
    return dt.timedelta(days=days)


def token_for_secret(session: Session, *, secret: str) -> ApiToken | None:
    """The live token for a presented secret (its user loaded), or None."""
    token = repository.token_by_hash(session, hash_secret(secret))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    if token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # after the request's commit, in a transaction of its own: a read stays a read
        db.after_commit(
            session,
            ("token-use", token.id),
            lambda s: repository.record_token_use(
                s, token.id, at=now, resolution=LAST_USED_RESOLUTION
            ),
        )
    return token


def login_history(session: Session, *, user: User, limit: int = 2) -> list[ApiToken]:
    """The account's newest sign-ins (login tokens), newest first."""
    return repository.login_tokens(session, user_id=user.id, limit=limit)


def user_names(session: Session, user_ids: Sequence[int]) -> dict[int, str]:
    """Display names of accounts by id (for "changed by ..." notes)."""
    return repository.user_names(session, sorted(set(user_ids)))


def revoke_token(session: Session, *, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    session.flush()


def list_api_keys(session: Session, *, user: User) -> list[ApiToken]:
    return repository.list_api_keys(session, user_id=user.id)


def get_api_key(session: Session, *, user: User, key_id: int) -> ApiToken:
    """One API key of the caller (admins: anyone's); others' keys are not found."""
    token = repository.get_token(session, key_id)
    if (
        token is None
        or token.kind != TokenKind.api_key.value
        or (token.user_id != user.id and user.role != Role.admin.value)
    ):
        raise NotFound(N_("No API key with id %(id)s."), values={"id": key_id})
    return token


# --- start-up and demo data ------------------------------------------------------------------


def ensure_demo_admin(session: Session) -> tuple[str, str] | None:
    """In development, create the demo admin; its (email, password) when created, else None."""
    if get_settings().environment != "development":
        return None
    if repository.get_user_by_email(session, DEMO_ADMIN_EMAIL) is not None:
        return None
    session.add(
        User(
            email=DEMO_ADMIN_EMAIL,
            name="Demo admin",
            role=Role.admin.value,
            password_hash=hash_password(DEMO_ADMIN_PASSWORD),
            is_active=True,
        )
    )
    session.flush()
    return DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD


# demo member accounts (development only): a sensor maker and a telematics firm whose needs and
# offers meet, so a newcomer can walk through a whole cooperation request with two accounts
DEMO_MEMBERS = (
    ("demo-member@koopmatch.example", "Demo member (Sensotec)", "KM-DE-0001"),
    ("demo-partner@koopmatch.example", "Demo partner (Telematik Nord)", "KM-DE-0074"),
)


def ensure_demo_members(session: Session) -> list[tuple[str, str]]:
    """In development, create the demo member accounts of the seeded organisations that exist;
    the (email, password) pairs created."""
    if get_settings().environment != "development":
        return []
    created = []
    for email, name, external_id in DEMO_MEMBERS:
        organization_id = repository.organization_id_by_reference(session, external_id)
        if organization_id is None or repository.get_user_by_email(session, email) is not None:
            continue
        session.add(
            User(
                email=email,
                name=name,
                role=Role.member.value,
                organization_id=organization_id,
                password_hash=hash_password(DEMO_ADMIN_PASSWORD),
                is_active=True,
            )
        )
        created.append((email, DEMO_ADMIN_PASSWORD))
    session.flush()
    return created


def startup_problems(session: Session, settings: Settings) -> list[str]:
    """Reasons to refuse to serve outside development: secrets everyone knows."""
    if settings.environment == "development":
        return []
    problems = []
    demo = repository.get_user_by_email(session, DEMO_ADMIN_EMAIL)
    if demo is not None and demo.is_active:
        problems.append(
            f"the demo admin {DEMO_ADMIN_EMAIL} (published password) is active; "
            "deactivate or delete it"
        )
    for email, _name, _organization in DEMO_MEMBERS:
        member = repository.get_user_by_email(session, email)
        if member is not None and member.is_active:
            problems.append(
                f"the demo member {email} (published password) is active; deactivate or delete it"
            )
    password = urlsplit(settings.database_url).password
    if password is not None and password.lower() in DEFAULT_DB_PASSWORDS:
        problems.append(
            "the database password is a well-known default; set a strong one in "
            "KOOPMATCH_DATABASE_URL"
        )
    return problems


def check_startup(session: Session, settings: Settings) -> None:
    """Raise outside development when a default secret is in use; warn when no admin exists."""
    problems = startup_problems(session, settings)
    if problems:
        raise RuntimeError(f"refusing to start in {settings.environment!r}: " + "; ".join(problems))
    if settings.environment != "development" and repository.count_active_admins(session) == 0:
        log.warning(
            "no active admin account: create one with "
            "`koopmatch create-user --email ... --role admin`"
        )
