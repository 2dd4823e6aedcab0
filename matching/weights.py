"""Every weight and threshold of the ranking, with its default, in one place.

The total score of a complementary match is the dot product of the component values (in
`Weights.component_names()` order, as returned by `Matcher.pair_features`) with
`Weights.vector()`, except `coopetition`, which only counts for competitors:

    score = sum(w_c * f_c for c != "coopetition")                      relation "complementary"
    score = competitor_factor * (that + coopetition * f_coopetition)   relation "competitor"

The defaults are set by reasoning about the components' scales, not fitted by a search; they
were revised once after looking at component values on benchmarks/labelled.py (recorded in
benchmarks/results/engine.md). The three weights that real cooperation data can set
(profile_similarity, network, activity) are the values `matching.learning.fit_weights` learned on
the history split of the CORDIS benchmark, novel-partner variant, multilingual encoder
(benchmarks/results/quality.md); the components that do not vary there keep their reasoned
values. `dataclasses.replace` or `Weights.from_vector` swaps in other learned values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

# Order of the columns of `Matcher.pair_features`. Kept stable: learned weights depend on it.
COMPONENTS: tuple[str, ...] = (
    "need_coverage",  # their core covers my needs (soft max per need, weighted mean over needs)
    "reciprocal_coverage",  # my core covers their needs
    "mutual",  # both directions combined so that one-sided ranks below two-sided
    "profile_similarity",  # calibrated cosine of the two profile vectors
    "core_overlap",  # core-core overlap, the competitor signal
    "cross_industry",  # need_coverage when the NACE divisions differ, else 0
    "shared_interests",  # Jaccard of cooperation interests
    "network",  # Adamic-Adar over known partners, squashed to [0, 1)
    "activity",  # log1p(degree) / log1p(highest degree) in the known-relationship graph
    "coopetition",  # weighted Jaccard of interests that suit cooperating competitors
    "proximity",  # personalised PageRank from the query over known relationships, max = 1
    "known_partner",  # 1 for a known customer, supplier or partner of the query, else 0
)


@dataclass(frozen=True)
class Weights:
    """Weights of the score components plus the parameters that shape the components."""

    # --- linear weights of the components (same names as COMPONENTS) ---
    need_coverage: float = 0.5  # the asker's own needs first
    reciprocal_coverage: float = 0.0
    mutual: float = 1.0
    profile_similarity: float = 0.13  # learned (CORDIS history)
    core_overlap: float = 0.0
    cross_industry: float = 0.1
    shared_interests: float = 0.05  # five coarse categories: a tie-breaker
    network: float = 0.203  # learned (CORDIS history)
    activity: float = 0.2  # validated on the CORDIS history split (through the import contract)
    coopetition: float = 0.3
    proximity: float = 1.0  # validated on the CORDIS history split (through the import contract)
    known_partner: float = 0.0

    # --- the relationship graph (network, activity, proximity, known_partner) ---
    # A query that states needs scales the graph weights by this: the weights above were
    # validated on CORDIS, whose profiles state no needs and whose texts say little, so the
    # graph decides there; where the caller says what it needs, the graph breaks ties.
    graph_with_needs: float = 0.2
    # network proximity (personalised PageRank, truncated)
    walk_restart: float = 0.15  # chance of jumping back to the query at each step
    walk_steps: int = 6  # steps of the walk that are summed (1 = direct partners only)
    # How much a known relationship weighs (the walk's step probabilities, the known_partner
    # grade, the summed strength behind activity): joint_projects ** tie_strength, halved
    # every tie_half_life years that its last_year lies before the newest last_year in the
    # graph (0: no decay). A relationship that states neither weighs 1, as before both existed.
    tie_strength: float = 1.0
    tie_half_life: float = 0.0
    # A positive outcome the service recorded between two organisations (an accepted
    # request, a meeting held, an agreement: `Filters.outcome_ties`) is a tie of the walk
    # (proximity) and of the shared partners (network) with this weight, added to a stated
    # tie's, aged by tie_half_life from the year of its latest positive step. It is never a
    # known partner and never shown; 0 switches outcome ties off.
    outcome_tie: float = 1.0

    # --- how needs count ---
    complementary_need: float = 1.0  # strategic needs weigh more ...
    peripheral_need: float = 0.5  # ... than supporting ones
    softmax_temperature: float = 0.1  # soft max over the other side's competences, per need
    # a typed search's words found in a core label count like this calibrated similarity
    # (IDF-weighted share of the need's words); only free-text searches use it
    lexical_match: float = 0.8
    # A need answered by the other side's description (not by a stated core competence)
    # counts with this factor; 0 looks at competences only. 1.0 since 2026-12-06: judged
    # searches nDCG@10 0.830 -> 0.846, labelled 0.675 -> 0.695, CORDIS history unchanged
    # (benchmarks/results/judged.md); chosen on those same sets.
    description_offer: float = 1.0

    # --- hub damping (cross-domain similarity local scaling, CSLS) ---
    # A competence or description near every stated need ("Bauausführung nach BIM-Modell")
    # would cover every search a little. Its cosine with a need is lowered by
    # hub_damping * (its mean cosine with its `hub_neighbours` nearest needs of the corpus
    # - the median of that over all competences); 0 switches it off. Only need -> offer
    # similarities are damped (need coverage of matches and typed searches), not the weak
    # flag (a raw cosine) and not profile or core overlap. 0.5 is the best of 0, 0.25, 0.5,
    # 0.75 and 1 on both the judged demo searches and the labelled benchmark, and leaves the
    # CORDIS history split unchanged (its profiles state no needs); see
    # benchmarks/results/ranking.md.
    hub_damping: float = 0.5
    hub_neighbours: int = 10

    # --- combining the two directions (RECON-like harmonic mean with a floor) ---
    one_sided_floor: float = 0.3  # mutual = (1 - f) * harmonic(a, b) + f * mean(a, b)
    missing_side_prior: float = 0.25  # coverage assumed for a side that states no needs

    # --- similarity calibration: c = clip((cos - floor) / (1 - floor), 0, 1) ---
    # floor = median + floor_spread * (median - 16th percentile) of cosines between random
    # rows of different profiles. The lower half of that distribution is made of unrelated
    # pairs in any realistic corpus, so the estimate does not depend on how many related
    # pairs the corpus holds (a plain upper quantile would).
    # floor_spread 1.0: German/English paraphrases score a mean cosine of 0.46 under the
    # multilingual encoder (benchmarks/results/engine.md); 2.5 spreads put the floor near 0.35
    # and silenced many of them.
    similarity_floor: float | None = None  # None: learned at fit from random competence pairs
    floor_spread: float = 1.0
    profile_floor: float | None = None  # None: learned at fit from random profile pairs
    profile_floor_spread: float = 1.0
    description_floor: float | None = None  # competence vs description; None: learned at fit
    fallback_floor: float = 0.25  # used when too few vectors are fitted to estimate a floor

    # --- competitors (matching.competitors) ---
    # A competitor has the same core in the same niche: the niche evidence (each side's core
    # competences against the other side's cores or description, in units of how close
    # unrelated firms get under the encoder: (cos - median) / (99th percentile - median) of
    # random pairs from different NACE divisions) reaches `competitor_niche`, and both sides
    # are in the same NACE division. 1.6 is the value `benchmarks.labelled.tune_competitor_rule`
    # fits on the tuning half of the labelled benchmark's competitor groups (the lowest
    # threshold whose precision there is at least 0.95) with the multilingual encoder
    # (MiniLM: 1.2, hashing: 2.7); the test half and the other encoders are reported in
    # benchmarks/results/labelled-api.md.
    competitor_niche: float = 1.6
    # Without a NACE division on either side the text alone must be stronger evidence (a
    # reasoned margin, not fitted: every firm of the labelled benchmark has a division).
    competitor_niche_no_nace: float = 2.4
    # (core median, core spread, description median, description spread) of random-pair
    # cosines, core against core and core against description; None: learned at fit (and
    # matching.competitors.FALLBACK_SCALE while too few vectors are fitted)
    niche_scale: tuple[float, float, float, float] | None = None
    competitor_factor: float = 0.5  # competitors' own scores: below complementary partners ...
    # ... but when competitors are included, the i-th competitor by niche evidence stands at
    # place coopetition_every * (i + 1) at the latest within the first coopetition_window
    # places, so that coopetition candidates reach the first page; 0 switches this off.
    coopetition_every: int = 3
    coopetition_window: int = 20
    coop_purchasing_sales: float = 1.0  # interest weights inside `coopetition`
    coop_training: float = 1.0
    coop_data_sharing: float = 1.0
    coop_competence_building: float = 1.0
    coop_product_development: float = 0.5

    # --- explanations ---
    max_reasons: int = 5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.outcome_tie) and self.outcome_tie >= 0):
            raise ValueError(f"outcome_tie must be a finite number >= 0, got {self.outcome_tie}")

    @staticmethod
    def component_names() -> tuple[str, ...]:
        """Names of the score components, in the column order of `Matcher.pair_features`."""
        return COMPONENTS

    def vector(self) -> np.ndarray:
        """(n_components,) float64 weights in `component_names()` order."""
        return np.array([getattr(self, name) for name in COMPONENTS], dtype=np.float64)

    def from_vector(self, values: np.ndarray) -> Weights:
        """A copy with the component weights replaced by `values` ((n_components,))."""
        if len(values) != len(COMPONENTS):
            raise ValueError(f"expected {len(COMPONENTS)} weights, got {len(values)}")
        changes: dict[str, Any] = {n: float(v) for n, v in zip(COMPONENTS, values, strict=True)}
        return replace(self, **changes)

    def components(self) -> dict[str, float]:
        """Component name -> weight, in `component_names()` order (for storing)."""
        return {name: float(getattr(self, name)) for name in COMPONENTS}

    def with_components(self, values: Mapping[str, object]) -> Weights:
        """A copy with the component weights that `values` names (numbers only) replaced;
        other names are ignored, so weights stored by an older version still load."""
        changes: dict[str, Any] = {
            name: float(v)
            for name, v in values.items()
            if name in COMPONENTS and isinstance(v, int | float) and not isinstance(v, bool)
        }
        return replace(self, **changes)

    def coopetition_interest_weights(self) -> dict[str, float]:
        """Weight of each cooperation interest inside the coopetition component."""
        return {
            "purchasing_sales": self.coop_purchasing_sales,
            "training": self.coop_training,
            "data_sharing": self.coop_data_sharing,
            "competence_building": self.coop_competence_building,
            "product_development": self.coop_product_development,
        }

    def need_weight(self, kind: str) -> float:
        """Weight of a need of this kind; 0 for core competences (they are offers, not needs)."""
        if kind == "complementary":
            return self.complementary_need
        if kind == "peripheral":
            return self.peripheral_need
        return 0.0
