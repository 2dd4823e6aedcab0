"""HTTP endpoints for organisation profiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import StringConstraints

from app.auth import organization_admins
from app.auth import service as auth_service
from app.deps import (
    CurrentUser,
    EditableOrganizationDep,
    EncoderDep,
    IndexDep,
    OptionalUser,
    ReadableOrganizationDep,
    SessionDep,
    StaffUser,
    hidden_as_competitor,
)
from app.errors import Forbidden, NotFound, Unauthorized, problem_responses
from app.i18n import N_
from app.matches import service as matches_service
from app.models.user import Role
from app.organizations import service, views
from app.organizations.access import caller_relations
from app.organizations.repository import OrganizationQuery
from app.organizations.schemas import (
    CompetenceKind,
    CooperationInterest,
    OrganizationCreate,
    OrganizationOut,
    OrganizationPage,
    OrganizationPatch,
    PublicTeaser,
    PublicTeaserPage,
)

CountryParam = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
NacePrefix = Annotated[str, StringConstraints(pattern=r"^([A-Za-z]|\d{2}(\.\d{1,2})?)$")]

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])

NOT_FOUND = "No such organisation"
INVALID = "Invalid input, with field-level errors"
UNAUTHORIZED = "No valid token"
FORBIDDEN = "The caller may not change this organisation"


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.get(
    "",
    response_model=OrganizationPage | PublicTeaserPage,
    responses=problem_responses(
        {401: "Invalid token, or `q`/`external_id` without one", 422: INVALID}
    ),
)
def list_organizations(
    session: SessionDep,
    user: OptionalUser,
    cache: IndexDep,
    encoder: EncoderDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in name, description or competences")
    ] = None,
    country: Annotated[list[CountryParam], Query(max_length=50)] = [],  # noqa: B006
    nace: Annotated[list[NacePrefix], Query(max_length=50)] = [],  # noqa: B006
    competence: Annotated[str | None, Query(max_length=200)] = None,
    competence_kind: CompetenceKind | None = None,
    cooperation_interest: Annotated[list[CooperationInterest], Query(max_length=5)] = [],  # noqa: B006
    external_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> OrganizationPage | PublicTeaserPage:
    """List organisations with filters and pagination; anonymous callers get public teasers."""
    if user is None and (q is not None or external_id is not None):
        # name and description search would tell who is behind an anonymous teaser
        raise Unauthorized(N_("Searching by text or external_id needs a token."))
    own_id = user.organization_id if user is not None and user.role == Role.member else None
    name_ids: set[int] = set()
    full_ids: set[int] = set()
    hidden: frozenset[int] = frozenset()
    relations: tuple[set[int], set[int]] | None = None
    if own_id is not None:
        relations = partners, senders = caller_relations(session, user)
        full_ids = {own_id, *partners}
        name_ids = senders
        hidden = matches_service.hidden_from_competitor(session, cache, encoder, own_id)
    staff = auth_service.is_staff(user)
    if user is None:
        visibility = ["public"]
    elif staff:
        visibility = []
    else:
        visibility = ["public", "members"]
    query = OrganizationQuery(
        q=q,
        countries=[c.upper() for c in country],
        nace_prefixes=nace,
        competence=competence,
        competence_kind=competence_kind.value if competence_kind else None,
        cooperation_interests=[i.value for i in cooperation_interest],
        external_id=external_id,
        visibility=visibility,
        own_id=own_id,
        restrict_text=not staff,
        name_ids=sorted(name_ids),
        full_ids=sorted(full_ids),
        order_by_name=staff,
        exclude_ids=sorted(hidden),
    )
    items, total = service.list_organizations(session, query=query, limit=limit, offset=offset)
    if user is None:
        return PublicTeaserPage(
            items=views.teasers(session, items), total=total, limit=limit, offset=offset
        )
    return OrganizationPage(
        items=service.organization_summaries(
            session, user=user, organizations=items, relations=relations
        ),
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "",
    response_model=OrganizationOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        {
            401: UNAUTHORIZED,
            403: "Only hub staff create organisations",
            409: "external_id already used",
            422: INVALID,
        }
    ),
)
def create_organization(
    body: OrganizationCreate,
    staff: StaffUser,
    session: SessionDep,
    encoder: EncoderDep,
    response: Response,
) -> OrganizationOut:
    """Create an organisation with its competences and relationships."""
    org = service.create_organization(session, data=body, encoder=encoder)
    org = service.get_organization(session, organization_id=org.id)
    response.headers["Location"] = f"/api/v1/organizations/{org.id}"
    _etag(response, org.version)
    out = service.organization_view(session, user=staff, organization=org)
    return out.model_copy(update={"warnings": service.name_warnings(org)})


@router.get(
    "/{organization_id}",
    response_model=OrganizationOut | PublicTeaser,
    responses=problem_responses(
        {401: "Shown to logged-in users only (or an invalid token)", 404: NOT_FOUND}
    ),
)
def read_organization(
    organization: ReadableOrganizationDep,
    user: OptionalUser,
    session: SessionDep,
    response: Response,
    cache: IndexDep,
    encoder: EncoderDep,
) -> OrganizationOut | PublicTeaser:
    """Read one organisation as the caller may see it (hidden fields null; anonymous: a teaser).

    A competitor that opted out of being shown to the caller's organisation is not found.
    """
    if user is None:
        return views.teasers(session, [organization])[0]
    if hidden_as_competitor(session, user, organization, cache, encoder):
        raise NotFound(N_("No organisation with id %(id)s."), values={"id": organization.id})
    _etag(response, organization.version)
    return service.organization_view(session, user=user, organization=organization)


@router.patch(
    "/{organization_id}",
    response_model=OrganizationOut,
    responses=problem_responses(
        {
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: "Stale version in the body",
            412: "If-Match does not match the current version",
            422: INVALID,
        }
    ),
)
def update_organization(
    organization: EditableOrganizationDep,
    user: CurrentUser,
    body: OrganizationPatch,
    session: SessionDep,
    encoder: EncoderDep,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> OrganizationOut:
    """Change some fields; send the version you read (body) or its ETag (If-Match)."""
    if (
        "external_id" in body.model_fields_set
        and body.external_id != organization.external_id
        and not auth_service.is_staff(user)
    ):
        # imports update by external_id, so only hub staff may re-key a profile
        raise Forbidden(N_("Only hub staff may change the external_id."))
    org = service.update_organization(
        session,
        organization=organization,
        patch=body,
        if_match=service.parse_if_match(if_match),
        encoder=encoder,
        editor=user,
    )
    org = service.get_organization(session, organization_id=org.id)
    _etag(response, org.version)
    out = service.organization_view(session, user=user, organization=org)
    return out.model_copy(update={"warnings": service.name_warnings(org)})


@router.delete(
    "/{organization_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        {
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            412: "If-Match does not match the current version",
            422: "`confirm` missing or not the organisation's name",
        }
    ),
)
def delete_organization(
    organization: EditableOrganizationDep,
    user: CurrentUser,
    session: SessionDep,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
    confirm: Annotated[
        str | None,
        Query(
            max_length=300,
            description="The organisation's name typed again (required from members)",
        ),
    ] = None,
) -> Response:
    """Delete an organisation with its competences, relationships and member accounts
    (members: organisation admins only, with the name typed again as `confirm`)."""
    organization_admins.check_removal(
        session,
        user=user,
        organization_id=organization.id,
        name=organization.name,
        confirm=confirm,
    )
    service.delete_organization(
        session, organization=organization, if_match=service.parse_if_match(if_match)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
