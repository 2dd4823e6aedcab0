"""Learn the component weights of the score from labelled pairs.

A row of `Matcher.pair_features` holds the raw score components of one (query, candidate) pair;
the label says whether the two cooperated. A logistic regression on those rows (or on differences
of rows of the same query) gives one weight per component; since the score is a dot product of
the same components, the regression's coefficients can be used as the weights directly (an
intercept does not change a ranking).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sklearn.linear_model import LogisticRegression

from matching.types import Filters, ProfileVec
from matching.weights import COMPONENTS, Weights

if TYPE_CHECKING:
    from matching.engine import Matcher


def fit_weights(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    base: Weights | None = None,
    c: float = 1.0,
    nonnegative: bool = True,
    negatives_per_positive: int = 30,
    seed: int = 0,
) -> Weights:
    """Weights fitted by a logistic regression on labelled pairs.

    features: (n_pairs, n_components) raw components in `Weights.component_names()` order.
    labels: (n_pairs,) 1 for a pair that cooperated, 0 otherwise; both classes must occur.
    groups: (n_pairs,) optional query id of each pair. Without it every pair is one sample
        (pointwise). With it the regression sees differences "positive minus negative of the
        same query" (pairwise, as in RankNet/RankSVM): only the order within a query counts,
        which is what a ranking needs; up to `negatives_per_positive` negatives are drawn per
        positive with `seed`.
    base: the weights to start from (default `Weights()`); everything that is not a linear
        component weight is copied from it, and so is the weight of every component that is
        constant in `features` (the data says nothing about it, e.g. cooperation interests that
        the training data does not record).
    c: inverse L2 regularisation strength, on standardised components.
    nonnegative: drop components whose coefficient comes out negative and refit, so that every
        learned weight is >= 0 (a component then only ever raises a score, as the engine assumes
        for its explanations).

    The learned weights are rescaled so that their absolute sum equals the absolute sum of the
    base weights of the same components: the ranking is unchanged, and components kept from
    `base` (such as `coopetition`) stay on a comparable scale.
    """
    base = base or Weights()
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    names = Weights.component_names()
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError(f"features must be (n_pairs, {len(names)}), got {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must be ({x.shape[0]},), got {y.shape}")
    if set(np.unique(y).tolist()) != {0, 1}:
        raise ValueError("labels must contain both 0 and 1")
    if groups is not None:
        x, y = _pair_differences(x, y, np.asarray(groups), negatives_per_positive, seed)

    std = x.std(axis=0)
    learnable = np.flatnonzero(std > 0)
    active = learnable.copy()
    coef = np.zeros(len(names))
    while active.size:
        # Standardising lets one regularisation strength treat every component alike;
        # dividing by the scale afterwards gives weights on the raw components again.
        z = x[:, active] / std[active]
        if groups is None:
            z = z - z.mean(axis=0)
        model = LogisticRegression(
            C=c, class_weight="balanced", max_iter=1000, fit_intercept=groups is None
        )
        model.fit(z, y)
        raw = model.coef_[0] / std[active]
        if not nonnegative or (raw >= 0).all():
            coef[active] = raw
            break
        # Drop only the most negative component: the others may turn positive without it.
        active = np.delete(active, int(np.argmin(raw)))

    weights = base.vector()
    target = float(np.abs(weights[learnable]).sum()) or 1.0
    total = float(np.abs(coef[learnable]).sum())
    weights[learnable] = coef[learnable] * (target / total) if total > 0 else 0.0
    return base.from_vector(weights)


def _pair_differences(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, per_positive: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(2m, n_components) differences positive - negative and their negations, labels 1 / 0.

    Symmetric samples make the problem balanced and let the model go without an intercept.
    """
    if groups.shape != y.shape:
        raise ValueError(f"groups must be ({len(y)},), got {groups.shape}")
    rng = np.random.default_rng(seed)
    diffs = []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        pos, neg = idx[y[idx] == 1], idx[y[idx] == 0]
        if not len(pos) or not len(neg):
            continue  # a query without both kinds says nothing about order
        for p in pos:
            drawn = rng.choice(neg, size=min(per_positive, len(neg)), replace=False)
            diffs.append(x[p] - x[drawn])
    if not diffs:
        raise ValueError("no group has both a positive and a negative pair")
    d = np.vstack(diffs)
    return np.vstack([d, -d]), np.concatenate([np.ones(len(d), int), np.zeros(len(d), int)])


# ------------------------------------------------------------------ learning from outcomes


def ndcg_by_group(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, k: int = 10) -> float:
    """Mean nDCG@k over the groups (queries) that hold a positive and a negative pair.

    scores, labels, groups: (n_pairs,). Ties are broken against the positives (a pessimistic
    order), so that a weight vector that scores everything alike earns nothing.
    Returns nan when no group qualifies.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    g = np.asarray(groups)
    values = []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for key in np.unique(g):
        idx = np.flatnonzero(g == key)
        rel = y[idx]
        if rel.min() == rel.max():
            continue
        order = np.lexsort((rel, -s[idx]))[:k]  # equal scores: negatives first
        dcg = float((rel[order] * discounts[: len(order)]).sum())
        ideal = float(discounts[: min(int(rel.sum()), k)].sum())
        values.append(dcg / ideal)
    return float(np.mean(values)) if values else float("nan")


def linear_scores(features: np.ndarray, weights: Weights) -> np.ndarray:
    """(n_pairs,) the score of a complementary match: features @ weights without coopetition."""
    vec = weights.vector()
    vec[COMPONENTS.index("coopetition")] = 0.0
    return np.asarray(features, dtype=np.float64) @ vec


@dataclass(frozen=True)
class RefitReport:
    """What a refit saw and decided. `weights` is what the engine should use: the fitted
    weights when `adopted`, else `base`."""

    adopted: bool
    reason: str
    weights: Weights
    fitted: Weights | None  # the candidate weights, adopted or not (None: not fitted)
    pairs: int
    positives: int
    queries: int
    holdout_queries: int = 0
    holdout_base: float | None = None  # mean nDCG@10 of the held-out queries, base weights
    holdout_fitted: float | None = None  # ... fitted weights
    holdout_defaults: float | None = None  # ... built-in defaults (when base is not them)


def refit_weights(
    features: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    *,
    base: Weights | None = None,
    min_positives: int = 50,
    min_queries: int = 20,
    holdout: float = 0.3,
    min_gain: float = 0.01,
    seed: int = 0,
    defaults: Weights | None = None,
) -> RefitReport:
    """Fit the component weights on outcomes and keep them only if they rank held-out
    queries better than `base` does.

    features: (n_pairs, n_components) components of (query, candidate) pairs, in
        `Weights.component_names()` order; labels: (n_pairs,) 1 accepted / agreed / met,
        0 declined / no fit / suggested but not chosen; groups: (n_pairs,) query ids.
    The queries (not the pairs) are split: `holdout` of the queries that have a positive and a
    negative pair are held out, the weights are fitted pairwise (`fit_weights` with groups) on
    the rest and blended with `base` (the share of the fit, one of `BLENDS`, is chosen on a
    quarter of the training queries, fitted on the other three quarters), and both weight
    vectors rank the held-out pairs (`ndcg_by_group`). The fit is
    adopted when its nDCG@10 beats the base's by at least `min_gain`. When `base` is an
    earlier fit, the built-in `defaults` (default `Weights()`) compete too: if they beat the
    base by `min_gain` and the fit does not beat them, the report goes back to them (an
    earlier fit that newer outcomes no longer support is dropped). Below `min_positives`
    positive pairs or `min_queries` usable queries nothing is fitted and `base` is kept.
    """
    base = base or Weights()
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    g = np.asarray(groups)
    if x.ndim != 2 or x.shape[1] != len(COMPONENTS) or y.shape != (len(x),) or g.shape != y.shape:
        raise ValueError(
            f"need features (n, {len(COMPONENTS)}), labels (n,) and groups (n,); got "
            f"{x.shape}, {y.shape}, {g.shape}"
        )
    usable = np.array([key for key in np.unique(g) if 0 < y[g == key].sum() < (g == key).sum()])
    counts = dict(pairs=len(y), positives=int(y.sum()), queries=len(usable))
    if counts["positives"] < min_positives or len(usable) < min_queries:
        return RefitReport(
            adopted=False,
            reason=(
                f"too little data: {counts['positives']} positive pairs (at least "
                f"{min_positives}) in {len(usable)} usable queries (at least {min_queries})"
            ),
            weights=base,
            fitted=None,
            **counts,
        )
    rng = np.random.default_rng(seed)
    held = rng.choice(usable, size=max(1, round(holdout * len(usable))), replace=False)
    test = np.isin(g, held)
    train = np.isin(g, usable) & ~test
    fitted = _fit_and_blend(x, y, g, train, base, seed)
    before = ndcg_by_group(linear_scores(x[test], base), y[test], g[test])
    after = ndcg_by_group(linear_scores(x[test], fitted), y[test], g[test])
    defaults = defaults or Weights()
    plain: float | None = None
    if defaults != base:
        plain = ndcg_by_group(linear_scores(x[test], defaults), y[test], g[test])
    reason = (
        f"held-out nDCG@10 {after:.3f} with the fit against {before:.3f} with the current "
        f"weights on {len(held)} queries"
    )
    chosen = base
    if after >= before + min_gain and (plain is None or after >= plain):
        chosen, reason = fitted, f"{reason}: better (needed a gain of {min_gain})"
    elif plain is not None and plain >= before + min_gain:
        chosen = defaults
        reason = f"{reason} and {plain:.3f} with the defaults: back to the defaults"
    else:
        reason = f"{reason}: not better enough (needed a gain of {min_gain})"
    return RefitReport(
        adopted=chosen is not base,
        reason=reason,
        weights=chosen,
        fitted=fitted,
        holdout_queries=len(held),
        holdout_base=before,
        holdout_fitted=after,
        holdout_defaults=plain,
        **counts,
    )


# shares of the fitted weights tried against the base (1.0: the fit alone)
BLENDS = (0.25, 0.5, 0.75, 1.0)


def _blend(base: Weights, fitted: Weights, share: float) -> Weights:
    return base.from_vector((1 - share) * base.vector() + share * fitted.vector())


def _fit_and_blend(
    x: np.ndarray, y: np.ndarray, g: np.ndarray, train: np.ndarray, base: Weights, seed: int
) -> Weights:
    """Fit on the `train` rows; the share of the fit against `base` is chosen on an inner
    split of the training queries (a small outcome set can say a little, not everything)."""
    groups = np.unique(g[train])
    rng = np.random.default_rng(seed + 1)
    inner = rng.choice(groups, size=max(1, len(groups) // 4), replace=False)
    val = train & np.isin(g, inner)
    fit = train & ~val
    share = 1.0
    if fit.any() and 0 < y[fit].sum() < fit.sum():
        trial = fit_weights(x[fit], y[fit], groups=g[fit], base=base, seed=seed)
        scores = [
            ndcg_by_group(linear_scores(x[val], _blend(base, trial, a)), y[val], g[val])
            for a in BLENDS
        ]
        if not np.isnan(scores).all():
            share = BLENDS[int(np.nanargmax(scores))]
    return _blend(
        base, fit_weights(x[train], y[train], groups=g[train], base=base, seed=seed), share
    )


def outcome_pairs(
    matcher: Matcher,
    outcomes: Sequence[tuple[int, int, int]],
    *,
    implicit_negatives: int = 10,
    random_negatives: int = 20,
    queries: Mapping[int, ProfileVec] | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labelled pairs for `refit_weights` from what happened to the suggestions.

    outcomes: (asking organisation id, other organisation id, label) in time order, label 1
        for a request accepted or a meeting or agreement, 0 for a decline or "no fit"; a later
        outcome of the same pair replaces an earlier one.
    For every asking organisation, its `implicit_negatives` best suggestions that it did not
    act on become negatives too (suggested, not chosen), and `random_negatives` other
    candidates drawn with `seed`, so that a query whose requests were all accepted still says
    something about order. Both kinds are needed: against the best suggestions alone, the
    chosen partners score lower on every component the ranking already uses (they were
    picked by that ranking), and a fit would learn to turn the ranking off. Pairs with a known partner
    of the asking organisation are left out: match lists leave known partners out by default,
    and the graph components of such a pair describe the partnership, not the suggestion.
    queries: profiles of asking organisations that are not fitted (private profiles ask but
        are never suggested); fitted ones are taken from `matcher`.

    Returns (features (n, n_components), labels (n,), groups (n,) asking organisation ids).
    """
    rng = np.random.default_rng(seed)
    latest: dict[int, dict[int, int]] = {}
    for asking, other, label in outcomes:
        latest.setdefault(asking, {})[other] = int(label)
    rows: list[np.ndarray] = []
    labels: list[int] = []
    groups: list[int] = []
    for asking in sorted(latest):
        row = matcher.row_of_id_.get(asking)
        alive = getattr(matcher, "alive_", None)
        if row is not None and (alive is None or alive[row]):
            query = matcher.profiles_[row]
        elif queries is not None and asking in queries:
            query = queries[asking]
        else:
            continue
        known = set(query.known_partner_ids) | set(matcher.adjacency_.get(asking, ()))
        labelled = {
            o: lab
            for o, lab in latest[asking].items()
            if o in matcher.row_of_id_ and o not in known and o != asking
        }
        if not labelled:
            continue
        suggested = matcher.match(
            query,
            filters=Filters(exclude_known=True, include_competitors=True),
            limit=implicit_negatives + len(labelled),
        )
        implicit = [m.target_id for m in suggested if m.target_id not in labelled]
        implicit = implicit[:implicit_negatives]
        taken = set(labelled) | set(implicit) | known | {asking}
        pool = [
            p.id
            for r, p in enumerate(matcher.profiles_)
            if p.id not in taken and (alive is None or alive[r])
        ]
        drawn = rng.choice(len(pool), size=min(random_negatives, len(pool)), replace=False)
        ids = sorted(labelled) + implicit + sorted(pool[i] for i in drawn)
        rows.append(matcher.pair_features(query, ids))
        labels += [labelled[o] for o in sorted(labelled)] + [0] * len(ids[len(labelled) :])
        groups += [asking] * len(ids)
    if not rows:
        return np.zeros((0, len(COMPONENTS))), np.zeros(0, int), np.zeros(0, int)
    return np.vstack(rows), np.array(labels, dtype=int), np.array(groups, dtype=np.int64)
