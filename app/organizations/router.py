"""HTTP endpoints for organisation profiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import StringConstraints

from app.deps import EncoderDep, OrganizationDep, SessionDep
from app.errors import problem_responses
from app.organizations import service
from app.organizations.repository import OrganizationQuery
from app.organizations.schemas import (
    CompetenceKind,
    CooperationInterest,
    OrganizationCreate,
    OrganizationOut,
    OrganizationPage,
    OrganizationPatch,
    OrganizationSummary,
)

CountryParam = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
NacePrefix = Annotated[str, StringConstraints(pattern=r"^([A-Za-z]|\d{2}(\.\d{1,2})?)$")]

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])

NOT_FOUND = "No such organisation"
INVALID = "Invalid input, with field-level errors"


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.get("", response_model=OrganizationPage, responses=problem_responses({422: INVALID}))
def list_organizations(
    session: SessionDep,
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
) -> OrganizationPage:
    """List organisations with filters and pagination."""
    query = OrganizationQuery(
        q=q,
        countries=[c.upper() for c in country],
        nace_prefixes=nace,
        competence=competence,
        competence_kind=competence_kind.value if competence_kind else None,
        cooperation_interests=[i.value for i in cooperation_interest],
        external_id=external_id,
    )
    items, total = service.list_organizations(session, query=query, limit=limit, offset=offset)
    return OrganizationPage(
        items=[OrganizationSummary.model_validate(o) for o in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "",
    response_model=OrganizationOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses({409: "external_id already used", 422: INVALID}),
)
def create_organization(
    body: OrganizationCreate, session: SessionDep, encoder: EncoderDep, response: Response
) -> OrganizationOut:
    """Create an organisation with its competences and relationships."""
    org = service.create_organization(session, data=body, encoder=encoder)
    org = service.get_organization(session, organization_id=org.id)
    response.headers["Location"] = f"/api/v1/organizations/{org.id}"
    _etag(response, org.version)
    return OrganizationOut.model_validate(org)


@router.get(
    "/{organization_id}",
    response_model=OrganizationOut,
    responses=problem_responses({404: NOT_FOUND}),
)
def read_organization(organization: OrganizationDep, response: Response) -> OrganizationOut:
    """Read one organisation with its competences and relationships."""
    _etag(response, organization.version)
    return OrganizationOut.model_validate(organization)


@router.patch(
    "/{organization_id}",
    response_model=OrganizationOut,
    responses=problem_responses(
        {
            404: NOT_FOUND,
            409: "Stale version in the body",
            412: "If-Match does not match the current version",
            422: INVALID,
        }
    ),
)
def update_organization(
    organization: OrganizationDep,
    body: OrganizationPatch,
    session: SessionDep,
    encoder: EncoderDep,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> OrganizationOut:
    """Change some fields; send the version you read (body) or its ETag (If-Match)."""
    org = service.update_organization(
        session,
        organization=organization,
        patch=body,
        if_match=service.parse_if_match(if_match),
        encoder=encoder,
    )
    org = service.get_organization(session, organization_id=org.id)
    _etag(response, org.version)
    return OrganizationOut.model_validate(org)


@router.delete(
    "/{organization_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        {404: NOT_FOUND, 412: "If-Match does not match the current version"}
    ),
)
def delete_organization(
    organization: OrganizationDep,
    session: SessionDep,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> Response:
    """Delete an organisation with its competences and relationships."""
    service.delete_organization(
        session, organization=organization, if_match=service.parse_if_match(if_match)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
