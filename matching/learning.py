"""Learn the component weights of the score from labelled pairs.

A row of `Matcher.pair_features` holds the raw score components of one (query, candidate) pair;
the label says whether the two cooperated. A logistic regression on those rows (or on differences
of rows of the same query) gives one weight per component; since the score is a dot product of
the same components, the regression's coefficients can be used as the weights directly (an
intercept does not change a ranking).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from matching.weights import Weights


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
