"""HTTP endpoints for the audit log, data export and erasure."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Response

from app.auth import organization_admins
from app.auth import service as auth_service
from app.auth.schemas import MAX_ID, OrganizationConfirm
from app.deps import AdminUser, CurrentUser, OrganizationDep, SessionDep
from app.errors import Forbidden, NotFound, problem_responses
from app.i18n import N_
from app.models import Organization
from app.models.user import Role
from app.privacy import service
from app.privacy.repository import AuditQuery
from app.privacy.schemas import AuditPage, ErasePersonIn, ErasureReport, OrganizationExport

router = APIRouter(tags=["privacy"])

UNAUTHORIZED = "No valid token"
FORBIDDEN = "The caller's role may not do this"
NOT_FOUND = "No such organisation (or it is hidden from the caller)"
Id = Annotated[int, Query(ge=1, le=MAX_ID)]


def own_or_admin_organization(user: CurrentUser, organization: OrganizationDep) -> Organization:
    """Admins and the organisation's own members (403; 404 where the profile is hidden)."""
    if not auth_service.may_see(user, organization):
        raise NotFound(N_("No organisation with id %(id)s."), values={"id": organization.id})
    if user.role != Role.admin.value and not auth_service.is_own_organization(
        user, organization.id
    ):
        raise Forbidden(N_("Only admins and the organisation's own members may do this."))
    return organization


OwnOrAdminOrganization = Annotated[Organization, Depends(own_or_admin_organization)]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """The time in UTC; one without a zone is read as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # beyond year 1 or 9999 once moved to UTC: the range's end
        end = dt.datetime.min if value.year == dt.MINYEAR else dt.datetime.max
        return end.replace(tzinfo=dt.UTC)


@router.get(
    "/api/v1/audit",
    response_model=AuditPage,
    responses=problem_responses({401: UNAUTHORIZED, 403: FORBIDDEN}),
)
def list_audit(
    _admin: AdminUser,
    session: SessionDep,
    entity: Annotated[str | None, Query(max_length=64, description="Table name")] = None,
    entity_id: Id | None = None,
    organization_id: Id | None = None,
    actor_user_id: Id | None = None,
    action: Literal["insert", "update", "delete"] | None = None,
    since: Annotated[dt.datetime | None, Query(description="At or after (UTC)")] = None,
    until: Annotated[dt.datetime | None, Query(description="Before (UTC)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPage:
    """The audit log of every write, newest first (admins)."""
    query = AuditQuery(
        entity=entity,
        entity_id=entity_id,
        organization_id=organization_id,
        actor_user_id=actor_user_id,
        action=action,
        since=_utc(since),
        until=_utc(until),
    )
    return service.audit_page(session, query=query, limit=limit, offset=offset)


@router.get(
    "/api/v1/organizations/{organization_id}/export",
    response_model=OrganizationExport,
    responses=problem_responses({401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND}),
)
def export_organization(
    organization: OwnOrAdminOrganization, session: SessionDep, response: Response, user: CurrentUser
) -> OrganizationExport:
    """Everything stored about the organisation and its people, as one JSON document."""
    response.headers["Content-Disposition"] = (
        f'attachment; filename="koopmatch-organization-{organization.id}.json"'
    )
    return service.export_organization(session, organization=organization, viewer=user)


@router.post(
    "/api/v1/organizations/{organization_id}/erase-personal-data",
    response_model=ErasureReport,
    responses=problem_responses(
        {
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            422: "`confirm` missing or not the organisation's name",
        }
    ),
)
def erase_organization_data(
    organization: OwnOrAdminOrganization,
    session: SessionDep,
    user: CurrentUser,
    body: Annotated[OrganizationConfirm | None, Body()] = None,
) -> ErasureReport:
    """Erase the personal data of the organisation's people; the company profile stays
    (members: organisation admins only, with `{"confirm": "<the organisation's name>"}`)."""
    organization_admins.check_removal(
        session,
        user=user,
        organization_id=organization.id,
        name=organization.name,
        confirm=body.confirm if body is not None else None,
    )
    return service.erase_organization(session, organization=organization)


@router.post(
    "/api/v1/privacy/erase-person",
    response_model=ErasureReport,
    responses=problem_responses(
        {401: UNAUTHORIZED, 403: FORBIDDEN, 409: "The last active admin", 422: "Invalid input"}
    ),
)
def erase_person(body: ErasePersonIn, _admin: AdminUser, session: SessionDep) -> ErasureReport:
    """Erase one person, found by e-mail address, everywhere (admins)."""
    return service.erase_person(session, email=body.email)
