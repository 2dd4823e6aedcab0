import math

import numpy as np
import pytest

from benchmarks.cordis import Query
from benchmarks.plain_order import (
    QueryRows,
    bootstrap,
    hit_rates,
    known_first,
    known_in_first,
    learned_order,
    new_at,
    per_query,
    ranked,
    with_term,
)
from matching.weights import COMPONENTS


def rows(
    cands: list[int],
    score: list[float],
    known: list[int],
    positives: set[int],
    org: int = 100,
) -> QueryRows:
    n = len(cands)
    return QueryRows(
        query=Query(org, 1, frozenset(positives)),
        cands=np.array(cands, dtype=np.int64),
        feats=np.zeros((n, len(COMPONENTS))),
        score=np.array(score, dtype=np.float64),
        known=np.array([c in known for c in cands]),
        joint=np.array([2.0 if c in known else 0.0 for c in cands]),
        last=np.zeros(n),
        age=np.zeros(n),
        past_projects=np.zeros(n),
        dormant=np.zeros(n),
        positive=np.array([c in positives for c in cands]),
    )


# candidates 1..5; the engine's order 3, 1, 5, 2, 4; known partners 1 and 2; positives 2 and 4
R = rows([1, 2, 3, 4, 5], [0.8, 0.3, 0.9, 0.1, 0.5], known=[1, 2], positives={2, 4})


def test_ranked_orders_by_key_then_by_the_engine_then_by_id() -> None:
    assert ranked(R, R.score) == [3, 1, 5, 2, 4]
    # equal keys: the engine's score decides; equal scores too: the smaller id
    assert ranked(R, np.array([1.0, 0.0, 0.0, 1.0, 0.0])) == [1, 4, 3, 5, 2]
    same = rows([7, 5, 6], [0.2, 0.2, 0.2], known=[], positives={5})
    assert ranked(same, np.zeros(3)) == [5, 6, 7]


def test_known_first_puts_known_partners_in_key_order_then_the_others_by_score() -> None:
    # key prefers 2 over 1 among the known; the others follow in the engine's order
    assert known_first(R, np.array([0.0, 1.0, 9.0, 9.0, 9.0])) == [2, 1, 3, 5, 4]
    # a negative key still keeps the known partners on top
    assert known_first(R, np.array([-5.0, -7.0, 9.0, 9.0, 9.0])) == [1, 2, 3, 5, 4]


def test_known_in_first_counts_known_partners_among_the_engines_first_k() -> None:
    assert known_in_first(R, 2) == 1
    assert known_in_first(R, 4) == 2


def test_per_query_is_the_ndcg_of_each_list() -> None:
    # the engine's list 3, 1, 5, 2, 4: positives at ranks 4 and 5
    ideal = 1 + 1 / math.log2(3)
    expected = (1 / math.log2(5) + 1 / math.log2(6)) / ideal
    got = per_query([R, R], lambda r: ranked(r, r.score))
    np.testing.assert_allclose(got, [expected, expected])
    # known first in the best order puts 2 first: rank 1 and rank 5
    best = per_query([R], lambda r: known_first(r, r.positive * 1.0))
    np.testing.assert_allclose(best, [(1 + 1 / math.log2(6)) / ideal])


def test_with_term_adds_the_term_to_known_partners_only() -> None:
    term = np.array([0.0, 0.7, 0.0, 5.0, 0.0])  # 4 is not known: its term does not count
    assert with_term(R, term, 1.0) == [2, 3, 1, 5, 4]
    assert with_term(R, term, -1.0) == [3, 1, 5, 4, 2]


def test_hit_rates_count_positives_by_rank_among_known_and_new() -> None:
    other = rows([1, 2, 3], [0.1, 0.9, 0.5], known=[1], positives={1, 3})
    # known: R ranks 1 then 2 (1 is no positive, 2 is); other has only 1 (a positive)
    assert hit_rates([R, other], known=True, ranks=(1, 2, 3)) == pytest.approx(
        [0.5, 1.0, float("nan")], nan_ok=True
    )
    # new: R ranks 3, 5, 4 (4 is positive at rank 3); other ranks 2, 3 (3 positive at rank 2)
    assert hit_rates([R, other], known=False, ranks=(1, 2, 3)) == pytest.approx([0.0, 0.5, 1.0])


def test_bootstrap_resamples_whole_groups() -> None:
    assert bootstrap(np.array([0.25, 0.25, 0.25]), np.array([1, 1, 2])) == (0.25, 0.25)
    # one group: every resample is that group, its mean is weighted by query
    assert bootstrap(np.array([1.0, 0.0, 0.5]), np.array([4, 4, 4])) == pytest.approx((0.5, 0.5))
    lo, hi = bootstrap(np.array([1.0, 1.0, 0.0]), np.array([1, 1, 2]), seed=3)
    assert (lo, hi) == (0.0, 1.0)


def test_new_at_moves_the_best_new_candidates_to_a_place() -> None:
    # the engine's list 3, 1, 5, 2, 4; new candidates 3, 5, 4 in that order; the others
    # keep their order around the moved ones
    assert new_at(R, 2) == [1, 3, 5, 2, 4]
    assert new_at(R, 5) == [1, 5, 2, 4, 3]
    assert new_at(R, 2, 2) == [1, 3, 5, 2, 4]
    assert new_at(R, 4, 2) == [1, 2, 4, 3, 5]


def with_proximity(r: QueryRows, proximity: list[float]) -> QueryRows:
    r.feats[:, COMPONENTS.index("proximity")] = proximity
    return r


def test_learned_order_reorders_known_partners_and_keeps_them_above_the_others() -> None:
    # training: among the known partners the positive always has the lower proximity
    train = [
        with_proximity(
            rows([1, 2, 3, 4], [0.9, 0.8, 0.7, 0.1], known=[1, 2, 3], positives={k}, org=o),
            [0.9 if c != k else 0.2 for c in (1, 2, 3, 4)],
        )
        for o, k in ((10, 1), (11, 2), (12, 3), (13, 1), (14, 2))
    ]
    order = learned_order(train, c=1.0)
    test = with_proximity(
        rows([1, 2, 3, 4], [0.9, 0.8, 0.7, 5.0], known=[1, 2, 3], positives={3}),
        [0.9, 0.5, 0.1, 0.0],
    )
    # the learned weight of proximity is negative: 3, 2, 1; the new candidate 4 stays below
    # them although the engine scores it highest
    assert order(test) == [3, 2, 1, 4]
