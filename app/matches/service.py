"""Partner matches for a stored organisation or a typed need."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, cast

import numpy as np
from sqlalchemy.orm import Session

from app.auth.roles import is_staff
from app.config import get_settings
from app.embeddings import Encoder
from app.errors import Invalid, ServiceUnavailable
from app.i18n import N_, Formatter
from app.matches.identity import identity_titles
from app.matches.index import FittedIndex, IndexCache
from app.matches.outcomes import with_outcome_ties
from app.matches.reranking import active_reranker, candidates_needed, reranked
from app.matches.retrieval import candidate_filters
from app.matches.schemas import (
    CompetenceRef,
    MatchedOrganization,
    MatchOut,
    ReasonOut,
    SearchRequest,
)
from app.models.user import Role, User
from app.organizations import repository as organization_repository
from app.organizations.access import (
    caller_relations,
    outcome_ties_scope,
    views_by_disclosure,
    visible_relationships,
)
from app.organizations.derived import SIZE_LOWER_BOUNDS, region_centre
from app.organizations.disclosure import (
    View,
    caller_level,
    group_shown,
    region,
    size_class,
    stored_levels,
)
from app.organizations.views import disclosed
from matching import Filters, Match, ProfileVec, Reason
from matching.competitors import SHOWN_DECIMALS
from matching.geo import haversine_km
from matching.identity import identity_evidence
from matching.relevance import SearchMatch, firm_floors, relevance_floor, wordless_floors
from matching.retrieval import QueryVectors
from matching.text import parse_need

Lang = Literal["de", "en"]

# German words that rarely occur in English text (and vice versa): enough to tell a profile
# description or a typed need in one language from the other.
_GERMAN_WORDS = frozenset(
    [
        "und",
        "der",
        "die",
        "das",
        "für",
        "fuer",
        "mit",
        "von",
        "wir",
        "ein",
        "eine",
        "einen",
        "im",
        "auf",
        "sowie",
        "oder",
        "nicht",
        "ist",
        "sind",
        "unsere",
        "unser",
        "unserer",
        "suchen",
        "suche",
        "bieten",
        "entwicklung",
        "herstellung",
        "fertigung",
        "beratung",
        "jemanden",
        "partner",
        "gesucht",
        "bereich",
    ]
)
_ENGLISH_WORDS = frozenset(
    [
        "and",
        "the",
        "for",
        "with",
        "from",
        "we",
        "our",
        "a",
        "an",
        "of",
        "in",
        "on",
        "is",
        "are",
        "not",
        "looking",
        "seeking",
        "need",
        "services",
        "development",
        "manufacturing",
        "company",
        "someone",
    ]
)


def detect_language(text: str | None, default: Lang = "en") -> Lang:
    """ "de" or "en" by counting common function words (umlauts and ß count for German)."""
    if not text:
        return default
    words = re.findall(r"[^\W\d_]+", text.casefold())
    german = sum(w in _GERMAN_WORDS for w in words) + sum(ch in "äöüß" for ch in text.casefold())
    english = sum(w in _ENGLISH_WORDS for w in words)
    if german == english:
        return default
    return "de" if german > english else "en"


def language_of(
    explicit: str | None, accept_language: str | None, fallback_text: str | None
) -> Lang:
    """The caller's language: an explicit `lang`, else the first German or English entry of
    Accept-Language (ordered by q), else the language of `fallback_text` (the profile)."""
    if explicit in ("de", "en"):
        return cast(Lang, explicit)
    if accept_language:
        ranked: list[tuple[float, int, str]] = []
        for i, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            q = 1.0
            if params.strip().startswith("q="):
                try:
                    q = float(params.strip()[2:])
                except ValueError:
                    q = 0.0
            primary = tag.strip().lower().split("-")[0]
            if primary in ("de", "en") and q > 0:
                ranked.append((-q, i, primary))
        if ranked:
            return cast(Lang, min(ranked)[2])
    return detect_language(fallback_text)


_NEED_WORD = {
    "en": {"complementary": "strategic need", "peripheral": "supporting need", None: "need"},
    "de": {"complementary": "strategischen Bedarf", "peripheral": "Nebenbedarf", None: "Bedarf"},
}


def _q(label: str | None, lang: Lang) -> str:
    """A label in the language's quotation marks; empty when there is none."""
    if label is None:
        return ""
    return f" „{label}“" if lang == "de" else f" “{label}”"


def reason_text(
    reason: Reason, *, typed_need: bool = False, lang: Lang = "en", floor: float | None = None
) -> str:
    """One sentence a managing director understands, in English or German.

    A competence "covers" a need only when the pair's cosine reaches `floor` (the encoder's
    calibrated relevance floor); below it the sentence says the two are only loosely related.
    A side without a label (a profile matched by its description) is named as the profile
    description, never as "None"."""
    strong = floor is None or reason.similarity >= floor
    de = lang == "de"
    need_word = _NEED_WORD[lang].get(reason.need_kind, _NEED_WORD[lang][None])
    mine, theirs = _q(reason.query_label, lang), _q(reason.target_label, lang)
    if reason.direction == "they_cover_my_need":
        if de:
            offer = (
                f"Die Kernkompetenz{theirs}"
                if theirs
                else "Die Profilbeschreibung des Unternehmens"
            )
            if strong:
                what = ("Ihre Suche" if typed_need else f"Ihren {need_word}") + mine
                return f"{offer} deckt {what} ab."
            what = ("Ihrer Suche" if typed_need else f"Ihrem {need_word}") + mine
            return f"{offer} passt nur entfernt zu {what}."
        offer = f"Their core competence{theirs}" if theirs else "Their profile description"
        what = ("your search" if typed_need else f"your {need_word}") + mine
        return (
            f"{offer} covers {what}." if strong else f"{offer} is only loosely related to {what}."
        )
    if reason.direction == "i_cover_their_need":
        if de:
            offer = f"Ihre Kernkompetenz{mine}" if mine else "Ihre Profilbeschreibung"
            if strong:
                return f"{offer} deckt den {need_word} des Unternehmens{theirs} ab."
            return f"{offer} passt nur entfernt zum {need_word} des Unternehmens{theirs}."
        offer = f"Your core competence{mine}" if mine else "Your profile description"
        what = f"their {need_word}{theirs}"
        return (
            f"{offer} covers {what}." if strong else f"{offer} is only loosely related to {what}."
        )
    if reason.direction == "shared_core":
        if de:
            pair = f"Ihr Angebot{mine} und ihr Angebot{theirs}"
            return (
                f"Sie bieten beide Ähnliches an: {pair}."
                if strong
                else f"Ihre Angebote berühren sich: {pair}."
            )
        pair = f"your offer{mine} and their offer{theirs}"
        return f"You both offer this: {pair}." if strong else f"Your offers touch: {pair}."
    if reason.direction == "what_they_are":
        if de:
            return f"Der Wirtschaftszweig des Unternehmens{theirs} entspricht Ihrer Suche{mine}."
        return f"Their line of business{theirs} matches your search{mine}."
    if reason.direction == "shared_need":
        if de:
            return (
                f"Sucht ebenfalls: ihr Bedarf{theirs} entspricht Ihrer Suche{mine} "
                "(gemeinsam einkaufen, ausbilden oder anbieten)."
            )
        return (
            f"They are looking for this too: their need{theirs} matches your search{mine} "
            "(buy, train or bid together)."
        )
    if de:
        return "Ihre Profilbeschreibungen nennen verwandte Tätigkeiten."
    return "Your profile descriptions name related activities."


def _reason_out(
    reason: Reason,
    index: FittedIndex,
    *,
    typed_need: bool,
    lang: Lang = "en",
    floor: float | None = None,
) -> ReasonOut:
    my_kind = reason.need_kind if reason.direction == "they_cover_my_need" else "core"
    their_kind: str | None = (
        reason.need_kind if reason.direction == "i_cover_their_need" else "core"
    )
    if reason.direction == "what_they_are":
        # the search against the title of their NACE code
        my_kind, their_kind = reason.need_kind, "nace"
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
        covers=floor is None or reason.similarity >= floor,
        text=reason_text(reason, typed_need=typed_need, lang=lang, floor=floor),
    )


# components computed from the relationship graph: shown only where the caller may see the
# relationships they are computed from
_RELATIONSHIP_COMPONENTS = frozenset({"network", "activity", "proximity", "known_partner"})
# what a reason that cites a hidden description says instead, in either language
_HIDDEN_DESCRIPTION = {
    "Their profile description": "Their profile",
    "Die Profilbeschreibung des Unternehmens": "Das Profil des Unternehmens",
}


def _redacted_reason(reason: ReasonOut, view: View) -> ReasonOut:
    """A reason that cites the target's description only where the caller may see it."""
    if "description" not in view.hidden:
        return reason
    for cited, neutral in _HIDDEN_DESCRIPTION.items():
        if reason.text.startswith(cited):
            text = neutral + reason.text.removeprefix(cited)
            return reason.model_copy(update={"text": text})
    return reason


def _core_count(index: FittedIndex, organization_id: int | None) -> int:
    profile = index.profiles.get(organization_id) if organization_id is not None else None
    if profile is None:
        return 1
    return max(sum(c.kind == "core" for c in profile.competences), 1)


def reason_floor(
    index: FittedIndex, reason: Reason, *, compared: int = 1, weak: bool = False
) -> float:
    """The cosine from which a reason may say "covers" (see matching.relevance).

    Two competences: the encoder's floor for the best of `compared` pairs (a need's best core
    among `compared` cores lies above the single-pair floor far more often than one time in
    twenty), its single-pair floor when no firm-level floors were measured, and the matcher's
    fitted similarity floor when none was measured at all. A profile description: the same
    single-pair floor, never the lower fitted description floor (a need close to a firm's
    whole description by chance is not covered by it). A typed-search result flagged weak
    covers nothing: infinity."""
    if reason.direction == "what_they_are":
        return float("-inf")  # given only above the identity floor (matching.identity)
    if weak:
        return float("inf")
    floor = relevance_floor(index.encoder_name)
    if floor is None:
        fitted = float(index.matcher.sim_floor_)
        if reason.query_label is None or reason.target_label is None:
            return max(fitted, float(index.matcher.description_floor_))
        return fitted
    if reason.query_label is None or reason.target_label is None:
        return floor
    table = firm_floors(index.encoder_name)
    if table:
        return max(floor, table[min(max(compared, 1), len(table)) - 1])
    return floor


def _compared(index: FittedIndex, reason: Reason, target_id: int, asking_id: int | None) -> int:
    """How many competences a reason's best pair was chosen among: the covering side's cores."""
    if reason.direction == "i_cover_their_need":
        return _core_count(index, asking_id)
    if reason.direction == "shared_need":
        profile = index.profiles.get(target_id)
        needs = sum(c.kind != "core" for c in profile.competences) if profile else 1
        return max(needs, 1)
    return _core_count(index, target_id)


def to_out(
    match: Match,
    index: FittedIndex,
    *,
    view: View,
    typed_need: bool = False,
    relationships_shown: bool = True,
    lang: Lang = "en",
    asking_id: int | None = None,
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
    # only a typed search judges relevance; organisation match lists are never weak
    weak = isinstance(match, SearchMatch) and match.weak
    return MatchOut(
        organization=MatchedOrganization.model_validate(disclosed(values, view)),
        score=round(match.score, SHOWN_DECIMALS),
        relation=match.relation,
        components={
            k: round(v, 6)
            for k, v in match.components.items()
            if graph_shown or k not in _RELATIONSHIP_COMPONENTS
        },
        reasons=[
            _redacted_reason(
                _reason_out(
                    r,
                    index,
                    typed_need=typed_need,
                    lang=lang,
                    floor=reason_floor(
                        index,
                        r,
                        compared=_compared(index, r, match.target_id, asking_id),
                        weak=weak and r.direction == "they_cover_my_need",
                    ),
                ),
                view,
            )
            for r in match.reasons
        ],
        shared_interests=list(match.shared_interests),
        cooperation_kinds=list(match.cooperation_kinds),
        weak=weak,
    )


def fitted_index(session: Session, cache: IndexCache, encoder: Encoder | None) -> FittedIndex:
    """The engine fitted on the stored vectors of `encoder`; 503 when no model is loaded."""
    if encoder is None:
        raise ServiceUnavailable(
            N_(
                "Matching needs an embedding model; this server runs with "
                "KOOPMATCH_EMBEDDING_MODEL=none."
            )
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
    if _per_request(session):
        from app.matches import stateless

        return stateless.opted_out_competitors(
            session,
            encoder_name=encoder.name,
            organization_id=organization_id,
            matcher_params=cache.matcher_params,
        )
    return opted_out_competitors(session, cache.get(session, encoder.name), organization_id)


def _per_request(session: Session) -> bool:
    """Whether matches are scored from rows loaded per request (app.matches.stateless)."""
    from app.matches import stateless

    return stateless.enabled(session, get_settings().match_state)


def opted_out_competitors(
    session: Session, index: FittedIndex, organization_id: int
) -> frozenset[int]:
    """Organisations that opted out of being shown to competitors and that the engine labels
    competitors of `organization_id`.

    Matcher.match leaves them out of an organisation's own matches; a typed search has no
    asking organisation in the engine, and others' match lists are ranked for someone else, so
    the service leaves them out of what a competitor's members see.
    """
    query = index.profiles.get(organization_id)
    if query is None:
        return frozenset()
    # the few that opted out, as the index holds them (current to the request's version,
    # the session's own writes included: FittedIndex.opted_out)
    opted = [pid for pid in index.opted_out if pid != organization_id]
    if not opted:
        return frozenset()
    verdict = index.matcher.competitors(query, opted)
    return frozenset(pid for pid, competitor in zip(opted, verdict, strict=True) if competitor)


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
        low = max(b for b in SIZE_LOWER_BOUNDS if b <= low)
    if high is not None:
        upper = [b - 1 for b in SIZE_LOWER_BOUNDS[1:] if high < b]
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
            N_("max_distance_km needs the organisation's coordinates, and it has none."),
            errors=[{"field": "max_distance_km", "message": N_("organisation has no coordinates")}],
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


def _hide_from_caller(
    session: Session, index: FittedIndex, user: User | None, filters: Filters
) -> Filters:
    """Leave out what opted out of being shown to the caller's organisation as a competitor."""
    own = _caller_organization(user)
    if own is None:
        return filters
    hidden = opted_out_competitors(session, index, own)
    return replace(filters, exclude_ids=filters.exclude_ids | hidden) if hidden else filters


def shown(
    session: Session,
    *,
    user: User | None,
    index: FittedIndex,
    matches: Sequence[Match],
    typed_need: bool = False,
    relationships_shown: bool = True,
    lang: Lang = "en",
    asking_id: int | None = None,
) -> list[MatchOut]:
    """Matches as the caller may see them: one query for the targets, one for the views.

    `relationships_shown`: whether the caller may see the asking organisation's relationships
    (a typed search has no asking organisation)."""
    # a view needs each target's stored disclosure only: two columns, not ORM rows (what is
    # shown of a target comes from the index's `info`)
    stored = organization_repository.disclosures_by_id(session, [m.target_id for m in matches])
    views = views_by_disclosure(session, user, stored)
    return [
        to_out(
            m,
            index,
            typed_need=typed_need,
            view=views[m.target_id],
            relationships_shown=relationships_shown,
            lang=lang,
            asking_id=asking_id,
        )
        for m in matches
        if m.target_id in views  # deleted since the index was fitted
    ]


def graph_by_disclosure(
    session: Session, user: User | None, organization_id: int, filters: Filters
) -> tuple[Filters, bool]:
    """The graph filters a caller may use for `organization_id`'s list, and whether its
    relationships are shown to the caller: none when they are hidden (with and without the
    known ones, the difference would be the hidden relationships, and the graph would order
    the list by them), else only the relationships the caller may see."""
    asking = organization_repository.disclosures_by_id(session, [organization_id])
    if "relationships" in views_by_disclosure(session, user, asking)[organization_id].hidden:
        return replace(filters, exclude_known=False, use_graph=False), False
    return replace(filters, visible_relationships=visible_relationships(session, user)), True


def require_coordinates(query: ProfileVec, filters: Filters) -> None:
    """A distance filter around the asking organisation needs its coordinates (422)."""
    if (
        filters.max_distance_km is not None
        and filters.origin is None
        and (query.latitude is None or query.longitude is None)
    ):
        raise Invalid(
            N_("max_distance_km needs the organisation's coordinates, and it has none."),
            errors=[{"field": "max_distance_km", "message": N_("organisation has no coordinates")}],
        )


def matches_for(
    session: Session,
    *,
    user: User | None = None,
    organization_id: int,
    filters: Filters,
    limit: int,
    cache: IndexCache,
    encoder: Encoder | None,
    lang: Lang = "en",
) -> list[MatchOut]:
    if encoder is not None and _per_request(session):
        from app.matches import stateless

        return stateless.matches_for(
            session,
            user=user,
            organization_id=organization_id,
            filters=filters,
            limit=limit,
            encoder_name=encoder.name,
            matcher_params=cache.matcher_params,
            lang=lang,
        )
    index = fitted_index(session, cache, encoder)
    query = index.profiles[organization_id]
    require_coordinates(query, filters)
    if _caller_organization(user) != organization_id:
        filters = _hide_from_caller(session, index, user, filters)
    filters = distance_by_disclosure(
        session, user=user, index=index, filters=filters, asking_id=organization_id
    )
    filters, relationships_shown = graph_by_disclosure(session, user, organization_id, filters)
    # the asking organisation's own outcomes (its pairs' history in a re-ranker) are used
    # where its ties are (app.organizations.access)
    own = outcome_ties_scope(user, organization_id) != "none"
    filters = with_outcome_ties(session, filters, user=user, organization_id=organization_id)
    filters = candidate_filters(session, index, QueryVectors.of_profile(query), filters)
    # the learned second stage of an adopted refit re-orders the engine's best (learning.py)
    reranker = active_reranker(session)
    found = index.matcher.match(query, filters=filters, limit=candidates_needed(reranker, limit))
    matches = reranked(reranker, found, limit, session=session, asking=organization_id, own=own)
    return shown(
        session,
        user=user,
        index=index,
        matches=matches,
        relationships_shown=relationships_shown,
        lang=lang,
        asking_id=organization_id,
    )


# how many organisations outside the asked place a search offers when nobody in it fits
OUTSIDE_LIMIT = 3
# What a firm is (its NACE titles, matching.identity) as a second source of evidence: a firm
# whose titles reach their floor gets IDENTITY_WEIGHT times the calibrated strength added to
# its score and is not weak. IDENTITY_POOL: at most how many firms named by their titles
# (the nearest first) a search weighs besides the engine's first `limit`.
IDENTITY_WEIGHT = 0.5
IDENTITY_POOL = 20


@dataclass(frozen=True)
class _Identity:
    strength: float  # in [0, 1] above the floor
    cosine: float
    title: str
    need: str


def _identities(
    index: FittedIndex, encoder: Encoder, vectors: np.ndarray, need_phrases: Sequence[str]
) -> dict[int, _Identity]:
    """Organisations whose NACE titles reach their calibrated floor for the typed needs.

    The floors are the encoder's strict firm-level ones (`wordless_floors`: a title seldom
    shares a word with a search); an encoder without them gives no identity evidence."""
    floors = wordless_floors(encoder.name)
    if not floors or not len(vectors):
        return {}
    titles = identity_titles(index, encoder)
    if not titles.titles:
        return {}
    # per distinct NACE code (its firms share its titles), then the firms of the codes passed
    found = identity_evidence(vectors, titles.vectors, titles.code_titles, floors)
    if not found.passed.any():
        return {}
    rows = np.flatnonzero(found.passed[titles.firm_code])
    code = titles.firm_code[rows]
    sims = vectors @ titles.vectors[found.title[code]].T  # (q, passed): which need it was
    need = sims.argmax(axis=0)
    return {
        int(titles.ids[r]): _Identity(
            strength=float(found.strength[c]),
            cosine=float(found.best_cosine[c]),
            title=titles.titles[int(found.title[c])],
            need=need_phrases[int(need[j])],
        )
        for j, (r, c) in enumerate(zip(rows, code, strict=True))
    }


def _with_identity(
    matches: Sequence[SearchMatch], identities: dict[int, _Identity], limit: int
) -> list[SearchMatch]:
    """The engine's results with the identity evidence added: score raised, weak lifted and a
    reason that names the NACE title, ordered by the combined score (the engine's order on
    ties), the best `limit`. Each organisation once."""
    seen: set[int] = set()
    combined: list[SearchMatch] = []
    for m in matches:
        if m.target_id in seen:
            continue
        seen.add(m.target_id)
        found = identities.get(m.target_id)
        if found is None:
            combined.append(m)
            continue
        reason = Reason(
            direction="what_they_are",
            query_competence_id=None,
            query_label=found.need,
            target_competence_id=None,
            target_label=found.title,
            need_kind="complementary",
            similarity=found.cosine,
        )
        combined.append(
            replace(
                m,
                score=m.score + IDENTITY_WEIGHT * found.strength,
                weak=False,
                reasons=(reason, *m.reasons),
            )
        )
    order = sorted(
        range(len(combined)), key=lambda k: (-round(combined[k].score, SHOWN_DECIMALS), k)
    )
    return [combined[k] for k in order[:limit]]


@dataclass(frozen=True)
class SearchResult:
    items: list[MatchOut]
    weak_count: int  # weak matches among the best `limit`, shown or not
    relevance_floor: float  # the cosine floor that decided `weak`
    seeking_the_same: list[MatchOut] = field(default_factory=list)
    # when every result in the asked place is weak: the best non-weak ones anywhere
    closest_outside: list[MatchOut] = field(default_factory=list)
    answer: str = ""


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
    exclude_known: bool = False,
    include_seekers: bool = True,
    lang: Lang = "en",
) -> SearchResult:
    """Organisations for typed needs, by their core competences and by what they are (the
    titles of their NACE code, matching.identity), each flagged `weak` or not (see
    matching.relevance), and those that seek the same. A member's own organisation is never among them; with
    `exclude_known` neither are its known partners."""
    index = fitted_index(session, cache, encoder)
    assert encoder is not None
    if filters.max_distance_km is not None and filters.origin is None:
        raise Invalid(
            N_("max_distance_km needs an origin (latitude and longitude) in a free-text search."),
            errors=[{"field": "origin", "message": N_("required with max_distance_km")}],
        )
    filters = _hide_from_caller(session, index, user, filters)
    # the same search without its place: where to look when nobody in the place offers it
    place_bound = bool(filters.countries) or filters.max_distance_km is not None
    anywhere = replace(filters, countries=frozenset(), max_distance_km=None, origin=None)
    filters = distance_by_disclosure(session, user=user, index=index, filters=filters)
    own = _caller_organization(user)
    if own is not None:
        left_out = {own}
        query = index.profiles.get(own)
        if exclude_known and query is not None:
            # only the relationships the caller may see: the difference with and without
            # would tell a hidden list otherwise
            visible = visible_relationships(session, user)
            if visible is None:
                left_out |= query.known_partner_ids
            else:
                left_out |= {b for a, b in visible if a == own}
                left_out |= {a for a, b in visible if b == own}
        filters = replace(filters, exclude_ids=filters.exclude_ids | left_out)
        anywhere = replace(anywhere, exclude_ids=anywhere.exclude_ids | left_out)
    vectors = np.asarray(encoder.encode(need_phrases), dtype=np.float32)
    matcher = index.matcher
    # unmeasured encoders: the matcher's fitted similarity floor (matching.relevance)
    floor = relevance_floor(encoder.name)
    if floor is None:
        floor = float(matcher.sim_floor_)
    firm = firm_floors(encoder.name)
    wordless = wordless_floors(encoder.name)
    among = candidate_filters(session, index, QueryVectors.of_search(vectors), filters)

    def ask(within: Filters, at_most: int, *, exclude_weak: bool = False) -> list[SearchMatch]:
        return matcher.search(
            vectors,
            need_phrases,
            filters=within,
            limit=at_most,
            relevance_floor=floor,
            exclude_weak=exclude_weak,
            firm_floors=firm,
            wordless_floors=wordless,
        )

    identities = _identities(index, encoder, vectors, need_phrases)
    # the firms the titles name most strongly, asked of the engine by id within the filters
    named = sorted(identities, key=lambda i: (-identities[i].cosine, i))[:IDENTITY_POOL]

    def ranked(
        narrowed: Filters, within: Filters, at_most: int, *, hide: bool
    ) -> list[SearchMatch]:
        """The best `at_most` by core and identity evidence; `hide`: no weak ones."""
        # Identity evidence only raises firms it names: beyond the engine's first `at_most`,
        # only they can enter the first `at_most`, so they are all that is asked for besides.
        found = ask(narrowed, at_most)
        if named:
            only = frozenset(named) - {m.target_id for m in found}
            if within.only_ids is not None:
                only &= within.only_ids
            if only:
                asked = ask(replace(within, only_ids=only), len(only))
                found += asked
                # the engine keeps only firms linked to the search by some core, description
                # or partner; one named by its titles alone is a result all the same
                bare = set(matcher.admitted(within, sorted(only))) - {m.target_id for m in asked}
                found += [
                    SearchMatch(target_id=i, score=0.0, relation="complementary", weak=True)
                    for i in sorted(bare)
                ]
        if hide and any(m.weak and m.target_id not in identities for m in found):
            # the next ones that are not weak, so that the page fills with relevant ones
            found += ask(narrowed, at_most, exclude_weak=True)
        best = _with_identity(found, identities, len(found))
        if hide:
            best = [m for m in best if not m.weak]
        return best[:at_most]

    matches = ranked(among, filters, limit, hide=False)
    weak_count = sum(m.weak for m in matches)
    if hide_weak and weak_count:
        matches = ranked(among, filters, limit, hide=True)
    items = shown(session, user=user, index=index, matches=matches, typed_need=True, lang=lang)
    outside: list[MatchOut] = []
    if place_bound and all(m.weak for m in matches):
        closest = ranked(anywhere, anywhere, OUTSIDE_LIMIT, hide=True)
        outside = shown(
            session, user=user, index=index, matches=closest, typed_need=True, lang=lang
        )
    seekers: list[MatchOut] = []
    if include_seekers:
        found = matcher.seekers(
            vectors,
            need_phrases,
            filters=filters,
            limit=limit,
            relevance_floor=floor,
            firm_floors=firm,
            wordless_floors=wordless,
        )
        seekers = shown(session, user=user, index=index, matches=found, typed_need=True, lang=lang)
    return SearchResult(
        items=items,
        weak_count=weak_count,
        relevance_floor=floor,
        seeking_the_same=seekers,
        closest_outside=outside,
        answer=search_answer(
            items, outside, place_bound=place_bound, weak_count=weak_count, lang=lang
        ),
    )


def _named(match: MatchOut, lang: Lang) -> str:
    """An organisation as the caller may see it: its name and city, or what is shown of it."""
    org = match.organization
    name = org.name or ("ein Unternehmen" if lang == "de" else "an organisation")
    where = org.city or org.region or org.country
    return f"{name}, {where}" if where else name


def search_answer(
    items: Sequence[MatchOut],
    outside: Sequence[MatchOut],
    *,
    place_bound: bool,
    lang: Lang,
    weak_count: int = 0,
) -> str:
    """The search's answer in one sentence: how many results offer what was asked, or that
    nobody (in the place asked for) does and where the closest fit is. `weak_count`: weak
    results found, also those `hide_weak` left out."""
    de = lang == "de"
    offering = sum(not m.weak for m in items)
    # a result may offer it by its line of business (its NACE title) rather than its cores
    by_line = any(
        not m.weak and any(r.direction == "what_they_are" for r in m.reasons) for m in items
    )
    if offering:
        # worded in the pages' catalogues, with the language's plural forms ("1 of 1 result
        # offers", "2 of 3 results offer")
        text = Formatter(lang)
        of_total = text.ngettext("of %(num)d result", "of %(num)d results", len(items))
        if by_line:
            return text.ngettext(
                "%(num)d %(of_total)s offers this according to its core competences or line "
                "of business.",
                "%(num)d %(of_total)s offer this according to their core competences or line "
                "of business.",
                offering,
                of_total=of_total,
            )
        return text.ngettext(
            "%(num)d %(of_total)s offers this according to its core competences.",
            "%(num)d %(of_total)s offer this according to their core competences.",
            offering,
            of_total=of_total,
        )
    if place_bound:
        head = (
            "Kein Unternehmen im gesuchten Gebiet bietet das an"
            if de
            else "No firm in the region you asked for offers this"
        )
        if outside:
            best = _named(outside[0], lang)
            tail = (
                f"; am nächsten kommt außerhalb {best}."
                if de
                else f"; the closest fit outside it is {best}."
            )
            return head + tail
        return head + ("; auch anderswo nicht." if de else ", nor does any firm elsewhere.")
    if not items and not weak_count:
        return "Kein Ergebnis." if de else "No results."
    if de:
        return (
            "Kein Unternehmen bietet das laut seinen Kernkompetenzen an; die Ergebnisse "
            "passen nur entfernt."
        )
    return "No firm offers this according to its core competences; the results are only loosely related."


def with_origin(filters: Filters, latitude: float | None, longitude: float | None) -> Filters:
    if latitude is None or longitude is None:
        return filters
    return replace(filters, origin=(latitude, longitude))


def parse_search(body: SearchRequest) -> tuple[list[str], Filters]:
    """The need phrases and filters of a free-text search; explicit filters beat place names."""
    phrases, filters, _places = parse_search_with_places(body)
    return phrases, filters


def parse_search_with_places(body: SearchRequest) -> tuple[list[str], Filters, tuple[str, ...]]:
    """parse_search, and the place names found in the text (the pages show them)."""
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
    places: tuple[str, ...] = ()
    if body.use_place_names:
        hint = parse_need(text)
        text, places = hint.need_text, hint.places
        filters = hint.apply(filters)
    # an explicit list ("a; b" or one need per line) is several needs; prose stays one
    phrases = [p.strip() for p in re.split(r"[;\n]+", text) if len(p.strip()) >= 2]
    return phrases or [body.text], filters, places


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
