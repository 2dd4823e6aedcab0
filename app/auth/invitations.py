"""Onboarding: hub staff create member accounts with an invitation link, and issue
password-reset links of the same kind.

A link carries a one-time secret (`kml_` and 256 random bits); only its SHA-256 is stored, it
expires, and setting a password through it uses it up and ends the account's other open
links, sessions and API keys. No mail is sent: whoever issues a link hands it over.
Services flush but never commit.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.auth import service as auth_service
from app.auth.schemas import UserCreate
from app.auth.security import hash_secret
from app.errors import Forbidden, NotFound
from app.i18n import N_
from app.models.base import utcnow
from app.models.invitation import AccountLink, LinkPurpose
from app.models.user import Role, User

LINK_PREFIX = "kml_"
LIFETIMES = {
    LinkPurpose.invitation: dt.timedelta(days=7),
    LinkPurpose.reset: dt.timedelta(hours=24),
}
# the page a link opens; the secret is its last path segment
LINK_PATH = "/welcome/"


def link_path(secret: str) -> str:
    return f"{LINK_PATH}{secret}"


def may_issue(issuer: User, account: User) -> bool:
    """Curators issue links for member accounts only; admins for every account but their own
    (an admin who forgot the password is helped by another admin)."""
    if issuer.role == Role.admin.value:
        return account.id != issuer.id
    return issuer.role == Role.curator.value and account.role == Role.member.value


def _close_open_links(session: Session, user: User, now: dt.datetime) -> None:
    """Earlier links of the account stop working: only the newest one may set a password."""
    links = session.scalars(
        select(AccountLink).where(
            AccountLink.user_id == user.id,
            AccountLink.used_at.is_(None),
            AccountLink.expires_at > now,
        )
    ).all()
    for link in links:
        link.expires_at = now


def issue_link(
    session: Session, *, user: User, purpose: LinkPurpose, issuer: User
) -> tuple[AccountLink, str]:
    """A new link for the account; the secret is returned once."""
    if not may_issue(issuer, user):
        raise Forbidden(N_("Your role may not issue a link for this account."))
    if not user.is_active:
        raise NotFound(N_("No active account with id %(id)s."), values={"id": user.id})
    now = utcnow()
    _close_open_links(session, user, now)
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    link = AccountLink(
        user_id=user.id,
        purpose=purpose.value,
        token_hash=hash_secret(secret),
        created_by_user_id=issuer.id if issuer.id is not None else None,
        created_at=now,
        expires_at=now + LIFETIMES[purpose],
    )
    session.add(link)
    session.flush()
    return link, secret


def invite_member(
    session: Session, *, organization_id: int, email: str, name: str, issuer: User
) -> tuple[User, AccountLink, str]:
    """Create a member account without a password and its invitation link."""
    if issuer.role not in (Role.admin.value, Role.curator.value):
        raise Forbidden(N_("Only hub staff invite members."))
    data = UserCreate(email=email, name=name, role=Role.member, organization_id=organization_id)
    user = auth_service.create_user(session, data=data)
    link, secret = issue_link(session, user=user, purpose=LinkPurpose.invitation, issuer=issuer)
    return user, link, secret


def open_link(session: Session, *, secret: str) -> AccountLink | None:
    """The unused, unexpired link of an active account for this secret (its user loaded)."""
    if not secret.startswith(LINK_PREFIX) or len(secret) > 100:
        return None
    link = session.scalars(
        select(AccountLink)
        .where(AccountLink.token_hash == hash_secret(secret))
        .options(joinedload(AccountLink.user))
    ).one_or_none()
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    if not link.user.is_active:
        return None
    return link


def redeem(session: Session, *, secret: str, password: str) -> User:
    """Set the account's password through a link (the common-password check applies) and use
    the link up; the account's sessions and API keys end."""
    link = open_link(session, secret=secret)
    if link is None:
        raise NotFound(N_("This link is unknown, used or expired; ask hub staff for a new one."))
    auth_service.set_password(session, user=link.user, password=password)
    now = utcnow()
    link.used_at = now
    _close_open_links(session, link.user, now)
    session.flush()
    return link.user


def links_of(session: Session, *, user_ids: list[int]) -> dict[int, AccountLink]:
    """The newest link of each of these accounts."""
    if not user_ids:
        return {}
    rows = session.scalars(
        select(AccountLink)
        .where(AccountLink.user_id.in_(sorted(set(user_ids))))
        .order_by(AccountLink.created_at, AccountLink.id)
    ).all()
    return {link.user_id: link for link in rows}
