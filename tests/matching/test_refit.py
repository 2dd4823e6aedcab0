"""Refitting the weights from outcomes: adopted only when better on held-out queries."""

from __future__ import annotations

import numpy as np
import pytest

from matching import CompetenceVec, Matcher, ProfileVec
from matching.learning import ndcg_by_group, outcome_pairs, refit_weights
from matching.weights import COMPONENTS, Weights

COL = {name: i for i, name in enumerate(COMPONENTS)}


def synthetic(signal: str, queries: int = 40, seed: int = 1) -> tuple[np.ndarray, ...]:
    """Per query 2 positives and 18 negatives; `mutual` is noise everywhere, `signal` is 1 for
    the positives only (so the defaults, which weigh `mutual` most, rank them at random)."""
    rng = np.random.default_rng(seed)
    n = 20
    x = np.zeros((queries * n, len(COMPONENTS)))
    x[:, COL["mutual"]] = rng.uniform(0, 1, len(x))
    y = np.tile(np.array([1, 1] + [0] * (n - 2)), queries)
    x[y == 1, COL[signal]] = 1.0
    groups = np.repeat(np.arange(queries), n)
    return x, y, groups


def test_a_better_fit_is_adopted() -> None:
    x, y, g = synthetic("shared_interests")
    base = Weights()
    report = refit_weights(x, y, g, base=base, min_positives=50, min_queries=20)
    assert report.adopted is True
    assert report.weights is report.fitted
    assert (report.pairs, report.positives, report.queries, report.holdout_queries) == (
        800,
        80,
        40,
        12,
    )
    assert report.holdout_fitted == pytest.approx(1.0)
    assert report.holdout_base is not None and report.holdout_base < 0.6
    # the learned weights put the signal first: with it a positive beats every negative
    assert report.weights.shared_interests > report.weights.mutual
    # what the data cannot say about is kept from the base
    assert report.weights.coopetition == base.coopetition


def test_a_fit_that_is_not_better_is_not_adopted() -> None:
    x, y, g = synthetic("shared_interests")
    # weights that already rank by the signal: the held-out nDCG is 1.0 and cannot rise
    base = Weights().from_vector(np.eye(len(COMPONENTS))[COL["shared_interests"]])
    report = refit_weights(x, y, g, base=base)
    assert report.adopted is False
    assert report.weights is base
    assert report.fitted is not None
    assert report.holdout_base == pytest.approx(1.0)
    assert "not better enough" in report.reason


def test_too_little_data_keeps_the_base() -> None:
    x, y, g = synthetic("shared_interests", queries=10)
    report = refit_weights(x, y, g, min_positives=50, min_queries=20)
    assert report.adopted is False
    assert report.fitted is None
    assert report.weights == Weights()
    assert report.reason == (
        "too little data: 20 positive pairs (at least 50) in 10 usable queries (at least 20)"
    )


def test_ndcg_breaks_ties_against_the_positives() -> None:
    scores = np.array([1.0, 1.0, 0.5, 0.2])
    labels = np.array([0, 1, 0, 0])
    groups = np.zeros(4, int)
    # the tie puts the negative first: the positive counts at rank 2
    assert ndcg_by_group(scores, labels, groups) == pytest.approx(1 / np.log2(3))
    # a group without a negative says nothing about order
    assert np.isnan(ndcg_by_group(scores[:2], np.array([1, 1]), groups[:2]))


def _profile(pid: int, vector: np.ndarray, partners: frozenset[int] = frozenset()) -> ProfileVec:
    return ProfileVec(
        id=pid,
        name=f"org {pid}",
        nace_code=None,
        country="DE",
        latitude=None,
        longitude=None,
        employees=None,
        cooperation_interests=frozenset(),
        competences=(CompetenceVec(pid * 10, "core", f"label {pid}", vector),),
        profile_vector=vector,
        known_partner_ids=partners,
    )


def test_outcome_pairs_label_the_latest_outcome_and_skip_known_partners() -> None:
    rng = np.random.default_rng(0)
    # related texts (a shared direction) so that the engine suggests the others
    vecs = (rng.normal(size=(6, 8)) * 0.5 + np.ones(8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    profiles = [_profile(i, vecs[i], frozenset({5}) if i == 1 else frozenset()) for i in range(6)]
    matcher = Matcher().fit(profiles)
    outcomes = [
        (1, 2, 0),
        (1, 2, 1),  # the later outcome of the pair counts
        (1, 3, 0),
        (1, 5, 1),  # a known partner: left out
        (1, 99, 1),  # not fitted: left out
        (77, 2, 1),  # an asking organisation that is not fitted: left out
    ]
    x, y, g = outcome_pairs(matcher, outcomes, implicit_negatives=2, random_negatives=0)
    expected = matcher.pair_features(profiles[1], [2, 3])
    np.testing.assert_allclose(x[:2], expected)
    assert y.tolist() == [1, 0, 0, 0]
    assert g.tolist() == [1, 1, 1, 1]
    # the two implicit negatives are the best suggestions not acted on (never 1, 2, 3 or 5)
    suggested = [m.target_id for m in matcher.match(profiles[1], limit=10)]
    assert sorted(suggested) == [0, 2, 3, 4]
    implicit = [i for i in suggested if i in (0, 4)]
    np.testing.assert_allclose(x[2:], matcher.pair_features(profiles[1], implicit))

    # one best suggestion, and the rest of the candidates drawn at random (here: the other one)
    x, y, g = outcome_pairs(matcher, outcomes, implicit_negatives=1, random_negatives=5)
    assert y.tolist() == [1, 0, 0, 0]
    np.testing.assert_allclose(x[2:], matcher.pair_features(profiles[1], sorted(implicit)))
