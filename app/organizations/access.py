"""Whether a caller may know an organisation exists, read its profile, or change it.

Which of its fields the caller then sees is `app.organizations.disclosure`.
"""

from __future__ import annotations

from app.auth.roles import is_staff, member_organization
from app.models.organization import Organization
from app.models.user import User


def is_own_organization(user: User | None, organization_id: int) -> bool:
    return member_organization(user) == organization_id


def may_see(user: User | None, organization: Organization) -> bool:
    """Whether the caller may know the organisation exists (private ones are hidden)."""
    if organization.visibility != "private":
        return True
    return is_staff(user) or is_own_organization(user, organization.id)


def may_read_full(user: User | None, organization: Organization) -> bool:
    """Whether the caller may read the full profile (anonymous callers get teasers)."""
    if user is None:
        return organization.visibility == "public"
    return may_see(user, organization)


def may_edit(user: User | None, organization: Organization) -> bool:
    return is_staff(user) or is_own_organization(user, organization.id)
