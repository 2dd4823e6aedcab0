"""Annotated dependency aliases shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.auth.deps import (
    AdminUser,
    CurrentToken,
    CurrentUser,
    EventManagerUser,
    OptionalUser,
    StaffUser,
    require_roles,
)
from app.auth.schemas import MAX_ID
from app.db import SessionDep
from app.embeddings import Encoder
from app.errors import Forbidden, NotFound, Unauthorized
from app.i18n import N_
from app.matches import service as matches_service
from app.matches.index import IndexCache
from app.models import Organization
from app.models.user import Role, User
from app.organizations import service

__all__ = [
    "AdminUser",
    "CurrentToken",
    "CurrentUser",
    "EditableOrganizationDep",
    "EncoderDep",
    "EventManagerUser",
    "IndexDep",
    "OptionalUser",
    "OrganizationDep",
    "ReadableOrganizationDep",
    "SessionDep",
    "ShownOrganizationDep",
    "StaffUser",
    "VisibleOrganizationDep",
    "require_roles",
]


def get_encoder(request: Request) -> Encoder | None:
    """The encoder loaded at start-up (None when embeddings are switched off)."""
    return getattr(request.app.state, "encoder", None)


EncoderDep = Annotated[Encoder | None, Depends(get_encoder)]


def get_index_cache(request: Request) -> IndexCache:
    """The process's fitted matching engine, refitted when stored profiles change."""
    cache: IndexCache = request.app.state.match_index
    return cache


IndexDep = Annotated[IndexCache, Depends(get_index_cache)]


def valid_organization_id(
    session: SessionDep, organization_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> Organization:
    """Load an organisation with its profile, or 404 (no access check: use the ones below)."""
    return service.get_organization(session, organization_id=organization_id)


OrganizationDep = Annotated[Organization, Depends(valid_organization_id)]


def _hidden(organization_id: int) -> NotFound:
    # the same answer as for an id that does not exist, so private profiles do not leak
    return NotFound(N_("No organisation with id %(id)s."), values={"id": organization_id})


def readable_organization(user: OptionalUser, organization: OrganizationDep) -> Organization:
    """Anonymous callers: public profiles only (401 for members-only, 404 for private ones)."""
    if not auth_service.may_see(user, organization):
        raise _hidden(organization.id)
    if user is None and organization.visibility != "public":
        raise Unauthorized(N_("This profile is shown to logged-in users only."))
    return organization


ReadableOrganizationDep = Annotated[Organization, Depends(readable_organization)]


def visible_organization(user: CurrentUser, organization: OrganizationDep) -> Organization:
    """Any logged-in caller; private profiles only for staff and the organisation's members."""
    if not auth_service.may_see(user, organization):
        raise _hidden(organization.id)
    return organization


VisibleOrganizationDep = Annotated[Organization, Depends(visible_organization)]


def hidden_as_competitor(
    session: Session,
    user: User | None,
    organization: Organization,
    cache: IndexCache,
    encoder: Encoder | None,
) -> bool:
    """Whether the organisation opted out of being shown to the caller's organisation as its
    competitor (never for its own members, staff or anonymous callers)."""
    own_id = user.organization_id if user is not None and user.role == Role.member else None
    return (
        own_id is not None
        and own_id != organization.id
        and organization.hide_from_competitors
        and organization.id
        in matches_service.hidden_from_competitor(session, cache, encoder, own_id)
    )


def shown_organization(
    user: CurrentUser,
    organization: VisibleOrganizationDep,
    session: SessionDep,
    cache: IndexDep,
    encoder: EncoderDep,
) -> Organization:
    """`visible_organization`, and not found where the competitor opt-out hides it."""
    if hidden_as_competitor(session, user, organization, cache, encoder):
        raise _hidden(organization.id)
    return organization


ShownOrganizationDep = Annotated[Organization, Depends(shown_organization)]


def editable_organization(user: CurrentUser, organization: OrganizationDep) -> Organization:
    """Staff edit any profile, a member only its own (403; 404 where it is hidden)."""
    if not auth_service.may_see(user, organization):
        raise _hidden(organization.id)
    if not auth_service.may_edit(user, organization):
        raise Forbidden(N_("Only hub staff and the organisation's own members may change it."))
    return organization


EditableOrganizationDep = Annotated[Organization, Depends(editable_organization)]
