"""HTTP endpoints for hub staff who keep the database trustworthy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.auth.schemas import MAX_ID
from app.curation import labels, service
from app.curation.schemas import (
    CurationStatus,
    DuplicateList,
    LabelList,
    LabelMergeOut,
    LabelMergeRequest,
    LabelSuggestionList,
    MergeOut,
    MergeRequest,
    StaleList,
    SynonymList,
)
from app.deps import EncoderDep, OrganizationDep, SessionDep, StaffUser
from app.errors import problem_responses
from app.organizations.schemas import CompetenceKind

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


@router.get(
    "/labels",
    response_model=LabelList,
    responses=problem_responses({**STAFF, 422: "Invalid parameter"}),
)
def list_labels(
    _user: StaffUser,
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Part of the label, case and umlauts aside")
    ] = None,
    kind: Annotated[
        CompetenceKind | None, Query(description="Only labels used with this kind")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> LabelList:
    """Distinct competence labels with their counts per kind, the most used first."""
    return labels.list_labels(
        session, q=q, kind=kind.value if kind else None, limit=limit, offset=offset
    )


@router.get(
    "/labels/suggestions",
    response_model=LabelSuggestionList,
    responses=problem_responses({**STAFF, 422: "Invalid parameter"}),
)
def label_suggestions(
    _user: StaffUser,
    session: SessionDep,
    encoder: EncoderDep,
    threshold: Annotated[
        float, Query(ge=0.5, le=1.0, description="Least mean similarity within a group")
    ] = 0.75,
    min_group: Annotated[int, Query(ge=2, le=100, description="Least labels in a group")] = 2,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LabelSuggestionList:
    """Groups of likely synonymous labels, each with a suggested canonical label."""
    return labels.suggest(
        session, encoder=encoder, threshold=threshold, min_group=min_group, limit=limit
    )


@router.post(
    "/labels/merge",
    response_model=LabelMergeOut,
    responses=problem_responses({**STAFF, 422: "Invalid input"}),
)
def merge_labels(
    user: StaffUser, session: SessionDep, body: LabelMergeRequest, encoder: EncoderDep
) -> LabelMergeOut:
    """Rename competences with any of the labels to the canonical one; remember the synonyms."""
    return labels.merge_labels(
        session,
        canonical=body.canonical,
        labels=body.labels,
        remember=body.remember,
        user=user,
        encoder=encoder,
    )


@router.get(
    "/labels/synonyms",
    response_model=SynonymList,
    responses=problem_responses({**STAFF, 422: "Invalid parameter"}),
)
def list_synonyms(
    _user: StaffUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> SynonymList:
    """Stored synonyms: folded label -> canonical label."""
    return labels.list_synonyms(session, limit=limit, offset=offset)


@router.delete(
    "/labels/synonyms/{synonym_id}",
    status_code=204,
    responses=problem_responses({**STAFF, 404: "No such synonym", 422: "Invalid parameter"}),
)
def delete_synonym(
    _user: StaffUser,
    session: SessionDep,
    synonym_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> None:
    """Forget a synonym; competences renamed by it keep their label."""
    labels.delete_synonym(session, synonym_id=synonym_id)
