"""Tie strength and recency as edge weights (ProfileVec.partner_ties, Weights.tie_strength and
tie_half_life): known_partner grade, activity and the proximity walk against a brute-force
oracle; equal ties rank as no ties; a caller's hidden statements lend no weight."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from matching import Matcher, Weights
from matching.types import Filters, ProfileVec
from matching.weights import COMPONENTS
from tests.matching.test_engine import random_world

GRAPH = ("activity", "proximity", "known_partner")
COL = {name: i for i, name in enumerate(COMPONENTS)}


def with_ties(seed: int) -> list[ProfileVec]:
    """A random world whose organisations state joint projects (1-5) and a last year
    (2010-2024) for most of their partners, nothing for the others."""
    rng = np.random.default_rng(seed + 100)
    out = []
    for p in random_world(seed):
        ties: dict[int, tuple[int | None, int | None]] = {}
        for q in sorted(p.known_partner_ids):
            if rng.random() < 0.8:
                joint = int(rng.integers(1, 6)) if rng.random() < 0.8 else None
                year = int(rng.integers(2010, 2025)) if rng.random() < 0.8 else None
                ties[q] = (joint, year)
        out.append(replace(p, partner_ties=ties))
    return out


def oracle_weights(profiles: list[ProfileVec], w: Weights) -> dict[int, dict[int, float]]:
    """Each undirected edge: the larger joint_projects and the later last_year either side
    states, joint ** tie_strength, halved per tie_half_life years before the newest year."""
    by_id = {p.id: p for p in profiles}
    edges: set[tuple[int, int]] = set()
    for p in profiles:
        for q in p.known_partner_ids:
            if q != p.id:
                edges.add((min(p.id, q), max(p.id, q)))

    def stated(a: int, b: int) -> tuple[int | None, int | None]:
        return by_id[a].partner_ties.get(b, (None, None)) if a in by_id else (None, None)

    raw = {}
    for a, b in edges:
        (ja, ya), (jb, yb) = stated(a, b), stated(b, a)
        years = [y for y in (ya, yb) if y is not None]
        raw[(a, b)] = (max(ja or 1, jb or 1), max(years) if years else None)
    newest = max((y for _, y in raw.values() if y is not None), default=None)
    out: dict[int, dict[int, float]] = {}
    for (a, b), (joint, year) in raw.items():
        weight = joint**w.tie_strength
        if w.tie_half_life > 0 and year is not None and newest is not None:
            weight *= 0.5 ** ((newest - year) / w.tie_half_life)
        out.setdefault(a, {})[b] = weight
        out.setdefault(b, {})[a] = weight
    return out


def oracle_graph(
    q: ProfileVec, c: ProfileVec, ties: dict[int, dict[int, float]], w: Weights
) -> dict[str, float]:
    strength = {u: sum(v.values()) for u, v in ties.items()}
    top = max(strength.values(), default=0.0)
    mine = ties.get(q.id, {})
    # the walk: the first step by the query's tie weights, then by each node's
    x = {z: wt / sum(mine.values()) for z, wt in mine.items()}
    total = dict(x)
    for _ in range(w.walk_steps - 1):
        nxt: dict[int, float] = {}
        for u, mass in x.items():
            for v, wt in ties.get(u, {}).items():
                nxt[v] = nxt.get(v, 0.0) + (1 - w.walk_restart) * mass * wt / strength[u]
        x = nxt
        for v, mass in x.items():
            total[v] = total.get(v, 0.0) + mass
    total.pop(q.id, None)
    peak = max(total.values(), default=0.0)
    return {
        "activity": math.log1p(strength.get(c.id, 0.0)) / math.log1p(top) if top else 0.0,
        "proximity": total.get(c.id, 0.0) / peak if peak else 0.0,
        "known_partner": mine[c.id] / max(mine.values()) if c.id in mine else 0.0,
    }


@pytest.mark.parametrize(
    ("seed", "strength", "half_life"), [(0, 1.0, 0.0), (1, 0.5, 3.0), (2, 2.0, 1.5), (3, 1.0, 5.0)]
)
def test_graph_components_match_the_weighted_oracle(
    seed: int, strength: float, half_life: float
) -> None:
    profiles = with_ties(seed)
    w = Weights(tie_strength=strength, tie_half_life=half_life, hub_damping=0.0)
    matcher = Matcher(w).fit(profiles)
    ties = oracle_weights(profiles, w)
    assert any(len({round(v, 9) for v in t.values()}) > 1 for t in ties.values())
    ids = [p.id for p in profiles]
    for q in profiles:
        feats = matcher.pair_features(q, ids)
        for k, c in enumerate(profiles):
            want = oracle_graph(q, c, ties, w)
            got = {name: feats[k, COL[name]] for name in GRAPH}
            assert got == pytest.approx(want, abs=1e-9), (q.id, c.id)


def test_single_cooperations_of_one_year_rank_as_no_ties() -> None:
    """One joint project in the same year for every tie: each weighs 1, as an unstated tie
    does, so the ranking is the one without any tie stated (as before the fields existed)."""
    plain = random_world(4)
    same = [replace(p, partner_ties={q: (1, 2020) for q in p.known_partner_ids}) for p in plain]
    w = Weights(tie_strength=1.0, tie_half_life=2.0)
    for exclude_known in (False, True):
        f = Filters(exclude_known=exclude_known)
        for q_plain, q_same in zip(plain, same, strict=True):
            a = Matcher(w).fit(plain).match(q_plain, filters=f, limit=50)
            b = Matcher(w).fit(same).match(q_same, filters=f, limit=50)
            assert [m.target_id for m in b] == [m.target_id for m in a]
            assert [m.score for m in b] == pytest.approx([m.score for m in a])


def test_the_stronger_and_newer_known_partner_ranks_first() -> None:
    """Query 0 knows 1 (one project, 2012) and 2 (four projects, 2023); 3 has worked with 2
    only, 4 with 1 only."""
    base = random_world(0)[:5]
    partners = {0: {1: (1, 2012), 2: (4, 2023)}, 3: {2: (1, 2023)}, 4: {1: (1, 2023)}}
    profiles = [
        replace(
            p,
            competences=(),
            known_partner_ids=frozenset(partners.get(p.id, {})),
            partner_ties=partners.get(p.id, {}),
        )
        for p in base
    ]
    w = Weights(tie_strength=1.0, tie_half_life=4.0)
    matcher = Matcher(w).fit(profiles)
    known = {
        m.target_id: m.components["known_partner"]
        for m in matcher.match(profiles[0], filters=Filters(exclude_known=False), limit=10)
    }
    old = 0.5 ** ((2023 - 2012) / 4.0)
    assert known == pytest.approx({2: 1.0, 1: old / 4, 3: 0.0, 4: 0.0})
    novel = matcher.match(profiles[0], filters=Filters(exclude_known=True), limit=10)
    # the walk reaches 3 over the strong, recent tie to 2 more than 4 over the old one to 1
    prox = {m.target_id: m.components["proximity"] for m in novel}
    assert set(prox) == {3, 4}
    assert prox[3] > prox[4] > 0


def test_a_statement_the_caller_may_not_read_lends_no_weight() -> None:
    """With 2's list hidden, the tie 0-2 is known from 0's own statement only: its strength and
    year are 0's (one project, 2015), not 2's (five projects, 2024)."""
    base = random_world(0)[:4]
    partners = {0: {1: (2, 2020), 2: (1, 2015)}, 2: {0: (5, 2024)}, 3: {1: (1, 2020)}}
    profiles = [
        replace(
            p,
            known_partner_ids=frozenset(partners.get(p.id, {})),
            partner_ties=partners.get(p.id, {}),
        )
        for p in base
    ]
    w = Weights(tie_strength=1.0, tie_half_life=0.0)
    edges = frozenset((a, b) for a, ties in partners.items() if a != 2 for b in ties)
    hidden = [replace(p, partner_ties={}) if p.id == 2 else p for p in profiles]
    f = Filters(exclude_known=False)
    got = (
        Matcher(w)
        .fit(profiles)
        .match(profiles[0], filters=replace(f, visible_relationships=edges), limit=10)
    )
    want = Matcher(w).fit(hidden).match(hidden[0], filters=f, limit=10)
    assert [m.target_id for m in got] == [m.target_id for m in want]
    for a, b in zip(got, want, strict=True):
        assert a.components == pytest.approx(b.components)
    known = {m.target_id: m.components["known_partner"] for m in got}
    assert known[1] == 1.0 and known[2] == 0.5


def test_an_update_that_changes_only_ties_ranks_as_a_fresh_fit() -> None:
    """matching.incremental: a profile whose partners stay but whose ties change moves the
    graph components as a fit on the updated profiles does."""
    from matching.incremental import updated

    profiles = with_ties(5)
    w = Weights(tie_strength=1.0, tie_half_life=3.0)
    before = Matcher(w).fit(profiles)
    who = next(p for p in profiles if len(p.known_partner_ids) >= 2)
    changed = replace(who, partner_ties={q: (5, 2024) for q in sorted(who.known_partner_ids)[:1]})
    after = updated(before, [changed])
    fresh = Matcher(w).fit([changed if p.id == who.id else p for p in profiles])
    ids = [p.id for p in profiles]
    f = Filters(exclude_known=False)
    moved = False
    for q in profiles:
        query = changed if q.id == who.id else q
        got = after.pair_features(query, ids)
        want = fresh.pair_features(query, ids)
        assert got == pytest.approx(want)
        assert [m.target_id for m in after.match(query, filters=f, limit=50)] == [
            m.target_id for m in fresh.match(query, filters=f, limit=50)
        ]
        moved |= not np.allclose(got, before.pair_features(q, ids))
    assert moved


def test_ties_between_organisations_that_are_not_fitted_weigh_one() -> None:
    # a per-request fit holds the candidates; its graph is the loaded neighbourhood, where most
    # edges join partners of partners that are not fitted and state nothing
    profiles = with_ties(1)
    fitted = profiles[: len(profiles) // 2]
    fitted_ids = {p.id for p in fitted}
    w = Weights(tie_strength=0.5, tie_half_life=3.0, hub_damping=0.0)
    matcher = Matcher(w).fit(fitted)
    adjacency: dict[int, set[int]] = {}
    for p in profiles:
        for q in p.known_partner_ids:
            if q != p.id:
                adjacency.setdefault(p.id, set()).add(q)
                adjacency.setdefault(q, set()).add(p.id)
    graph = matcher._walk_graph({k: frozenset(v) for k, v in adjacency.items()}, (0,))
    # only what fitted organisations state counts
    stating = [p if p.id in fitted_ids else replace(p, partner_ties={}) for p in profiles]
    want = oracle_weights(stating, w)
    assert graph.ties.keys() == want.keys()
    for u, partners in want.items():
        assert graph.ties[u] == pytest.approx(partners, abs=1e-12), u
    unfitted = [
        (a, b)
        for a, ps in graph.ties.items()
        for b in ps
        if a not in fitted_ids and b not in fitted_ids
    ]
    assert len(unfitted) == 6  # three edges, both directions
    assert {graph.ties[a][b] for a, b in unfitted} == {1.0}
    assert any(v != 1.0 for ps in graph.ties.values() for v in ps.values())


def test_unaged_ties_are_weighed_in_one_pass_as_in_two() -> None:
    profiles = with_ties(4)
    w = Weights(tie_strength=0.7)
    m = Matcher(weights=w).fit(profiles[::2])  # half fitted: ties with unfitted ends too
    adjacency = dict(m.adjacency_)
    # a partner set loaded for one node only (the other end not asked): met from one side
    adjacency[10_001] = frozenset({profiles[1].id, 10_002})
    one = m._tie_weights(adjacency)
    # an empty outcome map takes the general two-pass path with the same weights
    two = m._tie_weights(adjacency, outcomes={})
    # the same weights, written in the same order (the walk sums in this order)
    assert [(u, list(ws.items())) for u, ws in one.items()] == [
        (u, list(ws.items())) for u, ws in two.items()
    ]
    assert one[10_001] == {profiles[1].id: 1.0, 10_002: 1.0}
    assert m._tie_weights(m.adjacency_) == oracle_weights(profiles[::2], w)
    assert sum(x != 1.0 for ws in one.values() for x in ws.values()) == 8
    # aged ties keep the two passes (the newest year is the whole graph's)
    aged = Matcher(weights=Weights(tie_half_life=3.0)).fit(profiles[::2])
    assert aged._tie_weights(aged.adjacency_) == oracle_weights(profiles[::2], aged.weights_)
