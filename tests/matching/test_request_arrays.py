"""The request path's array forms give exactly what the per-item forms they replace give: the
candidates' summed tie weights, their competence counts, the seekers' rows in order, and each
reason's best pair for all needs at once."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matching.engine import Matcher, _lengths, _sorted_union, tokens_of_labels
from matching.incremental import prepare, updated
from matching.types import Filters, ProfileVec
from tests.matching.test_distinct import VOCAB, W, profiles
from tests.matching.test_vectorised_features import _networked


def _fitted_and_updated() -> tuple[Matcher, Matcher, list[ProfileVec]]:
    base = _networked(150, seed=11)
    m = prepare(Matcher(W, candidate_pool=40).fit(base))
    changed = [replace(p, known_partner_ids=frozenset({3, 4, 170})) for p in base[5:8]]
    return m, updated(m, changed, [base[9].id]), base


def test_summed_tie_weights_are_those_of_the_graph_for_every_id() -> None:
    m, m2, base = _fitted_and_updated()
    # every fitted id, partners that are not fitted (above 150), and ids nobody names
    ids = np.array([*range(1, 175), 10_000, -1], dtype=np.int64)
    edges = frozenset((p.id, q) for p in base[:60] for q in p.known_partner_ids)
    graphs = [m._graph(), m2._graph(), m._visible_graph(edges)[1]]
    for graph in graphs:
        want = np.array([graph.strength.get(i, 0.0) for i in ids.tolist()])
        got = graph.strengths(ids)
        assert got.dtype == np.float64 and np.array_equal(got, want)
        assert np.array_equal(graph.strengths(ids[::-1]), want[::-1])  # built once, any order
        assert (want > 0).sum() > 20 and (want == 0).sum() > 2
    assert graphs[0].strengths(np.zeros(0, dtype=np.int64)).shape == (0,)
    # activity through them: the log of each candidate's summed weight over the largest
    rows = np.flatnonzero(m2.alive_)  # type: ignore[attr-defined]
    cand_ids = m2._row_meta()[0][rows]
    graph = m2._graph()
    summed = np.array([graph.strength.get(i, 0.0) for i in cand_ids.tolist()])
    assert np.array_equal(
        m2._activity(cand_ids, graph), np.log1p(summed) / np.log1p(graph.max_degree)
    )


def test_candidates_asked_by_id_are_the_rows_those_ids_have_now() -> None:
    m, m2, base = _fitted_and_updated()
    # odd ids, one removed by the update (10), some replaced by it (6-8), one never fitted
    ids = frozenset([*range(1, 160, 2), 6, 8, 10, 10_000])
    for matcher in (m, m2):
        side = matcher._side(base[0])
        unfiltered = matcher._allowed(side, None, Filters(), None)
        want = np.zeros(len(matcher.profiles_), dtype=bool)
        for i in ids:
            if i in matcher.row_of_id_:
                want[matcher.row_of_id_[i]] = True
        got = matcher._allowed(side, None, Filters(only_ids=ids), None)
        assert np.array_equal(got, want & unfiltered)
        assert got.sum() > 60
        none = matcher._allowed(side, None, Filters(only_ids=frozenset()), None)
        assert not none.any()
    assert 10 in m.row_of_id_ and 10 not in m2.row_of_id_


def test_candidate_counts_are_the_differences_of_the_row_starts() -> None:
    m, m2, _ = _fitted_and_updated()
    for matcher in (m, m2):
        n = len(matcher.profiles_)
        rows = np.random.default_rng(3).permutation(n)[: n // 2]
        for starts in (matcher.core_start_, matcher.need_start_):
            got = _lengths(starts, rows)
            assert got.dtype == np.int64
            assert np.array_equal(got, np.diff(starts)[rows])
        assert _lengths(matcher.core_start_, np.zeros(0, dtype=np.int64)).shape == (0,)


def test_rows_in_order_are_the_union_whether_sorted_or_marked() -> None:
    rng = np.random.default_rng(5)
    marked = sorted_ = 0
    for t in range(400):
        size = int(rng.integers(1, 5000))
        most = 300 if t % 2 else 20
        a = rng.integers(0, size, int(rng.integers(0, most)))
        b = rng.integers(0, size, int(rng.integers(0, most)))
        got = _sorted_union(a, b, size)
        assert got.dtype == np.int64 and np.array_equal(got, np.union1d(a, b))
        if 32 * (len(a) + len(b)) < size:
            sorted_ += 1
        else:
            marked += 1
    assert marked > 50 and sorted_ > 50  # both ways taken
    # an index past the size given still counts
    assert _sorted_union(np.array([7, 2]), np.array([9]), 3).tolist() == [2, 7, 9]


def _covers_one_need_at_a_time(
    m: Matcher,
    needs: np.ndarray,
    cores: np.ndarray,
    profile: np.ndarray | None,
    lexical: np.ndarray | None = None,
) -> list[tuple[int, int | None, float, float]]:
    """The best pair of each need, one need after the other (the form `_covers` replaced)."""
    w = m.weights_
    out: list[tuple[int, int | None, float, float]] = []
    core_sims = needs @ cores.T if len(cores) else np.zeros((len(needs), 0))
    desc_sims = needs @ profile if profile is not None else None
    for i in range(len(needs)):
        best: tuple[int | None, float, float] = (None, 0.0, 0.0)
        if core_sims.shape[1]:
            strength = m._calib(core_sims[i], m.sim_floor_)
            if lexical is not None:
                strength = np.maximum(strength, lexical[i])
            j = int(strength.argmax())
            best = (j, float(strength[j]), float(core_sims[i, j]))
        if desc_sims is not None and w.description_offer > 0:
            c = w.description_offer * float(m._calib(desc_sims[i], m.description_floor_))
            if c > best[1]:
                best = (None, c, float(desc_sims[i]))
        if best[1] > 0:
            out.append((i, best[0], best[1], best[2]))
    return out


def test_each_needs_best_pair_is_that_of_one_need_at_a_time() -> None:
    base = profiles(120, seed=4)
    m = Matcher(W, candidate_pool=40).fit(base)
    kinds = {"core": 0, "lexical": 0, "description": 0, "none": 0}
    for q in base[:25]:
        side = m._side(q)
        tokens = tokens_of_labels(side.need_labels)
        for r in range(0, len(m.profiles_), 3):
            cand = m.sides_[r]
            core_rows = list(range(int(m.core_start_[r]), int(m.core_start_[r + 1])))
            lexical = m.weights_.lexical_match * m._lexical(tokens, core_rows)
            cases = [
                (side.need, cand.core, cand.profile, None),
                (side.need, cand.core, cand.profile, lexical),
                (cand.need, side.core, side.profile, None),
                (cand.need, side.core, None, None),
                (side.need, cand.core[:0], cand.profile, None),
                (side.need[:0], cand.core, cand.profile, None),
            ]
            for needs, cores, profile, lex in cases:
                got = m._covers(needs, cores, profile, lex)
                assert got == _covers_one_need_at_a_time(m, needs, cores, profile, lex)
                kinds["none"] += len(needs) - len(got)
                for _, j, strength, cos in got:
                    if j is None:
                        kinds["description"] += 1
                    elif lex is not None and strength > m._calib(np.float64(cos), m.sim_floor_):
                        kinds["lexical"] += 1
                    else:
                        kinds["core"] += 1
    # every way a need can be answered (or not) occurred
    assert min(kinds.values()) > 0, kinds


def test_equal_cores_give_the_first_as_the_best_pair() -> None:
    m = Matcher(W, candidate_pool=40).fit(profiles(30, seed=6))
    needs = VOCAB[[2, 5]]
    cores = VOCAB[[5, 2, 5, 2]]  # each need meets its own vector twice
    got = m._covers(needs, cores, None)
    assert [(i, j) for i, j, _, _ in got] == [(0, 1), (1, 0)]
    assert got == _covers_one_need_at_a_time(m, needs, cores, None)
