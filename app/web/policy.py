"""The one door through which pages learn who sees what.

Every shape a page shows of an organisation is built here from the project's disclosure
policy (app.organizations.disclosure, access and views, and the services that apply them), so
the pages never decide visibility themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.models import Organization
from app.models.user import Role, User
from app.organizations import access, disclosure, views
from app.organizations import service as organization_service
from app.organizations.schemas import OrganizationOut, PublicTeaser

GROUPS = tuple(disclosure.GROUPS)
LEVELS = disclosure.LEVELS
# the viewers the profile editor previews, in the order shown
PREVIEW_VIEWERS = ("partner", "member", "anonymous")


def may_see(user: User | None, organization: Organization) -> bool:
    return access.may_see(user, organization)


def may_edit(user: User | None, organization: Organization) -> bool:
    return access.may_edit(user, organization)


def levels_of(organization: Organization) -> dict[str, str]:
    """The effective disclosure level of every field group."""
    return disclosure.levels_of(organization)


def profile(session: Session, user: User, organization: Organization) -> OrganizationOut:
    """The full profile as the caller may see it (hidden attributes null)."""
    return organization_service.organization_view(session, user=user, organization=organization)


def related_names(session: Session, user: User, organization: Organization) -> dict[int, str]:
    """The names of the organisations the profile's relationships link to, by id, for those
    the caller may see with their name (the others stay the name the profile stated)."""
    related = organization_service.related_organizations([organization])
    shown = access.views_of(session, user, related)
    return {
        o.id: o.name
        for o in related
        if access.may_see(user, o) and "name" not in shown[o.id].hidden
    }


def anonymous_teasers(
    session: Session, organizations: Sequence[Organization]
) -> list[PublicTeaser]:
    """What a visitor without an account sees of public profiles."""
    return views.teasers(session, organizations)


@dataclass(frozen=True)
class Preview:
    """How one kind of viewer would see a profile: the attributes shown and the groups hidden."""

    viewer: str
    visible: bool  # whether the viewer may see the profile at all
    values: dict[str, Any]
    hidden_groups: list[str]


def preview(values: Mapping[str, Any], levels: Mapping[str, str], visibility: str) -> list[Preview]:
    """How a partner, a member and an anonymous visitor would see a profile with these values
    and disclosure levels (for the editor's preview; nothing is stored)."""
    out = []
    for viewer in PREVIEW_VIEWERS:
        view = disclosure.view_for_levels(viewer, levels)
        visible = visibility == "public" or (visibility == "members" and viewer != "anonymous")
        shown = views.disclosed(values, view) if visible else {}
        out.append(
            Preview(
                viewer=viewer,
                visible=visible,
                values=shown,
                hidden_groups=view.hidden_groups if visible else list(GROUPS),
            )
        )
    return out


# the audit log's tables that hub staff without the admin role read: the profiles and their
# curation (accounts, tokens and the rest stay with admins, as in the audit API)
AUDIT_ENTITIES_CURATION = frozenset(
    {
        "organizations",
        "competences",
        "relationships",
        "organization_merges",
        "competence_synonyms",
    }
)
AUDIT_ENTITIES_ALL = sorted(
    AUDIT_ENTITIES_CURATION
    | {
        "users",
        "api_tokens",
        "account_links",
        "events",
        "event_participants",
        "cooperation_requests",
    }
)


def audit_entities(user: User) -> frozenset[str] | None:
    """The audit log's tables the user reads on the pages (None: every table, for admins)."""
    if user.role == Role.admin.value:
        return None
    if user.role == Role.curator.value:
        return AUDIT_ENTITIES_CURATION
    return frozenset()
