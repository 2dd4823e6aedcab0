import math

import numpy as np
import pytest

from benchmarks.linkpred import GRAPH_FEATURES, Graph, hide
from matching.types import ProfileVec

# 1 - 2, 1 - 3, 1 - 4, 2 - 3, 3 - 5; ties (joint_projects, last_year) as each side states them
TIES = {
    1: {2: (2, 2016), 3: (1, 2017), 4: (None, None)},
    2: {1: (2, 2016), 3: (1, 2015)},
    3: {1: (1, 2017), 2: (1, 2015), 5: (3, 2014)},
    4: {},
    5: {3: (3, 2014)},
}
PARTNERS = {1: {2, 3, 4}, 2: {1, 3}, 3: {1, 2, 5}, 4: {1}, 5: {3}}
COUNTRY = {1: "DE", 2: "DE", 3: None, 4: "DE", 5: "FR"}


def profiles() -> dict[int, ProfileVec]:
    return {
        i: ProfileVec(
            id=i,
            name=f"org {i}",
            nace_code=None,
            country=COUNTRY[i],
            latitude=None,
            longitude=None,
            employees=None,
            cooperation_interests=frozenset(),
            competences=(),
            profile_vector=None,
            known_partner_ids=frozenset(PARTNERS[i]),
            partner_ties=dict(TIES[i]),
        )
        for i in PARTNERS
    }


def edges(profs: dict[int, ProfileVec]) -> set[frozenset[int]]:
    return {frozenset((p.id, q)) for p in profs.values() for q in p.known_partner_ids}


def test_graph_features_of_a_small_graph() -> None:
    got = Graph(profiles()).features(2, [4, 5, 3])
    log2, aa = math.log(2), 1 / math.log(3)
    expected = np.array(
        [
            # degree, strength, recency, common, Adamic-Adar, RA, Jaccard, country, two steps
            [log2, log2, 0.0, log2, aa, 1 / 3, 1 / 2, 1.0, log2],
            [log2, math.log(4), math.exp(-1.5), log2, aa, 1 / 3, 1 / 2, 0.0, log2],
            [math.log(4), math.log(6), 1.0, log2, aa, 1 / 3, 1 / 4, 0.0, log2],
        ]
    )
    assert got.shape == (3, len(GRAPH_FEATURES))
    np.testing.assert_allclose(got, expected)


def test_hiding_the_newest_year_removes_both_sides_and_keeps_new_ties_as_positives() -> None:
    reduced, hidden = hide(profiles(), "newest")
    assert hidden == {1: {3}, 3: {1}}
    assert edges(reduced) == edges(profiles()) - {frozenset((1, 3))}
    assert reduced[1].partner_ties == {2: (2, 2016), 4: (None, None)}
    assert reduced[3].partner_ties == {2: (1, 2015), 5: (3, 2014)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hiding_at_random_hides_a_share_of_each_asker_from_both_sides(seed: int) -> None:
    reduced, hidden = hide(profiles(), "random", share_orgs=1.0, share_edges=0.3, seed=seed)
    # organisations 1 and 3 have three partners; round(0.3 * 3) = 1 hidden each
    assert sorted(hidden) == [1, 3]
    assert [len(hidden[1]), len(hidden[3])] == [1, 1]
    assert hidden[1] <= PARTNERS[1] and hidden[3] <= PARTNERS[3]
    gone = {frozenset((a, b)) for a, bs in hidden.items() for b in bs}
    assert edges(reduced) == edges(profiles()) - gone
    for pair in gone:
        a, b = tuple(pair)
        assert b not in reduced[a].partner_ties and a not in reduced[b].partner_ties


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mode 'oldest'"):
        hide(profiles(), "oldest")
