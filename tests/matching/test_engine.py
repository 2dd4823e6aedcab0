"""Ranking, filters, competitors and explanations of matching.engine.Matcher."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from matching.engine import Matcher, nace_division, nace_matches
from matching.errors import DimensionMismatch, InvalidFilter, MatchingError, NotFitted
from matching.types import CompetenceVec, Filters, ProfileVec
from matching.weights import COMPONENTS, Weights

DIM = 12
SENS, MOULD, SOFT, MACH, BREAD, LOGI, ACC = range(7)
# Basis vectors make every cosine exactly 0 or 1, so expected values can be written down.
# A fixed similarity scale for the competitor rule: a cosine c counts (c - 0) / 0.1 spreads.
NICHE_SCALE = (0.0, 0.1, 0.0, 0.1)
# Every weight is spelt out, so the expected values below do not move with the defaults.
W = Weights(
    need_coverage=0.25,
    reciprocal_coverage=0.0,
    mutual=1.0,
    profile_similarity=0.3,
    core_overlap=0.0,
    cross_industry=0.15,
    shared_interests=0.1,
    network=0.2,
    activity=0.02,
    coopetition=0.3,
    coopetition_every=0,  # the coopetition places have their own test
    complementary_need=1.0,
    peripheral_need=0.5,
    softmax_temperature=0.1,
    one_sided_floor=0.3,
    missing_side_prior=0.25,
    similarity_floor=0.1,
    profile_floor=0.0,
    competitor_niche=5.0,
    competitor_niche_no_nace=7.5,
    niche_scale=NICHE_SCALE,
    competitor_factor=0.5,
    max_reasons=5,
    description_offer=0.5,
    description_floor=0.1,
)


def e(k: int) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[k] = 1.0
    return v


def org(
    oid: int,
    *,
    core: tuple[int, ...] = (),
    comp: tuple[int, ...] = (),
    peri: tuple[int, ...] = (),
    nace: str | None = None,
    country: str | None = "DE",
    coords: tuple[float, float] | None = None,
    employees: int | None = None,
    interests: tuple[str, ...] = (),
    profile: np.ndarray | None = None,
    partners: tuple[int, ...] = (),
    opt_out: bool = False,
) -> ProfileVec:
    """A profile whose competence k of kind X gets id oid*100 + k (+ 50 for needs)."""
    comps = [CompetenceVec(oid * 100 + k, "core", f"c{k}@{oid}", e(k)) for k in core]
    comps += [CompetenceVec(oid * 100 + 50 + k, "complementary", f"n{k}@{oid}", e(k)) for k in comp]
    comps += [CompetenceVec(oid * 100 + 70 + k, "peripheral", f"p{k}@{oid}", e(k)) for k in peri]
    if profile is None and core:
        profile = e(core[0])
    return ProfileVec(
        id=oid,
        name=f"org{oid}",
        nace_code=nace,
        country=country,
        latitude=coords[0] if coords else None,
        longitude=coords[1] if coords else None,
        employees=employees,
        cooperation_interests=frozenset(interests),
        competences=tuple(comps),
        profile_vector=profile,
        known_partner_ids=frozenset(partners),
        exclude_from_competitors=opt_out,
    )


MUNICH, STUTTGART, VIENNA, BERLIN, ZURICH = (
    (48.137, 11.575),
    (48.776, 9.183),
    (48.208, 16.373),
    (52.520, 13.405),
    (47.377, 8.541),
)


def world() -> list[ProfileVec]:
    """Sensor maker (1) with a moulder (2, two-sided), a software firm (3, one-sided), a
    competitor (4), a bakery (5), a machine builder that needs sensors (6), an accountant (7)."""
    return [
        org(
            1,
            core=(SENS,),
            comp=(MOULD, SOFT),
            peri=(ACC,),
            nace="26.51",
            coords=MUNICH,
            employees=40,
            interests=("product_development", "training"),
        ),
        org(
            2,
            core=(MOULD,),
            comp=(SENS,),
            nace="22.29",
            coords=STUTTGART,
            employees=120,
            interests=("product_development",),
        ),
        org(
            3,
            core=(SOFT,),
            nace="62.01",
            country="AT",
            coords=VIENNA,
            employees=15,
            interests=("data_sharing",),
        ),
        org(
            4,
            core=(SENS,),
            comp=(MOULD,),
            nace="26.51",
            coords=BERLIN,
            employees=300,
            interests=("purchasing_sales", "training"),
        ),
        org(5, core=(BREAD,), comp=(LOGI,), nace="10.71", employees=8),
        org(
            6, core=(MACH,), comp=(SENS,), nace="28.41", country="CH", coords=ZURICH, employees=500
        ),
        org(7, core=(ACC,), nace=None, employees=None),
    ]


def fitted(profiles: list[ProfileVec] | None = None, **kw: object) -> Matcher:
    return Matcher(W, **kw).fit(profiles if profiles is not None else world())  # type: ignore[arg-type]


def ids(matches: list) -> list[int]:
    return [m.target_id for m in matches]


# ---------------------------------------------------------------- brute-force oracle
def oracle_core_description(q: ProfileVec, c: ProfileVec, dfloor: float) -> float:
    """Each side's cores (or its description when it states none) against the other side's
    description, calibrated and averaged per side, then over both sides."""

    def cores(p: ProfileVec) -> list[np.ndarray]:
        vs = [x.vector for x in p.competences if x.kind == "core"]
        return vs or ([p.profile_vector] if p.profile_vector is not None else [])

    def one_way(a: ProfileVec, b: ProfileVec) -> float:
        va = cores(a)
        if not va or b.profile_vector is None:
            return 0.0
        vals = [
            min(max((float(x @ b.profile_vector) - dfloor) / (1 - dfloor), 0.0), 1.0) for x in va
        ]
        return sum(vals) / len(vals)

    return (one_way(q, c) + one_way(c, q)) / 2


def oracle_niche(q: ProfileVec, c: ProfileVec, scale: tuple[float, ...]) -> float:
    """Each side's stated cores: best cosine with the other side's cores or description, in
    units of the scale, averaged per side, then over both sides; -inf if a side states no
    core competence."""
    cm, cs, dm, ds = scale

    def one_way(a: ProfileVec, b: ProfileVec) -> float:
        va = [x.vector for x in a.competences if x.kind == "core"]
        vb = [x.vector for x in b.competences if x.kind == "core"]
        if not va or not vb:
            return -math.inf
        best = []
        for x in va:
            z = [(float(x @ y) - cm) / cs for y in vb]
            if b.profile_vector is not None:
                z.append((float(x @ b.profile_vector) - dm) / ds)
            best.append(max(z))
        return sum(best) / len(best)

    mine, theirs = one_way(q, c), one_way(c, q)
    if math.isinf(mine) or math.isinf(theirs):
        return -math.inf
    return (mine + theirs) / 2


def oracle_competitor(q: ProfileVec, c: ProfileVec, w: Weights) -> bool:
    """The competitor rule as matching.competitors states it."""
    assert w.niche_scale is not None
    niche = oracle_niche(q, c, w.niche_scale)
    dq, dc = nace_division(q.nace_code), nace_division(c.nace_code)
    if dq and dc:
        return dq == dc and niche >= w.competitor_niche
    return niche >= w.competitor_niche_no_nace


def oracle_features(
    q: ProfileVec,
    c: ProfileVec,
    all_profiles: list[ProfileVec],
    w: Weights,
    floor: float,
    pfloor: float,
    dfloor: float,
) -> dict[str, float]:
    """Straight loops over the definitions in matching.weights / matching.engine."""

    def cal(s: float, f: float) -> float:
        return min(max((s - f) / (1 - f), 0.0), 1.0)

    def cores(p: ProfileVec) -> list[np.ndarray]:
        vs = [x.vector for x in p.competences if x.kind == "core"]
        if not vs and p.profile_vector is not None:
            vs = [p.profile_vector]
        return vs

    def needs(p: ProfileVec) -> list[tuple[np.ndarray, float]]:
        out = []
        for x in p.competences:
            if x.kind == "complementary":
                out.append((x.vector, w.complementary_need))
            elif x.kind == "peripheral":
                out.append((x.vector, w.peripheral_need))
        return out

    def soft(values: list[float]) -> float:
        ex = [math.exp(v / w.softmax_temperature) for v in values]
        return sum(v * x for v, x in zip(values, ex, strict=True)) / sum(ex)

    def coverage(need_side: ProfileVec, core_side: ProfileVec) -> float | None:
        ns = needs(need_side)
        if not ns:
            return None
        cs = cores(core_side)
        pv = core_side.profile_vector
        tot = 0.0
        for v, wt in ns:
            best = soft([cal(float(v @ cv), floor) for cv in cs]) if cs else 0.0
            if pv is not None:  # the description answers needs too, discounted
                best = max(best, w.description_offer * cal(float(v @ pv), dfloor))
            tot += wt * best
        return tot / sum(wt for _, wt in ns)

    a = coverage(q, c)
    b = coverage(c, q)
    ae = w.missing_side_prior if a is None else a
    be = w.missing_side_prior if b is None else b
    h = 0.0 if ae + be == 0 else 2 * ae * be / (ae + be)
    mutual = (1 - w.one_sided_floor) * h + w.one_sided_floor * (ae + be) / 2

    qc, cc = cores(q), cores(c)
    overlap = 0.0
    if qc and cc:
        prec = sum(max(cal(float(x @ y), floor) for y in cc) for x in qc) / len(qc)
        rec = sum(max(cal(float(x @ y), floor) for x in qc) for y in cc) / len(cc)
        overlap = 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)
    prof = 0.0
    if q.profile_vector is not None and c.profile_vector is not None:
        prof = cal(float(q.profile_vector @ c.profile_vector), pfloor)
    dq, dc = nace_division(q.nace_code), nace_division(c.nace_code)
    cross = (a or 0.0) if dq and dc and dq != dc else 0.0
    union = q.cooperation_interests | c.cooperation_interests
    shared = q.cooperation_interests & c.cooperation_interests
    jacc = len(shared) / len(union) if union else 0.0
    cw = w.coopetition_interest_weights()
    coop = sum(cw[i] for i in shared) / sum(cw[i] for i in union) if union else 0.0

    adj: dict[int, set[int]] = {}
    for p in all_profiles:
        for z in p.known_partner_ids:
            adj.setdefault(p.id, set()).add(z)
            adj.setdefault(z, set()).add(p.id)
    nq = set(q.known_partner_ids) | adj.get(q.id, set())
    nc = set(c.known_partner_ids) | adj.get(c.id, set())
    aa = sum(1 / math.log(max(len(adj.get(z, set()) | {q.id}), 2)) for z in (nq & nc) - {q.id})
    max_deg = max((len(v) for v in adj.values()), default=0)
    return {
        "need_coverage": a or 0.0,
        "reciprocal_coverage": b or 0.0,
        "mutual": mutual,
        "profile_similarity": prof,
        "core_overlap": overlap,
        "cross_industry": cross,
        "shared_interests": jacc,
        "network": aa / (1 + aa),
        "activity": math.log1p(len(adj.get(c.id, set()))) / math.log1p(max_deg) if max_deg else 0.0,
        "coopetition": coop,
        "proximity": oracle_walk(q, adj, w).get(c.id, 0.0),
        "known_partner": float(c.id in nq),
    }


def oracle_walk(q: ProfileVec, adj: dict[int, set[int]], w: Weights) -> dict[int, float]:
    """Truncated personalised PageRank written out step by step, divided by its maximum."""
    start = (set(q.known_partner_ids) | adj.get(q.id, set())) - {q.id}
    x = {z: 1.0 / len(start) for z in start} if start else {}
    total = dict(x)
    for _ in range(w.walk_steps - 1):
        nxt: dict[int, float] = {}
        for u, mass in x.items():
            for v in adj.get(u, set()):
                nxt[v] = nxt.get(v, 0.0) + (1 - w.walk_restart) * mass / len(adj[u])
        x = nxt
        for v, mass in x.items():
            total[v] = total.get(v, 0.0) + mass
    total.pop(q.id, None)
    top = max(total.values(), default=0.0)
    return {k: v / top for k, v in total.items()} if top > 0 else {}


def oracle_rank(
    q: ProfileVec,
    profiles: list[ProfileVec],
    w: Weights,
    floor: float,
    pfloor: float,
    dfloor: float,
) -> list[tuple[int, float, str]]:
    rows = []
    for c in profiles:
        if c.id == q.id or c.id in q.known_partner_ids or q.id in c.known_partner_ids:
            continue
        f = oracle_features(q, c, profiles, w, floor, pfloor, dfloor)
        competitor = oracle_competitor(q, c, w)
        if competitor and c.exclude_from_competitors:
            continue
        if (
            max(
                f[k]
                for k in (
                    "need_coverage",
                    "reciprocal_coverage",
                    "profile_similarity",
                    "core_overlap",
                    "network",
                    "proximity",
                    "known_partner",
                )
            )
            == 0
        ):
            continue
        # graph weights shrink for a query that states needs
        states_needs = any(x.kind != "core" for x in q.competences)
        scale = w.graph_with_needs if states_needs else 1.0
        graph_names = ("network", "activity", "proximity", "known_partner")
        base = sum(
            getattr(w, n) * f[n] * (scale if n in graph_names else 1.0)
            for n in COMPONENTS
            if n != "coopetition"
        )
        graph = sum(getattr(w, n) * f[n] * scale for n in graph_names)
        score = (
            w.competitor_factor * (base - graph + w.coopetition * f["coopetition"]) + graph
            if competitor
            else base
        )
        rows.append((c.id, score, "competitor" if competitor else "complementary"))
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows


def random_world(seed: int, n: int = 14, d: int = 6) -> list[ProfileVec]:
    rng = np.random.default_rng(seed)
    interests = ["data_sharing", "product_development", "purchasing_sales", "training"]
    profiles = []
    cid = 0
    for i in range(n):
        comps = []
        for _ in range(int(rng.integers(0, 5))):
            v = rng.normal(size=d).astype(np.float32)
            cid += 1
            kind = ["core", "core", "complementary", "peripheral"][int(rng.integers(0, 4))]
            comps.append(CompetenceVec(cid, kind, f"l{cid}", v / np.linalg.norm(v)))  # type: ignore[arg-type]
        pv = rng.normal(size=d).astype(np.float32)
        partners = frozenset(int(x) for x in rng.choice(n + 3, size=int(rng.integers(0, 3))))
        profiles.append(
            ProfileVec(
                id=i,
                name=f"r{i}",
                nace_code=[None, "26.1", "26.5", "62.0"][int(rng.integers(0, 4))],
                country="DE",
                latitude=None,
                longitude=None,
                employees=None,
                cooperation_interests=frozenset(x for x in interests if rng.random() < 0.5),
                competences=tuple(comps),
                profile_vector=(pv / np.linalg.norm(pv)) if rng.random() < 0.8 else None,
                known_partner_ids=partners - {i},
            )
        )
    return profiles


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_ranking_matches_bruteforce_oracle(seed: int) -> None:
    profiles = random_world(seed)
    w = Weights(
        similarity_floor=0.2,
        profile_floor=0.1,
        description_floor=0.15,
        competitor_niche=3.0,
        competitor_niche_no_nace=4.0,
        niche_scale=(0.0, 0.25, 0.0, 0.25),
        coopetition_every=0,  # ordered by score alone (the places: test_competitors.py)
        hub_damping=0.0,  # the oracle compares raw cosines (damping: test_hub_damping.py)
    )
    matcher = Matcher(w).fit(profiles)
    compared = 0
    for q in profiles:
        got = matcher.match(q, limit=100)
        want = oracle_rank(q, profiles, w, 0.2, 0.1, 0.15)
        assert [m.target_id for m in got] == [r[0] for r in want]
        assert [m.relation for m in got] == [r[2] for r in want]
        assert [m.score for m in got] == pytest.approx([r[1] for r in want], abs=1e-5)
        compared += len(got)
    assert compared == sum(len(oracle_rank(q, profiles, w, 0.2, 0.1, 0.15)) for q in profiles)


@pytest.mark.parametrize("seed", [10, 11])
def test_pair_features_match_oracle_for_an_unfitted_query(seed: int) -> None:
    profiles = random_world(seed)
    query, rest = profiles[0], profiles[1:]
    matcher = Matcher(Weights(similarity_floor=0.2, profile_floor=0.1, description_floor=0.15)).fit(
        rest
    )
    cand = [p.id for p in rest]
    got = matcher.pair_features(query, cand)
    assert got.shape == (len(rest), len(COMPONENTS))
    for row, c in zip(got, rest, strict=True):
        want = oracle_features(query, c, rest, matcher.weights_, 0.2, 0.1, 0.15)
        assert row == pytest.approx([want[n] for n in COMPONENTS], abs=1e-5)


def test_pair_features_unknown_candidate_raises() -> None:
    matcher = fitted()
    with pytest.raises(MatchingError, match="unknown candidate id 99"):
        matcher.pair_features(world()[0], [2, 99])


# ---------------------------------------------------------------- ranking semantics
def test_two_sided_ranks_above_one_sided() -> None:
    matches = fitted().match(world()[0], limit=10)
    by_id = {m.target_id: m for m in matches}
    # 2 covers my moulding need and I cover its sensor need; 3 covers a need and states none.
    assert by_id[2].components["need_coverage"] == pytest.approx(0.4)
    assert by_id[2].components["reciprocal_coverage"] == pytest.approx(1.0)
    assert by_id[2].components["mutual"] == pytest.approx(0.7 * (0.8 / 1.4) + 0.3 * 0.7)
    assert by_id[3].components["mutual"] == pytest.approx(0.7 * (0.2 / 0.65) + 0.3 * 0.325)
    # 6 needs my sensors but covers nothing of mine: one-sided, the other way round.
    assert by_id[6].components["mutual"] == pytest.approx(0.3 * 0.5)
    assert ids(matches)[:2] == [2, 3]
    assert ids(matches).index(2) < ids(matches).index(6)


def test_one_sided_below_two_sided_with_equal_total() -> None:
    q = org(1, core=(SENS,), comp=(MOULD, SOFT))
    balanced = org(2, core=(MOULD,), comp=(SENS, BREAD), nace="22")  # a = 0.5, b = 0.5
    lopsided = org(3, core=(MOULD, SOFT), comp=(LOGI,), nace="62")  # a ~ 1, b = 0
    m = fitted([q, balanced, lopsided]).match(q)
    assert ids(m) == [2, 3]
    comp = {x.target_id: x.components for x in m}
    soft = math.exp(10) / (math.exp(10) + 1)  # soft max over a hit (1) and a miss (0)
    assert comp[2]["need_coverage"] == pytest.approx(0.5)
    assert comp[2]["reciprocal_coverage"] == pytest.approx(0.5)
    assert comp[3]["need_coverage"] == pytest.approx(soft)
    assert comp[3]["reciprocal_coverage"] == 0.0
    assert comp[2]["mutual"] == pytest.approx(0.5)
    assert comp[3]["mutual"] == pytest.approx(0.3 * soft / 2)


def test_coverage_is_not_inflated_by_profile_size() -> None:
    q = org(1, core=(SENS,), comp=(MOULD,))
    small = org(2, core=(MOULD,), nace="22")
    big = org(3, core=(MOULD, SOFT, MACH, BREAD, LOGI, ACC), nace="23")
    m = {x.target_id: x for x in fitted([q, small, big]).match(q)}
    assert m[2].components["need_coverage"] == pytest.approx(1.0)
    assert m[3].components["need_coverage"] == pytest.approx(
        math.exp(10) / (math.exp(10) + 5), rel=1e-6
    )
    assert m[3].components["need_coverage"] < m[2].components["need_coverage"]


def test_complementary_need_weighs_more_than_peripheral() -> None:
    q = org(1, core=(SENS,), comp=(MOULD,), peri=(ACC,))
    covers_comp = org(2, core=(MOULD,), nace="22")
    covers_peri = org(3, core=(ACC,), nace="69")
    m = fitted([q, covers_comp, covers_peri]).match(q)
    assert ids(m) == [2, 3]
    assert m[0].components["need_coverage"] == pytest.approx(1.0 / 1.5)
    assert m[1].components["need_coverage"] == pytest.approx(0.5 / 1.5)


def test_cross_industry_counts_need_coverage_from_another_division() -> None:
    m = {x.target_id: x for x in fitted().match(world()[0], limit=10)}
    assert m[2].components["cross_industry"] == pytest.approx(0.4)  # 22 vs 26
    assert m[7].components["cross_industry"] == 0.0  # no NACE code: unknown
    assert m[6].components["cross_industry"] == 0.0  # covers no need of mine


def test_self_never_returned_fitted_or_not() -> None:
    profiles = world()
    matcher = fitted(profiles)
    for p in profiles:
        assert p.id not in ids(matcher.match(p, limit=20))
    outsider = replace(profiles[0], name="copy of org1")
    assert ids(matcher.match(outsider, limit=20)) == [2, 3, 7, 4, 6]


def test_limit_and_empty_index() -> None:
    matcher = fitted()
    assert len(matcher.match(world()[0], limit=2)) == 2
    assert matcher.match(world()[0], limit=0) == []
    assert Matcher(W).fit([]).match(world()[0]) == []
    with pytest.raises(NotFitted):
        Matcher(W).match(world()[0])


def test_description_only_profile_gets_matches() -> None:
    # No competences at all, only a description vector that reads like a moulding firm.
    desc_only = org(9, profile=e(MOULD), nace="22.2")
    matcher = fitted()
    m = matcher.match(desc_only, limit=10)
    # 4 needs only moulding, 1 needs moulding among three needs; nobody else is related.
    # 2 offers moulding too, in the same division, but a firm that states no core competence
    # is never labelled a competitor: 2 is a similar profile.
    assert [(x.target_id, x.relation) for x in m] == [
        (4, "complementary"),
        (2, "complementary"),
        (1, "complementary"),
    ]
    assert m[0].components["reciprocal_coverage"] == pytest.approx(1.0)
    assert m[2].components["reciprocal_coverage"] == pytest.approx(1.0 / 2.5)
    assert m[0].reasons[0].direction == "i_cover_their_need"
    assert m[0].reasons[0].query_competence_id is None  # the description, not a competence
    assert m[0].reasons[0].target_competence_id == 450 + MOULD
    # And an organisation described only by text is found by others' needs.
    matcher2 = fitted([*world(), desc_only])
    # 9 covers the moulding need exactly as 3 covers the software need: a tie, broken by id.
    assert ids(matcher2.match(world()[0], limit=3)) == [2, 3, 9]


def test_description_answers_a_need_no_competence_answers() -> None:
    q = org(1, core=(SENS,), comp=(SOFT, MOULD))
    # States only machine building, but its description is about software.
    described = org(2, core=(MACH,), profile=e(SOFT), nace="28")
    stated = org(3, core=(SOFT,), nace="62")
    m = fitted([q, described, stated]).match(q)
    assert ids(m) == [3, 2]
    comp = {x.target_id: x.components for x in m}
    assert comp[3]["need_coverage"] == pytest.approx(0.5)  # one of two needs, fully
    assert comp[2]["need_coverage"] == pytest.approx(0.5 * 0.5)  # same need, discounted
    (reason,) = m[1].reasons
    assert reason.direction == "they_cover_my_need"
    assert (reason.query_competence_id, reason.query_label) == (150 + SOFT, f"n{SOFT}@1")
    assert (reason.target_competence_id, reason.target_label) == (None, None)
    assert reason.similarity == pytest.approx(1.0)
    no_desc = Matcher(replace(W, description_offer=0.0)).fit([q, described, stated])
    assert ids(no_desc.match(q)) == [3]


def test_new_org_without_needs_gets_similar_and_complementary_firms() -> None:
    newcomer = org(10, core=(SENS,), nace="27.1")  # no needs, no partners, no history
    m = fitted().match(newcomer, limit=10)
    # 2 and 6 need sensors; 1 and 4 are similar sensor firms (a tie, broken by id).
    assert ids(m) == [2, 6, 1, 4]
    assert {x.relation for x in m} == {"complementary"}  # different division: no competitor


# ---------------------------------------------------------------- competitors
def test_competitor_labelled_and_ranked_for_coopetition() -> None:
    m = {x.target_id: x for x in fitted().match(world()[0], limit=10)}
    assert m[4].relation == "competitor"
    assert [x.relation for k, x in sorted(m.items()) if k != 4] == ["complementary"] * 4
    # interests: union {product_development .5, training 1, purchasing_sales 1}, shared training
    assert m[4].components["coopetition"] == pytest.approx(1.0 / 2.5)
    base = 0.3 * 1.0 + 0.1 * (1 / 3)
    assert m[4].score == pytest.approx(0.5 * (base + 0.3 * 0.4))


def test_competitor_gets_a_coopetition_place_with_its_cooperation_kinds() -> None:
    plain = fitted().match(world()[0], limit=10)
    assert ids(plain) == [2, 3, 7, 4, 6]  # by score
    placed = Matcher(replace(W, coopetition_every=2)).fit(world()).match(world()[0], limit=10)
    # the first competitor stands at place 2 at the latest, shown with the next one's score
    assert ids(placed) == [2, 4, 3, 7, 6]
    by_id = {m.target_id: m for m in plain}
    assert placed[1].score == pytest.approx(by_id[3].score)
    assert placed[2].score == pytest.approx(by_id[3].score)  # partners keep their score
    # shared interest: training only
    assert placed[1].cooperation_kinds == ("training_alliance", "capacity_sharing", "joint_bids")
    assert placed[0].cooperation_kinds == ()


def test_include_competitors_false_drops_them() -> None:
    m = fitted().match(world()[0], filters=Filters(include_competitors=False), limit=10)
    assert ids(m) == [2, 3, 7, 6]


def test_same_core_in_other_division_is_not_a_competitor() -> None:
    q = org(1, core=(SENS,), nace="26.51")
    other = org(2, core=(SENS,), nace="27.90")
    m = fitted([q, other]).match(q)
    assert [(x.target_id, x.relation) for x in m] == [(2, "complementary")]


def test_competitor_without_nace_needs_a_stronger_niche() -> None:
    q = org(1, core=(SENS, MACH), nace=None)
    same = org(2, core=(SENS, MACH), nace="26.51")  # both cores agree: niche 10 >= 7.5
    half = org(3, core=(SENS, BREAD), nace="26.51")  # one core of two on each side: 5 < 7.5
    other_text = org(4, core=(SENS, MACH), profile=e(BREAD))  # the cores decide, not the text
    m = {x.target_id: x.relation for x in fitted([q, same, half, other_text]).match(q)}
    assert m == {2: "competitor", 3: "complementary", 4: "competitor"}
    with_nace = replace(q, nace_code="26.11")  # same division: 5 >= 5 suffices
    m = {x.target_id: x.relation for x in fitted([with_nace, same, half]).match(with_nace)}
    assert m == {2: "competitor", 3: "competitor"}


def test_competitor_opt_out_hides_from_competitors_only() -> None:
    profiles = world()
    profiles[3] = replace(profiles[3], exclude_from_competitors=True)
    matcher = fitted(profiles)
    assert 4 not in ids(matcher.match(profiles[0], limit=10))  # its competitor
    assert 4 in ids(matcher.match(profiles[1], limit=10))  # a moulder still sees it


# ---------------------------------------------------------------- filters
def test_filter_countries() -> None:
    m = fitted().match(world()[0], filters=Filters(countries=frozenset({"at", "CH"})))
    assert ids(m) == [3, 6]


def test_filter_distance_from_query_coordinates() -> None:
    # Munich -> Stuttgart 190 km, Zurich 242 km, Vienna 354 km, Berlin 504 km.
    m = fitted().match(world()[0], filters=Filters(max_distance_km=250), limit=10)
    assert ids(m) == [2, 6]
    m = fitted().match(world()[0], filters=Filters(max_distance_km=400), limit=10)
    assert ids(m) == [2, 3, 6]


def test_filter_distance_needs_an_origin() -> None:
    no_coords = replace(world()[0], latitude=None, longitude=None)
    with pytest.raises(InvalidFilter):
        fitted().match(no_coords, filters=Filters(max_distance_km=100))
    m = fitted().match(no_coords, filters=Filters(max_distance_km=100, origin=VIENNA))
    assert ids(m) == [3]


def test_filter_nace_include_exclude() -> None:
    q = world()[0]
    assert ids(fitted().match(q, filters=Filters(nace_include=("22", "62.0")))) == [2, 3]
    assert ids(fitted().match(q, filters=Filters(nace_include=("2",)))) == [2, 4, 6]
    assert ids(fitted().match(q, filters=Filters(nace_exclude=("26", "10.7")))) == [2, 3, 7, 6]


def test_filter_employees_range_drops_unknown_sizes() -> None:
    q = world()[0]
    assert ids(fitted().match(q, filters=Filters(min_employees=100))) == [2, 4, 6]
    assert ids(fitted().match(q, filters=Filters(max_employees=100))) == [3]  # 5: no link
    assert ids(fitted().match(q, filters=Filters(min_employees=10, max_employees=200))) == [2, 3]


def test_filter_inverted_employee_range_is_invalid() -> None:
    with pytest.raises(InvalidFilter, match="min_employees"):
        fitted().match(world()[0], filters=Filters(min_employees=50, max_employees=10))


def test_filter_cooperation_interests() -> None:
    f = Filters(cooperation_interests=frozenset({"data_sharing", "purchasing_sales"}))
    assert ids(fitted().match(world()[0], filters=f)) == [3, 4]


def test_filter_exclude_ids() -> None:
    m = fitted().match(world()[0], filters=Filters(exclude_ids=frozenset({2, 3, 999})))
    assert ids(m) == [7, 4, 6]


def test_exclude_known_both_directions() -> None:
    profiles = world()
    profiles[0] = replace(profiles[0], known_partner_ids=frozenset({2}))  # I list 2
    profiles[2] = replace(profiles[2], known_partner_ids=frozenset({1}))  # 3 lists me
    matcher = fitted(profiles)
    assert ids(matcher.match(profiles[0], limit=10)) == [7, 4, 6]
    back = matcher.match(profiles[0], filters=Filters(exclude_known=False), limit=10)
    assert sorted(ids(back)) == [2, 3, 4, 6, 7]


def test_network_component_rewards_partners_of_partners() -> None:
    profiles = world()
    # 5 and I both work with outside org 900; 900 has two partners, so AA = 1 / ln 2.
    profiles[0] = replace(profiles[0], known_partner_ids=frozenset({900}))
    profiles[4] = replace(profiles[4], known_partner_ids=frozenset({900}))
    m = {x.target_id: x for x in fitted(profiles).match(profiles[0], limit=10)}
    aa = 1 / math.log(2)
    assert m[5].components["network"] == pytest.approx(aa / (1 + aa))
    # 5 has one partner, the busiest organisation (900) two: log1p(1) / log1p(2)
    assert m[5].components["activity"] == pytest.approx(math.log1p(1) / math.log1p(2))
    # the walk reaches 5 through 900; 900 itself (no fitted profile) holds the most mass
    adj = {profiles[0].id: {900}, 5: {900}, 900: {profiles[0].id, 5}}
    assert m[5].components["proximity"] == pytest.approx(oracle_walk(profiles[0], adj, W)[5])
    assert 0.0 < m[5].components["proximity"] < 1.0
    assert m[2].components["network"] == 0.0


def test_without_the_graph_the_ranking_is_that_of_a_world_without_relationships() -> None:
    profiles = world()
    profiles[0] = replace(profiles[0], known_partner_ids=frozenset({900, 5}))
    profiles[4] = replace(profiles[4], known_partner_ids=frozenset({900}))
    bare = [replace(p, known_partner_ids=frozenset()) for p in profiles]
    no_graph = Filters(exclude_known=False, use_graph=False)
    got = fitted(profiles).match(profiles[0], filters=no_graph, limit=10)
    want = fitted(bare).match(bare[0], filters=Filters(exclude_known=False), limit=10)
    assert [(m.target_id, m.relation) for m in got] == [(m.target_id, m.relation) for m in want]
    assert [m.score for m in got] == pytest.approx([m.score for m in want])
    for m in got:
        assert [m.components[c] for c in ("network", "activity", "proximity", "known_partner")] == [
            0.0,
            0.0,
            0.0,
            0.0,
        ]
    # with the graph, the known partner 5 carries graph evidence
    with_graph = fitted(profiles).match(profiles[0], filters=Filters(exclude_known=False), limit=10)
    assert {m.target_id: m.components["known_partner"] for m in with_graph}[5] == 1.0


# ---------------------------------------------------------------- explanations
def test_reasons_refer_to_real_competences_of_the_right_side() -> None:
    profiles = world()
    matcher = fitted(profiles)
    by_id = {p.id: p for p in profiles}
    checked = 0
    for q in profiles:
        for m in matcher.match(q, limit=10):
            t = by_id[m.target_id]
            mine = {c.id: c for c in q.competences}
            theirs = {c.id: c for c in t.competences}
            for r in m.reasons:
                checked += 1
                if r.direction == "they_cover_my_need":
                    assert mine[r.query_competence_id].kind in ("complementary", "peripheral")
                    assert mine[r.query_competence_id].label == r.query_label
                    assert mine[r.query_competence_id].kind == r.need_kind
                    assert theirs[r.target_competence_id].kind == "core"
                    assert theirs[r.target_competence_id].label == r.target_label
                elif r.direction == "i_cover_their_need":
                    assert mine[r.query_competence_id].kind == "core"
                    assert mine[r.query_competence_id].label == r.query_label
                    assert theirs[r.target_competence_id].kind == r.need_kind
                    assert theirs[r.target_competence_id].label == r.target_label
                elif r.direction == "shared_core":
                    assert mine[r.query_competence_id].kind == "core"
                    assert theirs[r.target_competence_id].kind == "core"
                assert r.similarity == pytest.approx(1.0)
            sims = [r.similarity for r in m.reasons]
            assert sims == sorted(sims, reverse=True)
    # 1: 2+1+1+1+1, 2: 2+2, 3: 1, 4: 1+2+1, 5: none, 6: 1+1, 7: 1
    assert checked == 18


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reasons_belong_to_the_right_side_on_random_profiles(seed: int) -> None:
    profiles = random_world(seed)
    matcher = Matcher(Weights(similarity_floor=0.2, profile_floor=0.1)).fit(profiles)
    by_id = {p.id: p for p in profiles}
    directions: set[str] = set()
    for q in profiles:
        mine = {c.id: c for c in q.competences}
        for m in matcher.match(q, limit=100):
            theirs = {c.id: c for c in by_id[m.target_id].competences}
            assert len(m.reasons) <= 5
            for r in m.reasons:
                directions.add(r.direction)
                if r.direction == "they_cover_my_need":
                    assert mine[r.query_competence_id].kind == r.need_kind
                    assert r.need_kind in ("complementary", "peripheral")
                    if r.target_competence_id is not None:
                        assert theirs[r.target_competence_id].kind == "core"
                        assert theirs[r.target_competence_id].label == r.target_label
                elif r.direction == "i_cover_their_need":
                    assert theirs[r.target_competence_id].kind == r.need_kind
                    assert theirs[r.target_competence_id].label == r.target_label
                    if r.query_competence_id is not None:
                        assert mine[r.query_competence_id].kind == "core"
                        assert mine[r.query_competence_id].label == r.query_label
                elif r.direction == "shared_core":
                    assert mine[r.query_competence_id].kind == "core"
                    assert theirs[r.target_competence_id].kind == "core"
                else:
                    assert r.query_competence_id is None and r.target_competence_id is None
    assert directions == {
        "they_cover_my_need",
        "i_cover_their_need",
        "shared_core",
        "similar_profile",
    }


def test_reasons_and_shared_interests_for_a_two_sided_match() -> None:
    m = fitted().match(world()[0])[0]
    assert m.target_id == 2
    assert {(r.direction, r.query_label, r.target_label, r.need_kind) for r in m.reasons} == {
        ("they_cover_my_need", "n1@1", "c1@2", "complementary"),
        ("i_cover_their_need", "c0@1", "n0@2", "complementary"),
    }
    assert m.shared_interests == ("product_development",)
    assert set(m.components) == set(COMPONENTS)


# ---------------------------------------------------------------- free-text search
def test_search_free_text_need() -> None:
    matcher = fitted()
    m = matcher.search(np.stack([e(SOFT)]), ["OPC-UA-Anbindung"], limit=3)
    assert m[0].target_id == 3
    assert m[0].relation == "complementary"
    assert m[0].reasons[0].query_label == "OPC-UA-Anbindung"
    assert m[0].reasons[0].query_competence_id is None
    assert m[0].reasons[0].target_competence_id == 300 + SOFT
    # Only firms offering sensors answer a sensor need (2 and 6 need sensors themselves).
    assert ids(matcher.search(np.stack([e(SENS)]), ["Sensorik"])) == [1, 4]
    only_at = matcher.search(
        np.stack([e(SENS)]), ["Sensorik"], filters=Filters(countries=frozenset({"AT"}))
    )
    assert only_at == []
    near = matcher.search(
        np.stack([e(SENS)]), ["Sensorik"], filters=Filters(max_distance_km=300, origin=STUTTGART)
    )
    assert ids(near) == [1]  # 4 (Berlin) is 510 km away
    with pytest.raises(InvalidFilter):
        matcher.search(np.stack([e(SENS)]), ["x"], filters=Filters(max_distance_km=10))


# ---------------------------------------------------------------- ANN path and errors
def test_ann_path_agrees_with_exact_path() -> None:
    rng = np.random.default_rng(7)
    d, n = 24, 150
    profiles = []
    cid = 0
    for i in range(n):
        comps = []
        for kind in ("core", "core", "complementary", "peripheral"):
            v = rng.normal(size=d).astype(np.float32)
            cid += 1
            comps.append(CompetenceVec(cid, kind, f"l{cid}", v / np.linalg.norm(v)))  # type: ignore[arg-type]
        pv = rng.normal(size=d).astype(np.float32)
        profiles.append(
            ProfileVec(
                i,
                f"o{i}",
                None,
                "DE",
                None,
                None,
                None,
                frozenset(),
                tuple(comps),
                pv / np.linalg.norm(pv),
            )
        )
    w = Weights(similarity_floor=0.1, profile_floor=0.0)
    exact = Matcher(w, candidate_pool=8, ann_threshold=10**9).fit(profiles)
    ann = Matcher(w, candidate_pool=8, ann_threshold=0).fit(profiles)
    assert exact.core_index_ is None
    assert ann.core_index_ is not None
    for q in profiles[:20]:
        a, b = exact.match(q, limit=10), ann.match(q, limit=10)
        assert ids(a) == ids(b)
        assert [m.score for m in a] == pytest.approx([m.score for m in b])
    # The pool really restricts what is scored: a pool covering everything ranks differently.
    full = Matcher(w, candidate_pool=n).fit(profiles)
    assert (
        sum(ids(full.match(q, limit=10)) != ids(exact.match(q, limit=10)) for q in profiles[:20])
        > 0
    )


def test_dimension_mismatch_raises() -> None:
    profiles = world()
    bad = org(8, core=(SENS,))
    bad = replace(bad, profile_vector=np.ones(DIM + 1, dtype=np.float32))
    with pytest.raises(DimensionMismatch):
        Matcher(W).fit([*profiles, bad])
    with pytest.raises(DimensionMismatch):
        fitted().match(bad)


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(MatchingError, match="duplicate profile id 1"):
        Matcher(W).fit([world()[0], world()[0]])


def test_nace_helpers() -> None:
    assert nace_division("26.51") == "26"
    assert nace_division("C") is None
    assert nace_division(None) is None
    assert nace_matches("62.10", ["62.1"])
    assert not nace_matches("62.10", ["62.2"])
    assert not nace_matches(None, ["62"])


def test_floor_calibrated_from_random_pairs_when_not_given() -> None:
    rng = np.random.default_rng(3)
    profiles = random_world(3, n=30, d=16)
    m = Matcher().fit(profiles)
    vecs = [c.vector for p in profiles for c in p.competences]
    assert len(vecs) >= 40
    assert -1.0 < m.sim_floor_ < 0.9
    assert m.sim_floor_ != Weights().fallback_floor
    small = Matcher().fit(world())
    assert small.sim_floor_ == Weights().fallback_floor  # too few vectors to estimate
    del rng


def test_weights_vector_roundtrip() -> None:
    w = Weights()
    assert Weights.component_names() == COMPONENTS
    v = np.arange(len(COMPONENTS), dtype=float)
    w2 = w.from_vector(v)
    assert w2.vector().tolist() == v.tolist()
    assert w2.max_reasons == w.max_reasons
    with pytest.raises(ValueError):
        w.from_vector(np.zeros(3))


def test_a_fitted_set_without_vectors_answers_without_error() -> None:
    """Profiles stored before any encoder ran: text cannot match, known partners still can."""
    bare = [
        ProfileVec(
            id=i,
            name=f"org {i}",
            nace_code=None,
            country=None,
            latitude=None,
            longitude=None,
            employees=None,
            cooperation_interests=frozenset(),
            competences=(),
            profile_vector=None,
            known_partner_ids=frozenset({3}) if i in (1, 2) else frozenset(),
        )
        for i in (1, 2, 3)
    ]
    matcher = Matcher().fit(bare)
    vector = np.full(8, 1 / np.sqrt(8), dtype=np.float32)
    assert matcher.search(vector[None, :], ["Sensorik"]) == []
    query = replace(
        bare[0],
        competences=(CompetenceVec(10, "complementary", "Sensorik", vector),),
        profile_vector=vector,
    )
    # 1 and 2 share partner 3: the network alone links them
    assert [m.target_id for m in matcher.match(query)] == [2]


def _firm(pid: int, label: str, vector: np.ndarray) -> ProfileVec:
    return ProfileVec(
        id=pid,
        name=f"firm {pid}",
        nace_code="62.10",
        country="DE",
        latitude=None,
        longitude=None,
        employees=None,
        cooperation_interests=frozenset(),
        competences=(CompetenceVec(pid * 10, "core", label, vector),),
        profile_vector=None,
    )


def test_typed_search_counts_shared_words_such_as_acronyms() -> None:
    """Vectors orthogonal to the need: only the words "OPC" and "UA" link firm 1 to it."""
    dim = 8
    basis = np.eye(dim, dtype=np.float32)
    firms = [
        _firm(1, "OPC UA and MQTT integration", basis[1]),
        _firm(2, "Kunststoffspritzguss", basis[2]),
        _firm(3, "Cloud hosting", basis[3]),
        _firm(4, "Schweißen", basis[4]),
        _firm(5, "Lasertechnik", basis[5]),
    ]
    matcher = Matcher().fit(firms)
    found = matcher.search(basis[0][None, :], ["OPC-UA-Anbindung"])
    assert [m.target_id for m in found] == [1]
    reason = found[0].reasons[0]
    assert (
        reason.direction,
        reason.query_label,
        reason.target_label,
        reason.target_competence_id,
    ) == (
        "they_cover_my_need",
        "OPC-UA-Anbindung",
        "OPC UA and MQTT integration",
        10,
    )
    # the words count only for typed searches: a stored profile with that need gets nothing
    query = replace(
        firms[4],
        id=99,
        competences=(CompetenceVec(990, "complementary", "OPC-UA-Anbindung", basis[0]),),
    )
    assert matcher.match(query) == []


def test_lexical_tokens() -> None:
    from matching.engine import lexical_tokens

    assert lexical_tokens("Wir suchen jemanden für OPC-UA-Anbindung") == {"opc", "ua", "anbindung"}
    assert lexical_tokens("ISO 13485 und IEC 62304") == {"iso", "13485", "iec", "62304"}
    assert lexical_tokens(None) == frozenset()
