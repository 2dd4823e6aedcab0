"""Who may act for an organisation as a whole: delete it, or erase its people's data.

Both end the accounts of every colleague, so a member may do them only as one of the
organisation's organisation admins, or as its only active member account. The first member
account of an organisation becomes its organisation admin; organisation admins (and platform
admins) name the others. Whoever does it confirms by typing the organisation's name again.
Services flush but never commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import is_staff
from app.errors import Conflict, Forbidden, Invalid
from app.i18n import N_
from app.models.user import Role, User

CONFIRM_FIELD = "confirm"


def active_members(session: Session, organization_id: int) -> list[User]:
    """The organisation's active member accounts, oldest first."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.organization_id == organization_id,
                User.role == Role.member.value,
                User.is_active.is_(True),
            )
            .order_by(User.id)
        )
    )


def members(session: Session, organization_id: int) -> list[User]:
    """Every member account of the organisation (switched-off ones too), oldest first."""
    return list(
        session.scalars(
            select(User)
            .where(User.organization_id == organization_id, User.role == Role.member.value)
            .order_by(User.id)
        )
    )


def may_act_for(session: Session, *, user: User, organization_id: int) -> bool:
    """Whether a member of the organisation may delete or erase it (staff: see the routes)."""
    if user.role != Role.member.value or user.organization_id != organization_id:
        return False
    if user.organization_admin and user.is_active:
        return True
    return [m.id for m in active_members(session, organization_id)] == [user.id]


def check_removal(
    session: Session, *, user: User, organization_id: int, name: str, confirm: str | None
) -> None:
    """Before an organisation is deleted or erased: a member must be an organisation admin
    (403) and type the organisation's name (422 naming `confirm`); staff may confirm too."""
    if not is_staff(user) and not may_act_for(session, user=user, organization_id=organization_id):
        raise Forbidden(
            N_(
                "Only the organisation's organisation admins may delete or erase it; "
                "ask one of them, or an admin of the platform."
            )
        )
    if confirm is None and is_staff(user):
        return
    if confirm is None or _folded(confirm) != _folded(name):
        raise Invalid(
            N_("Type the organisation's name to confirm."),
            errors=[
                {
                    "field": CONFIRM_FIELD,
                    "message": "missing" if confirm is None else "does not match the name",
                }
            ],
        )


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def first_member_is_admin(session: Session, organization_id: int) -> bool:
    """Whether a new member account of the organisation becomes its organisation admin:
    when it has no active member yet."""
    return not active_members(session, organization_id)


def set_organization_admin(
    session: Session, *, acting: User, organization_id: int, target: User, value: bool
) -> User:
    """Name (or un-name) a colleague organisation admin; the last one stays (409)."""
    if acting.role != Role.admin.value and not may_act_for(
        session, user=acting, organization_id=organization_id
    ):
        raise Forbidden(N_("Only the organisation's organisation admins may name others."))
    if not value and target.organization_admin:
        others = [
            m
            for m in active_members(session, organization_id)
            if m.organization_admin and m.id != target.id
        ]
        if not others:
            raise Conflict(
                N_("This is the organisation's last organisation admin; name another one first."),
                errors=[{"field": "organization_admin", "message": "the last one"}],
            )
    target.organization_admin = value
    session.flush()
    return target
