"""Partner matches: for a stored organisation, or for a need typed in German or English."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query

from app.deps import CurrentUser, EncoderDep, IndexDep, SessionDep, ShownOrganizationDep
from app.errors import problem_responses
from app.matches import service
from app.matches.schemas import (
    WHOLE_CLASSES,
    CountryCode,
    MatchPage,
    NacePrefix,
    SearchOut,
    SearchRequest,
)
from app.organizations.schemas import CooperationInterest
from matching import Filters

router = APIRouter(prefix="/api/v1", tags=["matches"])


@router.get(
    "/organizations/{organization_id}/matches",
    response_model=MatchPage,
    responses=problem_responses(
        {
            401: "No valid token",
            404: "No such organisation",
            422: "Invalid filter",
            503: "No embedding model loaded",
        }
    ),
)
def organization_matches(
    organization: ShownOrganizationDep,
    user: CurrentUser,
    session: SessionDep,
    encoder: EncoderDep,
    cache: IndexDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    include_competitors: bool = True,
    exclude_known: Annotated[
        bool, Query(description="Leave out existing customers, suppliers and partners")
    ] = True,
    country: Annotated[list[CountryCode], Query(max_length=50)] = [],  # noqa: B006
    max_distance_km: Annotated[float | None, Query(gt=0, le=20000)] = None,
    nace: Annotated[
        list[NacePrefix], Query(max_length=50, description="NACE prefixes to keep")
    ] = [],  # noqa: B006
    exclude_nace: Annotated[list[NacePrefix], Query(max_length=50)] = [],  # noqa: B006
    min_employees: Annotated[int | None, Query(ge=0, description=WHOLE_CLASSES)] = None,
    max_employees: Annotated[int | None, Query(ge=0, description=WHOLE_CLASSES)] = None,
    cooperation_interest: Annotated[list[CooperationInterest], Query(max_length=5)] = [],  # noqa: B006
    exclude: Annotated[
        list[int], Query(max_length=1000, description="Organisation ids to leave out")
    ] = [],  # noqa: B006
    lang: Annotated[
        Literal["de", "en"] | None,
        Query(description="Language of the reasons; default: Accept-Language, else the profile's"),
    ] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> MatchPage:
    """Rank cooperation partners for an organisation, with the reasons for each match."""
    filters = Filters(
        countries=frozenset(c.upper() for c in country),
        max_distance_km=max_distance_km,
        nace_include=tuple(nace),
        nace_exclude=tuple(exclude_nace),
        min_employees=min_employees,
        max_employees=max_employees,
        cooperation_interests=frozenset(i.value for i in cooperation_interest),
        include_competitors=include_competitors,
        exclude_known=exclude_known,
        exclude_ids=frozenset(exclude),
    )
    filters = service.coarse_employee_filters(filters, user)
    items = service.matches_for(
        session,
        user=user,
        organization_id=organization.id,
        filters=filters,
        limit=limit,
        cache=cache,
        encoder=encoder,
        lang=service.language_of(lang, accept_language, organization.description),
    )
    assert encoder is not None
    return MatchPage(items=items, encoder=encoder.name)


@router.post(
    "/matches/search",
    response_model=SearchOut,
    responses=problem_responses(
        {401: "No valid token", 422: "Invalid request", 503: "No embedding model loaded"}
    ),
)
def search_matches(
    body: SearchRequest,
    user: CurrentUser,
    session: SessionDep,
    encoder: EncoderDep,
    cache: IndexDep,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> SearchOut:
    """Find organisations whose core competences cover a need typed in German or English."""
    need, filters = service.parse_search(body)
    filters = service.coarse_employee_filters(filters, user)
    found = service.search(
        session,
        user=user,
        need_phrases=need,
        filters=filters,
        limit=body.limit,
        cache=cache,
        encoder=encoder,
        hide_weak=body.hide_weak,
        exclude_known=body.exclude_known,
        include_seekers=body.include_seekers,
        lang=service.language_of(body.lang, accept_language, body.text),
    )
    assert encoder is not None
    return SearchOut(
        items=found.items,
        encoder=encoder.name,
        need="; ".join(need),
        applied_filters=service.describe_filters(filters),
        weak_count=found.weak_count,
        seeking_the_same=found.seeking_the_same,
        closest_outside=found.closest_outside,
        answer=found.answer,
        relevance_floor=found.relevance_floor,
    )
