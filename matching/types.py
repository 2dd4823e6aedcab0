"""Value types exchanged between the engine, the web service and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

CompetenceKind = Literal["core", "complementary", "peripheral"]
Relation = Literal["complementary", "competitor"]
ReasonDirection = Literal[
    "they_cover_my_need",
    "i_cover_their_need",
    "shared_core",
    "similar_profile",
    "shared_need",
    "what_they_are",
]

COOPERATION_INTERESTS: tuple[str, ...] = (
    "data_sharing",
    "product_development",
    "purchasing_sales",
    "competence_building",
    "training",
)


# What two competitors in the same niche can do together.
COOPETITION_KINDS: tuple[str, ...] = (
    "joint_purchasing_sales",
    "capacity_sharing",
    "joint_bids",
    "training_alliance",
)


def coopetition_kinds(shared_interests: frozenset[str] | set[str]) -> tuple[str, ...]:
    """The coopetition kinds for two competitors with these shared cooperation interests:
    the ones their interests ask for first, then capacity sharing and joint bids, which any
    two firms with the same core can offer each other."""
    wanted = []
    if "purchasing_sales" in shared_interests:
        wanted.append("joint_purchasing_sales")
    if shared_interests & {"training", "competence_building"}:
        wanted.append("training_alliance")
    return (*wanted, "capacity_sharing", "joint_bids")


@dataclass(frozen=True, slots=True)
class CompetenceVec:
    """One competence with its stored embedding; `vector` is (d,) float32 with unit norm."""

    id: int
    kind: CompetenceKind
    label: str
    vector: np.ndarray


@dataclass(frozen=True, slots=True)
class ProfileVec:
    """An organisation as the engine sees it: metadata plus stored vectors.

    `profile_vector` is the (d,) unit vector of name + description (+ labels), None without text.
    `nace_code` is NACE Rev. 2.1 without the section letter ("26.51", "26.5", "26") or None.
    """

    id: int
    name: str
    nace_code: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    employees: int | None
    cooperation_interests: frozenset[str]
    competences: tuple[CompetenceVec, ...]
    profile_vector: np.ndarray | None
    known_partner_ids: frozenset[int] = frozenset()
    exclude_from_competitors: bool = False
    # what the organisation states about a known partner: partner id -> (joint_projects,
    # last_year), either None when not stated; a partner left out counts as one cooperation
    # of unknown date (matching.weights: tie_strength, tie_half_life)
    partner_ties: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions on the returned candidates; every default lets everything through."""

    countries: frozenset[str] = frozenset()
    max_distance_km: float | None = None
    origin: tuple[float, float] | None = None
    nace_include: tuple[str, ...] = ()
    nace_exclude: tuple[str, ...] = ()
    min_employees: int | None = None
    max_employees: int | None = None
    cooperation_interests: frozenset[str] = frozenset()
    include_competitors: bool = True
    exclude_known: bool = True
    exclude_ids: frozenset[int] = frozenset()
    # when given, only these may be returned (the score of one pair ranks one candidate)
    only_ids: frozenset[int] | None = None
    # False: the known-relationship graph takes no part (no graph components, no graph evidence
    # that keeps a candidate), for callers who may not see the relationships it is made of
    use_graph: bool = True
    # the known relationships the graph components and exclude_known may use, as (stating
    # organisation, named organisation) pairs; None: every one. A caller who may see only
    # some organisations' relationships gets a graph of those alone.
    visible_relationships: frozenset[tuple[int, int]] | None = None
    # positive outcomes the service recorded (an accepted request, a meeting held, an
    # agreement) as (smaller id, larger id, year of the pair's latest positive step): ties of
    # the proximity walk and the shared partners, weighed by `Weights.outcome_tie`, added to
    # the graph above. Never known partners: exclude_known and known_partner ignore them.
    outcome_ties: frozenset[tuple[int, int, int]] = frozenset()
    # When given, `activity` (a candidate's summed tie strength: a count that names nobody)
    # is computed over the stated relationships above (every one, or the visible ones) plus
    # these outcome ties (each adding `Weights.outcome_tie`), whatever outcome ties the walk
    # and the shared partners may use; None: outcome ties not counted in activity.
    activity_ties: frozenset[tuple[int, int, int]] | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    """One pair of competences (or profiles) that made a match, with its cosine similarity."""

    direction: ReasonDirection
    query_competence_id: int | None
    query_label: str | None
    target_competence_id: int | None
    target_label: str | None
    need_kind: CompetenceKind | None
    similarity: float


@dataclass(frozen=True, slots=True)
class Match:
    """A ranked candidate: total score, relation, named components and readable reasons."""

    target_id: int
    score: float
    relation: Relation
    components: dict[str, float] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()
    shared_interests: tuple[str, ...] = ()
    # competitors only: the kinds of coopetition that fit (see COOPETITION_KINDS)
    cooperation_kinds: tuple[str, ...] = ()
