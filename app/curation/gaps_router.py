"""HTTP endpoint of the cluster's competence-gap map."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.curation import gaps
from app.deps import EncoderDep, SessionDep, StaffUser
from app.errors import problem_responses

router = APIRouter(prefix="/api/v1/curation", tags=["curation"])


@router.get(
    "/gaps",
    response_model=gaps.GapMap,
    responses=problem_responses(
        {401: "No valid token", 403: "Needs the role admin or curator", 422: "Invalid parameter"}
    ),
)
def gap_map(
    _user: StaffUser,
    session: SessionDep,
    encoder: EncoderDep,
    threshold: Annotated[
        float, Query(ge=0.5, le=1.0, description="Least vector cosine for a core to cover a need")
    ] = gaps.DEFAULT_THRESHOLD,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> gaps.GapMap:
    """Needs that no other organisation's core covers, and cores that many offer."""
    return gaps.gap_map(session, encoder=encoder, threshold=threshold, limit=limit)
