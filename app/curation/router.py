"""HTTP endpoints for hub staff who keep the database trustworthy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.curation import service
from app.curation.schemas import (
    CurationStatus,
    DuplicateList,
    MergeOut,
    MergeRequest,
    StaleList,
)
from app.deps import EncoderDep, OrganizationDep, SessionDep, StaffUser
from app.errors import problem_responses

router = APIRouter(prefix="/api/v1/curation", tags=["curation"])

STAFF = {401: "No valid token", 403: "Needs the role admin or curator"}
NOT_FOUND = "No such organisation"


@router.get(
    "/duplicates",
    response_model=DuplicateList,
    responses=problem_responses({**STAFF, 422: "Invalid parameter"}),
)
def list_duplicates(
    _user: StaffUser,
    session: SessionDep,
    name_threshold: Annotated[
        float, Query(ge=0.5, le=1.0, description="Least name similarity that makes a candidate")
    ] = 0.85,
    embedding_threshold: Annotated[
        float, Query(ge=0.5, le=1.0, description="Least profile-vector cosine for a candidate")
    ] = 0.92,
    min_score: Annotated[float, Query(ge=0.0, le=1.0, description="Least pair score")] = 0.0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DuplicateList:
    """Likely duplicate pairs, with the score and the signals behind it, best first."""
    return service.find_duplicates(
        session,
        name_threshold=name_threshold,
        embedding_threshold=embedding_threshold,
        min_score=min_score,
        limit=limit,
    )


@router.post(
    "/organizations/{organization_id}/verify",
    response_model=CurationStatus,
    responses=problem_responses({**STAFF, 404: NOT_FOUND}),
)
def verify(user: StaffUser, session: SessionDep, organization: OrganizationDep) -> CurationStatus:
    """Mark a profile as checked by hub staff (who and when)."""
    return service.verify(session, organization=organization, user=user)


@router.delete(
    "/organizations/{organization_id}/verify",
    response_model=CurationStatus,
    responses=problem_responses({**STAFF, 404: NOT_FOUND}),
)
def unverify(
    _user: StaffUser, session: SessionDep, organization: OrganizationDep
) -> CurationStatus:
    """Clear the verified flag of a profile."""
    return service.unverify(session, organization=organization)


@router.get(
    "/stale",
    response_model=StaleList,
    responses=problem_responses({**STAFF, 422: "Invalid parameter"}),
)
def list_stale(
    _user: StaffUser,
    session: SessionDep,
    months: Annotated[int, Query(ge=1, le=600, description="Not modified for this long")] = 12,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> StaleList:
    """Profiles not modified for `months` months, oldest first."""
    return service.stale_organizations(session, months=months, limit=limit, offset=offset)


@router.post(
    "/merge",
    response_model=MergeOut,
    responses=problem_responses(
        {
            **STAFF,
            404: NOT_FOUND,
            409: "keep_id equals merge_id, or both take part in one event",
            422: "Invalid input",
        }
    ),
)
def merge(
    user: StaffUser, session: SessionDep, body: MergeRequest, encoder: EncoderDep
) -> MergeOut:
    """Merge one organisation into another, keeping the merged profile in the history."""
    return service.merge_organizations(
        session, keep_id=body.keep_id, merge_id=body.merge_id, user=user, encoder=encoder
    )
