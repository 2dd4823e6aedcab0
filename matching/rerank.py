"""A learned second stage: re-rank the engine's best candidates with a model fitted on outcomes.

The engine ranks by a weighted sum of its components (`matching.weights`). A hub's own outcomes
(requests accepted or declined, meetings held, agreements) say which suggestions were worth
acting on. A model over the components of the engine's top `top_n` candidates, the engine's
score and rank, and what the outcomes before the list say about each candidate
(`matching.outcomes`) learns which suggestions are acted on: by default a strongly
regularised pairwise logistic regression (one weight per feature); gradient-boosted trees on
request. The engine's components alone hold nothing its order does not already use (fitted on
them, trees learned the year they were fitted in); the outcome features are what only an
installation has.

What a `Match` carries (`Match.components`, `Match.score`, the position) and counts from the
outcomes are used, and only to order the list: nothing new is shown (see
`matching.outcomes` for which outcomes a list may use).

Training rows come from match lists: for each asking organisation, the candidates of its
engine list (the engine's top `top_n`, known partners left out) it acted on carry the outcome's
label, the others are negatives (suggested, not acted on): hard negatives, the ones a re-ranker
has to tell apart. Known partners keep their places in a re-ranked list (`Reranker.rerank`).
The check is by time: the asking organisations whose latest outcome is newest are held out,
the model is fitted on the others, and both orders (engine, engine + model) rank the held-out
lists; the model is adopted only if it is better by a margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import sklearn
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from matching.learning import ndcg_by_group
from matching.outcomes import OUTCOME_FEATURES, OutcomeHistory
from matching.types import Match
from matching.weights import COMPONENTS

ENGINE_FEATURES: tuple[str, ...] = (
    *COMPONENTS,
    "engine_score",
    "engine_rank",
    "engine_score_gap",
)
# columns of `list_features`: the components, the engine's own view of the pair, then what
# the installation's outcomes before the list say about it (`matching.outcomes`)
FEATURES: tuple[str, ...] = (*ENGINE_FEATURES, *OUTCOME_FEATURES)

FORMAT_VERSION = 3

# the models a re-ranker may hold: "linear", a pairwise logistic regression (one weight per
# feature, strongly regularised), and "trees", gradient-boosted trees (interactions, many more
# parameters). A refit tries the linear model only unless asked: on CORDIS consortia played
# in year by year, trees fitted on one year ranked the next year's lists worse than the engine
# (benchmarks/results/ranking-learned.md), the linear model on outcome features better.
KINDS: tuple[str, ...] = ("linear", "trees")
DEFAULT_KINDS: tuple[str, ...] = ("linear",)

# what a stored re-ranker may contain beyond skops' own safe types: the gradient-boosted trees.
# Anything else in a stored blob (a crafted row in `ranking_fits`) is refused, never loaded:
# skops reads objects without running code from the blob, unlike pickle.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)

Model: TypeAlias = HistGradientBoostingClassifier | Pipeline


def list_features(matches: Sequence[Match], outcomes: np.ndarray | None = None) -> np.ndarray:
    """(len(matches), len(FEATURES)) for one ranked list, best first.

    engine_rank is log2(position + 1) (position 1 first); engine_score_gap is the score minus
    the list's best score (a list-relative score: scores of different queries differ in scale).
    outcomes: (len(matches), len(OUTCOME_FEATURES)) from `OutcomeHistory.features` (zeros
    without).
    """
    out = np.zeros((len(matches), len(FEATURES)))
    if not matches:
        return out
    if outcomes is not None:
        out[:, len(ENGINE_FEATURES) :] = outcomes
    best = matches[0].score
    for k, m in enumerate(matches):
        out[k, : len(COMPONENTS)] = [m.components.get(c, 0.0) for c in COMPONENTS]
        out[k, len(COMPONENTS)] = m.score
        out[k, len(COMPONENTS) + 1] = math.log2(k + 2)
        out[k, len(COMPONENTS) + 2] = m.score - best
    return out


@dataclass
class Reranker:
    """A fitted second stage: re-orders the first `top_n` matches of a list by `blend` x the
    model's log-odds plus (1 - `blend`) x the engine's order (a rank prior), the rest stays."""

    model: Model
    top_n: int = 100
    blend: float = 1.0
    features: tuple[str, ...] = field(default=FEATURES)
    # known partners keep their places (a model fitted on lists without them)
    keep_known: bool = True

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(n,) re-ranking scores of the rows of one list (higher first)."""
        if not len(x):
            return np.zeros(0)
        learned = np.clip(np.asarray(self.model.decision_function(x), dtype=np.float64), -30, 30)
        prior = -np.log2(np.arange(2, len(x) + 2))  # the engine's order, as a score
        return self.blend * learned + (1 - self.blend) * prior * 4.0

    def rerank(
        self,
        matches: Sequence[Match],
        history: OutcomeHistory | None = None,
        asking: int | None = None,
        *,
        own: bool = True,
    ) -> list[Match]:
        """The same matches, the first `top_n` re-ordered (stable among equal scores).

        history, asking: the installation's outcomes and the asking organisation, for the
        outcome features (all zero without); own: see `OutcomeHistory.features`.

        Known partners (a list asked with known partners included) keep their places: the
        model is fitted on suggestions that were not known partners when it was fitted (a
        relationship may have been recorded because of the very outcome it would explain),
        so it says nothing about them; the others are re-ordered among the remaining places."""
        head, tail = list(matches[: self.top_n]), list(matches[self.top_n :])
        known = np.array(
            [self.keep_known and m.components.get("known_partner", 0.0) > 0 for m in head],
            dtype=bool,
        )
        movable = np.flatnonzero(~known)
        if len(movable) < 2:
            return [*head, *tail]
        outcomes = (
            history.features(asking, [m.target_id for m in head], own=own)
            if history is not None and asking is not None
            else None
        )
        x = list_features(head, outcomes)
        s = self.scores(x[movable])
        order = movable[np.argsort(-s, kind="stable")]
        out = list(head)
        for slot, k in zip(movable, order, strict=True):
            out[slot] = head[k]
        return out + tail

    def dumps(self) -> bytes:
        """Serialised for storage with skops (no code runs when it is read back by `loads`)."""
        return skops.io.dumps(
            {
                "format": FORMAT_VERSION,
                "sklearn": sklearn.__version__,
                "features": list(self.features),
                "top_n": self.top_n,
                "blend": self.blend,
                "keep_known": self.keep_known,
                "model": self.model,
            }
        )

    @classmethod
    def loads(cls, blob: bytes) -> Reranker | None:
        """The stored re-ranker, or None when the blob is not one this version wrote: another
        format (an older pickle), other features, another version of scikit-learn (an upgrade),
        or a type outside `TRUSTED_TYPES`. The engine's own order is used then until the next
        refit."""
        try:
            untrusted = skops.io.get_untrusted_types(data=blob)
            if not set(untrusted) <= set(TRUSTED_TYPES):
                return None
            data = skops.io.loads(blob, trusted=list(untrusted))
        except Exception:
            return None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT_VERSION
            or data.get("sklearn") != sklearn.__version__
            or tuple(data.get("features", ())) != FEATURES
            or not isinstance(data.get("model"), HistGradientBoostingClassifier | Pipeline)
        ):
            return None
        return cls(
            model=data["model"],
            top_n=int(data["top_n"]),
            blend=float(data["blend"]),
            keep_known=bool(data.get("keep_known", True)),
        )


def training_rows(
    lists: Sequence[tuple[int, Sequence[Match]]],
    labels: Sequence[dict[int, int]],
    outcomes: Sequence[np.ndarray | None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows for `fit_reranker` from engine lists and their outcomes.

    lists: (query id, the engine's list for it, best first); labels: per list, the outcome of
    each candidate the asking organisation acted on (1 accepted / agreed / met, 0 declined).
    Every other candidate of the list is a negative (suggested, not acted on). Lists without a
    positive among their candidates are left out (they say nothing about order).
    outcomes: per list, its outcome features (`OutcomeHistory.features` with the steps before
    the list's outcomes: a row never describes the outcome it is labelled with).
    Returns (features, labels, groups), groups = the position of the list in `lists`.
    """
    xs, ys, gs = [], [], []
    for k, ((_, matches), known) in enumerate(zip(lists, labels, strict=True)):
        y = np.array([known.get(m.target_id, 0) for m in matches], dtype=int)
        if not y.any():
            continue
        xs.append(list_features(matches, None if outcomes is None else outcomes[k]))
        ys.append(y)
        gs.append(np.full(len(y), k, dtype=np.int64))
    if not xs:
        return np.zeros((0, len(FEATURES))), np.zeros(0, int), np.zeros(0, np.int64)
    return np.vstack(xs), np.concatenate(ys), np.concatenate(gs)


def training_pairs(
    lists: Sequence[tuple[int, Sequence[Match]]],
    labels: Sequence[dict[int, int]],
) -> np.ndarray:
    """(n, 2) (asking id, candidate id) of each row of `training_rows(lists, labels)`, in
    the same order: the held-out check of `fit_reranker` needs to know which rows describe
    the same two organisations."""
    out = [
        (asking, m.target_id)
        for (asking, matches), known in zip(lists, labels, strict=True)
        if any(known.get(m.target_id, 0) for m in matches)
        for m in matches
    ]
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def ndcg_per_group(
    scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, k: int = 10
) -> np.ndarray:
    """nDCG@k of each group with a positive and a negative, in the order of `np.unique`
    (`matching.learning.ndcg_by_group` is their mean)."""
    keys = [
        key for key in np.unique(groups) if 0 < labels[groups == key].sum() < (groups == key).sum()
    ]
    return np.array(
        [
            ndcg_by_group(scores[groups == key], labels[groups == key], groups[groups == key], k)
            for key in keys
        ]
    )


def new_linear() -> Pipeline:
    """A pairwise logistic regression on standardised features, strongly regularised; fitted
    on differences of rows of one list (`pairwise`), its decision function orders a list."""
    return Pipeline(
        [
            ("scale", StandardScaler(with_mean=False)),
            ("model", LogisticRegression(C=0.01, fit_intercept=False, max_iter=1000)),
        ]
    )


def pairwise(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, per_positive: int = 30, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Differences positive minus negative of one list (up to `per_positive` negatives drawn
    per positive) and their negations, labels 1 / 0."""
    rng = np.random.default_rng(seed)
    diffs = []
    for key in np.unique(groups):
        idx = np.flatnonzero(groups == key)
        pos, neg = idx[y[idx] == 1], idx[y[idx] == 0]
        if not len(pos) or not len(neg):
            continue
        for p in pos:
            drawn = rng.choice(neg, size=min(per_positive, len(neg)), replace=False)
            diffs.append(x[p] - x[drawn])
    if not diffs:
        return np.zeros((0, x.shape[1])), np.zeros(0, int)
    d = np.vstack(diffs)
    return np.vstack([d, -d]), np.concatenate([np.ones(len(d), int), np.zeros(len(d), int)])


def fit_model(kind: str, x: np.ndarray, y: np.ndarray, g: np.ndarray, seed: int = 0) -> Model:
    """A fitted model of `kind` (see `KINDS`) on the rows of the lists `g`."""
    if kind == "linear":
        d, dy = pairwise(x, y, g, seed=seed)
        return new_linear().fit(d, dy)
    return new_model(len(y), seed).fit(x, y)


def new_model(rows: int, seed: int = 0) -> HistGradientBoostingClassifier:
    """Small and regularised: a hub's outcomes are a few thousand rows at most. A leaf holds
    at least 2% of the `rows` (5 to 40)."""
    return HistGradientBoostingClassifier(
        max_iter=150,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=max(5, min(40, rows // 50)),
        l2_regularization=1.0,
        random_state=seed,
    )


@dataclass(frozen=True)
class RerankReport:
    """What a re-ranker fit saw and decided; `reranker` is set when it is adopted."""

    adopted: bool
    reason: str
    reranker: Reranker | None
    pairs: int
    positives: int
    queries: int
    holdout_queries: int = 0
    holdout_engine: float | None = None  # held-out nDCG@10 of the engine's order
    holdout_fitted: float | None = None  # ... of the re-ranked order


# shares of the model against the engine's order, chosen on the training lists' inner split
BLENDS = (0.25, 0.5, 1.0)


def fit_reranker(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    times: np.ndarray,
    *,
    current: Reranker | None = None,
    top_n: int = 100,
    keep_known: bool = True,
    min_positives: int = 50,
    min_queries: int = 20,
    holdout: float = 0.3,
    min_gain: float = 0.01,
    seed: int = 0,
    pairs: np.ndarray | None = None,
    kinds: Sequence[str] = DEFAULT_KINDS,
) -> RerankReport:
    """Fit a re-ranker on `training_rows` and keep it only if it ranks the newest lists better.

    times: (n,) a sortable time per row (the time of the asking organisation's latest
    outcome); the `holdout` share of the lists with the newest times is held out. The blend
    with the engine's order is chosen on the last quarter (by time) of the training lists; the
    adopted model is then fitted again on all lists.

    pairs: (n, 2) (asking id, candidate id) per row (`training_pairs`). Given, a row whose two
    organisations form a positive of a held-out list (either direction) is left out of the
    fit: one cooperation is often recorded from both sides (A asked B, B accepted; a
    consortium's members all ask each other), and a model fitted on (A, B) scores (B, A)
    well by what it saw, not by what it learned, so the check would reward memory.

    kinds: the kinds of model tried (`KINDS`); the one that ranks the inner split best is
    checked on the held-out lists.

    current: the re-ranker in use, if any. The fit is adopted when it beats the engine's order
    and `current` by `min_gain`; otherwise, when `current` ranks the held-out
    lists worse than the engine's order, the report is adopted without a re-ranker (back to the
    engine); else nothing changes.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y).astype(int)
    g = np.asarray(groups)
    t = np.asarray(times)
    if x.ndim != 2 or x.shape[1] != len(FEATURES) or not (len(x) == len(y) == len(g) == len(t)):
        raise ValueError(f"need features (n, {len(FEATURES)}) and labels, groups, times (n,)")
    usable = [key for key in np.unique(g) if 0 < y[g == key].sum() < (g == key).sum()]
    counts = dict(pairs=len(y), positives=int(y.sum()), queries=len(usable))
    if counts["positives"] < min_positives or len(usable) < min_queries:
        return RerankReport(
            adopted=False,
            reason=(
                f"too little data: {counts['positives']} positive pairs (at least "
                f"{min_positives}) in {len(usable)} usable lists (at least {min_queries})"
            ),
            reranker=None,
            **counts,
        )
    by_time = sorted(usable, key=lambda key: (t[g == key].max(), key))
    n_held = max(1, round(holdout * len(by_time)))
    held, train_keys = by_time[-n_held:], by_time[:-n_held]
    test, train = np.isin(g, held), np.isin(g, train_keys)
    n_val = max(1, len(train_keys) // 4)
    val, fit = np.isin(g, train_keys[-n_val:]), np.isin(g, train_keys[:-n_val])
    if pairs is not None:
        pairs = np.asarray(pairs, dtype=np.int64).reshape(len(y), 2)
        told = {frozenset(p) for p in pairs[test & (y == 1)].tolist()}
        seen = np.array([frozenset(p) in told for p in pairs.tolist()], dtype=bool)
        train &= ~seen
        fit &= ~seen
        if not 0 < y[train].sum() < train.sum():
            return RerankReport(
                adopted=False,
                reason=(
                    "nothing to learn from: every positive of the training lists is a "
                    "cooperation the held-out lists also record"
                ),
                reranker=None,
                holdout_queries=len(held),
                **counts,
            )

    def engine(rows: np.ndarray) -> np.ndarray:
        return ndcg_per_group(-x[rows, FEATURES.index("engine_rank")], y[rows], g[rows])

    def learned_per_list(model: Reranker, rows: np.ndarray) -> np.ndarray:
        s = np.zeros(int(rows.sum()))
        sub_g = g[rows]
        for key in np.unique(sub_g):
            idx = sub_g == key
            s[idx] = model.scores(x[rows][idx])
        return ndcg_per_group(s, y[rows], sub_g)

    def learned(model: Reranker, rows: np.ndarray) -> float:
        values = learned_per_list(model, rows)
        return float(values.mean()) if len(values) else float("nan")

    # the kind of model and its blend with the engine's order, chosen on the inner split
    kind, blend = kinds[0], 1.0
    if 0 < y[fit].sum() < fit.sum():
        tried = {
            (k, b): learned(
                Reranker(
                    fit_model(k, x[fit], y[fit], g[fit], seed), top_n, b, keep_known=keep_known
                ),
                val,
            )
            for k in kinds
            for b in (BLENDS if k == "trees" else (1.0,))
        }
        kind, blend = max(
            tried, key=lambda kb: (np.nan_to_num(tried[kb], nan=-1.0), -KINDS.index(kb[0]))
        )
    candidate = Reranker(
        fit_model(kind, x[train], y[train], g[train], seed), top_n, blend, keep_known=keep_known
    )
    engine_lists, fitted_lists = engine(test), learned_per_list(candidate, test)
    before, after = float(engine_lists.mean()), float(fitted_lists.mean())
    # the gain must stand out from the spread over the held-out lists: its one-sided 95%
    # lower bound (paired, per list) above zero, not only its mean above `min_gain`
    diff = fitted_lists - engine_lists
    spread = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else math.inf
    lower = float(diff.mean()) - 1.645 * spread
    reason = (
        f"held-out nDCG@10 {after:.3f} re-ranked against {before:.3f} in the engine's order on "
        f"the {len(held)} newest lists ({kind}, blend {blend}; gain's lower bound {lower:+.3f})"
    )
    in_use = None if current is None else learned(current, test)
    if in_use is not None:
        reason = f"{reason}, {in_use:.3f} with the re-ranker in use"

    def report(adopted: bool, verdict: str, reranker: Reranker | None) -> RerankReport:
        return RerankReport(
            adopted=adopted,
            reason=f"{reason}: {verdict}",
            reranker=reranker,
            holdout_queries=len(held),
            holdout_engine=before,
            holdout_fitted=after,
            **counts,
        )

    if after >= before + min_gain and lower > 0 and (in_use is None or after >= in_use + min_gain):
        every = np.isin(g, usable)
        final = Reranker(
            fit_model(kind, x[every], y[every], g[every], seed),
            top_n,
            blend,
            keep_known=keep_known,
        )
        return report(True, f"better (needed a gain of {min_gain})", final)
    if in_use is not None and in_use < before:
        return report(True, "back to the engine's order", None)
    return report(False, f"not better enough (needed a gain of {min_gain})", None)
