"""Partner matches for a stored organisation or a typed need."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy.orm import Session

from app.auth.roles import is_staff
from app.embeddings import Encoder
from app.errors import Invalid, ServiceUnavailable
from app.matches.index import FittedIndex, IndexCache
from app.matches.schemas import (
    CompetenceRef,
    MatchedOrganization,
    MatchOut,
    ReasonOut,
    SearchRequest,
)
from app.models.user import Role, User
from app.organizations import repository as organization_repository
from app.organizations.derived import region_centre
from app.organizations.disclosure import (
    View,
    caller_level,
    caller_relations,
    group_shown,
    region,
    size_class,
    stored_levels,
    view_of,
    views_of,
)
from app.organizations.views import disclosed
from matching import Filters, Match, Reason
from matching.geo import haversine_km
from matching.relevance import SearchMatch, relevance_floor
from matching.text import parse_need

_KIND_WORD = {"complementary": "strategic", "peripheral": "supporting", None: ""}


def reason_text(reason: Reason, *, typed_need: bool = False) -> str:
    sim = f"similarity {reason.similarity:.2f}"
    need = _KIND_WORD.get(reason.need_kind, "")
    need_word = f"{need} need" if need else "need"
    if reason.direction == "they_cover_my_need":
        whose = "your search" if typed_need else f"your {need_word}"
        # a profile without core competences is matched by its description
        theirs = (
            "Their profile description"
            if reason.target_label is None
            else f"Their core competence “{reason.target_label}”"
        )
        return f"{theirs} covers {whose} “{reason.query_label}” ({sim})."
    if reason.direction == "i_cover_their_need":
        return (
            f"Your core competence “{reason.query_label}” covers their {need_word} "
            f"“{reason.target_label}” ({sim})."
        )
    if reason.direction == "shared_core":
        return (
            f"You both offer this: your “{reason.query_label}” and their “{reason.target_label}” "
            f"({sim})."
        )
    return f"Your profiles describe related activities ({sim})."


def _reason_out(reason: Reason, index: FittedIndex, *, typed_need: bool) -> ReasonOut:
    my_kind = reason.need_kind if reason.direction == "they_cover_my_need" else "core"
    their_kind = reason.need_kind if reason.direction == "i_cover_their_need" else "core"
    mine = (
        CompetenceRef(id=reason.query_competence_id, label=reason.query_label, kind=my_kind)
        if reason.query_label is not None
        else None
    )
    theirs = (
        CompetenceRef(id=reason.target_competence_id, label=reason.target_label, kind=their_kind)
        if reason.target_label is not None
        else None
    )
    if reason.direction == "similar_profile":
        mine = theirs = None
    return ReasonOut(
        direction=reason.direction,
        mine=mine,
        theirs=theirs,
        similarity=round(reason.similarity, 4),
        text=reason_text(reason, typed_need=typed_need),
    )


# components computed from the relationship graph: shown only where the caller may see the
# relationships they are computed from
_RELATIONSHIP_COMPONENTS = frozenset({"network", "activity"})
# what a reason that cites a hidden description says instead
_HIDDEN_DESCRIPTION = "Their profile"


def _redacted_reason(reason: ReasonOut, view: View) -> ReasonOut:
    """A reason that cites the target's description only where the caller may see it."""
    if "description" not in view.hidden or not reason.text.startswith("Their profile description"):
        return reason
    text = _HIDDEN_DESCRIPTION + reason.text.removeprefix("Their profile description")
    return reason.model_copy(update={"text": text})


def to_out(
    match: Match,
    index: FittedIndex,
    *,
    view: View,
    typed_need: bool = False,
    relationships_shown: bool = True,
) -> MatchOut:
    """A match as the API shows it through `view`, the caller's disclosure view of the target.

    `relationships_shown`: whether the caller may see the relationships of the asking
    organisation; the network and activity components are left out unless it may see both
    sides' relationships.
    """
    info = index.info[match.target_id]
    values = {
        "id": info.id,
        "external_id": info.external_id,
        "name": info.name,
        "nace_code": info.nace_code,
        "country": info.country,
        "region": region(info.country, info.postal_code),
        "city": info.city,
        "size_class": size_class(info.employees),
    }
    graph_shown = relationships_shown and "relationships" not in view.hidden
    return MatchOut(
        organization=MatchedOrganization.model_validate(disclosed(values, view)),
        score=round(match.score, 6),
        relation=match.relation,
        components={
            k: round(v, 6)
            for k, v in match.components.items()
            if graph_shown or k not in _RELATIONSHIP_COMPONENTS
        },
        reasons=[
            _redacted_reason(_reason_out(r, index, typed_need=typed_need), view)
            for r in match.reasons
        ],
        shared_interests=list(match.shared_interests),
        # only a typed search judges relevance; organisation match lists are never weak
        weak=isinstance(match, SearchMatch) and match.weak,
    )


def fitted_index(session: Session, cache: IndexCache, encoder: Encoder | None) -> FittedIndex:
    """The engine fitted on the stored vectors of `encoder`; 503 when no model is loaded."""
    if encoder is None:
        raise ServiceUnavailable(
            "Matching needs an embedding model; this server runs with KOOPMATCH_EMBEDDING_MODEL=none."
        )
    return cache.get(session, encoder.name)


def hidden_from_competitor(
    session: Session, cache: IndexCache, encoder: Encoder | None, organization_id: int
) -> frozenset[int]:
    """`opted_out_competitors` for reads outside matching (lists, profiles, requests); without
    any opt-out stored, or without a model to label competitors, nothing is hidden and no
    index is fitted."""
    if encoder is None or not organization_repository.any_hidden_from_competitors(session):
        return frozenset()
    return opted_out_competitors(cache.get(session, encoder.name), organization_id)


def opted_out_competitors(index: FittedIndex, organization_id: int) -> frozenset[int]:
    """Organisations that opted out of being shown to competitors and that the engine labels
    competitors of `organization_id`.

    Matcher.match leaves them out of an organisation's own matches; a typed search has no
    asking organisation in the engine, and others' match lists are ranked for someone else, so
    the service leaves them out of what a competitor's members see.
    """
    query = index.profiles.get(organization_id)
    if query is None:
        return frozenset()
    opted = [
        pid
        for pid, info in index.info.items()
        if info.hide_from_competitors and pid != organization_id and info.visibility != "private"
    ]
    if not opted:
        return frozenset()
    verdict = index.matcher.competitors(query, opted)
    return frozenset(pid for pid, competitor in zip(opted, verdict, strict=True) if competitor)


# lower bounds of the size classes (micro, small, medium, large)
_SIZE_BOUNDS = (0, 10, 50, 250)


def coarse_employee_filters(filters: Filters, user: User | None) -> Filters:
    """For callers who are not hub staff, widen employee bounds to whole size classes.

    Head counts are hidden from non-partners by default while the size class is shown; exact
    bounds would let anyone narrow a teaser's head count down to the person.
    """
    if user is None or is_staff(user):
        return filters
    low, high = filters.min_employees, filters.max_employees
    if low is not None and high is not None and low > high:
        return filters  # the engine rejects it as it stands
    if low is not None:
        low = max(b for b in _SIZE_BOUNDS if b <= low)
    if high is not None:
        upper = [b - 1 for b in _SIZE_BOUNDS[1:] if high < b]
        high = upper[0] if upper else None
    return replace(filters, min_employees=low, max_employees=high)


def _coordinates(
    session: Session, user: User | None, index: FittedIndex
) -> dict[int, tuple[float, float]]:
    """Where each located organisation is, as far as the caller may know: its coordinates
    where the caller sees its address, else the centre of its region (left out when the
    region has none)."""
    relations = caller_relations(session, user)
    stored = organization_repository.located_disclosures(session)
    out: dict[int, tuple[float, float]] = {}
    for pid, profile in index.profiles.items():
        if profile.latitude is None or profile.longitude is None or pid not in stored:
            continue
        level = caller_level(user, pid, *relations)
        if group_shown(level, "address", stored_levels(stored[pid])["address"]):
            out[pid] = (profile.latitude, profile.longitude)
            continue
        info = index.info[pid]
        centre = region_centre(info.country, info.postal_code)
        if centre is not None:
            out[pid] = centre
    return out


def distance_by_disclosure(
    session: Session,
    *,
    user: User | None,
    index: FittedIndex,
    filters: Filters,
    asking_id: int | None = None,
) -> Filters:
    """A distance filter that tells the caller no more than the regions of hidden addresses.

    Hub staff get the engine's exact filter. For everyone else, an organisation whose address
    the caller may not see is placed at the centre of its region, the asking organisation's
    too when it is the origin: bisecting the radius from any origin converges on the region's
    centre, which the profile shows anyway. The distance filter becomes a list of excluded ids.
    """
    if filters.max_distance_km is None or is_staff(user):
        return filters
    where = _coordinates(session, user, index)
    origin = filters.origin
    if origin is None and asking_id is not None:
        origin = where.get(asking_id)
    if origin is None:
        raise Invalid(
            "max_distance_km needs the organisation's coordinates, and it has none.",
            errors=[{"field": "max_distance_km", "message": "organisation has no coordinates"}],
        )
    ids = [pid for pid in index.profiles if pid in where]
    too_far = set(index.profiles) - set(ids)
    if ids:
        points = np.array([where[pid] for pid in ids], dtype=np.float64)
        distance = haversine_km(origin[0], origin[1], points[:, 0], points[:, 1])
        too_far |= {
            pid for pid, d in zip(ids, distance, strict=True) if d > filters.max_distance_km
        }
    if asking_id is not None:
        too_far.discard(asking_id)
    return replace(
        filters, max_distance_km=None, origin=None, exclude_ids=filters.exclude_ids | too_far
    )


def _caller_organization(user: User | None) -> int | None:
    if user is not None and user.role == Role.member.value:
        return user.organization_id
    return None


def _hide_from_caller(index: FittedIndex, user: User | None, filters: Filters) -> Filters:
    """Leave out what opted out of being shown to the caller's organisation as a competitor."""
    own = _caller_organization(user)
    if own is None:
        return filters
    hidden = opted_out_competitors(index, own)
    return replace(filters, exclude_ids=filters.exclude_ids | hidden) if hidden else filters


def shown(
    session: Session,
    *,
    user: User | None,
    index: FittedIndex,
    matches: Sequence[Match],
    typed_need: bool = False,
    relationships_shown: bool = True,
) -> list[MatchOut]:
    """Matches as the caller may see them: one query for the targets, one for the views.

    `relationships_shown`: whether the caller may see the asking organisation's relationships
    (a typed search has no asking organisation)."""
    targets = organization_repository.organizations_by_id(session, [m.target_id for m in matches])
    views = views_of(session, user, list(targets.values()))
    return [
        to_out(
            m,
            index,
            typed_need=typed_need,
            view=views[m.target_id],
            relationships_shown=relationships_shown,
        )
        for m in matches
        if m.target_id in views  # deleted since the index was fitted
    ]


def matches_for(
    session: Session,
    *,
    user: User | None = None,
    organization_id: int,
    filters: Filters,
    limit: int,
    cache: IndexCache,
    encoder: Encoder | None,
) -> list[MatchOut]:
    index = fitted_index(session, cache, encoder)
    query = index.profiles[organization_id]
    if (
        filters.max_distance_km is not None
        and filters.origin is None
        and (query.latitude is None or query.longitude is None)
    ):
        raise Invalid(
            "max_distance_km needs the organisation's coordinates, and it has none.",
            errors=[{"field": "max_distance_km", "message": "organisation has no coordinates"}],
        )
    if _caller_organization(user) != organization_id:
        filters = _hide_from_caller(index, user, filters)
    filters = distance_by_disclosure(
        session, user=user, index=index, filters=filters, asking_id=organization_id
    )
    asking = organization_repository.organizations_by_id(session, [organization_id])
    relationships_shown = (
        "relationships" not in view_of(session, user, asking[organization_id]).hidden
    )
    if not relationships_shown:
        # with and without the known ones, the difference would be the hidden relationships
        filters = replace(filters, exclude_known=False)
    matches = index.matcher.match(query, filters=filters, limit=limit)
    return shown(
        session,
        user=user,
        index=index,
        matches=matches,
        relationships_shown=relationships_shown,
    )


@dataclass(frozen=True)
class SearchResult:
    items: list[MatchOut]
    weak_count: int  # weak matches among the best `limit`, shown or not
    relevance_floor: float  # the cosine floor that decided `weak`


def search(
    session: Session,
    *,
    user: User | None = None,
    need_phrases: list[str],
    filters: Filters,
    limit: int,
    cache: IndexCache,
    encoder: Encoder | None,
    hide_weak: bool = False,
) -> SearchResult:
    """Organisations for typed needs, each flagged `weak` or not (see matching.relevance)."""
    index = fitted_index(session, cache, encoder)
    assert encoder is not None
    if filters.max_distance_km is not None and filters.origin is None:
        raise Invalid(
            "max_distance_km needs an origin (latitude and longitude) in a free-text search.",
            errors=[{"field": "origin", "message": "required with max_distance_km"}],
        )
    filters = _hide_from_caller(index, user, filters)
    filters = distance_by_disclosure(session, user=user, index=index, filters=filters)
    vectors = np.asarray(encoder.encode(need_phrases), dtype=np.float32)
    matcher = index.matcher
    # unmeasured encoders: the matcher's fitted similarity floor (matching.relevance)
    floor = relevance_floor(encoder.name)
    if floor is None:
        floor = float(matcher.sim_floor_)
    matches = matcher.search(
        vectors, need_phrases, filters=filters, limit=limit, relevance_floor=floor
    )
    weak_count = sum(m.weak for m in matches)
    if hide_weak and weak_count:
        # rank again without the weak ones, so that the page fills with the next relevant ones
        matches = matcher.search(
            vectors,
            need_phrases,
            filters=filters,
            limit=limit,
            relevance_floor=floor,
            exclude_weak=True,
        )
    items = shown(session, user=user, index=index, matches=matches, typed_need=True)
    return SearchResult(items=items, weak_count=weak_count, relevance_floor=floor)


def with_origin(filters: Filters, latitude: float | None, longitude: float | None) -> Filters:
    if latitude is None or longitude is None:
        return filters
    return replace(filters, origin=(latitude, longitude))


def parse_search(body: SearchRequest) -> tuple[list[str], Filters]:
    """The need phrases and filters of a free-text search; explicit filters beat place names."""
    filters = Filters(
        countries=frozenset(c.upper() for c in body.country),
        max_distance_km=body.max_distance_km,
        origin=(body.origin.latitude, body.origin.longitude) if body.origin else None,
        nace_include=tuple(body.nace),
        nace_exclude=tuple(body.exclude_nace),
        min_employees=body.min_employees,
        max_employees=body.max_employees,
        cooperation_interests=frozenset(i.value for i in body.cooperation_interest),
        include_competitors=True,
        exclude_known=False,
        exclude_ids=frozenset(body.exclude),
    )
    text = body.text
    if body.use_place_names:
        hint = parse_need(text)
        text = hint.need_text
        filters = hint.apply(filters)
    # an explicit list ("a; b" or one need per line) is several needs; prose stays one
    phrases = [p.strip() for p in re.split(r"[;\n]+", text) if len(p.strip()) >= 2]
    return phrases or [body.text], filters


def describe_filters(filters: Filters) -> dict[str, object]:
    """The filters that restrict anything, for the response."""
    out: dict[str, object] = {}
    if filters.countries:
        out["country"] = sorted(filters.countries)
    if filters.origin is not None:
        out["origin"] = {"latitude": filters.origin[0], "longitude": filters.origin[1]}
    if filters.max_distance_km is not None:
        out["max_distance_km"] = filters.max_distance_km
    for name, value in (
        ("nace", list(filters.nace_include)),
        ("exclude_nace", list(filters.nace_exclude)),
        ("cooperation_interest", sorted(filters.cooperation_interests)),
        ("exclude", sorted(filters.exclude_ids)),
    ):
        if value:
            out[name] = value
    if filters.min_employees is not None:
        out["min_employees"] = filters.min_employees
    if filters.max_employees is not None:
        out["max_employees"] = filters.max_employees
    return out
