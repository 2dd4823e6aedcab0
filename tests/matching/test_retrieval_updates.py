"""matching.incremental: an updated matcher ranks as a fresh fit on the same profiles."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matching.engine import Matcher
from matching.incremental import (
    dead_share,
    live_profiles,
    needs_refit,
    prepare,
    share_vectors,
    updated,
)
from matching.types import CompetenceVec, Filters, ProfileVec
from matching.weights import Weights

DIM = 24
# fixed floors: a fit learns them from random pairs, an update keeps the fitted ones
W = Weights(similarity_floor=0.2, profile_floor=0.1, description_floor=0.2)
KINDS = ("core", "core", "core", "complementary", "peripheral")


def _unit(rng: np.random.Generator, centre: np.ndarray) -> np.ndarray:
    v = centre + 0.6 * rng.standard_normal(DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def make_profiles(n: int, seed: int, first_id: int = 1) -> list[ProfileVec]:
    """Profiles around 8 topics, with partners, NACE codes, countries and opt-outs."""
    rng = np.random.default_rng(seed)
    topics = np.random.default_rng(99).standard_normal((8, DIM))
    out = []
    for i in range(n):
        oid = first_id + i
        comps = tuple(
            CompetenceVec(
                oid * 100 + k,
                KINDS[int(rng.integers(len(KINDS)))],
                f"label {int(rng.integers(30))} topic {t}",
                _unit(rng, topics[t]),
            )
            for k, t in enumerate(rng.integers(0, 8, int(rng.integers(0, 6))))
        )
        partners = frozenset(int(x) for x in rng.integers(1, first_id + n, 2) if x != oid)
        out.append(
            ProfileVec(
                id=oid,
                name=f"org {oid}",
                nace_code=["26.51", "62.01", "28.99", None][int(rng.integers(4))],
                country=["DE", "AT", "FR"][int(rng.integers(3))],
                latitude=float(rng.uniform(47, 54)),
                longitude=float(rng.uniform(6, 14)),
                employees=int(rng.integers(1, 500)),
                cooperation_interests=frozenset(
                    ["training", "data_sharing"][: int(rng.integers(3))]
                ),
                competences=comps,
                profile_vector=None
                if rng.random() < 0.1
                else _unit(rng, topics[int(rng.integers(8))]),
                known_partner_ids=partners,
                exclude_from_competitors=bool(rng.random() < 0.2),
            )
        )
    return out


def ranked(
    m: Matcher, query: ProfileVec, filters: Filters = Filters()
) -> list[tuple[int, float, str]]:
    return [
        (x.target_id, round(x.score, 9), x.relation)
        for x in m.match(query, filters=filters, limit=15)
    ]


def fresh(profiles: list[ProfileVec], **kw: int) -> Matcher:
    return Matcher(W, **kw).fit(profiles)


FILTERS = [
    Filters(),
    Filters(countries=frozenset({"DE"}), exclude_known=False),
    Filters(nace_exclude=("26",), include_competitors=False),
    Filters(max_distance_km=300.0, min_employees=10, cooperation_interests=frozenset({"training"})),
]


def test_updates_rank_as_a_fresh_fit() -> None:
    base = make_profiles(120, seed=1)
    m = prepare(fresh(base))
    # replace 15 (new competences and partners), remove 10, add 20 that list old ones
    replaced = [
        replace(p, competences=q.competences, known_partner_ids=q.known_partner_ids, country="AT")
        for p, q in zip(base[:15], make_profiles(15, seed=2), strict=True)
    ]
    removed = [p.id for p in base[15:25]]
    added = make_profiles(20, seed=3, first_id=1000)
    added = [replace(p, known_partner_ids=frozenset({1 + i, 30 + i})) for i, p in enumerate(added)]
    m2 = updated(m, replaced, removed)
    m3 = updated(m2, added)
    final = {p.id: p for p in base if p.id not in removed}
    final.update({p.id: p for p in replaced})
    final.update({p.id: p for p in added})
    oracle = fresh(sorted(final.values(), key=lambda p: p.id))

    queries = [*replaced[:5], *added[:5], *base[40:45], make_profiles(1, seed=7, first_id=5000)[0]]
    for q in queries:
        for f in FILTERS:
            assert ranked(m3, q, f) == ranked(oracle, q, f)
    assert sorted(p.id for p in live_profiles(m3)) == sorted(final)
    # 120 fitted rows, 15 replacements and 20 newcomers appended; 15 + 10 rows dead
    assert dead_share(m3) == pytest.approx(25 / 155)

    vecs = np.stack([added[0].competences[0].vector, base[50].competences[0].vector])
    got = m3.search(vecs, ["a", "b"], limit=10)
    want = oracle.search(vecs, ["a", "b"], limit=10)
    assert [(x.target_id, round(x.score, 9)) for x in got] == [
        (x.target_id, round(x.score, 9)) for x in want
    ]


def test_the_old_matcher_is_unchanged_by_an_update() -> None:
    base = make_profiles(60, seed=4)
    m = prepare(fresh(base))
    query = make_profiles(1, seed=8, first_id=7000)[0]
    before = ranked(m, query)
    newcomer = replace(
        query, id=7001, known_partner_ids=frozenset(), exclude_from_competitors=False
    )
    m2 = updated(m, [newcomer], [before[0][0]])
    assert ranked(m, query) == before
    after = [x.target_id for x in m2.match(query, limit=100)]
    assert before[0][0] not in after
    assert 7001 in after
    assert 7001 not in [x.target_id for x in m.match(query, limit=100)]


def test_partner_graph_follows_a_removed_listing() -> None:
    a, b, c = make_profiles(3, seed=5)
    a = replace(a, known_partner_ids=frozenset({b.id}))
    b = replace(b, known_partner_ids=frozenset())
    c = replace(c, known_partner_ids=frozenset({b.id}))
    m = prepare(fresh([a, b, c]))
    assert m.adjacency_[b.id] == frozenset({a.id, c.id})
    m2 = updated(m, [replace(a, known_partner_ids=frozenset())])
    assert m2.adjacency_[b.id] == frozenset({c.id})
    assert a.id not in m2.adjacency_
    assert m2.sides_[m2.row_of_id_[b.id]].neighbours == frozenset({c.id})
    m3 = updated(m2, removed=[c.id])
    assert b.id not in m3.adjacency_
    # the old generation still sees the first graph
    assert m.adjacency_[b.id] == frozenset({a.id, c.id})


def test_hnsw_rows_are_added_and_old_generations_ignore_them() -> None:
    pytest.importorskip("faiss")
    base = make_profiles(150, seed=6)
    kw = {"ann_threshold": 50, "candidate_pool": 20}
    m = prepare(fresh(base, **kw))
    assert m.core_index_ is not None
    n_core = m.core_index_.ntotal
    target = make_profiles(1, seed=9, first_id=9000)[0]
    m2 = updated(m, [target], [base[0].id])
    assert m2.core_index_.ntotal == n_core + sum(c.kind == "core" for c in target.competences)
    # a query identical to the newcomer retrieves it through the new generation's HNSW index
    query = replace(target, id=9999)
    assert m2.row_of_id_[9000] in m2._retrieve(m2._side(query))
    # the old generation searches the same index and drops the rows it does not have
    assert (m._retrieve(m._side(query)) < len(m.profiles_)).all()
    assert 9000 not in [x.target_id for x in m.match(query, limit=150)]
    assert base[0].id not in [x.target_id for x in m2.match(base[1], limit=150)]
    assert not needs_refit(m2)
    # a detached generation leaves the shared index and buffers alone
    m3 = updated(m2, [replace(target, id=9001)], detached=True)
    assert m2.core_index_.ntotal == m2.core_index_.index.ntotal
    assert not np.shares_memory(m3.core_mat_, m2.core_mat_)
    m4 = updated(m2, [replace(target, id=9002)])
    n_target_cores = sum(c.kind == "core" for c in target.competences)
    assert n_target_cores > 0
    assert m4.core_index_.ntotal == m2.core_index_.ntotal + n_target_cores
    assert np.shares_memory(m4.core_mat_, m2.core_mat_)


def test_many_dead_rows_ask_for_a_refit() -> None:
    base = make_profiles(50, seed=10)
    m = prepare(fresh(base))
    m2 = updated(m, removed=[p.id for p in base[:11]])
    assert dead_share(m2) == pytest.approx(11 / 50)
    assert needs_refit(m2, min_dead=11)
    assert not needs_refit(m2, min_dead=12)
    assert not needs_refit(updated(m, removed=[p.id for p in base[:10]]), min_dead=10)


def test_shared_vectors_are_views_of_the_matrices_and_rank_the_same() -> None:
    base = make_profiles(80, seed=11)
    m = prepare(fresh(base))
    before = [ranked(m, q) for q in base[:10]]
    shared = share_vectors(m)
    assert sorted(shared) == sorted(p.id for p in base)
    for p in base:
        q = shared[p.id]
        assert [c.id for c in q.competences] == [c.id for c in p.competences]
        for a, b in zip(p.competences, q.competences, strict=True):
            assert np.array_equal(a.vector, b.vector)
            assert np.shares_memory(b.vector, m.core_mat_) or np.shares_memory(
                b.vector, m.need_mat_
            )
        if p.profile_vector is not None:
            assert np.array_equal(p.profile_vector, q.profile_vector)
    assert [ranked(m, shared[q.id]) for q in base[:10]] == before
    # and updates still work on top
    m2 = updated(m, [replace(shared[base[0].id], country="FR")], [base[1].id])
    assert base[1].id not in [t for t, _, _ in ranked(m2, shared[base[2].id])]


def test_a_removed_profile_keeps_its_row_in_the_partner_graph() -> None:
    a, b, c, d = make_profiles(4, seed=6)
    a, b = replace(a, known_partner_ids=frozenset()), replace(b, known_partner_ids=frozenset())
    c = replace(c, known_partner_ids=frozenset({d.id}))
    d = replace(d, known_partner_ids=frozenset())
    m = prepare(fresh([a, b, c, d]))
    # the first row dies and its id goes; the last row is still a partner in the graph
    m2 = updated(m, removed=[a.id])
    oracle = fresh([b, c, d])
    for query in (b, c, d):
        assert ranked(m2, query, Filters(exclude_known=False)) == ranked(
            oracle, query, Filters(exclude_known=False)
        )


def test_the_niche_scale_is_estimated_again_only_after_the_corpus_drifted() -> None:
    base = make_profiles(300, seed=11)
    m = prepare(fresh(base))
    scale = m._niche_scale()
    one = next(c for c in base[1].competences if c.kind == "core")
    # one organisation changes: the corpus keeps its size within 1%, the scale is kept
    m2 = updated(m, [replace(base[0], competences=(one,))])
    assert m2._niche_scale() is scale
    # twenty newcomers (7%): estimated again, from the grown corpus
    m3 = updated(m2, make_profiles(20, seed=5, first_id=1000))
    assert m3._niche_scale() is not scale
    assert m3._niche_scale() is m3._niche_scale()


def test_an_updated_generation_patches_the_tie_graph_of_the_one_before() -> None:
    base = [
        replace(p, partner_ties={q: (1 + (p.id + q) % 4, 2015) for q in p.known_partner_ids})
        for p in make_profiles(150, seed=21)
    ]
    m = prepare(fresh(base))
    before = m._graph()
    # new partners with stated joint projects, a removed organisation, a newcomer listing two
    changed = replace(
        base[3], known_partner_ids=frozenset({7, 90}), partner_ties={7: (9, 2020), 90: (2, None)}
    )
    newcomer = replace(
        make_profiles(1, seed=22, first_id=4000)[0],
        known_partner_ids=frozenset({3, 11}),
        partner_ties={11: (5, 2019)},
    )
    m2 = updated(m, [changed, newcomer], [base[10].id])
    patched = m2._graph()
    assert patched is not before
    # patched: the ties of a node far from the changes are the same object as before
    near = {3, 4, 7, 11, 90, 4000}
    far = next(u for u in before.ties if u not in near and not set(before.ties[u]) & near)
    assert patched.ties[far] is before.ties[far]
    rebuilt = m2._walk_graph(m2.adjacency_, patched.key)
    assert patched.ties == rebuilt.ties
    assert patched.strength == rebuilt.strength
    assert patched.max_degree == rebuilt.max_degree
    assert patched.ties[4000] == {3: 1.0, 11: 5.0}
    assert patched.ties[7][4] == 9.0
    # the removed organisation keeps the ties others state; the newcomer's counts
    assert patched.ties[base[10].id][4000] == 5.0
    # ageing ties depend on the newest year of the whole graph: rebuilt, not patched
    aged = prepare(Matcher(replace(W, tie_half_life=3.0)).fit(base))
    aged._graph()
    aged2 = updated(aged, [changed])
    assert aged2._graph().ties == aged2._walk_graph(aged2.adjacency_, (0,)).ties
