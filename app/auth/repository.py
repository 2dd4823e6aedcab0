"""SQL for accounts and tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from app.models import Competence, Organization
from app.models.user import ApiToken, Role, TokenKind, User


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).one_or_none()


def list_users(
    session: Session,
    *,
    role: str | None,
    organization_id: int | None,
    active: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[User], int]:
    conditions = []
    if role is not None:
        conditions.append(User.role == role)
    if organization_id is not None:
        conditions.append(User.organization_id == organization_id)
    if active is not None:
        conditions.append(User.is_active == active)
    total = session.scalar(select(func.count()).select_from(User).where(*conditions))
    rows = session.scalars(
        select(User).where(*conditions).order_by(User.email).limit(limit).offset(offset)
    ).all()
    return list(rows), int(total or 0)


def count_active_admins(session: Session) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin.value, User.is_active.is_(True))
    )
    return int(count or 0)


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_hash).options(joinedload(ApiToken.user))
    ).one_or_none()


def record_token_use(
    session: Session, token_id: int, *, at: dt.datetime, resolution: dt.timedelta
) -> None:
    """Set a token's last use to `at` unless one within `resolution` is already stored."""
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= at - resolution),
        )
        .values(last_used_at=at)
        .execution_options(synchronize_session=False)
    )


def get_token(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def list_api_keys(session: Session, *, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.kind == TokenKind.api_key.value)
            .order_by(ApiToken.id)
        )
    )


def live_tokens(session: Session, *, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        )
    )


def organization_id_by_reference(session: Session, reference: str) -> int | None:
    """An organisation's id from its external_id, or from its numeric id given as text."""
    found = session.scalar(select(Organization.id).where(Organization.external_id == reference))
    if found is None and reference.isdigit() and len(reference) < 19:
        found = session.scalar(select(Organization.id).where(Organization.id == int(reference)))
    return found


def organization_exists(session: Session, organization_id: int) -> bool:
    return (
        session.scalar(select(Organization.id).where(Organization.id == organization_id))
        is not None
    )


def competences_by_organization(
    session: Session, organization_ids: list[int]
) -> dict[int, list[Competence]]:
    found: dict[int, list[Competence]] = {i: [] for i in organization_ids}
    for start in range(0, len(organization_ids), 500):
        rows = session.scalars(
            select(Competence)
            .where(Competence.organization_id.in_(organization_ids[start : start + 500]))
            .order_by(Competence.id)
        )
        for competence in rows:
            found[competence.organization_id].append(competence)
    return found


def login_tokens(session: Session, *, user_id: int, limit: int) -> list[ApiToken]:
    """The account's newest login tokens (revoked and expired ones too)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.kind == TokenKind.login.value)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
            .limit(limit)
        )
    )


def user_names(session: Session, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all()
    return {user_id: name for user_id, name in rows}
