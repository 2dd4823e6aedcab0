"""Positive outcomes as dated ties of the graph (`Filters.outcome_ties`, `Weights.outcome_tie`):
the walk and the shared partners against a brute-force oracle over the stated ties plus the
outcome ties; activity, known_partner and exclude_known read the stated ties alone; weight 0
or no ties give the ranking without them; a caller's hidden statements stay out."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from matching import Matcher, Weights
from matching.types import Filters, ProfileVec
from tests.matching.test_ties import oracle_graph, oracle_weights, with_ties


def outcome_ties(profiles: list[ProfileVec], seed: int) -> frozenset[tuple[int, int, int]]:
    """Random pairs of organisations (some of them already stated partners) with a year."""
    rng = np.random.default_rng(seed + 200)
    ids = [p.id for p in profiles] + [len(profiles) + 5]  # one that is not fitted
    out = set()
    for _ in range(10):
        a, b = (int(x) for x in rng.choice(ids, size=2, replace=False))
        out.add((min(a, b), max(a, b), int(rng.integers(2018, 2025))))
    return frozenset(out)


def merged(
    stated: dict[int, dict[int, float]],
    ties: frozenset[tuple[int, int, int]],
    w: Weights,
    newest_stated: int | None,
) -> dict[int, dict[int, float]]:
    """The stated weights plus outcome_tie per outcome pair, aged from the newest year of
    both."""
    years: dict[tuple[int, int], int] = {}
    for a, b, y in ties:
        years[(a, b)] = max(years.get((a, b), y), y)
    newest = max([*years.values(), *([newest_stated] if newest_stated is not None else [])])
    out = {u: dict(vs) for u, vs in stated.items()}
    for (a, b), y in years.items():
        extra = w.outcome_tie
        if w.tie_half_life > 0:
            extra *= 0.5 ** ((newest - y) / w.tie_half_life)
        out.setdefault(a, {})[b] = out.get(a, {}).get(b, 0.0) + extra
        out.setdefault(b, {})[a] = out.get(b, {}).get(a, 0.0) + extra
    return out


def adamic_adar(q: int, c: int, adjacency: dict[int, set[int]]) -> float:
    total = sum(
        1.0 / math.log(max(len(adjacency[z]) + (q not in adjacency[z]), 2))
        for z in adjacency.get(q, set()) & adjacency.get(c, set())
    )
    return total / (1.0 + total)


@pytest.mark.parametrize(
    ("seed", "weight", "half_life"), [(0, 1.0, 0.0), (1, 0.5, 3.0), (2, 2.0, 0.0)]
)
def test_walk_and_shared_partners_pass_through_outcome_ties(
    seed: int, weight: float, half_life: float
) -> None:
    profiles = with_ties(seed)
    w = Weights(outcome_tie=weight, tie_half_life=half_life, hub_damping=0.0)
    matcher = Matcher(w).fit(profiles)
    ties = outcome_ties(profiles, seed)
    stated = oracle_weights(profiles, w)
    years = [y for p in profiles for _, y in p.partner_ties.values() if y is not None]
    # the oracle's stated weights are aged from the stated newest year: with a half-life the
    # outcome years (up to 2024) may be newer, so every stated weight ages from there too
    newest_outcome = max(y for _, _, y in ties)
    if half_life > 0 and years and newest_outcome > max(years):
        shift = 0.5 ** ((newest_outcome - max(years)) / half_life)
        stated = {u: {v: x * shift for v, x in vs.items()} for u, vs in stated.items()}
    both = merged(stated, ties, w, max(years) if years else None)
    adjacency = {u: set(vs) for u, vs in both.items()}
    only_stated = oracle_weights(profiles, w)
    f = Filters(exclude_known=False)
    moved = 0
    for q in profiles:
        plain = {m.target_id: m for m in matcher.match(q, filters=f, limit=50)}
        got = matcher.match(q, filters=replace(f, outcome_ties=ties), limit=50)
        assert got, q.id
        for m in got:
            c = next(p for p in profiles if p.id == m.target_id)
            want = oracle_graph(q, c, both, w)
            assert m.components["proximity"] == pytest.approx(want["proximity"], abs=1e-9)
            assert m.components["network"] == pytest.approx(
                adamic_adar(q.id, c.id, adjacency), abs=1e-9
            )
            # activity and the known-partner grade: the stated ties alone
            stated_only = oracle_graph(q, c, only_stated, w)
            assert m.components["activity"] == pytest.approx(stated_only["activity"], abs=1e-9)
            assert m.components["known_partner"] == pytest.approx(
                stated_only["known_partner"], abs=1e-9
            )
            before = plain.get(m.target_id)
            moved += before is None or not np.isclose(before.score, m.score)
    assert moved > 0


def test_weight_zero_or_no_ties_rank_as_before() -> None:
    profiles = with_ties(3)
    ties = outcome_ties(profiles, 3)
    off = Matcher(Weights(outcome_tie=0.0)).fit(profiles)
    on = Matcher(Weights()).fit(profiles)
    for exclude_known in (False, True):
        f = Filters(exclude_known=exclude_known)
        for q in profiles:
            want = [(m.target_id, m.score) for m in on.match(q, filters=f, limit=50)]
            assert [(m.target_id, m.score) for m in on.match(q, filters=f, limit=50)] == want
            got = off.match(q, filters=replace(f, outcome_ties=ties), limit=50)
            assert [(m.target_id, m.score) for m in got] == want


def test_an_outcome_partner_is_no_known_partner() -> None:
    """0 states nobody; its outcome with 3 makes 3 neither excluded by exclude_known nor
    graded as known, and lifts 3's stated partner 4 above 5, alike in everything else."""
    base = with_ties(0)[:6]
    base[5] = replace(base[4], id=5, name="r5")  # 4 and 5 alike but for their ids
    partners = {3: {4: (1, 2020)}, 1: {5: (1, 2020)}}
    profiles = [
        replace(
            p,
            competences=(),
            known_partner_ids=frozenset(partners.get(p.id, {})),
            partner_ties=partners.get(p.id, {}),
        )
        for p in base
    ]
    matcher = Matcher(Weights(hub_damping=0.0)).fit(profiles)
    f = Filters(exclude_known=True)
    before = {m.target_id: m.score for m in matcher.match(profiles[0], filters=f, limit=10)}
    assert before[4] == pytest.approx(before[5])
    got = matcher.match(
        profiles[0], filters=replace(f, outcome_ties=frozenset({(0, 3, 2024)})), limit=10
    )
    order = [m.target_id for m in got]
    scores = {m.target_id: m.score for m in got}
    assert 3 in order
    assert order.index(4) < order.index(5)
    assert scores[4] > before[4]
    assert scores[5] == pytest.approx(before[5])
    assert {m.target_id: m.components["known_partner"] for m in got}[3] == 0.0


def test_a_hidden_statement_stays_out_when_outcome_ties_are_added() -> None:
    """With only 0's and 3's lists visible, the walk over the visible statements plus the
    outcome ties equals a fit on profiles without the hidden lists."""
    profiles = with_ties(4)
    ties = outcome_ties(profiles, 4)
    visible_lists = {0, 3}
    edges = frozenset(
        (p.id, q) for p in profiles if p.id in visible_lists for q in p.known_partner_ids
    )
    hidden = [
        p if p.id in visible_lists else replace(p, known_partner_ids=frozenset(), partner_ties={})
        for p in profiles
    ]
    w = Weights(hub_damping=0.0)
    f = Filters(exclude_known=False, outcome_ties=ties)
    for q in (profiles[0], profiles[3]):
        got = (
            Matcher(w)
            .fit(profiles)
            .match(q, filters=replace(f, visible_relationships=edges), limit=50)
        )
        want = (
            Matcher(w)
            .fit(hidden)
            .match(next(p for p in hidden if p.id == q.id), filters=f, limit=50)
        )
        assert [m.target_id for m in got] == [m.target_id for m in want]
        for a, b in zip(got, want, strict=True):
            assert a.components == pytest.approx(b.components)


@pytest.mark.parametrize(("seed", "weight", "half_life"), [(5, 1.0, 0.0), (6, 0.5, 3.0)])
def test_activity_counts_every_outcome_and_the_statements_the_caller_may_see(
    seed: int, weight: float, half_life: float
) -> None:
    """`Filters.activity_ties`: activity is log1p(stated strength + outcome_tie per outcome
    partner) / log1p(largest stated strength + outcome_tie * most outcome partners), the
    stated strength over the relationships the caller's list uses (every one, or only the
    visible statements: a hidden list moves no degree), the outcome partners over every
    tie, whichever ties the walk may use; the walk, shared partners and known-partner grade
    stay those of the caller's graph."""
    profiles = with_ties(seed)
    w = Weights(outcome_tie=weight, tie_half_life=half_life, hub_damping=0.0)
    matcher = Matcher(w).fit(profiles)
    ties = outcome_ties(profiles, seed)
    counts: dict[int, int] = {}
    for a, b in {(a, b) for a, b, _ in ties}:
        counts[a] = counts.get(a, 0) + 1
        counts[b] = counts.get(b, 0) + 1
    q = profiles[0]
    own = frozenset(t for t in ties if q.id in t[:2])
    edges = frozenset((q.id, p) for p in q.known_partner_ids)
    # only q's own list visible: the stated strength of a fit on profiles without the others'
    hidden = [
        p if p.id == q.id else replace(p, known_partner_ids=frozenset(), partner_ties={})
        for p in profiles
    ]
    cases = [(None, ties, profiles)]
    if half_life == 0:  # (a hidden list's years would not age the visible ties)
        cases.append((edges, own, hidden))
    for visible, walk_ties, stating in cases:
        strength = {u: sum(vs.values()) for u, vs in oracle_weights(stating, w).items()}
        top = max(strength.values(), default=0.0) + weight * max(counts.values())
        f = Filters(exclude_known=False, visible_relationships=visible, outcome_ties=walk_ties)
        without = {m.target_id: m for m in matcher.match(q, filters=f, limit=50)}
        got = matcher.match(q, filters=replace(f, activity_ties=ties), limit=50)
        assert {m.target_id for m in got} == set(without)
        for m in got:
            c = m.target_id
            want = math.log1p(strength.get(c, 0.0) + weight * counts.get(c, 0)) / math.log1p(top)
            assert m.components["activity"] == pytest.approx(want, abs=1e-9)
            for name in ("network", "proximity", "known_partner"):
                assert m.components[name] == pytest.approx(without[c].components[name], abs=1e-12)
        # no outcome ties: the activity of the caller's graph, as without activity_ties
        plain = matcher.match(q, filters=replace(f, activity_ties=frozenset()), limit=50)
        for m in plain:
            assert m.components["activity"] == pytest.approx(
                without[m.target_id].components["activity"], abs=1e-12
            )
